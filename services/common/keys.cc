#include "services/common/keys.h"

#include "absl/strings/str_cat.h"

namespace ecoact {

int KeySpace::ShardOf(absl::string_view account_id) const {
  uint32_t hash = 2166136261u;
  for (unsigned char c : account_id) {
    hash ^= c;
    hash *= 16777619u;
  }
  return static_cast<int>(hash % static_cast<uint32_t>(shards_));
}

std::string KeySpace::ShardPrefix(int shard) const {
  return absl::StrCat(prefix_, ":{s", shard, "}:");
}

std::string KeySpace::ShardTag(absl::string_view id) const { return ShardPrefix(ShardOf(id)); }

std::string KeySpace::Account(absl::string_view id) const {
  return absl::StrCat(ShardTag(id), "acct:", id);
}
std::string KeySpace::Request(absl::string_view id, absl::string_view request_id) const {
  return absl::StrCat(ShardTag(id), "req:", id, ":", request_id);
}
std::string KeySpace::Ledger(int shard) const { return absl::StrCat(ShardPrefix(shard), "ledger"); }
std::string KeySpace::Totals(absl::string_view id, absl::string_view period_key) const {
  return absl::StrCat(ShardTag(id), "tot:", id, ":", period_key);
}
std::string KeySpace::History(absl::string_view id) const {
  return absl::StrCat(ShardTag(id), "hist:", id);
}
std::string KeySpace::Board(absl::string_view board) const {
  return absl::StrCat(prefix_, ":{b:", board, "}");
}

std::string KeySpace::ResyncQueue() const { return absl::StrCat(prefix_, ":{projector}:resync"); }

}  // namespace ecoact
