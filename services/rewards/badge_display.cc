#include "services/rewards/badge_display.h"

#include <string>

#include "absl/strings/match.h"

namespace ecoact::rewards {

v1::Badge BadgeDisplay(const BadgeRule& rule) {
  v1::Badge badge;
  badge.set_id(rule.id);
  badge.set_title(rule.title_ja.empty() ? rule.title_en : rule.title_ja);
  badge.set_description(rule.description_ja.empty() ? rule.description_en : rule.description_ja);
  badge.set_title_en(rule.title_en);
  badge.set_description_en(rule.description_en);
  return badge;
}

std::optional<v1::Badge> DescribeBadge(absl::string_view id, const BadgeRuleSet* rules,
                                       const std::vector<CampaignDefinition>& campaigns) {
  if (rules != nullptr) {
    if (const BadgeRule* rule = rules->Find(id)) return BadgeDisplay(*rule);
  }
  if (!absl::StartsWith(id, kCampaignBadgePrefix)) return std::nullopt;
  for (const CampaignDefinition& c : campaigns) {
    if (c.RewardBadgeId() == id) return BadgeDisplay(CampaignBadge(c));
  }
  return std::nullopt;
}

}  // namespace ecoact::rewards
