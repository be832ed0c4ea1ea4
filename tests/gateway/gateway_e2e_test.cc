// The real ecoact_gateway process in front of every service on a real Redis
// (tests/support/stack.h), called over HTTP with cpp-httplib's client: every
// ecoact.v1 RPC reachable as JSON, a citizen's whole flow, and each error a
// browser or curl can meet.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "services/common/policy.h"
#include "tests/support/redis_server.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;

constexpr char kJsonType[] = "application/json";

// An ecoact_gateway process on a free loopback port.
struct GatewayProcess {
  std::unique_ptr<test::ProcessHandle> process;
  int port = 0;

  static std::unique_ptr<GatewayProcess> Start(int upstream_port, const std::string& web_root,
                                               const std::string& vendor_root,
                                               std::vector<std::string> extra_args = {}) {
    auto gateway = std::make_unique<GatewayProcess>();
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto port = test::PickFreePort();
      EXPECT_TRUE(port.ok()) << port.status();
      if (!port.ok()) return nullptr;
      test::ProcessOptions options;
      options.binary = ECOACT_GATEWAY_BINARY;
      options.args = {absl::StrCat("--http_listen=127.0.0.1:", *port),
                      absl::StrCat("--upstream=127.0.0.1:", upstream_port),
                      absl::StrCat("--web_root=", web_root),
                      absl::StrCat("--vendor_root=", vendor_root)};
      options.args.insert(options.args.end(), extra_args.begin(), extra_args.end());
      options.unset_env = {"ECOACT_HTTP_LISTEN", "ECOACT_UPSTREAM",
                           "ECOACT_WEB_ROOT",    "ECOACT_VENDOR_ROOT",
                           "ECOACT_CORS_ORIGIN", "ECOACT_UPSTREAM_TLS_CA_FILE"};
      auto started = test::ProcessHandle::Start(options);
      EXPECT_TRUE(started.ok()) << started.status();
      if (!started.ok()) return nullptr;
      gateway->process = *std::move(started);
      gateway->port = *port;
      if (gateway->process->WaitForPort("127.0.0.1", *port, absl::Seconds(10)).ok()) {
        return gateway;
      }
      gateway->process.reset();  // the port was taken meanwhile: try another
    }
    ADD_FAILURE() << "the gateway did not start";
    return nullptr;
  }

  httplib::Client Client() const {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(std::chrono::seconds(15));
    return client;
  }
};

class GatewayE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = test::Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = std::move(*stack).release();
    auto dir = test::MakeTempDir("gateway_e2e");
    ASSERT_TRUE(dir.ok()) << dir.status();
    web_root_ = new std::string(*dir + "/web");
    vendor_root_ = new std::string(*dir + "/vendor");
    ASSERT_EQ(mkdir(web_root_->c_str(), 0755), 0);
    ASSERT_EQ(mkdir(vendor_root_->c_str(), 0755), 0);
    std::ofstream(*web_root_ + "/index.html") << "<!doctype html><title>ecoact</title>";
    std::ofstream(*web_root_ + "/app.js") << "console.log('ecoact');";
    ASSERT_EQ(mkdir((*web_root_ + "/staff").c_str(), 0755), 0);
    std::ofstream(*web_root_ + "/staff/index.html") << "<!doctype html><title>staff</title>";
    std::ofstream(*dir + "/secret.txt") << "not for the web";
    std::ofstream(*vendor_root_ + "/chart.umd.js") << "/* chart */";
    gateway_ =
        GatewayProcess::Start(stack_->port(), *web_root_, *vendor_root_, {"--stream_timeout=1s"})
            .release();
    ASSERT_NE(gateway_, nullptr);
  }
  static void TearDownTestSuite() {
    delete gateway_;
    gateway_ = nullptr;
    delete stack_;
    stack_ = nullptr;
  }

  static httplib::Result Post(const std::string& path, const std::string& body,
                              const std::string& token = "") {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return gateway_->Client().Post(path.c_str(), headers, body, kJsonType);
  }
  static std::string NewRequestId() {
    return absl::StrCat("gateway-e2e-request-", 1000 + ++request_counter_);
  }

  static test::Stack* stack_;
  static GatewayProcess* gateway_;
  static std::string* web_root_;
  static std::string* vendor_root_;
  static int request_counter_;
};

test::Stack* GatewayE2eTest::stack_ = nullptr;
GatewayProcess* GatewayE2eTest::gateway_ = nullptr;
std::string* GatewayE2eTest::web_root_ = nullptr;
std::string* GatewayE2eTest::vendor_root_ = nullptr;
int GatewayE2eTest::request_counter_ = 0;

// Every RPC of every ecoact.v1 service in the generated pool, called with
// an empty request and a token of a role its policy admits: each answer
// comes from the server (Grpc-Status set), never the gateway's "no such
// method", and never an authentication or role refusal where a token was
// due (SignIn with an empty secret is the server's own 401, SignInWithOidc
// its own 501 without a provider).
TEST_F(GatewayE2eTest, EveryServiceIsReachableAsJson) {
  const std::string admin = stack_->AdminToken();
  const std::string citizen = stack_->Register("Every", "nakahara").token;
  std::map<std::string, int> answered_ok;
  std::set<std::string> services;
  std::vector<const google::protobuf::MethodDescriptor*> methods = EcoactMethods();
  ASSERT_GE(methods.size(), 40u);
  for (const google::protobuf::MethodDescriptor* method : methods) {
    const std::string service = method->service()->full_name();
    services.insert(service);
    if (method->name() == "DeleteMyAccount") continue;  // would end this citizen's token
    auto policy = DeclaredPolicy(method->full_name());
    ASSERT_TRUE(policy.ok()) << policy.status();
    std::string token;
    switch (*policy) {
      case v1::POLICY_SIGNED_IN:
      case v1::POLICY_CITIZEN:
        token = citizen;
        break;
      case v1::POLICY_STAFF_OR_ADMIN:
      case v1::POLICY_ADMIN:
        token = admin;
        break;
      default:
        break;
    }
    const std::string path = absl::StrCat("/api/", service, "/", method->name());
    // Reports need a scope even for their simplest read; every other read
    // answers an empty request.
    const std::string body =
        method->service()->name() == "ReportsService" ? R"({"scope":"SCOPE_CITY"})" : "{}";
    auto result = Post(path, body, token);
    ASSERT_TRUE(result) << path << ": " << httplib::to_string(result.error());
    SCOPED_TRACE(absl::StrCat(path, " -> ", result->status, " ", result->body));
    EXPECT_TRUE(result->has_header("Grpc-Status")) << "not answered by the server";
    if (*policy != v1::POLICY_PUBLIC) {  // SignIn with no secret is rightly 401
      EXPECT_NE(result->status, 401) << "the token did not get through";
      EXPECT_NE(result->status, 403);
    }
    EXPECT_NE(result->status, 500);
    if (result->status == 200) {
      ++answered_ok[service];
      EXPECT_THAT(result->get_header_value("Content-Type"), method->server_streaming()
                                                                ? StartsWith("application/x-ndjson")
                                                                : StartsWith(kJsonType));
    } else {
      auto body = json::parse(result->body, nullptr, false);
      ASSERT_TRUE(body.is_object());
      EXPECT_TRUE(body.contains("code"));
      EXPECT_FALSE(body.value("message", "").empty());
    }
  }
  EXPECT_THAT(services,
              ::testing::IsSupersetOf({"ecoact.v1.IdentityService", "ecoact.v1.CatalogService",
                                       "ecoact.v1.ActionsService", "ecoact.v1.LeaderboardService",
                                       "ecoact.v1.EventsService", "ecoact.v1.RewardsService",
                                       "ecoact.v1.SurveysService", "ecoact.v1.ReportsService"}));
  // Each service answered at least one call in full.
  for (const std::string& service : services) {
    EXPECT_GE(answered_ok[service], 1) << service << " answered no call with 200";
  }
}

TEST_F(GatewayE2eTest, RegisterRecordAndSeeTheBoardAsJson) {
  auto registered =
      Post("/api/ecoact.v1.IdentityService/Register",
           json{{"requestId", NewRequestId()}, {"nickname", "Mika"}, {"ward", "nakahara"}}.dump());
  ASSERT_TRUE(registered);
  ASSERT_EQ(registered->status, 200) << registered->body;
  EXPECT_EQ(registered->get_header_value("Grpc-Status"), "0");
  EXPECT_EQ(registered->get_header_value("Cache-Control"), "no-store");
  json account = json::parse(registered->body);
  const std::string token = account["token"];
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(account["profile"]["nickname"], "Mika");

  // Original field names are accepted too.
  auto recorded = Post(
      "/api/ecoact.v1.ActionsService/RecordAction",
      json{{"request_id", NewRequestId()}, {"action_type", "clothing_reuse"}, {"quantity", 2.5}}
          .dump(),
      token);
  ASSERT_TRUE(recorded);
  ASSERT_EQ(recorded->status, 200) << recorded->body;
  json entry = json::parse(recorded->body);
  ASSERT_TRUE(entry.contains("entry"));
  // int64 grams as a JSON string, exact.
  EXPECT_EQ(entry["entry"]["co2eGrams"], "33085") << recorded->body;

  stack_->DrainProjector();
  auto board = Post("/api/ecoact.v1.LeaderboardService/GetLeaderboard",
                    R"({"board":{"scope":"SCOPE_CITY","period":"PERIOD_ALL_TIME",)"
                    R"("metric":"METRIC_CO2E_GRAMS"},"pageSize":50})",
                    token);
  ASSERT_TRUE(board);
  ASSERT_EQ(board->status, 200) << board->body;
  json page = json::parse(board->body);
  bool found = false;
  for (const json& row : page["entries"]) {
    if (row["isMe"] == true) {
      found = true;
      EXPECT_EQ(row["nickname"], "Mika");
      EXPECT_EQ(row["score"], "33085");
    }
  }
  EXPECT_TRUE(found) << board->body;
}

TEST_F(GatewayE2eTest, BadJsonIs400NamingTheProblem) {
  auto result = Post("/api/ecoact.v1.IdentityService/Register", R"({"nickname": )");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  json body = json::parse(result->body);
  EXPECT_EQ(body["code"], "INVALID_ARGUMENT");
  EXPECT_THAT(body["message"].get<std::string>(), HasSubstr("ecoact.v1.RegisterRequest"));
  EXPECT_FALSE(result->has_header("Grpc-Status"));  // the gateway's answer, not the server's

  auto unknown_field = Post("/api/ecoact.v1.IdentityService/Register", R"({"nick":"x"})");
  ASSERT_TRUE(unknown_field);
  EXPECT_EQ(unknown_field->status, 400);
  EXPECT_THAT(json::parse(unknown_field->body)["message"].get<std::string>(), HasSubstr("nick"));
}

TEST_F(GatewayE2eTest, ServerValidationErrorsKeepTheirMessage) {
  const std::string token = stack_->Register("Zero", "nakahara").token;
  auto result = Post(
      "/api/ecoact.v1.ActionsService/RecordAction",
      json{{"requestId", NewRequestId()}, {"actionType", "clothing_reuse"}, {"quantity", 0}}.dump(),
      token);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(result->get_header_value("Grpc-Status"), "3");
  json body = json::parse(result->body);
  EXPECT_EQ(body["code"], "INVALID_ARGUMENT");
  EXPECT_THAT(body["message"].get<std::string>(), HasSubstr("quantity"));
}

TEST_F(GatewayE2eTest, UnknownServiceOrMethodIs404) {
  for (const char* path :
       {"/api/ecoact.v1.IdentityService/NoSuchMethod", "/api/ecoact.v1.NoSuchService/ListWards",
        "/api/nothing", "/api/ecoact.v1.IdentityService/List-Wards"}) {
    auto result = Post(path, "{}");
    ASSERT_TRUE(result) << path;
    EXPECT_EQ(result->status, 404) << path;
    EXPECT_EQ(json::parse(result->body)["code"], "NOT_FOUND") << path;
    EXPECT_FALSE(result->has_header("Grpc-Status")) << path;
  }
}

TEST_F(GatewayE2eTest, MissingOrForgedTokenIs401) {
  auto missing = Post("/api/ecoact.v1.ActionsService/GetMyImpact", "{}");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(json::parse(missing->body)["code"], "UNAUTHENTICATED");
  EXPECT_EQ(missing->get_header_value("Grpc-Status"), "16");

  std::string token = stack_->Register("Forger", "nakahara").token;
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  parts[2] = std::string(parts[2].size(), 'A');  // a signature of the right size, not the key's
  auto forged = Post("/api/ecoact.v1.ActionsService/GetMyImpact", "{}", absl::StrJoin(parts, "."));
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  EXPECT_EQ(json::parse(forged->body)["code"], "UNAUTHENTICATED");
}

TEST_F(GatewayE2eTest, CitizenOnAnAdminRpcIs403) {
  std::string token = stack_->Register("Curious", "nakahara").token;
  auto result = Post("/api/ecoact.v1.IdentityService/CreateStaff",
                     json{{"requestId", NewRequestId()}, {"login", "sneaky"}}.dump(), token);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 403);
  EXPECT_EQ(json::parse(result->body)["code"], "PERMISSION_DENIED");
}

TEST_F(GatewayE2eTest, OversizedBodyIs413) {
  std::string huge = absl::StrCat(R"({"nickname":")", std::string(1100000, 'x'), R"("})");
  auto result = Post("/api/ecoact.v1.IdentityService/Register", huge);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 413);
  EXPECT_THAT(result->body, HasSubstr("1048576"));
}

TEST_F(GatewayE2eTest, PostWithoutALengthIs400SayingWhatToSend) {
  // What `curl -X POST URL` sends: no Content-Length, no body (httplib's
  // client would add a length, so this goes over a plain socket).
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(gateway_->port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const std::string request =
      "POST /api/ecoact.v1.IdentityService/ListWards HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Connection: close\r\n\r\n";
  ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string reply;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) reply.append(buffer, n);
  close(fd);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(reply, HasSubstr("send {} for an empty request"));
  // An empty body with its length is an empty request.
  auto empty = gateway_->Client().Post("/api/ecoact.v1.IdentityService/ListWards", "", kJsonType);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 200) << empty->body;
}

TEST_F(GatewayE2eTest, OtherMethodsOnTheApiAre405) {
  auto get = gateway_->Client().Get("/api/ecoact.v1.IdentityService/ListWards");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
  auto put = gateway_->Client().Put("/api/ecoact.v1.IdentityService/ListWards", "{}", kJsonType);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
}

TEST_F(GatewayE2eTest, ServerStreamingIsNdjson) {
  // Health/Watch sends the current status, then waits for changes: the
  // gateway's --stream_timeout (1s here) ends it with a last error line.
  auto result = Post("/api/grpc.health.v1.Health/Watch", "{}");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_THAT(result->get_header_value("Content-Type"), StartsWith("application/x-ndjson"));
  EXPECT_EQ(result->get_header_value("Transfer-Encoding"), "chunked");
  std::vector<std::string> lines = absl::StrSplit(result->body, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 2u) << result->body;
  EXPECT_EQ(json::parse(lines.front())["status"], "SERVING");
  EXPECT_EQ(json::parse(lines.back())["error"]["code"], "DEADLINE_EXCEEDED");
}

TEST_F(GatewayE2eTest, HealthzFollowsTheUpstream) {
  auto up = gateway_->Client().Get("/healthz");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->status, 200);
  EXPECT_EQ(json::parse(up->body)["status"], "SERVING");

  auto nothing_there = test::PickFreePort();
  ASSERT_TRUE(nothing_there.ok());
  auto orphan = GatewayProcess::Start(*nothing_there, *web_root_, *vendor_root_);
  ASSERT_NE(orphan, nullptr);
  auto down = orphan->Client().Get("/healthz");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503);
  EXPECT_EQ(json::parse(down->body)["code"], "UNAVAILABLE");
  // And calls through it are UNAVAILABLE: 503 with the reason.
  auto call = orphan->Client().Post("/api/ecoact.v1.IdentityService/ListWards", "{}", kJsonType);
  ASSERT_TRUE(call);
  EXPECT_EQ(call->status, 503);
  EXPECT_EQ(json::parse(call->body)["code"], "UNAVAILABLE");
}

TEST_F(GatewayE2eTest, CorsOnlyForTheConfiguredOrigin) {
  // Off by default: no Access-Control-Allow-Origin, and no preflight.
  auto plain = gateway_->Client().Post("/api/ecoact.v1.IdentityService/ListWards",
                                       {{"Origin", "http://elsewhere.example"}}, "{}", kJsonType);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
  EXPECT_FALSE(plain->has_header("Access-Control-Allow-Origin"));
  auto no_preflight = gateway_->Client().Options("/api/ecoact.v1.IdentityService/ListWards",
                                                 {{"Origin", "http://elsewhere.example"}});
  ASSERT_TRUE(no_preflight);
  EXPECT_EQ(no_preflight->status, 405);

  auto cors = GatewayProcess::Start(stack_->port(), *web_root_, *vendor_root_,
                                    {"--cors_origin=http://console.example"});
  ASSERT_NE(cors, nullptr);
  auto preflight = cors->Client().Options(
      "/api/ecoact.v1.IdentityService/ListWards",
      {{"Origin", "http://console.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "http://console.example");
  EXPECT_THAT(preflight->get_header_value("Access-Control-Allow-Headers"),
              HasSubstr("Authorization"));
  auto allowed = cors->Client().Post("/api/ecoact.v1.IdentityService/ListWards",
                                     {{"Origin", "http://console.example"}}, "{}", kJsonType);
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->get_header_value("Access-Control-Allow-Origin"), "http://console.example");
  auto other = cors->Client().Post("/api/ecoact.v1.IdentityService/ListWards",
                                   {{"Origin", "http://elsewhere.example"}}, "{}", kJsonType);
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->has_header("Access-Control-Allow-Origin"));
}

TEST_F(GatewayE2eTest, StaticFilesWithTypesSecurityHeadersAndRevalidation) {
  auto index = gateway_->Client().Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_THAT(index->body, HasSubstr("<title>ecoact</title>"));
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(index->get_header_value("Content-Security-Policy"),
              HasSubstr("frame-ancestors 'none'"));
  EXPECT_EQ(index->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(index->get_header_value("Cache-Control"), "no-cache");
  const std::string etag = index->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  auto again = gateway_->Client().Get("/", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);

  auto script = gateway_->Client().Get("/app.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");

  auto directory = gateway_->Client().Get("/staff");
  ASSERT_TRUE(directory);
  EXPECT_EQ(directory->status, 301);
  EXPECT_EQ(directory->get_header_value("Location"), "/staff/");
  auto staff = gateway_->Client().Get("/staff/");
  ASSERT_TRUE(staff);
  EXPECT_THAT(staff->body, HasSubstr("<title>staff</title>"));

  auto vendor = gateway_->Client().Get("/vendor/chart.umd.js");
  ASSERT_TRUE(vendor);
  EXPECT_EQ(vendor->status, 200);
  EXPECT_EQ(vendor->body, "/* chart */");

  for (const char* path :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/vendor/../secret.txt",
        "/vendor/%2e%2e/web/index.html", "/missing.html"}) {
    auto result = gateway_->Client().Get(path);
    ASSERT_TRUE(result) << path;
    EXPECT_EQ(result->status, 404) << path;
    EXPECT_THAT(result->body, Not(HasSubstr("not for the web"))) << path;
  }
}

}  // namespace
}  // namespace ecoact
