// RedisClient against a real redis-server started by the test.
#include "services/common/redis.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using ::ecoact::test::IsOk;
using ::ecoact::test::RedisServerProcess;
using ::ecoact::test::StatusIs;
using ::ecoact::test::UniqueKeyPrefix;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Generous bound for "fails fast": far below anything that looks like a hang,
// far above scheduling noise on a loaded machine. Not a speed assertion.
constexpr absl::Duration kFailsFastBound = absl::Seconds(5);

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The connection machinery of one server (DEBUG SLEEP and blocked
    // clients on the node a key lives on, error messages naming it): the
    // cluster layer over it has its own tests (redis_cluster_test.cc).
    test::RedisServerOptions options;
    options.standalone = true;
    auto server = RedisServerProcess::Start(options);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    prefix_ = UniqueKeyPrefix();
  }

  std::unique_ptr<RedisClient> Client(int pool_size = 4,
                                      absl::Duration command_timeout = absl::Seconds(2)) {
    RedisOptions options = server_->client_options();
    options.pool_size = pool_size;
    options.command_timeout = command_timeout;
    return std::make_unique<RedisClient>(options);
  }

  std::string Key(absl::string_view name) const { return absl::StrCat(prefix_, ":", name); }

  std::unique_ptr<RedisServerProcess> server_;
  std::string prefix_;
};

TEST_F(RedisClientTest, CommandRoundTrips) {
  auto client = Client();
  ASSERT_THAT(client->Ping(), IsOk());

  auto set = client->Command({"SET", Key("s"), "hello"});
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ(set->type, RedisValue::Type::kStatus);
  EXPECT_EQ(set->str, "OK");

  auto get = client->Command({"GET", Key("s")});
  ASSERT_THAT(get, IsOk());
  EXPECT_EQ(get->type, RedisValue::Type::kString);
  EXPECT_EQ(*get->AsString(), "hello");

  auto missing = client->Command({"GET", Key("missing")});
  ASSERT_THAT(missing, IsOk());
  EXPECT_TRUE(missing->IsNil());
  EXPECT_EQ(*missing->AsString(), "");

  auto incr = client->Command({"INCRBY", Key("n"), "41"});
  ASSERT_THAT(incr, IsOk());
  EXPECT_EQ(incr->type, RedisValue::Type::kInteger);
  EXPECT_EQ(*incr->AsInt(), 41);
  EXPECT_EQ(*client->Command({"GET", Key("n")})->AsInt(), 41);  // "41" parses
  EXPECT_THAT(get->AsInt(), StatusIs(absl::StatusCode::kInternal, HasSubstr("hello")));

  // Binary-safe values and keys (CR, LF, NUL bytes).
  const std::string binary("a\r\nb\0c", 6);
  ASSERT_THAT(client->Command({"SET", Key(binary), binary}), IsOk());
  EXPECT_EQ(client->Command({"GET", Key(binary)})->str, binary);

  ASSERT_THAT(client->Command({"RPUSH", Key("l"), "x", "y", "z"}), IsOk());
  auto range = client->Command({"LRANGE", Key("l"), "0", "-1"});
  ASSERT_THAT(range, IsOk());
  ASSERT_EQ(range->type, RedisValue::Type::kArray);
  ASSERT_THAT(range->elements, SizeIs(3));
  EXPECT_EQ(range->elements[2].str, "z");
}

TEST_F(RedisClientTest, PipelineKeepsOrderAndPerCommandErrors) {
  auto client = Client();
  auto replies = client->Pipeline({{"SET", Key("p"), "not a number"},
                                   {"INCR", Key("p")},
                                   {"INCR", Key("q")},
                                   {"INCR", Key("q")},
                                   {"GET", Key("p")}});
  ASSERT_THAT(replies, IsOk());
  ASSERT_THAT(*replies, SizeIs(5));
  EXPECT_EQ((*replies)[0].str, "OK");
  EXPECT_TRUE((*replies)[1].IsError());
  EXPECT_THAT((*replies)[1].str, HasSubstr("not an integer"));
  EXPECT_EQ((*replies)[2].integer, 1);
  EXPECT_EQ((*replies)[3].integer, 2);
  EXPECT_EQ((*replies)[4].str, "not a number");

  auto empty = client->Pipeline({});
  ASSERT_THAT(empty, IsOk());
  EXPECT_TRUE(empty->empty());

  // A long pipeline in one round trip.
  std::vector<std::vector<std::string>> many;
  for (int i = 0; i < 1000; ++i) many.push_back({"INCR", Key("many")});
  auto counted = client->Pipeline(many);
  ASSERT_THAT(counted, IsOk());
  EXPECT_EQ(counted->back().integer, 1000);
}

TEST_F(RedisClientTest, EvalRunsScriptsAndReloadsAfterScriptFlush) {
  auto client = Client();
  LuaScript script("add_and_echo",
                   "local n = redis.call('INCRBY', KEYS[1], ARGV[1])\n"
                   "return {n, ARGV[2], KEYS[1]}\n");
  ASSERT_EQ(script.sha().size(), 40u);

  auto first = client->Eval(script, {Key("e")}, {"5", "hi"});
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(first->elements, SizeIs(3));
  EXPECT_EQ(first->elements[0].integer, 5);
  EXPECT_EQ(first->elements[1].str, "hi");
  EXPECT_EQ(first->elements[2].str, Key("e"));

  // The script is now cached under the SHA1 the client computed.
  auto exists = client->Command({"SCRIPT", "EXISTS", script.sha()});
  ASSERT_THAT(exists, IsOk());
  EXPECT_EQ(exists->elements.at(0).integer, 1);

  // As after a Redis restart: the cache is empty, EVALSHA answers NOSCRIPT.
  ASSERT_THAT(client->Command({"SCRIPT", "FLUSH"}), IsOk());
  EXPECT_EQ(client->Command({"SCRIPT", "EXISTS", script.sha()})->elements.at(0).integer, 0);
  auto second = client->Eval(script, {Key("e")}, {"2", "again"});
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->elements[0].integer, 7);  // ran exactly once more
  EXPECT_EQ(second->elements[1].str, "again");
  EXPECT_EQ(client->Command({"SCRIPT", "EXISTS", script.sha()})->elements.at(0).integer, 1);
  EXPECT_EQ(*client->Command({"GET", Key("e")})->AsInt(), 7);
}

TEST_F(RedisClientTest, EvalManyPipelinesCallsAndReloadsAfterScriptFlush) {
  auto client = Client();
  LuaScript script("incr_or_fail",
                   "if ARGV[1] == 'fail' then return redis.error_reply('no thanks') end\n"
                   "return redis.call('INCRBY', KEYS[1], ARGV[1])\n");
  ASSERT_THAT(client->Command({"SCRIPT", "FLUSH"}), IsOk());  // first run: NOSCRIPT
  std::vector<RedisClient::ScriptCall> calls = {
      {{Key("m")}, {"2"}}, {{Key("m")}, {"fail"}}, {{Key("m")}, {"3"}}};
  auto replies = client->EvalMany(script, calls);
  ASSERT_THAT(replies, IsOk());
  ASSERT_THAT(*replies, SizeIs(3));
  EXPECT_EQ((*replies)[0].integer, 2);
  EXPECT_TRUE((*replies)[1].IsError());  // one failing call does not fail the others
  EXPECT_EQ((*replies)[2].integer, 5);
  EXPECT_EQ(*client->Command({"GET", Key("m")})->AsInt(), 5);  // each ran exactly once
}

TEST_F(RedisClientTest, ErrorRepliesAreInternalWithRedisMessage) {
  auto client = Client();
  ASSERT_THAT(client->Command({"SET", Key("s"), "text"}), IsOk());
  EXPECT_THAT(client->Command({"INCR", Key("s")}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("not an integer")));
  EXPECT_THAT(client->Command({"NOSUCHCOMMAND", "x"}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("unknown command")));
  EXPECT_THAT(client->Command({"LPUSH", Key("s"), "x"}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("WRONGTYPE")));

  LuaScript failing("refuses", "return redis.error_reply('OVER_CAP daily cap reached')");
  EXPECT_THAT(client->Eval(failing, {Key("x")}, {}),
              StatusIs(absl::StatusCode::kInternal,
                       AllOf(HasSubstr("refuses"), HasSubstr("OVER_CAP daily cap reached"))));

  LuaScript runtime_error("runtime_error", "return redis.call('INCR', KEYS[1])");
  EXPECT_THAT(client->Eval(runtime_error, {Key("s")}, {}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("runtime_error")));

  // The connection is still usable after error replies.
  EXPECT_THAT(client->Ping(), IsOk());
}

TEST_F(RedisClientTest, ScriptThatDoesNotCompileReportsTheCompileError) {
  auto client = Client();
  LuaScript broken("broken", "return {{{");
  EXPECT_THAT(client->Eval(broken, {}, {}),
              StatusIs(absl::StatusCode::kInternal,
                       AllOf(HasSubstr("broken"), ::testing::Not(HasSubstr("NOSCRIPT")))));
}

TEST_F(RedisClientTest, StoppedServerIsUnavailableQuickly) {
  auto client = Client(/*pool_size=*/2, /*command_timeout=*/absl::Seconds(1));
  ASSERT_THAT(client->Ping(), IsOk());  // leaves an idle connection in the pool
  ASSERT_THAT(server_->Stop(), IsOk());

  for (int attempt = 0; attempt < 3; ++attempt) {
    const absl::Time start = absl::Now();
    EXPECT_THAT(client->Command({"GET", Key("x")}), StatusIs(absl::StatusCode::kUnavailable))
        << "attempt " << attempt;
    EXPECT_LT(absl::Now() - start, kFailsFastBound) << "attempt " << attempt;
  }
  EXPECT_THAT(client->Ping(), StatusIs(absl::StatusCode::kUnavailable,
                                       HasSubstr(absl::StrCat(server_->port()))));
}

TEST_F(RedisClientTest, KilledServerIsUnavailableQuickly) {
  auto client = Client(/*pool_size=*/2, /*command_timeout=*/absl::Seconds(1));
  ASSERT_THAT(client->Ping(), IsOk());
  server_->Kill();
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, kFailsFastBound);
}

TEST_F(RedisClientTest, SameClientWorksAgainAfterRestart) {
  auto client = Client(/*pool_size=*/4, /*command_timeout=*/absl::Seconds(1));
  // Fill the pool with idle connections that the restart will break.
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] { (void)client->Command({"BLPOP", Key("nothing"), "0.2"}); });
  }
  for (auto& t : threads) t.join();
  ASSERT_THAT(client->Command({"SET", Key("before"), "1"}), IsOk());

  ASSERT_THAT(server_->Restart(), IsOk());

  // Redis is back: the stale pooled connections must not turn into errors.
  EXPECT_THAT(client->Ping(), IsOk());
  for (int i = 0; i < 8; ++i) {
    EXPECT_THAT(client->Command({"INCR", Key("after")}), IsOk()) << i;
  }
  EXPECT_EQ(*client->Command({"GET", Key("after")})->AsInt(), 8);
}

TEST_F(RedisClientTest, ClientRecoversAfterAnOutage) {
  auto client = Client(/*pool_size=*/2, /*command_timeout=*/absl::Seconds(1));
  ASSERT_THAT(client->Ping(), IsOk());
  ASSERT_THAT(server_->Stop(), IsOk());
  EXPECT_THAT(client->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(client->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(server_->Restart(), IsOk());
  EXPECT_THAT(client->Ping(), IsOk());
}

TEST_F(RedisClientTest, SlowReplyIsDeadlineExceededAndTheLateReplyIsNeverRead) {
  auto client = Client(/*pool_size=*/1, /*command_timeout=*/absl::Milliseconds(300));
  ASSERT_THAT(client->Command({"SET", Key("k"), "fresh"}), IsOk());
  const absl::Time start = absl::Now();
  // BLPOP answers after 1 s, the client gives up after 300 ms.
  EXPECT_THAT(client->Command({"BLPOP", Key("empty"), "1"}),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, kFailsFastBound);
  // The connection that timed out is dropped: the next command gets its own
  // reply, not the late nil of BLPOP.
  absl::SleepFor(absl::Milliseconds(900));
  auto get = client->Command({"GET", Key("k")});
  ASSERT_THAT(get, IsOk());
  EXPECT_EQ(get->str, "fresh");
}

TEST_F(RedisClientTest, HungServerIsDeadlineExceeded) {
  auto client = Client(/*pool_size=*/2, /*command_timeout=*/absl::Milliseconds(300));
  ASSERT_THAT(client->Ping(), IsOk());
  ASSERT_THAT(server_->Pause(), IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Ping(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, kFailsFastBound);
  ASSERT_THAT(server_->Resume(), IsOk());
  EXPECT_THAT(client->Ping(), IsOk());
}

TEST_F(RedisClientTest, ExhaustedPoolIsDeadlineExceeded) {
  // One connection, 300 ms command timeout. The holder keeps the connection
  // ~1 s with a pipeline of ten 100 ms BLPOPs: each reply comes within the
  // timeout, so the holder succeeds, while a second caller cannot get a
  // connection within its 300 ms.
  auto client = Client(/*pool_size=*/1, /*command_timeout=*/absl::Milliseconds(300));
  ASSERT_THAT(client->Ping(), IsOk());
  std::vector<std::vector<std::string>> holder_commands(10, {"BLPOP", Key("empty"), "0.1"});
  absl::StatusOr<std::vector<RedisValue>> holder_result;
  std::thread holder([&] { holder_result = client->Pipeline(holder_commands); });

  // Wait until Redis sees the holder blocked, i.e. it owns the connection.
  auto observer = Client(1);
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  bool blocked = false;
  while (!blocked && absl::Now() < give_up) {
    auto info = observer->Command({"INFO", "clients"});
    blocked = info.ok() && absl::StrContains(info->str, "blocked_clients:1");
    if (!blocked) absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(blocked) << "the holder never blocked in Redis";

  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Command({"PING"}),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("no free connection")));
  EXPECT_LT(absl::Now() - start, kFailsFastBound);

  holder.join();
  ASSERT_THAT(holder_result, IsOk());
  EXPECT_THAT(*holder_result, SizeIs(10));
  // Once the holder is done, the pool serves again.
  EXPECT_THAT(client->Ping(), IsOk());
}

TEST_F(RedisClientTest, ConcurrentIncrementsFromEightThreadsAreAllCounted) {
  auto client = Client(/*pool_size=*/4);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Half single commands, half pipelines, all sharing the pool.
        absl::Status status =
            (i % 2 == 0)
                ? client->Command({"INCR", Key("counter")}).status()
                : client->Pipeline({{"INCR", Key("counter")},
                                    {"SADD", Key("threads"), absl::StrCat(t)}})
                      .status();
        if (!status.ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*client->Command({"GET", Key("counter")})->AsInt(), kThreads * kPerThread);
  EXPECT_EQ(*client->Command({"SCARD", Key("threads")})->AsInt(), kThreads);
}

TEST_F(RedisClientTest, AppendOnlyServerKeepsAcknowledgedWritesAcrossACrash) {
  server_.reset();
  test::RedisServerOptions options;
  options.appendonly = true;
  auto server = RedisServerProcess::Start(options);
  ASSERT_THAT(server, IsOk());
  server_ = *std::move(server);
  auto client = Client();
  auto config = client->Command({"CONFIG", "GET", "appendfsync"});
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(config->elements, SizeIs(2));
  EXPECT_EQ(config->elements.at(1).str, "always");
  for (int i = 0; i < 50; ++i) ASSERT_THAT(client->Command({"INCR", Key("durable")}), IsOk());
  server_->Kill();
  ASSERT_THAT(server_->Restart(), IsOk());
  auto value = client->Command({"GET", Key("durable")});
  ASSERT_THAT(value, IsOk());
  EXPECT_EQ(*value->AsInt(), 50);
}

TEST(ParseRedisAddressTest, AcceptsHostPortAndRejectsTheRest) {
  auto options = ParseRedisAddress("127.0.0.1:6380");
  ASSERT_THAT(options, IsOk());
  EXPECT_EQ(options->host, "127.0.0.1");
  EXPECT_EQ(options->port, 6380);
  auto named = ParseRedisAddress("redis.internal:6379");
  ASSERT_THAT(named, IsOk());
  EXPECT_EQ(named->host, "redis.internal");
  for (const char* bad : {"", "localhost", ":6379", "host:", "host:0", "host:65536", "host:x",
                          "host:-1"}) {
    EXPECT_THAT(ParseRedisAddress(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("HOST:PORT")))
        << bad;
  }
}

}  // namespace
}  // namespace ecoact
