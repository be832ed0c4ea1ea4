// BoardStore's read cache (--board_cache_ttl) on a real redis-server: a
// board's first page and a nickname are served from memory within the TTL
// and read again after it; deeper pages and pages centred on a caller are
// never shared.
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/leaderboard/board_store.h"
#include "tests/support/stack.h"

namespace ecoact::test {
namespace {

class BoardCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    for (const auto& [member, score, nickname] :
         {std::tuple{"acct-a", "30", "Aoi"}, {"acct-b", "20", "Ben"}, {"acct-c", "10", "Chie"}}) {
      ASSERT_TRUE(Redis({"ZADD", Board(), score, member}).ok());
      ASSERT_TRUE(Redis({"HSET", stack_->keys().Account(member), "nickname", nickname}).ok());
    }
  }

  std::string Board() { return stack_->keys().Board(kBoard); }
  absl::StatusOr<RedisValue> Redis(const std::vector<std::string>& command) {
    return stack_->redis().Command(command);
  }

  static constexpr const char* kBoard = "city::all:pts";
  std::unique_ptr<Stack> stack_;
};

TEST_F(BoardCacheTest, TopPagesAndNicknamesAreServedFromMemoryForTheTtl) {
  leaderboard::BoardCacheOptions options;
  options.ttl = absl::Milliseconds(400);
  leaderboard::BoardStore store(&stack_->redis(), stack_->keys(), options);
  auto first = store.Page(kBoard, 0, 20);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->members.size(), 3u);
  EXPECT_EQ(first->members[0].nickname, "Aoi");
  const absl::Time read_at = absl::Now();

  // Changes in Redis: the cached page and nickname stay as they were...
  ASSERT_TRUE(Redis({"ZADD", Board(), "99", "acct-c"}).ok());
  ASSERT_TRUE(Redis({"HSET", stack_->keys().Account("acct-a"), "nickname", "Aoi2"}).ok());
  auto cached = store.Page(kBoard, 0, 20);
  ASSERT_TRUE(cached.ok());
  if (absl::Now() - read_at < options.ttl) {
    EXPECT_EQ(cached->members[0].account_id, "acct-a");
    EXPECT_EQ(cached->members[0].nickname, "Aoi");
  }
  // ...but a deeper page is read afresh (only the top is shared)...
  auto deeper = store.Page(kBoard, 1, 20);
  ASSERT_TRUE(deeper.ok());
  EXPECT_EQ(deeper->members[0].account_id, "acct-a");
  EXPECT_EQ(deeper->members[0].rank, 2);
  // ...and so is a page centred on a member, nicknames from cache.
  auto centred = store.Page(kBoard, 0, 20, "acct-b");
  ASSERT_TRUE(centred.ok());
  EXPECT_EQ(centred->members[0].account_id, "acct-c");
  EXPECT_EQ(centred->members[0].score, 99);
  if (absl::Now() - read_at < options.ttl) EXPECT_EQ(centred->members[1].nickname, "Aoi");

  // After the TTL both are read again.
  absl::SleepFor(options.ttl + absl::Milliseconds(50));
  auto fresh = store.Page(kBoard, 0, 20);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->members[0].account_id, "acct-c");
  EXPECT_EQ(fresh->members[0].score, 99);
  EXPECT_EQ(fresh->members[1].nickname, "Aoi2");
}

TEST_F(BoardCacheTest, ZeroTtlReadsRedisEveryTime) {
  leaderboard::BoardStore store(&stack_->redis(), stack_->keys());
  ASSERT_TRUE(store.Page(kBoard, 0, 20).ok());
  ASSERT_TRUE(Redis({"ZADD", Board(), "99", "acct-c"}).ok());
  ASSERT_TRUE(Redis({"HSET", stack_->keys().Account("acct-c"), "nickname", "Chie2"}).ok());
  auto page = store.Page(kBoard, 0, 20);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->members[0].account_id, "acct-c");
  EXPECT_EQ(page->members[0].nickname, "Chie2");
}

}  // namespace
}  // namespace ecoact::test
