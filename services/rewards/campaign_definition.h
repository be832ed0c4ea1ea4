// The one campaign definition shared by the rewards service (which writes
// it) and the actions service's campaign cache and the rebuild (which read
// it): the struct, the rules it obeys, and its stored JSON
// (docs/gamification.md "Interfaces between the parts"). Keeping writer and
// readers on one codec is what stops a definition the API accepted from
// being skipped by the cache. Pure domain code: no gRPC, no Redis.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/rewards/badge_rules.h"

namespace ecoact::rewards {

inline constexpr int32_t kMinMultiplierPermille = 1000;  // no bonus
inline constexpr int32_t kMaxMultiplierPermille = 5000;  // 5x
inline constexpr int64_t kMaxCampaignTarget = int64_t{1} << 50;

struct CampaignDefinition {
  std::string id;
  std::string title;
  std::vector<std::string> action_types;  // empty: every type
  absl::Time starts_at;                   // inclusive
  absl::Time ends_at;                     // exclusive
  int32_t multiplier_permille = kMinMultiplierPermille;
  std::string metric;  // "co2", "pts", or "" when no target is set
  int64_t collective_target = 0;
  int64_t individual_target = 0;
  std::string badge_title;
  absl::Time created_at;

  std::string RewardBadgeId() const {
    return individual_target > 0 ? kCampaignBadgePrefix + id : std::string();
  }
};

// INVALID_ARGUMENT naming the field unless the id is 2 to 32 characters (a
// lower-case letter, then a-z 0-9 _ . -), the window is non-empty, the
// multiplier is 1000..5000, targets are 0..2^50, and the metric is "co2" or
// "pts" (or "" when both targets are 0).
absl::Status CheckCampaignDefinition(const CampaignDefinition& campaign);

// The stored JSON, with the fingerprint of the creating request.
std::string CampaignToJson(const CampaignDefinition& campaign, const std::string& fingerprint);
// Parses and checks a stored definition (CheckCampaignDefinition); INTERNAL
// naming the field for one that this code would not have written.
absl::StatusOr<CampaignDefinition> CampaignFromJson(absl::string_view json);

// The reward badge rule of a campaign with an individual target: its metric
// total (`co2@c:<id>` or `pts@c:<id>`) reaches the target. Carries the
// display texts (Japanese and English).
BadgeRule CampaignBadge(const CampaignDefinition& campaign);

}  // namespace ecoact::rewards
