// The gateway's pure parts: API paths, gRPC -> HTTP status, error bodies,
// JSON <-> request/response through the generated pool, and which static
// file a path may name.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "ecoact/v1/identity.pb.h"
#include "ecoact/v1/leaderboard.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor_database.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/gateway/http_mapping.h"
#include "services/gateway/rpc_proxy.h"
#include "services/gateway/static_files.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace ecoact::gateway {
namespace {

using ::ecoact::test::IsOk;
using ::ecoact::test::StatusIs;
using ::testing::HasSubstr;

TEST(ApiPathTest, SplitsServiceAndMethod) {
  auto path = ParseApiPath("/api/ecoact.v1.LeaderboardService/GetLeaderboard");
  ASSERT_THAT(path, IsOk());
  EXPECT_EQ(path->service, "ecoact.v1.LeaderboardService");
  EXPECT_EQ(path->method, "GetLeaderboard");
}

TEST(ApiPathTest, RejectsOtherShapes) {
  for (const char* bad :
       {"/api/", "/api/ecoact.v1.IdentityService", "/api/ecoact.v1.IdentityService/",
        "/api//ListWards", "/api/ecoact.v1.IdentityService/List/Wards",
        "/api/ecoact.v1.IdentityService/List-Wards", "/api/.x/Y", "/api/ecoact..v1/../Y",
        "/apix/a.B/C", "/ecoact.v1.IdentityService/ListWards"}) {
    EXPECT_THAT(ParseApiPath(bad), StatusIs(absl::StatusCode::kNotFound)) << bad;
  }
}

TEST(StatusMappingTest, EveryCodeHasItsHttpStatus) {
  using C = grpc::StatusCode;
  EXPECT_EQ(HttpStatusFor(C::OK), 200);
  EXPECT_EQ(HttpStatusFor(C::INVALID_ARGUMENT), 400);
  EXPECT_EQ(HttpStatusFor(C::FAILED_PRECONDITION), 400);
  EXPECT_EQ(HttpStatusFor(C::OUT_OF_RANGE), 400);
  EXPECT_EQ(HttpStatusFor(C::UNAUTHENTICATED), 401);
  EXPECT_EQ(HttpStatusFor(C::PERMISSION_DENIED), 403);
  EXPECT_EQ(HttpStatusFor(C::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatusFor(C::ALREADY_EXISTS), 409);
  EXPECT_EQ(HttpStatusFor(C::ABORTED), 409);
  EXPECT_EQ(HttpStatusFor(C::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(HttpStatusFor(C::UNIMPLEMENTED), 501);
  EXPECT_EQ(HttpStatusFor(C::UNAVAILABLE), 503);
  EXPECT_EQ(HttpStatusFor(C::DEADLINE_EXCEEDED), 504);
  for (C other : {C::CANCELLED, C::UNKNOWN, C::INTERNAL, C::DATA_LOSS}) {
    EXPECT_EQ(HttpStatusFor(other), 500) << StatusCodeName(other);
  }
}

TEST(StatusMappingTest, ErrorBodyCarriesCodeNameAndMessage) {
  auto body = nlohmann::json::parse(
      ErrorJson(grpc::StatusCode::RESOURCE_EXHAUSTED, "daily cap of 20, 0 left \"today\""));
  EXPECT_EQ(body["code"], "RESOURCE_EXHAUSTED");
  EXPECT_EQ(body["message"], "daily cap of 20, 0 left \"today\"");
  std::string line = StreamErrorLine(grpc::StatusCode::DEADLINE_EXCEEDED, "too slow");
  ASSERT_EQ(line.back(), '\n');
  auto error = nlohmann::json::parse(line);
  EXPECT_EQ(error["error"]["code"], "DEADLINE_EXCEEDED");
  EXPECT_EQ(error["error"]["message"], "too slow");
}

TEST(StatusMappingTest, InvalidUtf8InAMessageStillGivesJson) {
  auto body = nlohmann::json::parse(ErrorJson(grpc::StatusCode::INTERNAL, "bad \xff byte"));
  EXPECT_EQ(body["code"], "INTERNAL");
}

TEST(RpcProxyTest, EveryEcoactServiceOfTheProtosIsInThePool) {
  std::vector<std::string> files;
  ASSERT_TRUE(
      google::protobuf::DescriptorPool::internal_generated_database()->FindAllFileNames(&files));
  int services = 0;
  for (const std::string& name : files) {
    const auto* file = google::protobuf::DescriptorPool::generated_pool()->FindFileByName(name);
    ASSERT_NE(file, nullptr) << name;
    if (file->package() != "ecoact.v1") continue;
    for (int i = 0; i < file->service_count(); ++i) {
      ++services;
      const auto* service = file->service(i);
      for (int m = 0; m < service->method_count(); ++m) {
        EXPECT_THAT(FindMethod(service->full_name(), service->method(m)->name()), IsOk());
      }
    }
  }
  // identity, catalog, actions, leaderboard, events, rewards, surveys at least.
  EXPECT_GE(services, 7);
  EXPECT_THAT(FindMethod("grpc.health.v1.Health", "Check"), IsOk());
}

TEST(RpcProxyTest, UnknownServiceOrMethodIsNotFound) {
  EXPECT_THAT(FindMethod("ecoact.v1.NoSuchService", "ListWards"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ecoact.v1.NoSuchService")));
  EXPECT_THAT(FindMethod("ecoact.v1.IdentityService", "ListWardz"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ListWardz")));
}

TEST(RpcProxyTest, AcceptsCamelCaseAndOriginalNames) {
  auto method = FindMethod("ecoact.v1.IdentityService", "Register");
  ASSERT_THAT(method, IsOk());
  for (const char* json : {R"({"requestId":"r1","nickname":"Mika","joinCode":"AB"})",
                           R"({"request_id":"r1","nickname":"Mika","join_code":"AB"})"}) {
    auto bytes = JsonToRequestBytes(**method, json);
    ASSERT_THAT(bytes, IsOk()) << json;
    v1::RegisterRequest request;
    ASSERT_TRUE(request.ParseFromString(*bytes));
    EXPECT_EQ(request.request_id(), "r1");
    EXPECT_EQ(request.nickname(), "Mika");
    EXPECT_EQ(request.join_code(), "AB");
  }
}

TEST(RpcProxyTest, EmptyBodyIsAnEmptyRequest) {
  auto method = FindMethod("ecoact.v1.IdentityService", "ListWards");
  ASSERT_THAT(method, IsOk());
  auto bytes = JsonToRequestBytes(**method, " \n");
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(*bytes, "");
}

TEST(RpcProxyTest, RejectsBadJsonUnknownFieldsAndWrongTypes) {
  auto method = FindMethod("ecoact.v1.IdentityService", "Register");
  ASSERT_THAT(method, IsOk());
  EXPECT_THAT(JsonToRequestBytes(**method, "{\"nickname\": "),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ecoact.v1.RegisterRequest")));
  EXPECT_THAT(JsonToRequestBytes(**method, R"({"nick":"Mika"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nick")));
  EXPECT_THAT(JsonToRequestBytes(**method, R"({"nickname":7})"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(JsonToRequestBytes(**method, "[1,2]"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RpcProxyTest, ResponsesPrintDefaultsEnumNamesAndInt64AsStrings) {
  auto method = FindMethod("ecoact.v1.LeaderboardService", "GetLeaderboard");
  ASSERT_THAT(method, IsOk());
  v1::GetLeaderboardResponse response;
  response.set_total_ranked(9007199254740993);  // 2^53 + 1: a JSON number would lose it
  auto* entry = response.add_entries();
  entry->set_nickname("Mika");
  entry->set_rank(1);
  auto json = ResponseBytesToJson(**method, response.SerializeAsString());
  ASSERT_THAT(json, IsOk());
  auto body = nlohmann::json::parse(*json);
  EXPECT_EQ(body["totalRanked"], "9007199254740993");
  EXPECT_EQ(body["entries"][0]["nickname"], "Mika");
  EXPECT_EQ(body["entries"][0]["isMe"], false);  // a default, printed
  EXPECT_EQ(body["nextPageToken"], "");          // likewise
  EXPECT_EQ(body["entries"][0]["score"], "0");
}

TEST(RpcProxyTest, GarbageFromTheServerIsInternal) {
  auto method = FindMethod("ecoact.v1.LeaderboardService", "GetLeaderboard");
  ASSERT_THAT(method, IsOk());
  EXPECT_THAT(ResponseBytesToJson(**method, std::string("\xff\xff\xff", 3)),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(RpcProxyTest, SingleTextFieldOnlyForOneStringOrBytesField) {
  auto check = FindMethod("grpc.health.v1.Health", "Check");  // an enum field
  ASSERT_THAT(check, IsOk());
  EXPECT_EQ(SingleTextField(**check), nullptr);
  auto board = FindMethod("ecoact.v1.LeaderboardService", "GetLeaderboard");
  ASSERT_THAT(board, IsOk());
  EXPECT_EQ(SingleTextField(**board), nullptr);
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = test::MakeTempDir("gateway_static");
    ASSERT_THAT(dir, IsOk());
    base_ = *dir;
    root_ = base_ + "/web";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/staff").c_str(), 0755), 0);
    Write(root_ + "/index.html", "<p>home</p>");
    Write(root_ + "/app.js", "1");
    Write(root_ + "/staff/index.html", "<p>staff</p>");
    Write(root_ + "/.env", "SECRET=1");
    Write(base_ + "/secret.txt", "outside");
    ASSERT_EQ(symlink((base_ + "/secret.txt").c_str(), (root_ + "/leak.txt").c_str()), 0);
    ASSERT_EQ(symlink((root_ + "/app.js").c_str(), (root_ + "/alias.js").c_str()), 0);
  }
  static void Write(const std::string& path, const std::string& content) {
    std::ofstream(path) << content;
  }
  std::string base_;
  std::string root_;
};

TEST_F(StaticFilesTest, ServesFilesAndDirectoryIndexes) {
  auto index = ResolveStaticPath(root_, "/");
  ASSERT_THAT(index, IsOk());
  EXPECT_THAT(*index, testing::EndsWith("/web/index.html"));
  EXPECT_THAT(ResolveStaticPath(root_, "/app.js"), IsOk());
  auto staff = ResolveStaticPath(root_, "/staff/");
  ASSERT_THAT(staff, IsOk());
  EXPECT_THAT(*staff, testing::EndsWith("/web/staff/index.html"));
  // A link that stays inside the root is fine.
  EXPECT_THAT(ResolveStaticPath(root_, "/alias.js"), IsOk());
}

TEST_F(StaticFilesTest, NeverLeavesTheRootNorShowsHiddenFiles) {
  for (const char* path :
       {"/../secret.txt", "/staff/../../secret.txt", "/./index.html", "/.env", "//index.html",
        "/staff//index.html", "/leak.txt", "/staff", "/missing.html", "/..\\secret.txt",
        "/app.js\n", "", "index.html", "/staff/..", "/.."}) {
    EXPECT_THAT(ResolveStaticPath(root_, path), StatusIs(absl::StatusCode::kNotFound))
        << "path " << path;
  }
  EXPECT_THAT(ResolveStaticPath(base_ + "/nowhere", "/index.html"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(StaticContentTest, TypesAndCaching) {
  EXPECT_EQ(ContentTypeFor("/w/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("/w/a.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("/w/a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("/w/logo.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("/w/font.woff2"), "font/woff2");
  EXPECT_EQ(ContentTypeFor("/w.d/README"), "application/octet-stream");
  EXPECT_EQ(CacheControlFor("/w/index.html"), "no-cache");
  EXPECT_EQ(CacheControlFor("/w/app.js"), "public, max-age=3600");
  bool has_csp = false;
  for (const auto& [name, value] : StaticSecurityHeaders()) {
    if (name == "Content-Security-Policy") {
      has_csp = true;
      EXPECT_THAT(value, HasSubstr("default-src 'self'"));
      EXPECT_THAT(value, HasSubstr("frame-ancestors 'none'"));
      EXPECT_THAT(value, Not(HasSubstr("unsafe-inline")));
    }
  }
  EXPECT_TRUE(has_csp);
}

}  // namespace
}  // namespace ecoact::gateway
