// RedisClient in RedisMode::kPipelined (the multiplexed connections the
// servers use) against a real redis-server started by the test: replies
// matched to their callers under concurrency, NOSCRIPT while pipelined,
// timeouts, a Redis killed with commands pending, reconnection.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/redis.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using ::ecoact::test::IsOk;
using ::ecoact::test::RedisServerProcess;
using ::ecoact::test::StatusIs;
using ::ecoact::test::UniqueKeyPrefix;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Generous bound for "fails fast" / "does not hang": far below a hang, far
// above scheduling noise on a loaded machine. Not a speed assertion.
constexpr absl::Duration kFailsFastBound = absl::Seconds(5);

class RedisPipelinedTest : public ::testing::Test {
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

  std::unique_ptr<RedisClient> Client(int connections = 1,
                                      absl::Duration command_timeout = absl::Seconds(2)) {
    RedisOptions options = server_->client_options();
    options.mode = RedisMode::kPipelined;
    options.connections = connections;
    options.command_timeout = command_timeout;
    return std::make_unique<RedisClient>(options);
  }

  // A pooled client of its own, to watch Redis from outside.
  std::unique_ptr<RedisClient> Observer() {
    RedisOptions options = server_->client_options();
    options.pool_size = 1;
    return std::make_unique<RedisClient>(options);
  }

  // Waits until Redis has `count` clients blocked (e.g. in BLPOP).
  bool WaitForBlockedClients(int count) {
    auto observer = Observer();
    const absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (absl::Now() < give_up) {
      auto info = observer->Command({"INFO", "clients"});
      if (info.ok() && absl::StrContains(info->str, absl::StrCat("blocked_clients:", count))) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  std::string Key(absl::string_view name) const { return absl::StrCat(prefix_, ":", name); }

  std::unique_ptr<RedisServerProcess> server_;
  std::string prefix_;
};

TEST(RedisModeTest, ParsesItsTwoNamesOnly) {
  EXPECT_THAT(ParseRedisMode("pool"), IsOk());
  EXPECT_EQ(*ParseRedisMode("pipelined"), RedisMode::kPipelined);
  EXPECT_EQ(*ParseRedisMode("pool"), RedisMode::kPool);
  EXPECT_THAT(ParseRedisMode("async"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(RedisModeName(RedisMode::kPipelined), "pipelined");
}

TEST_F(RedisPipelinedTest, EveryReplyGoesToItsCallerAcrossManyThreads) {
  auto client = Client(/*connections=*/2);
  constexpr int kThreads = 16;
  constexpr int kPerThread = 300;
  std::atomic<int> mismatches{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string mine = absl::StrCat("t", t, "-i", i);
        switch (i % 3) {
          case 0: {  // a single command
            auto echo = client->Command({"ECHO", mine});
            if (!echo.ok()) {
              failures.fetch_add(1);
            } else if (echo->str != mine) {
              mismatches.fetch_add(1);
            }
            break;
          }
          case 1: {  // a pipeline: its replies stay together and in order
            auto replies = client->Pipeline(
                {{"ECHO", mine + "a"}, {"INCR", Key("counter")}, {"ECHO", mine + "b"}});
            if (!replies.ok()) {
              failures.fetch_add(1);
            } else if (replies->size() != 3 || (*replies)[0].str != mine + "a" ||
                       (*replies)[1].type != RedisValue::Type::kInteger ||
                       (*replies)[2].str != mine + "b") {
              mismatches.fetch_add(1);
            }
            break;
          }
          default: {  // a per-caller key: the value read back is the caller's
            auto set = client->Pipeline({{"SET", Key(mine), mine}, {"GET", Key(mine)}});
            if (!set.ok()) {
              failures.fetch_add(1);
            } else if ((*set)[1].str != mine) {
              mismatches.fetch_add(1);
            }
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  int increments = 0;
  for (int i = 0; i < kPerThread; ++i) increments += (i % 3 == 1) ? 1 : 0;
  EXPECT_EQ(*client->Command({"GET", Key("counter")})->AsInt(), kThreads * increments);
}

TEST_F(RedisPipelinedTest, AsynchronousCommandsCompleteOnceEachInOrder) {
  auto client = Client();
  constexpr int kCommands = 2000;
  absl::Mutex mutex;
  std::vector<int64_t> seen;  // INCR results in completion order
  int errors = 0;
  for (int i = 0; i < kCommands; ++i) {
    client->CommandAsync({"INCR", Key("n")}, [&](absl::StatusOr<RedisValue> reply) {
      absl::MutexLock lock(&mutex);
      if (!reply.ok()) {
        ++errors;
      } else {
        seen.push_back(reply->integer);
      }
    });
  }
  absl::MutexLock lock(&mutex);
  auto all_done = [&] { return static_cast<int>(seen.size()) + errors == kCommands; };
  ASSERT_TRUE(mutex.AwaitWithTimeout(absl::Condition(&all_done), kFailsFastBound));
  EXPECT_EQ(errors, 0);
  // One connection, one submitting thread: Redis ran them in submission order
  // and each completion got its own reply.
  for (int i = 0; i < kCommands; ++i) ASSERT_EQ(seen[i], i + 1) << i;
}

TEST_F(RedisPipelinedTest, ScriptsRunAfterScriptFlushWhilePipelined) {
  auto client = Client();
  LuaScript add("add", "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  ASSERT_THAT(client->Eval(add, {Key("sum")}, {"1"}), IsOk());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::atomic<int> failures{0};
  std::atomic<bool> flushing{true};
  auto observer = Observer();
  std::thread flusher([&] {
    while (flushing.load()) {
      EXPECT_THAT(observer->Command({"SCRIPT", "FLUSH"}), IsOk());
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::Status status =
            (i % 2 == 0)
                ? client->Eval(add, {Key("sum")}, {"1"}).status()
                : client->EvalMany(add, {{{Key("sum")}, {"1"}}, {{Key("sum")}, {"1"}}}).status();
        if (!status.ok()) {
          ADD_FAILURE() << "thread " << t << ": " << status;
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  flushing.store(false);
  flusher.join();
  EXPECT_EQ(failures.load(), 0);
  // 1 + per thread: half single calls, half pairs.
  EXPECT_EQ(*client->Command({"GET", Key("sum")})->AsInt(),
            1 + kThreads * (kPerThread / 2 + 2 * (kPerThread / 2)));
  // The asynchronous form reloads too.
  ASSERT_THAT(observer->Command({"SCRIPT", "FLUSH"}), IsOk());
  absl::Notification done;
  absl::StatusOr<RedisValue> async_reply;
  client->EvalAsync(add, {Key("sum")}, {"10"}, [&](absl::StatusOr<RedisValue> reply) {
    async_reply = std::move(reply);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kFailsFastBound));
  ASSERT_THAT(async_reply, IsOk());
  EXPECT_EQ(async_reply->integer, 1 + kThreads * 300 + 10);
}

TEST_F(RedisPipelinedTest, ErrorRepliesKeepTheirMapping) {
  auto client = Client();
  ASSERT_THAT(client->Command({"SET", Key("s"), "text"}), IsOk());
  EXPECT_THAT(client->Command({"INCR", Key("s")}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("redis INCR")));
  auto replies = client->Pipeline({{"INCR", Key("s")}, {"GET", Key("s")}});
  ASSERT_THAT(replies, IsOk());
  EXPECT_TRUE((*replies)[0].IsError());
  EXPECT_EQ((*replies)[1].str, "text");
  LuaScript broken("broken", "return {{{");
  EXPECT_THAT(client->Eval(broken, {}, {}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("broken")));
}

TEST_F(RedisPipelinedTest, PendingCommandTimesOutAndTheLateReplyIsNeverRead) {
  auto client = Client(/*connections=*/1, /*command_timeout=*/absl::Milliseconds(300));
  ASSERT_THAT(client->Command({"SET", Key("k"), "fresh"}), IsOk());
  absl::Notification sleeping;
  std::thread sleeper([&] {
    RedisOptions options = server_->client_options();
    options.command_timeout = absl::Seconds(10);
    RedisClient observer(options);
    ASSERT_THAT(observer.Ping(), IsOk());
    sleeping.Notify();
    EXPECT_THAT(observer.Command({"DEBUG", "SLEEP", "3"}), IsOk());
  });
  ASSERT_TRUE(sleeping.WaitForNotificationWithTimeout(kFailsFastBound));
  // Redis is asleep once a PING goes unanswered for 200 ms (on a loaded
  // machine a shorter probe could time out before the sleep began).
  RedisOptions probe_options = server_->client_options();
  probe_options.command_timeout = absl::Milliseconds(200);
  bool asleep = false;
  for (int i = 0; i < 100 && !asleep; ++i) {
    RedisClient probe(probe_options);
    asleep = probe.Ping().code() == absl::StatusCode::kDeadlineExceeded;
  }
  ASSERT_TRUE(asleep);
  const absl::Time start = absl::Now();
  // Both the synchronous and the asynchronous caller are told in time.
  absl::Notification async_done;
  absl::Status async_status;
  client->CommandAsync({"GET", Key("k")}, [&](absl::StatusOr<RedisValue> reply) {
    async_status = reply.status();
    async_done.Notify();
  });
  EXPECT_THAT(client->Command({"GET", Key("k")}), StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_TRUE(async_done.WaitForNotificationWithTimeout(kFailsFastBound));
  EXPECT_THAT(async_status, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, kFailsFastBound);
  sleeper.join();
  // Whatever came late was dropped with its connection: each later caller
  // gets its own reply.
  for (int i = 0; i < 20; ++i) {
    auto echo = client->Command({"ECHO", absl::StrCat("e", i)});
    ASSERT_THAT(echo, IsOk());
    EXPECT_EQ(echo->str, absl::StrCat("e", i));
  }
}

TEST_F(RedisPipelinedTest, SlowReplyIsDeadlineExceededForItsCaller) {
  auto client = Client(/*connections=*/1, /*command_timeout=*/absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  // BLPOP answers after 1 s; the caller and the connection give up at 300 ms.
  EXPECT_THAT(client->Command({"BLPOP", Key("empty"), "1"}),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, kFailsFastBound);
  absl::SleepFor(absl::Milliseconds(900));
  auto echo = client->Command({"ECHO", "mine"});
  ASSERT_THAT(echo, IsOk());
  EXPECT_EQ(echo->str, "mine");
}

TEST_F(RedisPipelinedTest, LongPipelineSucceedsWhileEveryReplyComesInTime) {
  // As with the pool, the timeout bounds the wait for each reply, not the
  // whole pipeline: five 100 ms BLPOPs take 500 ms against a 300 ms timeout.
  auto client = Client(/*connections=*/1, /*command_timeout=*/absl::Milliseconds(300));
  std::vector<std::vector<std::string>> commands(5, {"BLPOP", Key("empty"), "0.1"});
  auto replies = client->Pipeline(commands);
  ASSERT_THAT(replies, IsOk());
  EXPECT_THAT(*replies, SizeIs(5));
  // A caller queued behind it for longer than the timeout is told so and its
  // command is not run.
  absl::StatusOr<std::vector<RedisValue>> holder_result;
  std::vector<std::vector<std::string>> long_commands(10, {"BLPOP", Key("empty"), "0.1"});
  std::thread holder([&] { holder_result = client->Pipeline(long_commands); });
  ASSERT_TRUE(WaitForBlockedClients(1));
  EXPECT_THAT(client->Command({"INCR", Key("queued")}),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  holder.join();
  ASSERT_THAT(holder_result, IsOk());
  EXPECT_TRUE(client->Command({"GET", Key("queued")})->IsNil());
}

TEST_F(RedisPipelinedTest, QueuedCommandPastTheCallDeadlineIsNeverSent) {
  auto client = Client(/*connections=*/1, /*command_timeout=*/absl::Seconds(3));
  // The connection's I/O thread waits on this BLPOP's reply for ~2 s.
  absl::StatusOr<RedisValue> blpop;
  std::thread holder([&] { blpop = client->Command({"BLPOP", Key("empty"), "2"}); });
  ASSERT_TRUE(WaitForBlockedClients(1));
  {
    RedisDeadlineScope call(absl::Now() + absl::Milliseconds(100));
    const absl::Time start = absl::Now();
    EXPECT_THAT(client->Command({"INCR", Key("late")}),
                StatusIs(absl::StatusCode::kDeadlineExceeded));
    EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500)) << "waited for the BLPOP";
  }
  holder.join();
  ASSERT_THAT(blpop, IsOk());
  EXPECT_TRUE(blpop->IsNil());
  // The INCR queued behind the BLPOP was dropped, not run late.
  auto late = client->Command({"GET", Key("late")});
  ASSERT_THAT(late, IsOk());
  EXPECT_TRUE(late->IsNil());
}

TEST_F(RedisPipelinedTest, KilledWithCommandsPendingEveryCallerGetsAnErrorAndNoneHangs) {
  auto client = Client(/*connections=*/2, /*command_timeout=*/absl::Seconds(1));
  ASSERT_THAT(client->Ping(), IsOk());
  // Freeze Redis so that the callers' commands are pending, then kill it.
  ASSERT_THAT(server_->Pause(), IsOk());
  constexpr int kThreads = 12;
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      results[t] = client->Command({"INCR", Key(absl::StrCat("c", t))}).status();
    });
  }
  absl::SleepFor(absl::Milliseconds(200));
  server_->Kill();
  for (auto& t : threads) t.join();
  EXPECT_LT(absl::Now() - start, kFailsFastBound);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(results[t].code() == absl::StatusCode::kUnavailable ||
                results[t].code() == absl::StatusCode::kDeadlineExceeded)
        << t << ": " << results[t];
  }
  // Down: fails fast with UNAVAILABLE, asynchronous callers too.
  EXPECT_THAT(client->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  absl::Notification failed;
  client->CommandAsync({"PING"}, [&](absl::StatusOr<RedisValue> reply) {
    EXPECT_THAT(reply, StatusIs(absl::StatusCode::kUnavailable));
    failed.Notify();
  });
  ASSERT_TRUE(failed.WaitForNotificationWithTimeout(kFailsFastBound));
  // Back: the same client reconnects.
  ASSERT_THAT(server_->Restart(), IsOk());
  EXPECT_THAT(client->Ping(), IsOk());
  EXPECT_THAT(client->Ping(), IsOk());
}

TEST_F(RedisPipelinedTest, IdleConnectionsBrokenByARestartAreReopenedWithoutErrors) {
  auto client = Client(/*connections=*/2, /*command_timeout=*/absl::Seconds(1));
  for (int i = 0; i < 4; ++i) ASSERT_THAT(client->Ping(), IsOk());  // both connections open
  ASSERT_THAT(server_->Restart(), IsOk());
  for (int i = 0; i < 8; ++i) {
    EXPECT_THAT(client->Command({"INCR", Key("after")}), IsOk()) << i;
  }
  EXPECT_EQ(*client->Command({"GET", Key("after")})->AsInt(), 8);
}

TEST_F(RedisPipelinedTest, HungServerIsDeadlineExceededThenRecovers) {
  auto client = Client(/*connections=*/1, /*command_timeout=*/absl::Milliseconds(300));
  ASSERT_THAT(client->Ping(), IsOk());
  ASSERT_THAT(server_->Pause(), IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Ping(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, kFailsFastBound);
  ASSERT_THAT(server_->Resume(), IsOk());
  EXPECT_THAT(client->Ping(), IsOk());
  auto replies = client->Pipeline({{"ECHO", "a"}, {"ECHO", "b"}});
  ASSERT_THAT(replies, IsOk());
  EXPECT_THAT(*replies, SizeIs(2));
  EXPECT_EQ((*replies)[1].str, "b");
}

TEST_F(RedisPipelinedTest, UnreachableServerIsUnavailable) {
  auto client = Client();
  ASSERT_THAT(server_->Stop(), IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Ping(), StatusIs(absl::StatusCode::kUnavailable,
                                       HasSubstr(absl::StrCat(server_->port()))));
  EXPECT_LT(absl::Now() - start, kFailsFastBound);
}

}  // namespace
}  // namespace ecoact
