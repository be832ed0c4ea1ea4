#include "tests/support/stack.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/catalog/equivalents.h"
#include "services/common/clock.h"

namespace ecoact::test {

absl::StatusOr<std::unique_ptr<Stack>> Stack::Start(RedisServerProcess* redis,
                                                    const std::string& rate_limits,
                                                    std::shared_ptr<identity::OidcProvider> oidc) {
  std::unique_ptr<Stack> stack(new Stack());
  if (redis == nullptr) {
    auto started = RedisServerProcess::Start();
    if (!started.ok()) return started.status();
    stack->owned_redis_ = *std::move(started);
    redis = stack->owned_redis_.get();
  }
  stack->redis_process_ = redis;
  RedisOptions redis_options = redis->client_options();
  redis_options.command_timeout = absl::Milliseconds(800);
  redis_options.connect_timeout = absl::Milliseconds(200);
  stack->redis_ = std::make_unique<RedisClient>(redis_options);
  stack->keys_ = std::make_unique<KeySpace>(UniqueKeyPrefix(), 4);
  auto calendar = CityCalendar::Create("Asia/Tokyo");
  if (!calendar.ok()) return calendar.status();
  stack->calendar_ = std::make_unique<CityCalendar>(*calendar);
  auto catalog = catalog::Catalog::Parse(catalog::EmbeddedCatalogText(), *stack->calendar_);
  if (!catalog.ok()) return catalog.status();
  stack->catalog_ = std::make_unique<catalog::Catalog>(*std::move(catalog));
  auto tokens = TokenService::Create({{"k1", std::string(40, 'k')}}, "k1", "ecoact",
                                     absl::Hours(1));
  if (!tokens.ok()) return tokens.status();
  stack->tokens_ = std::make_unique<TokenService>(*std::move(tokens));
  stack->set_now(absl::Now());
  Stack* raw = stack.get();
  Clock clock = [raw] { return raw->now(); };
  stack->auth_ = std::make_unique<Authenticator>(stack->tokens_.get(), clock);
  auto wards = identity::WardDirectory::Parse(identity::kKawasakiWards);
  if (!wards.ok()) return wards.status();
  stack->wards_ = std::make_unique<identity::WardDirectory>(*std::move(wards));
  stack->accounts_ = std::make_unique<identity::RedisAccountStore>(stack->redis_.get(), *stack->keys_);
  stack->teams_ = std::make_unique<identity::RedisTeamStore>(stack->redis_.get(), *stack->keys_);
  identity::IdentityOptions identity_options;
  identity_options.credential_key = std::string(40, 'k');
  identity_options.password_iterations = 1000;
  stack->privacy_ = std::make_unique<identity::RedisPrivacyStore>(stack->redis_.get(), *stack->keys_);
  identity_options.oidc = std::move(oidc);
  stack->sessions_ = std::make_unique<identity::SessionStore>(stack->redis_.get(), *stack->keys_,
                                                              identity::RefreshPolicy{});
  stack->identity_service_ = std::make_unique<identity::IdentityServiceImpl>(
      stack->accounts_.get(), stack->teams_.get(), stack->privacy_.get(), stack->sessions_.get(),
      stack->auth_.get(), stack->wards_.get(), identity_options);
  absl::Status admin = identity::EnsureAdmin(stack->accounts_.get(), "admin", kAdminPassword,
                                             1000, stack->now());
  if (!admin.ok()) return admin;
  const absl::Duration max_backdate = absl::Hours(24 * 7);
  stack->catalog_service_ = std::make_unique<catalog::CatalogServiceImpl>(
      stack->catalog_.get(), stack->auth_.get(), max_backdate);
  actions::RecorderOptions recorder_options;
  recorder_options.max_backdate = max_backdate;
  auto badge_rules = rewards::BadgeRuleSet::Parse(rewards::EmbeddedBadgesText());
  if (!badge_rules.ok()) return badge_rules.status();
  stack->badge_rules_ = std::make_unique<rewards::BadgeRuleSet>(*std::move(badge_rules));
  stack->campaigns_ =
      std::make_unique<actions::RedisCampaignSource>(stack->redis_.get(), *stack->keys_);
  stack->recorder_ = std::make_unique<actions::ActionRecorder>(
      stack->catalog_.get(), stack->calendar_.get(), clock, recorder_options,
      stack->badge_rules_.get(), stack->campaigns_.get());
  stack->ledger_ = std::make_unique<actions::RedisLedgerStore>(stack->redis_.get(), *stack->keys_,
                                                               actions::LedgerStoreOptions{});
  stack->actions_service_ = std::make_unique<actions::ActionsServiceImpl>(
      stack->recorder_.get(), stack->ledger_.get(), stack->auth_.get());
  stack->board_store_ = std::make_unique<leaderboard::BoardStore>(stack->redis_.get(), *stack->keys_);
  leaderboard::LeaderboardOptions leaderboard_options;
  for (const auto& ward : stack->wards_->wards()) {
    leaderboard_options.ward_names[ward.id] = ward.name;
  }
  stack->leaderboard_service_ = std::make_unique<leaderboard::LeaderboardServiceImpl>(
      stack->board_store_.get(), stack->redis_.get(), stack->keys_.get(), stack->calendar_.get(),
      stack->auth_.get(), leaderboard_options);
  leaderboard::ProjectorOptions projector_options;
  projector_options.consumer = "test-projector";
  projector_options.block = absl::Milliseconds(20);
  stack->projector_ = std::make_unique<leaderboard::Projector>(
      stack->redis_.get(), stack->keys_.get(), stack->calendar_.get(), projector_options);

  stack->event_store_ = std::make_unique<events::EventStore>(stack->redis_.get(),
                                                             stack->keys_->prefix());
  stack->codes_ = std::make_unique<events::CheckInCodes>("checkin-test-key", absl::Minutes(10));
  events::EventsOptions events_options;
  for (const auto& ward : stack->wards_->wards()) events_options.wards.push_back(ward.id);
  stack->events_service_ = std::make_unique<events::EventsServiceImpl>(
      stack->event_store_.get(), stack->ledger_.get(), stack->recorder_.get(),
      stack->catalog_.get(), stack->board_store_.get(), stack->redis_.get(), stack->keys_.get(),
      stack->codes_.get(), stack->auth_.get(), events_options);

  stack->reward_store_ = std::make_unique<rewards::RewardStore>(stack->redis_.get(), *stack->keys_);
  rewards::RewardsOptions rewards_options;
  for (const auto& type : stack->catalog_->types()) rewards_options.action_types.insert(type.id);
  rewards_options.badge_rules = *stack->badge_rules_;
  rewards_options.on_campaign_created = [campaigns = stack->campaigns_.get()] {
    (void)campaigns->Invalidate();
  };
  stack->rewards_service_ = std::make_unique<rewards::RewardsServiceImpl>(
      stack->reward_store_.get(), stack->calendar_.get(), stack->auth_.get(), rewards_options);

  stack->survey_store_ = std::make_unique<surveys::SurveyStore>(stack->redis_.get(),
                                                                stack->keys_->prefix());
  stack->surveys_service_ = std::make_unique<surveys::SurveysServiceImpl>(
      stack->survey_store_.get(), stack->event_store_.get(), stack->redis_.get(),
      stack->keys_.get(), stack->auth_.get(), surveys::SurveysOptions{});

  stack->report_store_ =
      std::make_unique<reports::ReportStore>(stack->redis_.get(), stack->keys_.get());
  reports::ReportsOptions reports_options;
  for (const auto& ward : stack->wards_->wards()) reports_options.ward_names[ward.id] = ward.name;
  auto equivalents = catalog::ParseEquivalents(catalog::EmbeddedEquivalentsText());
  if (!equivalents.ok()) return equivalents.status();
  reports_options.equivalents = *std::move(equivalents);
  stack->reports_service_ = std::make_unique<reports::ReportsServiceImpl>(
      stack->report_store_.get(), stack->event_store_.get(), stack->redis_.get(),
      stack->keys_.get(), stack->calendar_.get(), stack->catalog_.get(), stack->auth_.get(),
      reports_options);
  reports::ReportProjectorOptions report_projector_options;
  report_projector_options.consumer = "test-reports";
  report_projector_options.block = absl::Milliseconds(20);
  stack->report_projector_ = std::make_unique<reports::ReportProjector>(
      stack->redis_.get(), stack->keys_.get(), stack->calendar_.get(), report_projector_options);

  ServerOptions server_options;
  server_options.listen = "127.0.0.1:0";
  server_options.health_interval = absl::Milliseconds(100);
  server_options.shutdown_grace = absl::Seconds(2);
  auto limits = RateLimitTable::Parse(rate_limits);
  if (!limits.ok()) return limits.status();
  if (limits->any_enabled()) {
    stack->rate_limiter_ = std::make_unique<RateLimiter>(stack->redis_.get(),
                                                         stack->keys_->prefix(), *limits);
    server_options.rate_limiter = stack->rate_limiter_.get();
  }
  stack->server_ = std::make_unique<EcoactServer>(server_options, stack->redis_.get(),
                                                  stack->auth_.get());
  stack->server_->AddService(stack->identity_service_.get(), "ecoact.v1.IdentityService");
  stack->server_->AddService(stack->catalog_service_.get(), "ecoact.v1.CatalogService");
  stack->server_->AddService(stack->actions_service_.get(), "ecoact.v1.ActionsService");
  stack->server_->AddService(stack->leaderboard_service_.get(), "ecoact.v1.LeaderboardService");
  stack->server_->AddService(stack->events_service_.get(), "ecoact.v1.EventsService");
  stack->server_->AddService(stack->rewards_service_.get(), "ecoact.v1.RewardsService");
  stack->server_->AddService(stack->surveys_service_.get(), "ecoact.v1.SurveysService");
  stack->server_->AddService(stack->reports_service_.get(), "ecoact.v1.ReportsService");
  absl::Status started = stack->server_->Start();
  if (!started.ok()) return started;
  stack->channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", stack->server_->port()),
                                        grpc::InsecureChannelCredentials());
  return stack;
}

Stack::~Stack() {
  if (server_) server_->Shutdown();
}

std::unique_ptr<grpc::ClientContext> Stack::Context(const std::string& token) {
  return CallContext(token);
}

Citizen Stack::Register(const std::string& nickname, const std::string& ward,
                        const std::string& team) {
  v1::RegisterRequest request;
  request.set_request_id(absl::StrCat("reg-", Base32(RandomBytes(12))));
  request.set_nickname(nickname);
  request.set_ward(ward);
  if (!team.empty()) request.set_join_code(CreateTeam(team));
  v1::RegisterResponse response;
  grpc::Status status = identity()->Register(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return {response.account_id(), response.account_secret(), response.token()};
}

std::string Stack::CreateTeam(const std::string& team_id, const std::string& organisation_id) {
  v1::CreateTeamRequest request;
  request.set_request_id(absl::StrCat("stack-team-", team_id));
  request.set_team_id(team_id);
  request.set_name(team_id);
  request.set_organisation_id(organisation_id);
  v1::Team team;
  grpc::Status status = identity()->CreateTeam(Context(AdminToken()).get(), request, &team);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return team.join_code();
}

std::string Stack::CreateOrganisation(const std::string& organisation_id) {
  v1::CreateOrganisationRequest request;
  request.set_request_id(absl::StrCat("stack-org-", organisation_id));
  request.set_organisation_id(organisation_id);
  request.set_name(organisation_id);
  v1::Organisation organisation;
  grpc::Status status =
      identity()->CreateOrganisation(Context(AdminToken()).get(), request, &organisation);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return organisation.join_code();
}

grpc::Status Stack::JoinWithCode(const std::string& token, const std::string& code,
                                 v1::Profile* profile) {
  v1::JoinWithCodeRequest request;
  request.set_request_id(absl::StrCat("join-", Base32(RandomBytes(12))));
  request.set_join_code(code);
  v1::Profile ignored;
  return identity()->JoinWithCode(Context(token).get(), request, profile ? profile : &ignored);
}

std::string Stack::AdminToken() {
  v1::SignInRequest request;
  request.set_account_id("admin");
  request.set_secret(kAdminPassword);
  v1::SignInResponse response;
  grpc::Status status = identity()->SignIn(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.token();
}

grpc::Status Stack::Record(const std::string& token, const std::string& type, double quantity,
                           v1::RecordActionResponse* response) {
  v1::RecordActionRequest request;
  request.set_request_id(absl::StrCat("rec-", Base32(RandomBytes(12))));
  request.set_action_type(type);
  request.set_quantity(quantity);
  v1::RecordActionResponse ignored;
  return actions()->RecordAction(Context(token).get(), request, response ? response : &ignored);
}

std::string Stack::StaffToken(const std::string& login) {
  v1::CreateStaffRequest create;
  create.set_request_id(absl::StrCat("staff-", Base32(RandomBytes(10))));
  create.set_login(login);
  create.set_password("staff-password-long");
  v1::Profile profile;
  grpc::Status status = identity()->CreateStaff(Context(AdminToken()).get(), create, &profile);
  EXPECT_TRUE(status.ok()) << status.error_message();
  v1::SignInRequest request;
  request.set_account_id(login);
  request.set_secret("staff-password-long");
  v1::SignInResponse response;
  status = identity()->SignIn(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.token();
}

int Stack::DrainProjector() {
  int total = 0;
  for (int round = 0; round < 1000; ++round) {
    auto applied = projector_->RunOnce();
    EXPECT_TRUE(applied.ok()) << applied.status();
    if (!applied.ok() || *applied == 0) break;
    total += *applied;
  }
  return total;
}

int Stack::DrainReports() {
  int total = 0;
  for (int round = 0; round < 1000; ++round) {
    auto applied = report_projector_->RunOnce();
    EXPECT_TRUE(applied.ok()) << applied.status();
    if (!applied.ok() || *applied == 0) break;
    total += *applied;
  }
  return total;
}

}  // namespace ecoact::test
