// The real ecoact_server (and ecoact_rebuild) against a Redis that requires
// a password: with --redis_password_file it records an action, projects it
// onto the boards and reports SERVING; with a wrong or missing password it
// stays up, NOT_SERVING, says why in its log (never the password) and
// answers UNAVAILABLE; a bad password path stops start-up naming the
// variable.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "ecoact/v1/leaderboard.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace ecoact::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "e2e redis password 42";
constexpr char kAclPassword[] = "e2e-acl-user-password";

class RedisAuthE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("redis-auth-e2e");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
    RedisServerOptions options;
    options.password = kPassword;
    options.extra_args = {"--user", "ecoact", "on", absl::StrCat(">", kAclPassword), "~*", "&*",
                          "+@all"};
    auto redis = RedisServerProcess::Start(options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
  }
  void TearDown() override { std::system(absl::StrCat("rm -rf '", dir_, "'").c_str()); }

  // A password file as Kubernetes and `echo` write it: with a trailing newline.
  std::string PasswordFile(const std::string& name, const std::string& password) {
    std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path) << password << "\n";
    return path;
  }

  std::unique_ptr<EcoactServerProcess> StartServer(std::vector<std::string> extra_args) {
    EcoactServerOptions options;
    options.binary = ECOACT_SERVER_BINARY;
    options.extra_args = std::move(extra_args);
    auto server = EcoactServerProcess::Start(*redis_, options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  static bool Serving(EcoactServerProcess& server) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("ecoact.v1.ActionsService");
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = grpc::health::v1::Health::NewStub(server.channel())
                              ->Check(CallContext().get(), request, &response);
    return status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  }

  static grpc::Status Register(EcoactServerProcess& server, const std::string& request_id,
                               v1::RegisterResponse* registered) {
    v1::RegisterRequest request;
    request.set_request_id(request_id);
    request.set_nickname("Aoi");
    request.set_ward("nakahara");
    return v1::IdentityService::NewStub(server.channel())
        ->Register(CallContext().get(), request, registered);
  }

  // Signs up, records an action, and waits for the projector to rank it.
  void RecordAndSeeItRanked(EcoactServerProcess& server, const std::string& id) {
    for (int i = 0; i < 100 && !Serving(server); ++i) absl::SleepFor(absl::Milliseconds(50));
    ASSERT_TRUE(Serving(server)) << server.process().LogTail();
    v1::RegisterResponse citizen;
    grpc::Status status = Register(server, absl::StrCat("e2e-auth-register-", id), &citizen);
    ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << server.process().LogTail();
    v1::RecordActionRequest request;
    request.set_request_id(absl::StrCat("e2e-auth-record-", id));
    request.set_action_type("clothing_reuse");
    request.set_quantity(2);
    v1::RecordActionResponse recorded;
    status = v1::ActionsService::NewStub(server.channel())
                 ->RecordAction(CallContext(citizen.token()).get(), request, &recorded);
    ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << server.process().LogTail();
    EXPECT_GT(recorded.entry().co2e_grams(), 0);

    bool ranked = false;
    for (int i = 0; i < 100 && !ranked; ++i) {
      v1::GetMyRanksResponse ranks;
      status = v1::LeaderboardService::NewStub(server.channel())
                   ->GetMyRanks(CallContext(citizen.token()).get(), v1::GetMyRanksRequest(),
                                &ranks);
      ASSERT_TRUE(status.ok()) << status.error_message();
      for (const auto& rank : ranks.ranks()) ranked = ranked || (rank.ranked() && rank.score() > 0);
      if (!ranked) absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_TRUE(ranked) << "the projector never ranked the action\n" << server.process().LogTail();
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

  std::string dir_;
  std::unique_ptr<RedisServerProcess> redis_;
};

TEST_F(RedisAuthE2eTest, PasswordFileRecordsAndProjectsAndRebuildLogsInToo) {
  const std::string password_file = PasswordFile("redis-password", kPassword);
  auto server = StartServer({"--redis_password_file=" + password_file, "--ledger_shards=4"});
  ASSERT_NE(server, nullptr);
  RecordAndSeeItRanked(*server, "default");
  EXPECT_THAT(server->process().ReadLog(), Not(HasSubstr(kPassword)));

  // The offline rebuild reads the same variable.
  const std::string rebuild =
      absl::StrCat(ECOACT_REBUILD_BINARY, " --redis=", redis_->address(),
                   " --key_prefix=", server->options().key_prefix, " --ledger_shards=4");
  int code = -1;
  std::string out = Run(absl::StrCat("ECOACT_REDIS_PASSWORD_FILE=", password_file, " ", rebuild),
                        &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, Not(HasSubstr(kPassword)));
  // Without it Redis says NOAUTH, and the rebuild says which option is missing.
  out = Run(absl::StrCat("env -u ECOACT_REDIS_PASSWORD_FILE ", rebuild), &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("--redis_password_file"));
}

TEST_F(RedisAuthE2eTest, AclUserRunsEveryConnectionAsItself) {
  auto server = StartServer({"--redis_user=ecoact",
                             "--redis_password_file=" + PasswordFile("acl", kAclPassword)});
  ASSERT_NE(server, nullptr);
  RecordAndSeeItRanked(*server, "acl");

  // Every connection the server holds to this node (calls, health, the
  // projectors' blocking reads) logged in as ecoact; only ours is default.
  RedisOptions admin_options = redis_->client_options();
  admin_options.cluster = false;
  admin_options.cluster_seeds.clear();
  RedisClient admin(admin_options);
  auto clients = admin.Command({"CLIENT", "LIST"});
  ASSERT_TRUE(clients.ok()) << clients.status();
  int as_ecoact = 0;
  for (absl::string_view line : absl::StrSplit(clients->str, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, " user=ecoact ")) {
      ++as_ecoact;
    } else {
      EXPECT_THAT(std::string(line), HasSubstr("cmd=client")) << "a connection not logged in as ecoact";
    }
  }
  EXPECT_GE(as_ecoact, 2) << clients->str;
}

TEST_F(RedisAuthE2eTest, WrongPasswordStaysNotServingAndSaysWhy) {
  const std::string wrong = "not the redis password";
  auto server = StartServer({"--redis_password_file=" + PasswordFile("wrong", wrong)});
  ASSERT_NE(server, nullptr);
  const std::string why = "refused the credentials for user default";
  for (int i = 0; i < 100 && !absl::StrContains(server->process().ReadLog(), "NOT_SERVING");
       ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  const std::string log = server->process().ReadLog();
  EXPECT_THAT(log, HasSubstr("health: NOT_SERVING"));
  EXPECT_THAT(log, HasSubstr(why));
  EXPECT_THAT(log, Not(HasSubstr(wrong)));
  EXPECT_THAT(log, Not(HasSubstr(kPassword)));
  EXPECT_FALSE(Serving(*server));

  v1::RegisterResponse registered;
  grpc::Status status = Register(*server, "e2e-auth-register-wrong", &registered);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), Not(HasSubstr(wrong)));
  // Still running, still not serving: it waits for an operator, it does not crash-loop.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(server->process().IsRunning());
  EXPECT_FALSE(Serving(*server));
}

TEST_F(RedisAuthE2eTest, MissingPasswordStaysNotServingAndNamesTheOption) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  for (int i = 0; i < 100 && !absl::StrContains(server->process().ReadLog(), "NOT_SERVING");
       ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  const std::string log = server->process().ReadLog();
  EXPECT_THAT(log, HasSubstr("health: NOT_SERVING"));
  EXPECT_THAT(log, HasSubstr("NOAUTH"));
  EXPECT_THAT(log, HasSubstr("--redis_password_file"));
  EXPECT_FALSE(Serving(*server));
}

TEST_F(RedisAuthE2eTest, UnreadablePasswordFileStopsStartUpNamingTheVariable) {
  ProcessOptions process;
  process.binary = ECOACT_SERVER_BINARY;
  process.args = {"--listen=127.0.0.1:0"};
  process.env = {{"ECOACT_REDIS", redis_->address()},
                 {"ECOACT_REDIS_PASSWORD_FILE", absl::StrCat(dir_, "/no-such-file")},
                 {"ECOACT_TOKEN_KEYS", "e2e=0123456789abcdef0123456789abcdef0123"}};
  auto started = ProcessHandle::Start(process);
  ASSERT_TRUE(started.ok()) << started.status();
  auto ended = (*started)->Wait(absl::Seconds(20));
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->exit_code, 2);
  EXPECT_THAT((*started)->ReadLog(),
              AllOf(HasSubstr("ECOACT_REDIS_PASSWORD_FILE"), HasSubstr("no-such-file")));

  // An empty file, and a user without a password, are mistakes too.
  const std::string empty = PasswordFile("empty", "");
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"ECOACT_REDIS_PASSWORD_FILE", empty},
                                                        {"ECOACT_REDIS_USER", "ecoact"}}) {
    ProcessOptions bad = process;
    bad.env.erase("ECOACT_REDIS_PASSWORD_FILE");
    bad.env[name] = value;
    auto run = ProcessHandle::Start(bad);
    ASSERT_TRUE(run.ok()) << run.status();
    auto exit = (*run)->Wait(absl::Seconds(20));
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->exit_code, 2) << name;
    EXPECT_THAT((*run)->ReadLog(), HasSubstr(name == "ECOACT_REDIS_USER"
                                                 ? "needs --redis_password_file"
                                                 : "is empty"));
  }
}

}  // namespace
}  // namespace ecoact::test
