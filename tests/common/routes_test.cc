// services/common/routes.h: the --routes parser, and the channels' retry
// policy against a real gRPC server on loopback that fails on purpose.
#include "services/common/routes.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "ecoact/v1/events.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using ::testing::HasSubstr;
using test::StatusIs;

constexpr char kRoutes[] = "--routes (ECOACT_ROUTES)";
constexpr char kUpstream[] = "--upstream (ECOACT_UPSTREAM)";

absl::StatusOr<Routes> Parse(const std::string& routes, const std::string& upstream = "h:7700",
                             const std::set<std::string>& known = {}) {
  return ParseRoutes(kRoutes, routes, kUpstream, upstream, known);
}

TEST(RoutesTest, EmptyRoutesSendEverythingToTheUpstream) {
  auto routes = Parse("  ");
  ASSERT_TRUE(routes.ok()) << routes.status();
  EXPECT_TRUE(routes->services.empty());
  EXPECT_EQ(routes->TargetFor("/ecoact.v1.ActionsService/RecordAction"), "h:7700");
}

TEST(RoutesTest, PicksTheTargetByFullMethodOrServiceName) {
  auto routes = Parse(
      "ecoact.v1.ActionsService=127.0.0.1:7702, ecoact.v1.LeaderboardService = leaderboard:7700,"
      "ecoact.v1.EventsService=[::1]:7705");
  ASSERT_TRUE(routes.ok()) << routes.status();
  EXPECT_EQ(routes->services.size(), 3u);
  EXPECT_EQ(routes->TargetFor("/ecoact.v1.ActionsService/RecordAction"), "127.0.0.1:7702");
  EXPECT_EQ(routes->TargetFor("ecoact.v1.ActionsService"), "127.0.0.1:7702");
  EXPECT_EQ(routes->TargetFor("/ecoact.v1.LeaderboardService/GetLeaderboard"), "leaderboard:7700");
  EXPECT_EQ(routes->TargetFor("/ecoact.v1.EventsService/ListEvents"), "[::1]:7705");
  // Not routed: the default. A prefix of a routed name is not that service.
  EXPECT_EQ(routes->TargetFor("/ecoact.v1.IdentityService/Register"), "h:7700");
  EXPECT_EQ(routes->TargetFor("/ecoact.v1.Actions/RecordAction"), "h:7700");
}

TEST(RoutesTest, ErrorsNameTheSettingAndTheEntry) {
  struct Case {
    std::string routes;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"ecoact.v1.ActionsService", "--routes (ECOACT_ROUTES), entry 1: "
                                        "'ecoact.v1.ActionsService' is not SERVICE=HOST:PORT"},
           {"ecoact.v1.ActionsService=a:1,,", "entry 2: '' is not SERVICE=HOST:PORT"},
           {"ActionsService=a:1", "entry 1: 'ActionsService' is not a full gRPC service name"},
           {"ecoact.v1.Actions-Service=a:1", "is not a full gRPC service name"},
           {"ecoact.v1.ActionsService=a", "entry 1: 'a' is not HOST:PORT (no port)"},
           {"ecoact.v1.ActionsService=a:0", "the port must be 1-65535"},
           {"ecoact.v1.ActionsService=a:65536", "the port must be 1-65535"},
           {"ecoact.v1.ActionsService=a:x", "the port must be 1-65535"},
           {"ecoact.v1.ActionsService=:7700", "the host must be a DNS name or an IP address"},
           {"ecoact.v1.ActionsService=a_b:7700", "the host must be a DNS name"},
           {"ecoact.v1.ActionsService=http://a:7700", "the host must be a DNS name"},
           {"ecoact.v1.ActionsService=[zz]:7700", "a bad IPv6 address"},
           {"ecoact.v1.ActionsService=a:1,ecoact.v1.ActionsService=b:2",
            "entry 2: 'ecoact.v1.ActionsService' is routed more than once"},
       }) {
    auto routes = Parse(c.routes);
    EXPECT_THAT(routes.status(), StatusIs(absl::StatusCode::kInvalidArgument)) << c.routes;
    EXPECT_THAT(std::string(routes.status().message()), HasSubstr(c.message)) << c.routes;
    EXPECT_THAT(std::string(routes.status().message()), HasSubstr(kRoutes)) << c.routes;
  }
}

TEST(RoutesTest, AnUnknownServiceIsAnErrorListingTheKnownOnes) {
  auto routes = Parse("ecoact.v1.ActionService=a:1", "h:7700",
                      {"ecoact.v1.ActionsService", "ecoact.v1.IdentityService"});
  EXPECT_THAT(routes.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(routes.status().message()),
              HasSubstr("unknown service 'ecoact.v1.ActionService'; known: "
                        "ecoact.v1.ActionsService, ecoact.v1.IdentityService"));
  EXPECT_TRUE(Parse("ecoact.v1.ActionsService=a:1", "h:7700", {"ecoact.v1.ActionsService"}).ok());
}

TEST(RoutesTest, ABadUpstreamNamesTheUpstreamSetting) {
  auto routes = Parse("", "7700");
  EXPECT_THAT(routes.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(routes.status().message()),
              HasSubstr("--upstream (ECOACT_UPSTREAM): '7700' is not HOST:PORT"));
}

TEST(RoutesTest, ServiceConfigRetriesOnlyUnavailableWithBackoff) {
  ChannelPolicy policy;
  policy.max_attempts = 3;
  policy.initial_backoff = absl::Milliseconds(50);
  policy.max_backoff = absl::Seconds(1);
  auto config = nlohmann::json::parse(ServiceConfigJson(policy));
  const auto& retry = config["methodConfig"][0]["retryPolicy"];
  EXPECT_EQ(config["methodConfig"][0]["name"], nlohmann::json::parse("[{}]"));
  EXPECT_EQ(retry["maxAttempts"], 3);
  EXPECT_EQ(retry["initialBackoff"], "0.05s");
  EXPECT_EQ(retry["maxBackoff"], "1s");
  EXPECT_EQ(retry["backoffMultiplier"], 2.0);
  EXPECT_EQ(retry["retryableStatusCodes"], nlohmann::json::parse(R"(["UNAVAILABLE"])"));
  EXPECT_TRUE(config.contains("retryThrottling"));
  const auto& not_retried = config["methodConfig"][1];
  EXPECT_FALSE(not_retried.contains("retryPolicy"));
  EXPECT_EQ(not_retried["name"].size(), NotRetriedMethods().size());
  EXPECT_THAT(not_retried["name"].dump(),
              HasSubstr(R"({"method":"RefreshToken","service":"ecoact.v1.IdentityService"})"));
}

// A health service that answers `code` to the first `failures` calls.
class FlakyHealth final : public grpc::health::v1::Health::Service {
 public:
  FlakyHealth(int failures, grpc::StatusCode code) : failures_(failures), code_(code) {}
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                     grpc::health::v1::HealthCheckResponse* response) override {
    if (calls_.fetch_add(1) < failures_) return grpc::Status(code_, "not now");
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
  int calls() const { return calls_.load(); }

 private:
  const int failures_;
  const grpc::StatusCode code_;
  std::atomic<int> calls_{0};
};

class RoutedChannelsTest : public ::testing::Test {
 protected:
  // Serves `service` on a free loopback port; the routes send the health
  // service there and everything else to a port that refuses connections.
  std::unique_ptr<RoutedChannels> Serve(grpc::Service* service,
                                        const std::string& routed = "grpc.health.v1.Health") {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    EXPECT_NE(port, 0);
    auto routes = Parse(absl::StrCat(routed, "=127.0.0.1:", port), "127.0.0.1:1");
    EXPECT_TRUE(routes.ok()) << routes.status();
    ChannelPolicy policy;
    policy.initial_backoff = absl::Milliseconds(10);
    policy.max_backoff = absl::Milliseconds(50);
    auto channels = RoutedChannels::Open(*std::move(routes), ChannelTlsOptions{}, policy);
    EXPECT_TRUE(channels.ok()) << channels.status();
    return *std::move(channels);
  }

  static grpc::Status Check(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::health::v1::HealthCheckResponse response;
    return grpc::health::v1::Health::NewStub(channel)->Check(
        &context, grpc::health::v1::HealthCheckRequest(), &response);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now()));
  }

  std::unique_ptr<grpc::Server> server_;
};

TEST_F(RoutedChannelsTest, UnavailableIsRetriedByGrpcWithinTheDeadline) {
  FlakyHealth health(2, grpc::StatusCode::UNAVAILABLE);
  auto channels = Serve(&health);
  grpc::Status status = Check(channels->For("/grpc.health.v1.Health/Check"));
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(health.calls(), 3);  // two failures, then the answer
}

TEST_F(RoutedChannelsTest, AttemptsStopAtTheLimit) {
  FlakyHealth health(100, grpc::StatusCode::UNAVAILABLE);
  auto channels = Serve(&health);
  grpc::Status status = Check(channels->For("grpc.health.v1.Health"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(health.calls(), ChannelPolicy().max_attempts);
}

// An events service whose check-ins and weigh-ins fail UNAVAILABLE, as
// when Redis fails after the script ran.
class UnavailableEvents final : public v1::EventsService::Service {
 public:
  grpc::Status CheckIn(grpc::ServerContext*, const v1::CheckInRequest*,
                       v1::CheckInResponse*) override {
    ++check_ins;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "Redis went away");
  }
  grpc::Status RecordWeighIn(grpc::ServerContext*, const v1::WeighIn*,
                             v1::EntryOutcome*) override {
    ++weigh_ins;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "Redis went away");
  }
  std::atomic<int> check_ins{0};
  std::atomic<int> weigh_ins{0};
};

TEST_F(RoutedChannelsTest, ACallThatRefusesARepeatIsNotRetried) {
  UnavailableEvents events;
  auto channels = Serve(&events, "ecoact.v1.EventsService");
  auto stub = v1::EventsService::NewStub(channels->For("ecoact.v1.EventsService"));
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::CheckInResponse response;
    EXPECT_EQ(stub->CheckIn(&context, v1::CheckInRequest(), &response).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(events.check_ins.load(), 1);  // a repeat would say "already checked in"
  {
    // A weigh-in carries its client entry id: a replay is safe, so retried.
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::EntryOutcome response;
    EXPECT_EQ(stub->RecordWeighIn(&context, v1::WeighIn(), &response).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(events.weigh_ins.load(), ChannelPolicy().max_attempts);
}

TEST_F(RoutedChannelsTest, OtherErrorsAreNotRetried) {
  FlakyHealth health(1, grpc::StatusCode::INTERNAL);
  auto channels = Serve(&health);
  grpc::Status status = Check(channels->For("/grpc.health.v1.Health/Check"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(health.calls(), 1);
}

TEST_F(RoutedChannelsTest, UnroutedServicesUseTheDefaultTarget) {
  FlakyHealth health(0, grpc::StatusCode::OK);
  auto channels = Serve(&health);
  EXPECT_EQ(channels->For("/ecoact.v1.ActionsService/RecordAction"), channels->Default());
  EXPECT_NE(channels->For("/grpc.health.v1.Health/Check"), channels->Default());
  // Nothing listens on the default: UNAVAILABLE once the attempts are spent.
  EXPECT_EQ(Check(channels->Default()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(health.calls(), 0);
}

}  // namespace
}  // namespace ecoact
