// Reading boards from Redis (sorted sets, one per board, in their own slot).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "services/leaderboard/board_layout.h"

namespace ecoact::leaderboard {

struct RankedMember {
  std::string account_id;
  int64_t score = 0;
  int64_t rank = 0;  // competition rank
  std::string nickname;
};

struct BoardPage {
  int64_t total = 0;
  int64_t offset = 0;  // of the first member (moved when centred on a member)
  std::vector<RankedMember> members;
  // Pages of this board may start before this offset only (a partitioned
  // board, BoardStore::kMaxMergedDepth); 0: any offset.
  int64_t depth = 0;
};

// A group (team, organisation, ward) on a group board.
struct GroupInfo {
  std::string name;        // display name; the id when it has none
  int64_t total = 0;       // sum of the group's field over the shard aggregates
  int64_t active = 0;      // active members in the period
};

// The caller's place on one board (GetMyRanks).
struct MemberRank {
  int64_t total = 0;  // members on the board
  bool ranked = false;
  int64_t rank = 0;
  int64_t score = 0;
};

struct OutlierRow {
  std::string account_id;
  std::string nickname;
  int64_t score = 0;
};

struct OutlierReport {
  int64_t active = 0;
  int64_t median = 0;
  int64_t threshold = 0;
  std::vector<OutlierRow> rows;
};

// What the leaderboard reads of an account: its groups and all-time totals.
struct MemberProfile {
  std::string ward;
  std::string team;
  std::string org;
  std::vector<std::pair<std::string, std::string>> all_time;  // totals fields
};

struct RankWindow {
  int64_t total = 0;
  std::optional<size_t> me;  // index of the caller in members
  std::vector<RankedMember> members;
};

// Reads that every client repeats (the top of a board, the nicknames of its
// members) are kept in memory for `ttl`, so that a crowd reading the same
// page costs Redis one read per `ttl` instead of one per call. Boards are
// projections that already trail the ledger (the projector's lag); the
// cache adds at most `ttl` to it, and a renamed or deleted citizen's old
// nickname can show for as long. Zero turns the cache off.
struct BoardCacheOptions {
  absl::Duration ttl = absl::ZeroDuration();
  // Bounds: a full cache first drops its expired entries, then empties (and
  // refills from the reads). Only the first page of a board is cached (any
  // size up to 100), so a client paging through a large board cannot fill
  // memory; 2,000 pages of 100 members are a few tens of MB at most.
  size_t max_pages = 2000;
  size_t max_nicknames = 100000;
};

// A partitioned board (board_layout.h) reads the same as one key: the same
// members, order (score, then member id descending, as ZREVRANGE orders
// ties), ranks and totals, merged from its parts in one or two pipelined
// round trips.
class BoardStore {
 public:
  // Pages from an offset of a partitioned board merge the top offset +
  // count members of every part, so they stop at this depth; a member's own
  // page (centred, Around) is found at any depth.
  static constexpr int64_t kMaxMergedDepth = 10000;

  BoardStore(RedisClient* redis, KeySpace keys, BoardCacheOptions cache = {},
             int board_partitions = 1)
      : redis_(redis),
        keys_(std::move(keys)),
        layout_(&keys_, board_partitions),
        cache_(cache) {}
  // A page from `offset`, or centred on `centre` when it is on the board.
  // `nicknames`: fill RankedMember::nickname from the account hashes.
  absl::StatusOr<BoardPage> Page(const std::string& board, int64_t offset, int64_t count,
                                 const std::string& centre = "", bool nicknames = true);
  absl::StatusOr<RankWindow> Around(const std::string& board, const std::string& account_id,
                                    int neighbours);

  // Sum of one aggregate field over every shard (hidden members included).
  absl::StatusOr<int64_t> GroupTotal(absl::string_view period_key, absl::string_view field);

  // Names, totals and active members of groups `ids` at the level tagged
  // `tag` ("t", "o", "w") for one period and metric field ("pts"/"co2"): one
  // pipeline (an HMGET per shard aggregate, an HGET per team/organisation
  // name). `ward_names` maps ward ids to display names.
  absl::StatusOr<std::vector<GroupInfo>> Groups(
      absl::string_view tag, absl::string_view period_key, absl::string_view metric,
      const std::vector<std::string>& ids,
      const std::map<std::string, std::string>& ward_names);

  // The rank of a member on each board (board, member), one pipelined
  // EVALSHA per board in one round trip.
  absl::StatusOr<std::vector<MemberRank>> RanksOf(
      const std::vector<std::pair<std::string, std::string>>& board_members);

  // An account's groups and all-time totals (one round trip).
  absl::StatusOr<MemberProfile> Profile(const std::string& account_id, bool with_totals);

  // Outliers on an audit board (admin view): account ids and nicknames.
  absl::StatusOr<OutlierReport> Outliers(const std::string& board, int64_t factor_permille,
                                         int64_t floor, int64_t limit);

 private:
  // Parses {member, score, ...} from `from` and assigns competition ranks.
  absl::StatusOr<std::vector<RankedMember>> Members(const RedisValue& reply, size_t from,
                                                    int64_t offset, int64_t first_rank);
  absl::Status FillNicknames(std::vector<RankedMember>* members);
  absl::StatusOr<BoardPage> ReadPage(const std::string& board, int64_t offset, int64_t count,
                                     const std::string& centre, bool nicknames);

  // Partitioned boards. A member and its score, in board order.
  struct Scored {
    std::string member;
    int64_t score = 0;
  };
  // The merged members around `member` (score `score`): up to `k` before it
  // and `k` from it on in every part.
  struct MergedWindow {
    int64_t total = 0;
    int64_t index = 0;  // the pivot's index on the whole board
    int64_t rank = 0;   // the pivot's competition rank
    int64_t score = 0;  // the pivot's score
    std::vector<Scored> merged;
    size_t pivot = 0;  // position in `merged` of the first member not before the pivot
  };
  absl::StatusOr<MergedWindow> Window(const std::string& board, const std::string& member,
                                      const std::string& score, int64_t k);
  // Members [from, to) of the board from a window, with their ranks.
  absl::StatusOr<std::vector<RankedMember>> Slice(const std::string& board,
                                                  const MergedWindow& window, int64_t from,
                                                  int64_t to);
  // The member's score on a partitioned board; nullopt when not on it.
  absl::StatusOr<std::optional<std::string>> ScoreOf(const std::string& board,
                                                     const std::string& member);
  absl::StatusOr<int64_t> MergedTotal(const std::string& board);
  absl::StatusOr<BoardPage> ReadMergedPage(const std::string& board, int64_t offset,
                                           int64_t count, const std::string& centre);
  absl::StatusOr<RankWindow> MergedAround(const std::string& board,
                                          const std::string& account_id, int neighbours);

  template <typename V>
  struct Cached {
    V value;
    absl::Time expires;
  };

  RedisClient* redis_;
  KeySpace keys_;
  BoardLayout layout_;
  BoardCacheOptions cache_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Cached<std::string>> nicknames_ ABSL_GUARDED_BY(mutex_);
  // (board, count, nicknames) of the first page of a board, not centred.
  absl::flat_hash_map<std::string, Cached<BoardPage>> pages_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace ecoact::leaderboard
