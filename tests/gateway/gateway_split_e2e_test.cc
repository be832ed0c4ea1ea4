// The split deployment behind the gateway: each service's own binary on its
// own loopback port (tests/support/server_process.h), the real
// ecoact_gateway routed to them with --routes. Every service answers through
// its own route; with one service's process down, its calls get UNAVAILABLE
// (after gRPC's retries) while every other service keeps answering.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace ecoact {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kJsonType[] = "application/json";
constexpr char kActions[] = "ecoact.v1.ActionsService";

class GatewaySplitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = test::RedisServerProcess::Start({});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    test::EcoactServerOptions options;
    options.split_binaries = test::SplitBinaries(ECOACT_SERVICES_DIR);
    auto server = test::EcoactServerProcess::Start(*redis_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->split());
    // The default upstream is a port nothing listens on: every call must
    // follow its service's route.
    auto unused = test::PickFreePort();
    ASSERT_TRUE(unused.ok()) << unused.status();
    auto port = test::PickFreePort();
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    auto gateway = test::ProcessHandle::Start(GatewayProcess(
        {absl::StrCat("--upstream=127.0.0.1:", *unused),
         absl::StrCat("--routes=", server_->routes_flag())}));
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    ASSERT_TRUE(gateway_->WaitForPort("127.0.0.1", port_, absl::Seconds(10)).ok())
        << gateway_->LogTail();
  }

  test::ProcessOptions GatewayProcess(std::vector<std::string> args) const {
    test::ProcessOptions options;
    options.binary = ECOACT_GATEWAY_BINARY;
    options.args = {absl::StrCat("--http_listen=127.0.0.1:", port_), "--web_root=",
                    "--call_timeout=5s"};
    options.args.insert(options.args.end(), args.begin(), args.end());
    options.unset_env = {"ECOACT_HTTP_LISTEN", "ECOACT_UPSTREAM", "ECOACT_ROUTES",
                         "ECOACT_WEB_ROOT", "ECOACT_UPSTREAM_TLS_CA_FILE"};
    return options;
  }

  httplib::Result Post(const std::string& rpc, const json& body, const std::string& token = "") {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(std::chrono::seconds(15));
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return client.Post(absl::StrCat("/api/", rpc).c_str(), headers, body.dump(), kJsonType);
  }

  std::string Register(const std::string& nickname) {
    auto reply = Post("ecoact.v1.IdentityService/Register",
                      {{"requestId", "split-register-" + nickname},
                       {"nickname", nickname},
                       {"ward", "nakahara"}});
    EXPECT_TRUE(reply);
    if (!reply) return "";
    EXPECT_EQ(reply->status, 200) << reply->body;
    return json::parse(reply->body).value("token", "");
  }

  std::unique_ptr<test::RedisServerProcess> redis_;
  std::unique_ptr<test::EcoactServerProcess> server_;
  std::unique_ptr<test::ProcessHandle> gateway_;
  int port_ = 0;
};

TEST_F(GatewaySplitTest, EveryServiceAnswersThroughItsOwnRoute) {
  const std::string token = Register("Mika");
  ASSERT_FALSE(token.empty());
  auto catalog = Post("ecoact.v1.CatalogService/ListActionTypes", json::object(), token);
  ASSERT_TRUE(catalog);
  EXPECT_EQ(catalog->status, 200) << catalog->body;
  auto recorded = Post("ecoact.v1.ActionsService/RecordAction",
                       {{"requestId", "split-record-1"},
                        {"actionType", "clothing_reuse"},
                        {"quantity", 2.5}},
                       token);
  ASSERT_TRUE(recorded);
  ASSERT_EQ(recorded->status, 200) << recorded->body;
  EXPECT_EQ(json::parse(recorded->body)["entry"]["co2eGrams"], "33085");
  // The leaderboard's process runs the projector: the action reaches the
  // city board there.
  std::string board;
  for (int i = 0; i < 100; ++i) {
    auto reply = Post("ecoact.v1.LeaderboardService/GetLeaderboard",
                      {{"board", {{"scope", "SCOPE_CITY"}, {"period", "PERIOD_WEEK"},
                                  {"metric", "METRIC_CO2E_GRAMS"}}}},
                      token);
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->status, 200) << reply->body;
    board = reply->body;
    if (absl::StrContains(board, "33085")) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(board, HasSubstr("\"nickname\":\"Mika\""));
  for (const char* rpc :
       {"ecoact.v1.RewardsService/ListMyBadges", "ecoact.v1.EventsService/ListEvents",
        "ecoact.v1.SurveysService/ListSurveys"}) {
    auto reply = Post(rpc, json::object(), token);
    ASSERT_TRUE(reply) << rpc;
    EXPECT_EQ(reply->status, 200) << rpc << ": " << reply->body;
  }
  // Reports need a scope even for their simplest read.
  auto report = Post("ecoact.v1.ReportsService/GetImpactReport", {{"scope", "SCOPE_CITY"}}, token);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->status, 200) << report->body;
  httplib::Client client("127.0.0.1", port_);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
}

TEST_F(GatewaySplitTest, AServiceWhoseProcessIsDownIsUnavailableWhileTheOthersAnswer) {
  const std::string token = Register("Ken");
  ASSERT_FALSE(token.empty());
  test::ProcessHandle* actions = server_->service_process(kActions);
  ASSERT_NE(actions, nullptr);
  actions->Kill();

  auto recorded = Post("ecoact.v1.ActionsService/RecordAction",
                       {{"requestId", "split-record-down"},
                        {"actionType", "plastic_bag_refused"},
                        {"quantity", 1}},
                       token);
  ASSERT_TRUE(recorded);
  EXPECT_EQ(recorded->status, 503) << recorded->body;
  EXPECT_EQ(recorded->get_header_value("Grpc-Status"), "14") << recorded->body;
  EXPECT_EQ(json::parse(recorded->body).value("code", ""), "UNAVAILABLE") << recorded->body;

  // Every other service still answers, identity included (a new sign-up).
  EXPECT_FALSE(Register("Sora").empty());
  auto catalog = Post("ecoact.v1.CatalogService/ListActionTypes", json::object(), token);
  ASSERT_TRUE(catalog);
  EXPECT_EQ(catalog->status, 200) << catalog->body;
  auto board = Post("ecoact.v1.LeaderboardService/GetLeaderboard",
                    {{"board", {{"scope", "SCOPE_CITY"}, {"period", "PERIOD_WEEK"},
                                {"metric", "METRIC_POINTS"}}}},
                    token);
  ASSERT_TRUE(board);
  EXPECT_EQ(board->status, 200) << board->body;

  // The gateway's health names what is down.
  httplib::Client client("127.0.0.1", port_);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_THAT(health->body, HasSubstr(kActions));
}

TEST_F(GatewaySplitTest, BadRoutesStopTheGatewayNamingTheSetting) {
  gateway_.reset();
  for (const std::string& routes :
       {std::string("ecoact.v1.ActionsService"), std::string("ecoact.v1.NoSuchService=127.0.0.1:1"),
        std::string("ecoact.v1.ActionsService=127.0.0.1:0")}) {
    auto gateway = test::ProcessHandle::Start(GatewayProcess({"--routes=" + routes}));
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    auto exit = (*gateway)->Wait(absl::Seconds(10));
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->exit_code, 2) << routes;
    EXPECT_THAT((*gateway)->ReadLog(), HasSubstr("--routes (ECOACT_ROUTES), entry 1")) << routes;
  }
}

}  // namespace
}  // namespace ecoact
