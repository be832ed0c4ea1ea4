// `ecoact demo` against the real server and Redis: a small pilot (100
// citizens) seeds living boards, a campaign board, drives and survey
// results with the planted effect, and a second run with the same seed
// replays every request instead of doubling anything.
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ecoact/v1/events.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "ecoact/v1/leaderboard.grpc.pb.h"
#include "ecoact/v1/surveys.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/clock.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace ecoact::test {
namespace {

using ::testing::HasSubstr;

constexpr char kAdminPassword[] = "demo-e2e-admin-password";

class DemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServerProcess::Start({});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    EcoactServerOptions options;
    options.binary = ECOACT_SERVER_BINARY;
    options.admin_password = kAdminPassword;
    // The demo registers a hundred citizens from one address.
    options.extra_args = {"--rate_limits=0"};
    auto server = EcoactServerProcess::Start(*redis_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    dir_ = absl::StrCat(::testing::TempDir(), "demo-", Base32(RandomBytes(6)));
    ASSERT_EQ(std::system(absl::StrCat("mkdir -p ", dir_).c_str()), 0);
  }

  std::string Ecoact(const std::string& args) {
    const std::string command =
        absl::StrCat(ECOACT_CLI_BINARY, " --server=127.0.0.1:", server_->options().port,
                     " --session=", dir_, "/admin.json ", args, " 2>&1");
    FILE* pipe = popen(command.c_str(), "r");
    EXPECT_NE(pipe, nullptr);
    std::string out;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
    const int status = pclose(pipe);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "ecoact " << args << "\n" << out;
    std::printf("$ ecoact %s\n%s\n", args.c_str(), out.c_str());
    return out;
  }

  static std::string Field(const std::string& out, const std::string& label) {
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      if (absl::ConsumePrefix(&line, label)) return std::string(absl::StripAsciiWhitespace(line));
    }
    ADD_FAILURE() << "no '" << label << "' in:\n" << out;
    return "";
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    c->AddMetadata("authorization", "Bearer " + token_);
    return c;
  }

  void SignIn() {
    v1::SignInResponse response;
    ASSERT_TRUE(SignInAs("admin", kAdminPassword, &response).ok());
    token_ = response.token();
  }

  grpc::Status SignInAs(const std::string& account, const std::string& secret,
                        v1::SignInResponse* response) {
    v1::SignInRequest request;
    request.set_account_id(account);
    request.set_secret(secret);
    grpc::ClientContext context;
    return v1::IdentityService::NewStub(server_->channel())->SignIn(&context, request, response);
  }

  // A board's total score, waiting for the projector (a few ms) until it
  // has at least `min_entries` entries.
  v1::GetLeaderboardResponse Board(v1::Scope scope, const std::string& id, v1::Level level,
                                   v1::Metric metric, int min_entries) {
    v1::GetLeaderboardRequest request;
    request.mutable_board()->set_scope(scope);
    request.mutable_board()->set_scope_id(id);
    request.mutable_board()->set_period(v1::PERIOD_ALL_TIME);
    request.mutable_board()->set_metric(metric);
    request.mutable_board()->set_level(level);
    request.set_page_size(100);
    v1::GetLeaderboardResponse response;
    auto stub = v1::LeaderboardService::NewStub(server_->channel());
    // Up to 30 s for the projector to catch up: under a parallel ctest it
    // once needed more than 10 s (the demo queues ~100 citizens for a
    // resync as they reach the minimum actions).
    for (int i = 0; i < 300; ++i) {
      response.Clear();
      grpc::Status status = stub->GetLeaderboard(Context().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (response.entries_size() >= min_entries) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return response;
  }

  static int64_t Sum(const v1::GetLeaderboardResponse& board) {
    int64_t sum = 0;
    for (const auto& e : board.entries()) sum += e.score();
    return sum;
  }

  // The wards board's total CO2 once the projector has caught up: the same
  // in three reads 300 ms apart.
  int64_t SettledWardsTotal() {
    int64_t last = -1;
    int same = 0;
    for (int i = 0; i < 100 && same < 2; ++i) {
      const int64_t now =
          Sum(Board(v1::SCOPE_CITY, "", v1::LEVEL_WARDS, v1::METRIC_CO2E_GRAMS, 7));
      same = now == last ? same + 1 : 0;
      last = now;
      absl::SleepFor(absl::Milliseconds(300));
    }
    return last;
  }

  std::unique_ptr<RedisServerProcess> redis_;
  std::unique_ptr<EcoactServerProcess> server_;
  std::string dir_;
  std::string token_;
};

TEST_F(DemoTest, SmallPilotSeedsLivingBoardsAndASecondRunDoublesNothing) {
  Ecoact(absl::StrCat("login --account=admin --secret=", kAdminPassword));
  const std::string first = Ecoact("demo --citizens=100 --seed=7 --parallel=8");
  EXPECT_THAT(first, HasSubstr("Demo pilot seeded"));
  EXPECT_THAT(first, HasSubstr("100 in 7 wards"));
  EXPECT_THAT(first, HasSubstr("5, 12"));  // organisations, teams
  EXPECT_THAT(first, ::testing::ContainsRegex("actions +[0-9]+ \\([0-9]+ new, 0 replayed\\)"));
  const std::string campaign = Field(first, "campaign");
  const std::string survey_field = Field(first, "survey");  // "sv-..., N responses"
  const std::string survey = survey_field.substr(0, survey_field.find(','));
  ASSERT_EQ(campaign, "demo-season-7");
  ASSERT_THAT(survey, ::testing::StartsWith("sv-"));
  // The drives' staff account has a random password, shown once; the one
  // the demo used to derive from the seed does not sign in.
  const std::string staff = Field(first, "drive staff");  // "demo.staff7, password X (shown once)"
  ASSERT_THAT(staff,
              ::testing::MatchesRegex("demo\\.staff7, password [a-z2-9]{20} \\(shown once\\)"));
  const std::string staff_password = staff.substr(staff.find("password ") + 9, 20);
  v1::SignInResponse staff_session;
  EXPECT_TRUE(SignInAs("demo.staff7", staff_password, &staff_session).ok());
  EXPECT_EQ(SignInAs("demo.staff7", "demo-staff-password-7", &staff_session).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  SignIn();
  const v1::GetLeaderboardResponse wards =
      Board(v1::SCOPE_CITY, "", v1::LEVEL_WARDS, v1::METRIC_CO2E_GRAMS, 7);
  EXPECT_EQ(wards.entries_size(), 7);  // every ward has active citizens
  const v1::GetLeaderboardResponse teams =
      Board(v1::SCOPE_CITY, "", v1::LEVEL_TEAMS, v1::METRIC_POINTS, 5);
  EXPECT_GE(teams.entries_size(), 5);
  const v1::GetLeaderboardResponse campaign_board =
      Board(v1::SCOPE_CAMPAIGN, campaign, v1::LEVEL_UNSPECIFIED, v1::METRIC_CO2E_GRAMS, 1);
  EXPECT_GT(campaign_board.entries_size(), 0);

  v1::GetSurveyResultsRequest results_request;
  results_request.set_survey_id(survey);
  v1::SurveyResults results;
  auto surveys = v1::SurveysService::NewStub(server_->channel());
  ASSERT_TRUE(surveys->GetSurveyResults(Context().get(), results_request, &results).ok());
  ASSERT_EQ(results.waves_size(), 2);
  EXPECT_GT(results.waves(0).responses(), 0);
  EXPECT_GT(results.paired_respondents(), 0);
  EXPECT_GT(results.waves(0).checked_in_respondents() + results.checked_in_participants(), 0);
  // The planted effect: those who answered the after wave act twice as
  // often after the drive (on average; the days differ by chance).
  v1::GetBehaviourChangeRequest behaviour_request;
  behaviour_request.set_survey_id(survey);
  behaviour_request.set_weeks(1);
  v1::BehaviourChange behaviour;
  ASSERT_TRUE(surveys->GetBehaviourChange(Context().get(), behaviour_request, &behaviour).ok());
  ASSERT_EQ(behaviour.groups_size(), 4);
  EXPECT_GT(behaviour.groups(1).respondents(), 0);
  EXPECT_GT(behaviour.groups(1).after().actions(), 0);

  // A second run: every request is a replay.
  const int64_t wards_before = SettledWardsTotal();
  const std::string second = Ecoact("demo --citizens=100 --seed=7 --parallel=8");
  EXPECT_THAT(second, ::testing::ContainsRegex("actions +([0-9]+) \\(0 new, [0-9]+ replayed\\)"));
  EXPECT_THAT(second, ::testing::ContainsRegex("\\(0 new\\)"));  // weigh-ins
  EXPECT_EQ(Field(second, "survey"), Field(first, "survey"));
  EXPECT_EQ(Field(second, "drives"), Field(first, "drives"));
  EXPECT_EQ(Field(second, "drive staff"), "demo.staff7 (password shown by the first run)");
  EXPECT_TRUE(SignInAs("demo.staff7", staff_password, &staff_session).ok());
  EXPECT_EQ(SettledWardsTotal(), wards_before);
  v1::SurveyResults again;
  ASSERT_TRUE(surveys->GetSurveyResults(Context().get(), results_request, &again).ok());
  EXPECT_EQ(again.waves(0).responses(), results.waves(0).responses());
  EXPECT_EQ(again.paired_respondents(), results.paired_respondents());
}

}  // namespace
}  // namespace ecoact::test
