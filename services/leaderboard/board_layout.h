// Where a board's members live in Redis: one sorted set per board (the
// default), or, for the city-wide citizen boards of a large deployment,
// `partitions` sorted sets `{b:<board>:<part>}`, each in its own slot, so
// that one board is spread over the nodes of a Redis Cluster instead of
// living on one node and one core (docs/keys.md, docs/operations.md
// "Sizing").
//
// A member's part is a hash of its account id, not its ward or region: the
// city-wide score of a citizen who moves ward must stay one member of one
// part, and a hash spreads members (and the projector's writes) evenly
// whatever the regions' sizes. Reads merge the parts (BoardStore): a page
// is the merge of each part's top, a rank the sum over parts of the members
// above a score, both exact.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/common/keys.h"

namespace ecoact::leaderboard {

// The most parts a board may have (--board_partitions).
inline constexpr int kMaxBoardPartitions = 256;

class BoardLayout {
 public:
  // `partitions` <= 1: every board is one key. `keys` must outlive this.
  BoardLayout(const KeySpace* keys, int partitions)
      : keys_(keys), partitions_(partitions < 1 ? 1 : partitions) {}

  int partitions() const { return partitions_; }
  // City-wide citizen boards ("city::<period>:<metric>") when partitions > 1:
  // the only boards that grow with the whole population. Ward, team,
  // organisation, event and campaign boards are bounded by their group,
  // group boards by the number of groups.
  bool Partitioned(absl::string_view board) const;
  // The part of `member` (0 when not partitioned).
  int PartOf(absl::string_view member) const;
  // The key of one part: "<p>:{b:<board>:<part>}".
  std::string PartKey(absl::string_view board, int part) const;
  // The key holding `member` on `board`.
  std::string KeyOf(absl::string_view board, absl::string_view member) const;
  // Every key of `board`: its parts in order, or the one board key.
  std::vector<std::string> Keys(absl::string_view board) const;
  // The board name a part key's name belongs to, as written in `{b:...}`:
  // "<board>:<part>" for a part. Used by the rebuild to spot stale keys.
  std::string PartName(absl::string_view board, int part) const;

 private:
  const KeySpace* keys_;
  int partitions_;
};

}  // namespace ecoact::leaderboard
