// End to end: redis-server (AOF on) and the all-in-one ecoact_server run as
// separate processes; a real gRPC client walks the citizen's tour
// register -> record -> impact -> board -> rank, then the server is killed
// with SIGKILL and restarted, and the boards are still exact.
#include <csignal>

#include "absl/strings/str_cat.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/catalog.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "ecoact/v1/leaderboard.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/common/clock.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

constexpr char kAdminPassword[] = "e2e-admin-password";

class TourTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisServerOptions redis_options;
    redis_options.appendonly = true;
    auto redis = RedisServerProcess::Start(redis_options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    server_options_.binary = ECOACT_SERVER_BINARY;
    server_options_.admin_password = kAdminPassword;
    if (SplitRequested()) server_options_.split_binaries = SplitBinaries(ECOACT_SERVICES_DIR);
    StartServer();
  }

  // Starts the server; again after a crash, on the same port and keys.
  void StartServer() {
    auto server = EcoactServerProcess::Start(*redis_, server_options_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    server_options_ = server_->options();
    channel_ = server_->channel();
  }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& token = "") {
    return CallContext(token);
  }

  v1::RegisterResponse Register(const std::string& nickname, const std::string& ward) {
    v1::RegisterRequest request;
    request.set_request_id(absl::StrCat("e2e-register-", Base32(RandomBytes(10))));
    request.set_nickname(nickname);
    request.set_ward(ward);
    v1::RegisterResponse response;
    grpc::Status status =
        server_->Stub<v1::IdentityService>()->Register(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::RecordActionResponse Record(const std::string& token, const std::string& type, double qty,
                                  const std::string& request_id) {
    v1::RecordActionRequest request;
    request.set_request_id(request_id);
    request.set_action_type(type);
    request.set_quantity(qty);
    v1::RecordActionResponse response;
    grpc::Status status;
    // Like the app: retry UNAVAILABLE (e.g. a connection to a crashed server)
    // with the same request id.
    for (int attempt = 0; attempt < 5; ++attempt) {
      status = server_->Stub<v1::ActionsService>()->RecordAction(Context(token).get(), request,
                                                                   &response);
      if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Polls the city board until `account_count` citizens show the expected
  // top score (the projector applies entries a few milliseconds later).
  v1::GetLeaderboardResponse BoardWhen(const std::string& token, int count, int64_t top) {
    v1::GetLeaderboardRequest request;
    request.mutable_board()->set_scope(v1::SCOPE_CITY);
    request.mutable_board()->set_period(v1::PERIOD_WEEK);
    request.mutable_board()->set_metric(v1::METRIC_CO2E_GRAMS);
    v1::GetLeaderboardResponse response;
    for (int i = 0; i < 100; ++i) {
      response.Clear();
      grpc::Status status = server_->Stub<v1::LeaderboardService>()->GetLeaderboard(
          Context(token).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (response.entries_size() == count && response.entries(0).score() == top) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return response;
  }

  std::unique_ptr<RedisServerProcess> redis_;
  EcoactServerOptions server_options_;
  std::unique_ptr<EcoactServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(TourTest, CitizenTourThenCrashAndRestartKeepsEverythingExact) {
  // The server is healthy once it reaches Redis.
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest health_request;
  grpc::health::v1::HealthCheckResponse health_response;
  ASSERT_TRUE(health->Check(Context().get(), health_request, &health_response).ok());
  EXPECT_EQ(health_response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // Register, look at the catalogue, record.
  v1::RegisterResponse mika = Register("Mika", "nakahara");
  v1::RegisterResponse ken = Register("Ken", "tama");
  ASSERT_FALSE(mika.token().empty());
  v1::ListActionTypesResponse types;
  ASSERT_TRUE(server_->Stub<v1::CatalogService>()
                  ->ListActionTypes(Context(mika.token()).get(), {}, &types)
                  .ok());
  EXPECT_GE(types.action_types_size(), 10);

  v1::RecordActionResponse clothes = Record(mika.token(), "clothing_reuse", 3, "e2e-mika-clothes-1");
  EXPECT_GT(clothes.entry().co2e_grams(), 0);
  EXPECT_EQ(clothes.entry().factor_version(), "clothing_reuse@v1");
  v1::RecordActionResponse bags = Record(ken.token(), "plastic_bag_refused", 3, "e2e-ken-bags-1");
  const int64_t mika_grams = clothes.entry().co2e_grams();

  v1::GetMyImpactResponse impact;
  ASSERT_TRUE(server_->Stub<v1::ActionsService>()
                  ->GetMyImpact(Context(mika.token()).get(), {}, &impact)
                  .ok());
  EXPECT_EQ(impact.totals(0).co2e_grams(), mika_grams);

  v1::GetLeaderboardResponse board = BoardWhen(mika.token(), 2, mika_grams);
  ASSERT_EQ(board.entries_size(), 2);
  EXPECT_EQ(board.entries(0).nickname(), "Mika");
  EXPECT_TRUE(board.entries(0).is_me());
  EXPECT_EQ(board.entries(1).score(), bags.entry().co2e_grams());

  v1::GetMyRankRequest rank_request;
  rank_request.mutable_board()->set_scope(v1::SCOPE_CITY);
  rank_request.mutable_board()->set_period(v1::PERIOD_WEEK);
  rank_request.mutable_board()->set_metric(v1::METRIC_CO2E_GRAMS);
  rank_request.set_neighbours(2);
  v1::GetMyRankResponse rank;
  ASSERT_TRUE(server_->Stub<v1::LeaderboardService>()
                  ->GetMyRank(Context(ken.token()).get(), rank_request, &rank)
                  .ok());
  EXPECT_EQ(rank.me().rank(), 2);
  ASSERT_EQ(rank.above_size(), 1);
  EXPECT_EQ(rank.above(0).nickname(), "Mika");

  // Crash: SIGKILL the server (every process of a split deployment), start
  // it again on the same Redis.
  for (ProcessHandle* process : server_->processes()) process->Kill();
  StartServer();
  // A retry of an acknowledged request after the crash changes nothing.
  v1::RecordActionResponse retried = Record(mika.token(), "clothing_reuse", 3, "e2e-mika-clothes-1");
  EXPECT_TRUE(retried.replayed());
  EXPECT_EQ(retried.entry().entry_id(), clothes.entry().entry_id());
  Record(mika.token(), "clothing_reuse", 1, "e2e-mika-clothes-2");
  v1::GetMyImpactResponse impact_after;
  ASSERT_TRUE(server_->Stub<v1::ActionsService>()
                  ->GetMyImpact(Context(mika.token()).get(), {}, &impact_after)
                  .ok());
  EXPECT_EQ(impact_after.totals(0).actions(), 2);
  board = BoardWhen(mika.token(), 2, impact_after.totals(0).co2e_grams());
  EXPECT_EQ(board.entries(0).score(), impact_after.totals(0).co2e_grams());

  // The admin from the environment can sign in and create staff; a staff
  // token cannot record actions for itself.
  v1::SignInRequest sign_in;
  sign_in.set_account_id("admin");
  sign_in.set_secret(kAdminPassword);
  v1::SignInResponse admin;
  ASSERT_TRUE(server_->Stub<v1::IdentityService>()->SignIn(Context().get(), sign_in, &admin).ok());
  v1::CreateStaffRequest staff;
  staff.set_request_id("e2e-create-staff");
  staff.set_login("staff.aiko");
  staff.set_password("a-long-staff-password");
  v1::Profile staff_profile;
  ASSERT_TRUE(server_->Stub<v1::IdentityService>()
                  ->CreateStaff(Context(admin.token()).get(), staff, &staff_profile)
                  .ok());
  sign_in.set_account_id("staff.aiko");
  sign_in.set_secret("a-long-staff-password");
  v1::SignInResponse staff_session;
  ASSERT_TRUE(
      server_->Stub<v1::IdentityService>()->SignIn(Context().get(), sign_in, &staff_session).ok());
  v1::RecordActionRequest request;
  request.set_request_id("e2e-staff-record");
  request.set_action_type("clothing_reuse");
  request.set_quantity(1);
  v1::RecordActionResponse denied;
  EXPECT_THAT(server_->Stub<v1::ActionsService>()->RecordAction(
                  Context(staff_session.token()).get(), request, &denied),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));

  // SIGTERM: graceful shutdown, exit code 0 (each process of a split
  // deployment).
  for (ProcessHandle* process : server_->processes()) {
    ASSERT_TRUE(process->Signal(SIGTERM).ok());
  }
  for (ProcessHandle* process : server_->processes()) {
    auto exit = process->Wait(absl::Seconds(15));
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_TRUE(exit->Success()) << exit->ToString();
  }
}

}  // namespace
}  // namespace ecoact::test
