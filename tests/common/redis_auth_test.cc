// RedisClient against a real redis-server that requires a password
// (requirepass), an ACL user, and a Redis Cluster with requirepass and
// masterauth: every connection logs in first, a refusal is a clear
// UNAVAILABLE that never holds the password, and is not retried per call.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/redis.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using ::ecoact::test::IsOk;
using ::ecoact::test::RedisServerOptions;
using ::ecoact::test::RedisServerProcess;
using ::ecoact::test::StatusIs;
using ::ecoact::test::UniqueKeyPrefix;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// With a space and a tab: AUTH must send it as one argument.
constexpr char kPassword[] = "correct horse\tbattery";
constexpr char kWrongPassword[] = "incorrect-staple-7";

const LuaScript kEcho("echo", "return ARGV[1]");

std::vector<RedisMode> BothModes() { return {RedisMode::kPool, RedisMode::kPipelined}; }

// Refused logins Redis recorded in its ACL LOG (entries are grouped, each
// with a count); -1 if the log cannot be read.
int64_t RefusedLoginsOf(RedisClient& admin) {
  auto log = admin.Command({"ACL", "LOG"});
  EXPECT_THAT(log, IsOk());
  if (!log.ok()) return -1;
  int64_t refused = 0;
  for (const RedisValue& entry : log->elements) {
    int64_t count = 0;
    std::string reason;
    for (size_t i = 0; i + 1 < entry.elements.size(); i += 2) {
      if (entry.elements[i].str == "count") count = entry.elements[i + 1].integer;
      if (entry.elements[i].str == "reason") reason = entry.elements[i + 1].str;
    }
    if (reason == "auth") refused += count;
  }
  return refused;
}

class RedisAuthTest : public ::testing::Test {
 protected:
  void StartRedis(std::vector<std::string> extra_args = {}) {
    RedisServerOptions options;
    options.standalone = true;
    options.password = kPassword;
    options.extra_args = std::move(extra_args);
    auto server = RedisServerProcess::Start(options);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    admin_ = std::make_unique<RedisClient>(server_->client_options());
    ASSERT_THAT(admin_->Ping(), IsOk());
    prefix_ = UniqueKeyPrefix();
  }

  std::unique_ptr<RedisClient> Client(RedisMode mode, std::string user, std::string password) {
    RedisOptions options = server_->client_options();
    options.mode = mode;
    options.pool_size = 2;
    options.user = std::move(user);
    options.password = std::move(password);
    return std::make_unique<RedisClient>(options);
  }

  std::string Key(absl::string_view name) const { return absl::StrCat(prefix_, ":", name); }

  int64_t RefusedLogins() { return RefusedLoginsOf(*admin_); }

  std::unique_ptr<RedisServerProcess> server_;
  std::unique_ptr<RedisClient> admin_;
  std::string prefix_;
};

TEST_F(RedisAuthTest, RightPasswordWorksInBothModesAndAfterReconnects) {
  StartRedis();
  for (RedisMode mode : BothModes()) {
    SCOPED_TRACE(RedisModeName(mode));
    auto client = Client(mode, "", kPassword);
    ASSERT_THAT(client->Ping(), IsOk());
    ASSERT_THAT(client->Command({"SET", Key("k"), "v1"}), IsOk());
    auto echoed = client->Eval(kEcho, {Key("k")}, {"hello"});
    ASSERT_THAT(echoed, IsOk());
    EXPECT_EQ(echoed->str, "hello");

    // Redis drops every connection but the admin's (as on a restart or an
    // idle timeout): the client's new connections must log in again.
    ASSERT_THAT(admin_->Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}), IsOk());
    auto got = client->Command({"GET", Key("k")});
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(got->str, "v1");
  }
}

TEST_F(RedisAuthTest, WrongPasswordIsRefusedClearlyWithoutThePasswordAndChangesNothing) {
  StartRedis();
  for (RedisMode mode : BothModes()) {
    SCOPED_TRACE(RedisModeName(mode));
    auto client = Client(mode, "", kWrongPassword);
    const auto refused = StatusIs(
        absl::StatusCode::kUnavailable,
        AllOf(HasSubstr("refused the credentials for user default"), HasSubstr("WRONGPASS"),
              HasSubstr("--redis_password_file"), Not(HasSubstr(kWrongPassword)),
              Not(HasSubstr(kPassword))));
    EXPECT_THAT(client->Ping(), refused);
    EXPECT_THAT(client->Command({"SET", Key("wrong"), "x"}), refused);
  }
  auto exists = admin_->Command({"EXISTS", Key("wrong")});
  ASSERT_THAT(exists, IsOk());
  EXPECT_EQ(exists->integer, 0);
}

TEST_F(RedisAuthTest, MissingPasswordSaysNoauthAndNamesTheOption) {
  StartRedis();
  for (RedisMode mode : BothModes()) {
    SCOPED_TRACE(RedisModeName(mode));
    auto client = Client(mode, "", "");
    EXPECT_THAT(client->Ping(), StatusIs(absl::StatusCode::kUnavailable,
                                         AllOf(HasSubstr("NOAUTH"),
                                               HasSubstr("--redis_password_file"))));
    EXPECT_THAT(client->Eval(kEcho, {Key("k")}, {"x"}),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("NOAUTH")));
  }
}

TEST_F(RedisAuthTest, AclUserLogsInAsItself) {
  StartRedis({"--user", "ecoact", "on", ">ecoact-pw", "~*", "&*", "+@all"});
  for (RedisMode mode : BothModes()) {
    SCOPED_TRACE(RedisModeName(mode));
    auto client = Client(mode, "ecoact", "ecoact-pw");
    auto whoami = client->Command({"ACL", "WHOAMI"});
    ASSERT_THAT(whoami, IsOk());
    EXPECT_EQ(whoami->str, "ecoact");
    ASSERT_THAT(client->Command({"SET", Key("acl"), "1"}), IsOk());

    // The default user's password is not the ecoact user's.
    auto mixed_up = Client(mode, "ecoact", kPassword);
    EXPECT_THAT(mixed_up->Ping(),
                StatusIs(absl::StatusCode::kUnavailable,
                         AllOf(HasSubstr("refused the credentials for user ecoact"),
                               Not(HasSubstr(kPassword)))));
  }
}

TEST_F(RedisAuthTest, RefusedLoginIsNotRetriedPerCallAndRecoversOnceRedisAgrees) {
  StartRedis();
  for (RedisMode mode : BothModes()) {
    SCOPED_TRACE(RedisModeName(mode));
    ASSERT_THAT(admin_->Command({"ACL", "LOG", "RESET"}), IsOk());
    auto client = Client(mode, "", kWrongPassword);
    constexpr int kCalls = 200;
    const absl::Time start = absl::Now();
    int failed = 0;
    for (int i = 0; i < kCalls; ++i) {
      if (!client->Command({"GET", Key("k")}).ok()) ++failed;
    }
    const double elapsed_seconds = absl::ToDoubleSeconds(absl::Now() - start);
    EXPECT_EQ(failed, kCalls);
    // One refused AUTH per second of hold-off at most (plus the first), not
    // one per call; the bound follows the time the calls actually took.
    const int64_t refused = RefusedLogins();
    EXPECT_GE(refused, 1);
    EXPECT_LE(refused, static_cast<int64_t>(elapsed_seconds) + 2)
        << kCalls << " calls in " << elapsed_seconds << " s";
  }

  // An operator who gives Redis the password the client has (ACL SETUSER,
  // no restart of ours) sees the client log in once the hold-off is over.
  auto client = Client(RedisMode::kPipelined, "", kWrongPassword);
  EXPECT_THAT(client->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(admin_->Command({"ACL", "SETUSER", "default", absl::StrCat(">", kWrongPassword)}),
              IsOk());
  absl::Status ping = client->Ping();
  for (const absl::Time give_up = absl::Now() + absl::Seconds(10);
       !ping.ok() && absl::Now() < give_up; ping = client->Ping()) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(ping, IsOk());
}

// Three primaries with one replica each, all with requirepass, the replicas
// syncing with masterauth; the client logs in on every node it reaches and
// on the connections that fetch the slot map.
TEST(RedisAuthClusterTest, ClusterWithRequirepassAndMasterauthServesAnAuthenticatedClient) {
  RedisServerOptions options;
  options.cluster_primaries = 3;
  options.cluster_replicas = 1;
  options.password = kPassword;
  auto cluster = RedisServerProcess::Start(options);
  ASSERT_THAT(cluster, IsOk());
  ASSERT_TRUE((*cluster)->is_cluster());
  const std::string prefix = UniqueKeyPrefix();

  for (RedisMode mode : BothModes()) {
    SCOPED_TRACE(RedisModeName(mode));
    RedisOptions client_options = (*cluster)->client_options();
    client_options.mode = mode;
    client_options.command_timeout = absl::Seconds(5);
    ASSERT_EQ(client_options.password, kPassword);
    RedisClient client(client_options);
    std::vector<std::vector<std::string>> writes;
    for (int i = 0; i < 60; ++i) {
      writes.push_back({"SET", absl::StrCat(prefix, ":", RedisModeName(mode), ":", i), "1"});
    }
    auto written = client.Pipeline(writes);
    ASSERT_THAT(written, IsOk());
    for (const RedisValue& reply : *written) EXPECT_EQ(reply.str, "OK");
    auto echoed = client.Eval(kEcho, {absl::StrCat(prefix, ":script")}, {"hi"});
    ASSERT_THAT(echoed, IsOk());
    EXPECT_EQ(echoed->str, "hi");

    // Node-local commands on every primary, each over its own logged-in
    // connection: together they hold every key written.
    auto primaries = client.Primaries();
    ASSERT_THAT(primaries, IsOk());
    EXPECT_EQ(primaries->size(), 3u);
    int64_t found = 0;
    for (RedisClient* primary : *primaries) {
      auto keys = primary->Command(
          {"KEYS", absl::StrCat(prefix, ":", RedisModeName(mode), ":*")});
      ASSERT_THAT(keys, IsOk());
      EXPECT_GT(keys->elements.size(), 0u);
      found += static_cast<int64_t>(keys->elements.size());
    }
    EXPECT_EQ(found, 60);
  }

  // Every replica synced with its primary, logging in with masterauth.
  int linked_replicas = 0;
  for (const absl::Time give_up = absl::Now() + absl::Seconds(20);
       linked_replicas < 3 && absl::Now() < give_up;) {
    linked_replicas = 0;
    for (RedisServerProcess* node : (*cluster)->nodes()) {
      RedisOptions direct;
      direct.host = node->host();
      direct.port = node->port();
      direct.password = kPassword;
      RedisClient node_client(direct);
      auto replication = node_client.Command({"INFO", "replication"});
      ASSERT_THAT(replication, IsOk());
      if (absl::StrContains(replication->str, "master_link_status:up")) ++linked_replicas;
    }
    if (linked_replicas < 3) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(linked_replicas, 3);

  // Refused logins over every node, from their ACL LOGs.
  auto refused_logins = [&]() {
    int64_t refused = 0;
    for (RedisServerProcess* node : (*cluster)->nodes()) {
      RedisOptions direct;
      direct.host = node->host();
      direct.port = node->port();
      direct.password = kPassword;
      RedisClient admin(direct);
      refused += RefusedLoginsOf(admin);
    }
    return refused;
  };
  const int64_t refused_before = refused_logins();

  RedisOptions wrong = (*cluster)->client_options();
  wrong.password = kWrongPassword;
  RedisClient refused(wrong);
  EXPECT_THAT(refused.Command({"GET", absl::StrCat(prefix, ":x")}),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("refused the credentials for user default"),
                             Not(HasSubstr(kWrongPassword)))));
  // The slot-map refresh holds off after a refusal too: 100 calls within
  // the hold-off do not each send a refused AUTH to every node.
  for (int i = 0; i < 100; ++i) {
    EXPECT_THAT(refused.Command({"GET", absl::StrCat(prefix, ":x")}),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("refused the credentials")));
  }
  EXPECT_LE(refused_logins() - refused_before, 3);

  // No password: the slot map fetch says NOAUTH and names the option, not
  // "not a cluster node".
  RedisOptions missing = (*cluster)->client_options();
  missing.password.clear();
  RedisClient without(missing);
  EXPECT_THAT(without.Command({"GET", absl::StrCat(prefix, ":x")}),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("NOAUTH"), HasSubstr("--redis_password_file"),
                             Not(HasSubstr("not a cluster node")))));
}

}  // namespace
}  // namespace ecoact
