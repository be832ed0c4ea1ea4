// ecoact_archive and ecoact_rebuild --archive_dir as an operator runs them
// (docs/operations.md, "Ledger archive").
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using ::testing::HasSubstr;

std::pair<int, std::string> RunCommand(const std::string& command) {
  FILE* pipe = popen(absl::StrCat(command, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string MakeTempDir() {
  std::string pattern = absl::StrCat(::testing::TempDir(), "/archive_command_test_XXXXXX");
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

std::string Common(Stack& stack) {
  return absl::StrCat(" --redis=", stack.redis_process().address(),
                      " --key_prefix=", stack.keys().prefix(),
                      " --ledger_shards=", stack.keys().shards());
}

TEST(ArchiveCommandTest, ArchivesTrimsAndTheRebuildReadsTheArchive) {
  auto started = Stack::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<Stack> stack = *std::move(started);
  const Citizen citizen = stack->Register("archivist", "saiwai");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stack->Record(citizen.token, "own_bottle", 1).ok());
  stack->DrainProjector();
  const std::string board = stack->keys().Board("city::all:pts");
  auto score = stack->redis().Command({"ZSCORE", board, citizen.account_id});
  ASSERT_THAT(score, IsOk());
  ASSERT_FALSE(score->IsNil());
  const std::string dir = MakeTempDir();

  // The retention is counted on the stream ids (recording time): let one
  // second pass so that a 1 s retention covers every entry.
  absl::SleepFor(absl::Milliseconds(1100));
  const std::string archive_command = absl::StrCat(ECOACT_ARCHIVE_BINARY, Common(*stack),
                                                   " --archive_dir=", dir,
                                                   " --ledger_retention=1s");
  // The reports projector has not run yet (its group does not exist): the
  // run refuses with exit code 3 and says which group, trimming nothing.
  auto [code, out] = RunCommand(archive_command);
  ASSERT_EQ(code, 3) << out;
  EXPECT_THAT(out, HasSubstr("\"reports\""));
  EXPECT_THAT(out, HasSubstr("nothing was trimmed"));
  const std::string stream = stack->keys().Ledger(stack->keys().ShardOf(citizen.account_id));
  auto untouched = stack->redis().Command({"XLEN", stream});
  ASSERT_THAT(untouched, IsOk());
  EXPECT_EQ(untouched->integer, 3);

  stack->DrainReports();
  std::tie(code, out) = RunCommand(archive_command);
  ASSERT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("archived 3 ledger entries"));
  EXPECT_THAT(out, HasSubstr("trimmed 3 from Redis"));
  auto length = stack->redis().Command(
      {"XLEN", stack->keys().Ledger(stack->keys().ShardOf(citizen.account_id))});
  ASSERT_THAT(length, IsOk());
  EXPECT_EQ(length->integer, 0);

  ASSERT_THAT(stack->redis().Command({"DEL", board}), IsOk());
  // Without the archive the rebuild refuses and changes nothing.
  std::tie(code, out) = RunCommand(absl::StrCat(ECOACT_REBUILD_BINARY, Common(*stack), " --reports"));
  EXPECT_EQ(code, 3) << out;
  EXPECT_THAT(out, HasSubstr("--archive_dir"));
  auto still_gone = stack->redis().Command({"EXISTS", board});
  ASSERT_THAT(still_gone, IsOk());
  EXPECT_EQ(still_gone->integer, 0);

  std::tie(code, out) = RunCommand(
      absl::StrCat(ECOACT_REBUILD_BINARY, Common(*stack), " --reports --archive_dir=", dir));
  ASSERT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("from 3 ledger entries"));
  EXPECT_THAT(out, HasSubstr("rebuilt impact reports from 3 ledger entries"));
  auto rebuilt = stack->redis().Command({"ZSCORE", board, citizen.account_id});
  ASSERT_THAT(rebuilt, IsOk());
  EXPECT_EQ(rebuilt->str, score->str);
}

TEST(ArchiveCommandTest, BadFlagsNameTheVariable) {
  const std::string binary = ECOACT_ARCHIVE_BINARY;
  auto [code, out] = RunCommand("ECOACT_LEDGER_RETENTION=-1h " + binary);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("ECOACT_LEDGER_RETENTION"));
  std::tie(code, out) = RunCommand(binary + " --ledger_retention=2160h");
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("ECOACT_ARCHIVE_DIR"));
  std::tie(code, out) = RunCommand(binary + " --archive_trim_batch=0");
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("ECOACT_ARCHIVE_TRIM_BATCH"));
  std::tie(code, out) = RunCommand("ECOACT_ARCHIVE_REQUIRED_GROUPS=, " + binary);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("ECOACT_ARCHIVE_REQUIRED_GROUPS"));
  std::tie(code, out) = RunCommand(binary + " --archive_lease_ttl=1s");
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("ECOACT_ARCHIVE_LEASE_TTL"));
  std::tie(code, out) = RunCommand("ECOACT_LEDGER_RETENTION=often " + binary);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("ECOACT_LEDGER_RETENTION"));
  // The pilot default: never archive, and say so.
  std::tie(code, out) = RunCommand(binary);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("never archived"));
}

}  // namespace
}  // namespace ecoact::test
