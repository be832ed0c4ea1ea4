#include "services/common/keys.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ecoact {
namespace {

using ::testing::StartsWith;

// Redis Cluster's rule (cluster.c keyHashSlot): if the key has a '{' followed
// later by a '}' with at least one character between them, only that part is
// hashed.
absl::string_view HashedPart(absl::string_view key) {
  size_t open = key.find('{');
  if (open == absl::string_view::npos) return key;
  size_t close = key.find('}', open + 1);
  if (close == absl::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

// CRC16-CCITT (XModem), as Redis Cluster computes slots.
uint16_t Crc16(absl::string_view data) {
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc ^= static_cast<uint16_t>(c) << 8;
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

int Slot(absl::string_view key) { return Crc16(HashedPart(key)) % 16384; }

TEST(KeySlotTest, ReferenceImplementationMatchesRedis) {
  // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Slot("foo"), 12182);
  EXPECT_EQ(Slot("{user1000}.following"), Slot("{user1000}.followers"));
  EXPECT_EQ(Slot("foo{}{bar}"), Slot("foo{}{bar}"));
  EXPECT_EQ(HashedPart("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(HashedPart("foo{{bar}}zap"), "{bar");
}

std::vector<std::string> AccountIds() {
  std::vector<std::string> ids = {"a", "acct-1", "01J9Z3K7Q8", "", "}", "{x}", "with:colon",
                                  std::string("nul\0byte", 8), "日本語"};
  for (int i = 0; i < 500; ++i) ids.push_back(absl::StrCat("acct-", i));
  return ids;
}

TEST(KeySpaceTest, EveryKeyOfAnAccountSharesItsShardLedgerSlot) {
  for (int shards : {1, 7, 16, 256}) {
    KeySpace keys("ea", shards);
    for (const std::string& id : AccountIds()) {
      const int shard = keys.ShardOf(id);
      const std::string ledger = keys.Ledger(shard);
      const absl::string_view tag = HashedPart(ledger);
      EXPECT_EQ(tag, absl::StrCat("s", shard));
      for (const std::string& key :
           {keys.Account(id), keys.Request(id, "req-1"), keys.Request(id, "{odd}req"),
            keys.Totals(id, "all"), keys.Totals(id, "2026-W48"), keys.Totals(id, "2026-11"),
            keys.History(id)}) {
        EXPECT_EQ(HashedPart(key), tag) << key;
        EXPECT_EQ(Slot(key), Slot(ledger)) << key;
        EXPECT_THAT(key, StartsWith(keys.ShardPrefix(shard))) << key;
      }
    }
  }
}

TEST(KeySpaceTest, KeysOfDifferentAccountsAndKindsDoNotCollide) {
  KeySpace keys("ea", 16);
  std::set<std::string> seen;
  int total = 0;
  for (int i = 0; i < 200; ++i) {
    std::string id = absl::StrCat("acct-", i);
    for (const std::string& key : {keys.Account(id), keys.Request(id, "r"), keys.Totals(id, "all"),
                                   keys.History(id)}) {
      seen.insert(key);
      ++total;
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(total));
}

TEST(KeySpaceTest, PrefixSeparatesDeployments) {
  KeySpace a("ea", 16), b("test1", 16);
  EXPECT_THAT(a.Account("x"), StartsWith("ea:"));
  EXPECT_THAT(b.Account("x"), StartsWith("test1:"));
  EXPECT_NE(a.Account("x"), b.Account("x"));
  EXPECT_EQ(a.prefix(), "ea");
  EXPECT_EQ(a.shards(), 16);
}

TEST(KeySpaceTest, BoardsHaveTheirOwnSlotTag) {
  KeySpace keys("ea", 16);
  std::string board = keys.Board("city::2026-W48:pts");
  EXPECT_EQ(HashedPart(board), "b:city::2026-W48:pts");
  EXPECT_NE(HashedPart(keys.Board("ward:3:2026-W48:pts")), HashedPart(board));
  // A board is not tagged like any ledger shard.
  for (int shard = 0; shard < keys.shards(); ++shard) {
    EXPECT_NE(HashedPart(board), HashedPart(keys.Ledger(shard)));
  }
}

TEST(KeySpaceTest, ShardOfIsFnv1aAndStable) {
  // Pinned values: changing the hash would move every account to another
  // shard and orphan its data.
  KeySpace big("ea", 1 << 30);
  EXPECT_EQ(big.ShardOf(""), static_cast<int>(2166136261u % (1u << 30)));
  EXPECT_EQ(big.ShardOf("a"), static_cast<int>(0xe40c292cu % (1u << 30)));
  EXPECT_EQ(big.ShardOf("foobar"), static_cast<int>(0xbf9cf968u % (1u << 30)));
  KeySpace keys("ea", 16);
  EXPECT_EQ(keys.ShardOf("a"), static_cast<int>(0xe40c292cu % 16));
  EXPECT_EQ(keys.ShardOf("foobar"), static_cast<int>(0xbf9cf968u % 16));
  // The same id always maps to the same shard, whatever the key prefix.
  KeySpace other_prefix("zz", 16);
  for (const std::string& id : AccountIds()) {
    EXPECT_EQ(keys.ShardOf(id), keys.ShardOf(std::string(id)));
    EXPECT_EQ(keys.ShardOf(id), other_prefix.ShardOf(id));
  }
}

TEST(KeySpaceTest, ShardOfIsInRangeAndUsesEveryShard) {
  for (int shards : {1, 2, 3, 16, 100, 4096}) {
    KeySpace keys("ea", shards);
    std::vector<int> count(shards, 0);
    const int ids = shards * 50;
    for (int i = 0; i < ids; ++i) {
      int shard = keys.ShardOf(absl::StrCat("acct-", i));
      ASSERT_GE(shard, 0) << shards;
      ASSERT_LT(shard, shards) << shards;
      ++count[shard];
    }
    for (int shard = 0; shard < shards; ++shard) {
      // 50 expected per shard; an empty shard would mean a broken hash.
      EXPECT_GT(count[shard], 0) << "shard " << shard << " of " << shards;
    }
  }
  // Ids with the high bit set (UTF-8) must not produce negative shards.
  KeySpace keys("ea", 7);
  for (int c = 128; c < 256; ++c) {
    int shard = keys.ShardOf(std::string(3, static_cast<char>(c)));
    EXPECT_GE(shard, 0);
    EXPECT_LT(shard, 7);
  }
}

}  // namespace
}  // namespace ecoact
