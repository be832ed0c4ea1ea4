// The token bucket script and the --rate_limits parser, against a real
// redis-server started by the test.
#include "services/common/rate_limit.h"

#include <memory>
#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using ::ecoact::test::IsOk;
using ::ecoact::test::RedisServerProcess;
using ::ecoact::test::UniqueKeyPrefix;
using ::testing::AllOf;
using ::testing::Ge;
using ::testing::Le;

constexpr char kSignIn[] = "ecoact.v1.IdentityService.SignIn";

TEST(RateLimitTableTest, ParsesDefaultsBurstsAndOff) {
  auto table = RateLimitTable::Parse(
      "*=600, ecoact.v1.IdentityService.SignIn=10/5,ecoact.v1.IdentityService.Register=0");
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(table->For(kSignIn).per_minute, 10);
  EXPECT_EQ(table->For(kSignIn).burst, 5);
  EXPECT_FALSE(table->For("ecoact.v1.IdentityService.Register").enabled());
  EXPECT_EQ(table->For("ecoact.v1.ActionsService.RecordAction").per_minute, 600);
  EXPECT_EQ(table->For("ecoact.v1.ActionsService.RecordAction").burst, 600);
  EXPECT_TRUE(table->any_enabled());

  for (const char* off : {"0", "off", ""}) {
    auto none = RateLimitTable::Parse(off);
    ASSERT_THAT(none, IsOk());
    EXPECT_FALSE(none->any_enabled()) << off;
  }
  auto defaults = RateLimitTable::Parse(kDefaultRateLimits);
  ASSERT_THAT(defaults, IsOk());
  EXPECT_EQ(defaults->For(kSignIn).per_minute, 10);
  EXPECT_GE(defaults->For("ecoact.v1.LeaderboardService.GetBoard").per_minute, 600);
}

TEST(RateLimitTableTest, RejectsBadItems) {
  for (const char* bad : {"SignIn", "*=", "*=ten", "*=-1", "*=10/0", "*=10/x", "=5", "*=1/2/3"}) {
    EXPECT_FALSE(RateLimitTable::Parse(bad).ok()) << bad;
  }
}

TEST(PeerHostTest, StripsSchemeAndPort) {
  EXPECT_EQ(PeerHost("ipv4:10.1.2.3:5555"), "10.1.2.3");
  EXPECT_EQ(PeerHost("ipv6:[::1]:5555"), "::1");
  EXPECT_EQ(PeerHost("unix:/tmp/sock"), "unix:/tmp/sock");
}

class RateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServerProcess::Start();
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    redis_ = std::make_unique<RedisClient>(server_->client_options());
  }

  RateLimiter Limiter(const char* spec) {
    auto table = RateLimitTable::Parse(spec);
    EXPECT_THAT(table, IsOk());
    return RateLimiter(redis_.get(), prefix_, *table);
  }

  std::unique_ptr<RedisServerProcess> server_;
  std::unique_ptr<RedisClient> redis_;
  std::string prefix_ = UniqueKeyPrefix();
};

TEST_F(RateLimiterTest, BurstThenRefusalWithRetryTimeThenRefill) {
  // 600 a minute: one token every 100 ms; a burst of 3.
  RateLimiter limiter = Limiter("*=0,ecoact.v1.IdentityService.SignIn=600/3");
  for (int i = 0; i < 3; ++i) {
    auto decision = limiter.Take(kSignIn, "ip:10.0.0.1");
    ASSERT_THAT(decision, IsOk());
    EXPECT_TRUE(decision->allowed) << i;
  }
  auto refused = limiter.Take(kSignIn, "ip:10.0.0.1");
  ASSERT_THAT(refused, IsOk());
  EXPECT_FALSE(refused->allowed);
  EXPECT_THAT(refused->retry_after_ms, AllOf(Ge(1), Le(100)));

  // Another subject has a bucket of its own.
  auto other = limiter.Take(kSignIn, "ip:10.0.0.2");
  ASSERT_THAT(other, IsOk());
  EXPECT_TRUE(other->allowed);

  // The key is the subject's own slot and expires once the bucket is full.
  std::string key = limiter.BucketKey("ip:10.0.0.1", kSignIn);
  EXPECT_EQ(key, prefix_ + ":{rl:ip:10.0.0.1}:" + kSignIn);
  auto ttl = redis_->Command({"PTTL", key});
  ASSERT_THAT(ttl, IsOk());
  EXPECT_THAT(ttl->integer, AllOf(Ge(1), Le(300)));

  absl::SleepFor(absl::Milliseconds(refused->retry_after_ms + 20));
  auto refilled = limiter.Take(kSignIn, "ip:10.0.0.1");
  ASSERT_THAT(refilled, IsOk());
  EXPECT_TRUE(refilled->allowed);
}

TEST_F(RateLimiterTest, UnlimitedMethodsNeverAskRedis) {
  RateLimiter limiter = Limiter("*=0");
  server_->Kill();
  auto decision = limiter.Take(kSignIn, "a:someone");
  ASSERT_THAT(decision, IsOk());
  EXPECT_TRUE(decision->allowed);
}

TEST_F(RateLimiterTest, RedisDownIsAnErrorTheGateTurnsIntoFailOpen) {
  RateLimiter limiter = Limiter("*=60");
  server_->Kill();
  auto decision = limiter.Take(kSignIn, "a:someone");
  EXPECT_FALSE(decision.ok());
  limiter.CountFailOpen(decision.status());
  EXPECT_EQ(limiter.fail_open_count(), 1);
}

}  // namespace
}  // namespace ecoact
