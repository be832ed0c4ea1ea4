// Impact reports end to end through the command-line client: redis-server
// and ecoact_server run as processes (with the reports projector; split.*:
// each service's own process, `ecoact report` through its --routes), citizens
// record actions with `ecoact record`, anyone reads `ecoact report`, an
// admin streams `ecoact report export` to a CSV file, and `ecoact_rebuild
// --reports` recounts the figures on the live system without changing them.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/clock.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace ecoact::test {
namespace {

using ::testing::HasSubstr;

constexpr char kAdminPassword[] = "reports-e2e-admin-password";

class ReportsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServerProcess::Start({});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    EcoactServerOptions options;
    options.binary = ECOACT_SERVER_BINARY;
    options.admin_password = kAdminPassword;
    options.extra_args = {"--ledger_shards=4"};
    if (SplitRequested()) options.split_binaries = SplitBinaries(ECOACT_SERVICES_DIR);
    auto server = EcoactServerProcess::Start(*redis_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    dir_ = absl::StrCat(::testing::TempDir(), "reports-cli-", Base32(RandomBytes(6)));
    ASSERT_EQ(std::system(absl::StrCat("mkdir -p ", dir_).c_str()), 0);
  }

  std::string Run(const std::string& command, int* exit_code) {
    FILE* pipe = popen(absl::StrCat(command, " 2>&1").c_str(), "r");
    EXPECT_NE(pipe, nullptr);
    std::string out;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
    const int status = pclose(pipe);
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::printf("$ %s\n%s\n", command.c_str(), out.c_str());
    return out;
  }

  std::string Ecoact(const std::string& session, const std::string& args, int expected = 0) {
    int code = 0;
    std::string out =
        Run(absl::StrCat(ECOACT_CLI_BINARY, " --server=", server_->server_target(),
                         server_->split() ? " --routes=" + server_->routes_flag() : "",
                         " --session=", dir_, "/", session, ".json ", args),
            &code);
    EXPECT_EQ(code, expected) << "ecoact " << args << "\n" << out;
    return out;
  }

  // The projector counts an action a few milliseconds after it is recorded.
  std::string EcoactUntil(const std::string& args, const std::string& expected) {
    std::string out;
    for (int i = 0; i < 50; ++i) {
      out = Ecoact("anyone", args);
      if (absl::StrContains(out, expected)) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return out;
  }

  std::unique_ptr<RedisServerProcess> redis_;
  std::unique_ptr<EcoactServerProcess> server_;
  std::string dir_;
};

TEST_F(ReportsCliTest, ReportExportAndRebuild) {
  Ecoact("admin", absl::StrCat("login --account=admin --secret=", kAdminPassword));
  Ecoact("mika", "register --nickname=Mika --ward=nakahara");
  Ecoact("sora", "register --nickname=Sora --ward=tama");
  // 2.5 kg of clothing for reuse: 2.5 x 13.234 kg CO2e/kg = 33,085 g.
  EXPECT_THAT(Ecoact("mika", "record clothing_reuse 2.5"), HasSubstr("33085"));
  Ecoact("sora", "record clothing_reuse 1");
  absl::TimeZone tokyo;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Tokyo", &tokyo));
  const std::string month = absl::FormatTime("%Y-%m", absl::Now(), tokyo);

  // Public: no sign-in needed. The ward's report (one participant: totals
  // only, the small-group rule), then the city's.
  const std::string ward = EcoactUntil("report --scope=ward --id=nakahara", "33085 g");
  EXPECT_THAT(ward, HasSubstr("(中原区)"));
  EXPECT_THAT(ward, HasSubstr("totals\nonly"));
  EXPECT_THAT(ward, ::testing::Not(HasSubstr("clothing_reuse@v1")));
  EXPECT_THAT(Ecoact("admin", "report --scope=ward --id=nakahara"), HasSubstr("clothing_reuse@v1"));
  EXPECT_THAT(ward, HasSubstr("CO2 one Japanese cedar"));
  // 33,085 g / 8,800 g per cedar-year = 3.759 trees; / 125 g per km = 264.68 km.
  EXPECT_THAT(ward, HasSubstr("3.759 trees"));
  EXPECT_THAT(ward, HasSubstr("264.68 km"));
  const std::string city = EcoactUntil(absl::StrCat("report --from=", month, " --to=", month),
                                       "46319 g");
  EXPECT_THAT(city, HasSubstr("nakahara (中原区)"));
  EXPECT_THAT(city, HasSubstr("tama (多摩区)"));
  EXPECT_THAT(Ecoact("anyone", "report --from=2026-13", 1),
              HasSubstr("INVALID_ARGUMENT: from_month must be a month"));
  EXPECT_THAT(Ecoact("anyone", "report --scope=ward --id=atlantis", 1),
              HasSubstr("NOT_FOUND: unknown ward 'atlantis'"));

  // The admin's CSV export, streamed to a file.
  const std::string path = absl::StrCat(dir_, "/impact.csv");
  EXPECT_THAT(Ecoact("admin", absl::StrCat("report export --out=", path, " --from=", month,
                                           " --to=", month)),
              HasSubstr(absl::StrCat("to ", path)));
  std::ifstream file(path, std::ios::binary);
  std::stringstream csv;
  csv << file.rdbuf();
  EXPECT_THAT(csv.str(), ::testing::StartsWith("scope,scope_id,scope_name,month,category,"));
  EXPECT_THAT(csv.str(), HasSubstr(absl::StrCat("\r\nward,nakahara,中原区,", month,
                                                ",clothing,33085,2500,1,1,clothing_reuse@v1\r\n")));
  EXPECT_THAT(csv.str(), HasSubstr(absl::StrCat("\r\ncity,,,", month,
                                                ",clothing,46319,3500,2,2,clothing_reuse@v1\r\n")));
  // For Excel: the same CSV after a UTF-8 byte order mark.
  const std::string excel_path = absl::StrCat(dir_, "/impact-excel.csv");
  Ecoact("admin", absl::StrCat("report export --excel --out=", excel_path, " --from=", month,
                               " --to=", month));
  std::ifstream excel_file(excel_path, std::ios::binary);
  std::stringstream excel;
  excel << excel_file.rdbuf();
  EXPECT_EQ(excel.str(), "\xEF\xBB\xBF" + csv.str());
  // Citizens may not export; a failed export leaves a file already under
  // the name asked for as it was, and no partial file.
  const std::string refused = absl::StrCat(dir_, "/no.csv");
  std::ofstream(refused) << "earlier export\n";
  EXPECT_THAT(Ecoact("mika", absl::StrCat("report export --out=", refused, " --from=", month,
                                          " --to=", month),
                     1),
              HasSubstr("PERMISSION_DENIED"));
  std::ifstream kept(refused, std::ios::binary);
  std::stringstream kept_text;
  kept_text << kept.rdbuf();
  EXPECT_EQ(kept_text.str(), "earlier export\n");
  EXPECT_FALSE(std::ifstream(refused + ".partial").good());

  // Recount from the ledger on the live system: the same figures.
  int code = 0;
  const std::string rebuilt =
      Run(absl::StrCat(ECOACT_REBUILD_BINARY, " --redis=", redis_->address(),
                       " --key_prefix=", server_->options().key_prefix,
                       " --ledger_shards=4 --reports"),
          &code);
  ASSERT_EQ(code, 0) << rebuilt;
  EXPECT_THAT(rebuilt, HasSubstr("rebuilt impact reports from 2 ledger entries"));
  EXPECT_EQ(Ecoact("anyone", absl::StrCat("report --from=", month, " --to=", month)), city);
}

}  // namespace
}  // namespace ecoact::test
