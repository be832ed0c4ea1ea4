// City boards split into parts (--board_partitions, board_layout.h) on a
// real redis-server: every read of a partitioned board - pages at every
// offset, pages centred on a member, a member with neighbours, ranks -
// equals the same read of one sorted set holding the same members, on
// generated scores full of ties; the projector and ecoact_rebuild write the
// parts, and a rebuild moves the boards between layouts.
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/leaderboard/board_layout.h"
#include "services/leaderboard/board_store.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using leaderboard::BoardLayout;
using leaderboard::BoardPage;
using leaderboard::BoardStore;
using leaderboard::RankedMember;

constexpr char kBoard[] = "city::all:pts";

std::vector<std::tuple<std::string, int64_t, int64_t>> Rows(
    const std::vector<RankedMember>& members) {
  std::vector<std::tuple<std::string, int64_t, int64_t>> rows;
  for (const RankedMember& m : members) rows.emplace_back(m.account_id, m.score, m.rank);
  return rows;
}

class PartitionedBoardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  RedisClient& redis() { return stack_->redis(); }
  const KeySpace& keys() { return stack_->keys(); }

  // Writes `scores` into the one-key board and, as the projector would,
  // into the parts of a `partitions`-part layout.
  void Write(const std::map<std::string, int64_t>& scores, int partitions) {
    BoardLayout layout(&keys(), partitions);
    std::vector<std::vector<std::string>> writes;
    for (const auto& [member, score] : scores) {
      writes.push_back({"ZADD", keys().Board(kBoard), absl::StrCat(score), member});
      writes.push_back({"ZADD", layout.KeyOf(kBoard, member), absl::StrCat(score), member});
    }
    auto replies = redis().Pipeline(writes);
    ASSERT_TRUE(replies.ok()) << replies.status();
  }

  // Every read of the partitioned store equals the one-key store's.
  void ExpectSameReads(BoardStore& one, BoardStore& parts, const std::vector<std::string>& members,
                       int64_t total) {
    for (int64_t count : {1, 7, 25}) {
      for (int64_t offset = 0; offset <= total; offset += count) {
        auto a = one.Page(kBoard, offset, count, "", false);
        auto b = parts.Page(kBoard, offset, count, "", false);
        ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
        ASSERT_EQ(b->total, total);
        ASSERT_EQ(b->offset, a->offset);
        ASSERT_EQ(Rows(b->members), Rows(a->members)) << "offset " << offset << " count " << count;
      }
    }
    std::vector<std::pair<std::string, std::string>> lookups;
    for (const std::string& member : members) {
      for (int64_t count : {1, 6, 25}) {
        auto a = one.Page(kBoard, 0, count, member, false);
        auto b = parts.Page(kBoard, 0, count, member, false);
        ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
        ASSERT_EQ(b->offset, a->offset) << member;
        ASSERT_EQ(Rows(b->members), Rows(a->members)) << "centred on " << member;
      }
      for (int neighbours : {0, 1, 3}) {
        auto a = one.Around(kBoard, member, neighbours);
        auto b = parts.Around(kBoard, member, neighbours);
        ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
        ASSERT_EQ(b->total, a->total);
        ASSERT_EQ(b->me, a->me) << member;
        ASSERT_EQ(Rows(b->members), Rows(a->members)) << "around " << member;
      }
      lookups.emplace_back(kBoard, member);
    }
    lookups.emplace_back(kBoard, "acct-not-on-the-board");
    auto a = one.RanksOf(lookups);
    auto b = parts.RanksOf(lookups);
    ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
    for (size_t i = 0; i < lookups.size(); ++i) {
      EXPECT_EQ((*b)[i].total, (*a)[i].total);
      EXPECT_EQ((*b)[i].ranked, (*a)[i].ranked) << lookups[i].second;
      EXPECT_EQ((*b)[i].rank, (*a)[i].rank) << lookups[i].second;
      EXPECT_EQ((*b)[i].score, (*a)[i].score) << lookups[i].second;
    }
  }

  std::unique_ptr<Stack> stack_;
};

TEST(BoardLayoutTest, OnlyCityBoardsAreSplitAndEveryMemberHasOnePart) {
  KeySpace keys("ea", 16);
  BoardLayout one(&keys, 1);
  EXPECT_FALSE(one.Partitioned(kBoard));
  EXPECT_EQ(one.KeyOf(kBoard, "acct-1"), keys.Board(kBoard));
  BoardLayout layout(&keys, 8);
  EXPECT_TRUE(layout.Partitioned("city::2026-W48:co2"));
  for (const char* board : {"ward:nakahara:all:pts", "teams::all:pts", "audit:2026-11-30:co2",
                            "event:e1:all:pts"}) {
    EXPECT_FALSE(layout.Partitioned(board)) << board;
    EXPECT_EQ(layout.Keys(board), std::vector<std::string>{keys.Board(board)});
  }
  EXPECT_EQ(layout.PartKey(kBoard, 3), "ea:{b:city::all:pts:3}");
  // Members spread over every part, each always on the same one, and not
  // by ledger shard: 8 parts of 16 shards would otherwise mirror them.
  std::map<int, int> per_part;
  std::set<std::pair<int, int>> shard_part;
  for (int i = 0; i < 8000; ++i) {
    const std::string member = absl::StrCat("acct-", i);
    const int part = layout.PartOf(member);
    ASSERT_EQ(part, layout.PartOf(member));
    ASSERT_EQ(layout.KeyOf(kBoard, member), layout.PartKey(kBoard, part));
    ++per_part[part];
    shard_part.insert({keys.ShardOf(member), part});
  }
  ASSERT_EQ(per_part.size(), 8u);
  for (const auto& [part, n] : per_part) EXPECT_GT(n, 800) << "part " << part;
  EXPECT_GT(shard_part.size(), 16u * 4);
}

TEST_F(PartitionedBoardsTest, MergedReadsEqualOneKeyOnGeneratedScoresWithTies) {
  for (int partitions : {2, 3, 7}) {
    for (uint32_t seed : {1u, 2u, 3u}) {
      ASSERT_TRUE(redis().Command({"FLUSHDB"}).ok());
      std::mt19937 random(seed * 100 + partitions);
      // Few distinct scores (many ties across parts), a few large ones, and
      // ids of different lengths so that tie order is by bytes, not length.
      std::map<std::string, int64_t> scores;
      const int members = 40 + static_cast<int>(random() % 80);
      for (int i = 0; i < members; ++i) {
        std::string id = absl::StrCat("acct-", random() % 1000);
        if (i % 5 == 0) id += "x";
        scores[id] = i % 11 == 0 ? 1000 + random() % 50000 : random() % 6;
      }
      Write(scores, partitions);
      BoardStore one(&redis(), keys(), {}, 1);
      BoardStore parts(&redis(), keys(), {}, partitions);
      std::vector<std::string> ids;
      for (const auto& [id, unused] : scores) ids.push_back(id);
      SCOPED_TRACE(absl::StrCat(partitions, " parts, seed ", seed));
      ExpectSameReads(one, parts, ids, static_cast<int64_t>(scores.size()));
      if (HasFatalFailure()) return;
    }
  }
}

TEST_F(PartitionedBoardsTest, PagesStopAtTheDepthButAMembersOwnPageDoesNot) {
  std::map<std::string, int64_t> scores;
  const int64_t members = BoardStore::kMaxMergedDepth + 40;
  for (int64_t i = 0; i < members; ++i) scores[absl::StrCat("acct-", i)] = i / 3;
  Write(scores, 4);
  BoardStore one(&redis(), keys(), {}, 1);
  BoardStore parts(&redis(), keys(), {}, 4);
  const int64_t last = BoardStore::kMaxMergedDepth - 20;
  auto a = one.Page(kBoard, last, 20, "", false);
  auto b = parts.Page(kBoard, last, 20, "", false);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_EQ(Rows(b->members), Rows(a->members));
  EXPECT_EQ(b->depth, BoardStore::kMaxMergedDepth);
  EXPECT_EQ(a->depth, 0);
  EXPECT_THAT(parts.Page(kBoard, last + 1, 20, "", false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // The bottom of the board, centred and with neighbours: exact.
  for (const std::string member : {"acct-0", "acct-1", "acct-2", "acct-5"}) {
    auto c = one.Page(kBoard, 0, 20, member, false);
    auto d = parts.Page(kBoard, 0, 20, member, false);
    ASSERT_TRUE(c.ok() && d.ok()) << c.status() << d.status();
    EXPECT_GT(d->offset, BoardStore::kMaxMergedDepth);
    EXPECT_EQ(d->offset, c->offset);
    EXPECT_EQ(Rows(d->members), Rows(c->members));
    auto e = one.Around(kBoard, member, 4);
    auto f = parts.Around(kBoard, member, 4);
    ASSERT_TRUE(e.ok() && f.ok()) << e.status() << f.status();
    EXPECT_EQ(f->me, e->me);
    EXPECT_EQ(Rows(f->members), Rows(e->members));
  }
}

// Through the API: citizens record actions; the projector of a 4-part
// deployment and the one-key projector (each its own consumer group) read
// the same ledger; their boards read the same; a rebuild switches layouts.
TEST_F(PartitionedBoardsTest, ProjectorAndRebuildWriteTheParts) {
  leaderboard::ProjectorOptions options;
  options.group = "boards-in-parts";
  options.consumer = "test-projector";  // the stack's: they share the lease
  options.block = absl::Milliseconds(20);
  options.boards.partitions = 4;
  leaderboard::Projector projector(&redis(), &keys(), &stack_->calendar(), options);
  ASSERT_TRUE(projector.EnsureGroups().ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 24; ++i) {
    Citizen c = stack_->Register(absl::StrCat("Nick", i), i % 2 ? "nakahara" : "kawasaki");
    ids.push_back(c.account_id);
    for (int n = 0; n <= i % 4; ++n) {
      ASSERT_TRUE(stack_->Record(c.token, "plastic_bag_refused", 1 + (i % 3)).ok());
    }
  }
  stack_->DrainProjector();
  while (true) {
    auto applied = projector.RunOnce();
    ASSERT_TRUE(applied.ok()) << applied.status();
    if (*applied == 0) break;
  }
  BoardStore one(&redis(), keys(), {}, 1);
  BoardStore parts(&redis(), keys(), {}, 4);
  BoardLayout layout(&keys(), 4);
  int parts_written = 0;
  for (const std::string& key : layout.Keys(kBoard)) {
    auto card = redis().Command({"ZCARD", key});
    ASSERT_TRUE(card.ok());
    if (card->integer > 0) ++parts_written;
  }
  EXPECT_GE(parts_written, 2);
  ExpectSameReads(one, parts, ids, 24);
  auto expected = one.Page(kBoard, 0, 100, "", false);
  ASSERT_TRUE(expected.ok());

  // Rebuild in 4 parts: the one-key board is stale and goes; the parts
  // read as before.
  leaderboard::BoardOptions board_options;
  board_options.partitions = 4;
  auto rebuilt = leaderboard::RebuildBoards(&redis(), keys(), stack_->calendar(), board_options,
                                            absl::Now());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  auto exists = redis().Command({"EXISTS", keys().Board(kBoard)});
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->integer, 0);
  auto merged = parts.Page(kBoard, 0, 100, "", false);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(Rows(merged->members), Rows(expected->members));
  EXPECT_EQ(merged->total, 24);

  // Back to one key: the parts go, the one key holds the same board.
  board_options.partitions = 1;
  rebuilt = leaderboard::RebuildBoards(&redis(), keys(), stack_->calendar(), board_options,
                                       absl::Now());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  for (const std::string& key : layout.Keys(kBoard)) {
    auto part = redis().Command({"EXISTS", key});
    ASSERT_TRUE(part.ok());
    EXPECT_EQ(part->integer, 0) << key;
  }
  auto single = one.Page(kBoard, 0, 100, "", false);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(Rows(single->members), Rows(expected->members));
}

}  // namespace
}  // namespace ecoact::test
