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
std::string KeySpace::Badges(absl::string_view id) const {
  return absl::StrCat(ShardTag(id), "badges:", id);
}
std::string KeySpace::Aggregate(int shard, absl::string_view period_key) const {
  return absl::StrCat(ShardPrefix(shard), "agg:", period_key);
}
std::string KeySpace::ActiveDays(absl::string_view id) const {
  return absl::StrCat(ShardTag(id), "days:", id);
}
std::string KeySpace::Streak(absl::string_view id) const {
  return absl::StrCat(ShardTag(id), "streak:", id);
}
std::string KeySpace::RefreshFamilies(absl::string_view id) const {
  return absl::StrCat(ShardTag(id), "rtf:", id);
}
std::string KeySpace::OidcLink(absl::string_view identity_hash) const {
  return absl::StrCat(prefix_, ":{oidc:", identity_hash, "}");
}
std::string KeySpace::Campaigns() const { return absl::StrCat(prefix_, ":{campaigns}:def"); }
std::string KeySpace::Board(absl::string_view board) const {
  return absl::StrCat(prefix_, ":{b:", board, "}");
}

std::string KeySpace::Team(absl::string_view id) const {
  return absl::StrCat(prefix_, ":{org}:team:", id);
}
std::string KeySpace::Organisation(absl::string_view id) const {
  return absl::StrCat(prefix_, ":{org}:org:", id);
}
std::string KeySpace::JoinCode(absl::string_view code) const {
  return absl::StrCat(prefix_, ":{org}:code:", code);
}
std::string KeySpace::TeamIds() const { return absl::StrCat(prefix_, ":{org}:teams"); }
std::string KeySpace::OrganisationIds() const { return absl::StrCat(prefix_, ":{org}:orgs"); }
std::string KeySpace::TeamMembers(absl::string_view id) const {
  return absl::StrCat(prefix_, ":{org}:members:t:", id);
}
std::string KeySpace::OrganisationMembers(absl::string_view id) const {
  return absl::StrCat(prefix_, ":{org}:members:o:", id);
}
std::string KeySpace::ResyncQueue() const { return absl::StrCat(prefix_, ":{projector}:resync"); }
std::string KeySpace::ResyncClaimed() const {
  return absl::StrCat(prefix_, ":{projector}:resync-claimed");
}

}  // namespace ecoact
