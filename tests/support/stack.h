// Every service wired in-process against a real Redis, served on a loopback
// port and reached through real gRPC stubs: the harness of the integration
// tests. The clock is settable so tests can cross day and week boundaries;
// the projector is not started, tests drive it with DrainProjector().
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/catalog.grpc.pb.h"
#include "ecoact/v1/events.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "ecoact/v1/leaderboard.grpc.pb.h"
#include "ecoact/v1/reports.grpc.pb.h"
#include "ecoact/v1/rewards.grpc.pb.h"
#include "ecoact/v1/surveys.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/actions/actions_service.h"
#include "services/actions/campaigns.h"
#include "services/rewards/badge_rules.h"
#include "services/catalog/catalog_service.h"
#include "services/common/server.h"
#include "services/events/events_service.h"
#include "services/identity/identity_service.h"
#include "services/leaderboard/leaderboard_service.h"
#include "services/leaderboard/projector.h"
#include "services/reports/report_projector.h"
#include "services/reports/reports_service.h"
#include "services/rewards/rewards_service.h"
#include "services/surveys/surveys_service.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace ecoact::test {

struct Citizen {
  std::string account_id;
  std::string secret;
  std::string token;
};

class Stack {
 public:
  // Starts Redis (unless `redis` is given) and the server on a free port.
  // `rate_limits` is a --rate_limits value; by default none, since tests
  // call thousands of RPCs as fast as they can.
  // `oidc` is the OpenID Connect provider SignInWithOidc accepts (none:
  // UNIMPLEMENTED).
  static absl::StatusOr<std::unique_ptr<Stack>> Start(
      RedisServerProcess* redis = nullptr, const std::string& rate_limits = "0",
      std::shared_ptr<identity::OidcProvider> oidc = nullptr);
  // The limiter in front of the services; null without limits.
  const RateLimiter* rate_limiter() const { return rate_limiter_.get(); }
  ~Stack();

  RedisServerProcess& redis_process() { return *redis_process_; }
  RedisClient& redis() { return *redis_; }
  const KeySpace& keys() const { return *keys_; }
  const CityCalendar& calendar() const { return *calendar_; }
  const catalog::Catalog& catalog() const { return *catalog_; }
  leaderboard::Projector& projector() { return *projector_; }
  // The reports projector (not started either): DrainReports() drives it.
  reports::ReportProjector& report_projector() { return *report_projector_; }
  const TokenService& tokens() const { return *tokens_; }
  const rewards::BadgeRuleSet& badge_rules() const { return *badge_rules_; }
  // Tests write `ea:{campaigns}:def` directly, then Invalidate().
  actions::RedisCampaignSource& campaigns() { return *campaigns_; }
  // The recording path the services use, for generating large histories
  // without a gRPC call per action.
  const actions::ActionRecorder& recorder() const { return *recorder_; }
  actions::LedgerStore& ledger() { return *ledger_; }

  absl::Time now() const { return absl::FromUnixMillis(now_ms_.load()); }
  void set_now(absl::Time t) { now_ms_.store(absl::ToUnixMillis(t)); }

  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  // The loopback port the services listen on, for processes that call them
  // (the gateway's e2e test).
  int port() const { return server_->port(); }
  std::unique_ptr<v1::IdentityService::Stub> identity() { return v1::IdentityService::NewStub(channel_); }
  std::unique_ptr<v1::CatalogService::Stub> catalog_stub() { return v1::CatalogService::NewStub(channel_); }
  std::unique_ptr<v1::ActionsService::Stub> actions() { return v1::ActionsService::NewStub(channel_); }
  std::unique_ptr<v1::LeaderboardService::Stub> boards() { return v1::LeaderboardService::NewStub(channel_); }
  std::unique_ptr<v1::EventsService::Stub> events() { return v1::EventsService::NewStub(channel_); }
  std::unique_ptr<v1::RewardsService::Stub> rewards() { return v1::RewardsService::NewStub(channel_); }
  std::unique_ptr<v1::SurveysService::Stub> surveys() { return v1::SurveysService::NewStub(channel_); }
  std::unique_ptr<v1::ReportsService::Stub> reports() { return v1::ReportsService::NewStub(channel_); }

  // Creates a staff account through the API and returns its token.
  std::string StaffToken(const std::string& login);

  // A context with a 5 s deadline and, if given, the bearer token.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token = "");

  // Registers a citizen through the API; fails the current test on error.
  // A non-empty `team` is created first if needed (as CreateTeam with a
  // request id fixed by the team id, so it is idempotent) and joined with
  // its code at sign-up.
  Citizen Register(const std::string& nickname, const std::string& ward,
                   const std::string& team = "");
  // Create a team / organisation as the admin (idempotent per id) and return
  // its join code; fail the current test on error.
  std::string CreateTeam(const std::string& team_id, const std::string& organisation_id = "");
  std::string CreateOrganisation(const std::string& organisation_id);
  // Joins with `code` as the citizen of `token`; returns the call's status.
  grpc::Status JoinWithCode(const std::string& token, const std::string& code,
                            v1::Profile* profile = nullptr);
  // Signs in the configured admin and returns the token.
  std::string AdminToken();
  // Records through the API with a fresh request id.
  grpc::Status Record(const std::string& token, const std::string& type, double quantity,
                      v1::RecordActionResponse* response = nullptr);
  // Runs the projector until nothing is waiting.
  int DrainProjector();
  // Runs the reports projector until nothing is waiting.
  int DrainReports();

  static constexpr char kAdminPassword[] = "integration-admin-pw";

 private:
  Stack() = default;
  std::unique_ptr<RedisServerProcess> owned_redis_;
  RedisServerProcess* redis_process_ = nullptr;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<KeySpace> keys_;
  std::unique_ptr<CityCalendar> calendar_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<TokenService> tokens_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<identity::WardDirectory> wards_;
  std::unique_ptr<identity::RedisAccountStore> accounts_;
  std::unique_ptr<identity::RedisTeamStore> teams_;
  std::unique_ptr<identity::RedisPrivacyStore> privacy_;
  std::unique_ptr<identity::SessionStore> sessions_;
  std::unique_ptr<identity::IdentityServiceImpl> identity_service_;
  std::unique_ptr<catalog::CatalogServiceImpl> catalog_service_;
  std::unique_ptr<rewards::BadgeRuleSet> badge_rules_;
  std::unique_ptr<actions::RedisCampaignSource> campaigns_;
  std::unique_ptr<actions::ActionRecorder> recorder_;
  std::unique_ptr<actions::RedisLedgerStore> ledger_;
  std::unique_ptr<actions::ActionsServiceImpl> actions_service_;
  std::unique_ptr<leaderboard::BoardStore> board_store_;
  std::unique_ptr<leaderboard::LeaderboardServiceImpl> leaderboard_service_;
  std::unique_ptr<leaderboard::Projector> projector_;
  std::unique_ptr<events::EventStore> event_store_;
  std::unique_ptr<events::CheckInCodes> codes_;
  std::unique_ptr<events::EventsServiceImpl> events_service_;
  std::unique_ptr<rewards::RewardStore> reward_store_;
  std::unique_ptr<rewards::RewardsServiceImpl> rewards_service_;
  std::unique_ptr<surveys::SurveyStore> survey_store_;
  std::unique_ptr<surveys::SurveysServiceImpl> surveys_service_;
  std::unique_ptr<reports::ReportStore> report_store_;
  std::unique_ptr<reports::ReportsServiceImpl> reports_service_;
  std::unique_ptr<reports::ReportProjector> report_projector_;
  std::unique_ptr<RateLimiter> rate_limiter_;
  std::unique_ptr<EcoactServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::atomic<int64_t> now_ms_{0};
  int request_counter_ = 0;
};

}  // namespace ecoact::test
