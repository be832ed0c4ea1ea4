// The ecoact_rebuild command as an operator runs it (docs/operations.md):
// boards and, with --rewards, badges and streaks, from the ledger of a
// stack whose projections were lost.
#include <cstdio>
#include <sys/wait.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using ::testing::HasSubstr;

// Runs `command` and returns its exit code and what it printed.
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

TEST(RebuildCommandTest, RewardsRebuildRestoresBoardsBadgesAndStreaks) {
  auto started = Stack::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<Stack> stack = *std::move(started);
  const Citizen citizen = stack->Register("rebuilder", "saiwai");
  ASSERT_TRUE(stack->Record(citizen.token, "own_bottle", 1).ok());
  ASSERT_TRUE(stack->Record(citizen.token, "train_instead_of_car", 3).ok());
  stack->DrainProjector();
  const std::string board = stack->keys().Board("city::all:pts");
  auto score = stack->redis().Command({"ZSCORE", board, citizen.account_id});
  ASSERT_THAT(score, IsOk());
  ASSERT_FALSE(score->IsNil());
  auto streak = stack->redis().Command({"HGETALL", stack->keys().Streak(citizen.account_id)});
  ASSERT_THAT(streak, IsOk());
  ASSERT_FALSE(streak->elements.empty());

  ASSERT_THAT(stack->redis().Command({"DEL", board, stack->keys().Streak(citizen.account_id)}),
              IsOk());
  const auto [code, out] = RunCommand(absl::StrCat(ECOACT_REBUILD_BINARY,
                                            " --redis=", stack->redis_process().address(),
                                            " --key_prefix=", stack->keys().prefix(),
                                            " --ledger_shards=", stack->keys().shards(),
                                            " --rewards"));
  ASSERT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("from 2 ledger entries"));
  EXPECT_THAT(out, HasSubstr("rebuilt badges and streaks of 1 accounts"));

  auto rebuilt_score = stack->redis().Command({"ZSCORE", board, citizen.account_id});
  ASSERT_THAT(rebuilt_score, IsOk());
  EXPECT_EQ(rebuilt_score->str, score->str);
  auto rebuilt_streak =
      stack->redis().Command({"HGETALL", stack->keys().Streak(citizen.account_id)});
  ASSERT_THAT(rebuilt_streak, IsOk());
  ASSERT_EQ(rebuilt_streak->elements.size(), streak->elements.size());
  for (size_t i = 0; i < streak->elements.size(); ++i) {
    EXPECT_EQ(rebuilt_streak->elements[i].str, streak->elements[i].str) << i;
  }
}

}  // namespace
}  // namespace ecoact::test
