// The display texts of a badge id, the same wherever a badge is shown
// (RecordAction's new_badges, RewardsService.ListBadges and ListMyBadges).
#pragma once

#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "ecoact/v1/rewards.pb.h"
#include "services/rewards/badge_rules.h"
#include "services/rewards/campaign_definition.h"

namespace ecoact::rewards {

// A rule's texts: title/description in Japanese (English when the Japanese
// text is empty), title_en/description_en in English.
v1::Badge BadgeDisplay(const BadgeRule& rule);

// The texts of `id`: a rule of `rules` (may be null), or "campaign:<id>" of
// one of `campaigns` with an individual target; nullopt when no such badge
// is defined any more (an award keeps its id for good).
std::optional<v1::Badge> DescribeBadge(absl::string_view id, const BadgeRuleSet* rules,
                                       const std::vector<CampaignDefinition>& campaigns);

}  // namespace ecoact::rewards
