// A stored campaign definition as the actions service's campaign cache and
// the rebuild read it back from Redis (rewards::CampaignFromJson): any bytes
// go through the JSON parser and the definition check. An accepted
// definition must survive the writer's encoding unchanged (writer and
// readers share one codec), and its reward badge rule must be one the
// RecordAction script argument can carry.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "services/rewards/campaign_definition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ecoact::rewards;
  absl::StatusOr<CampaignDefinition> campaign =
      CampaignFromJson(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!campaign.ok()) return 0;
  absl::StatusOr<CampaignDefinition> again = CampaignFromJson(CampaignToJson(*campaign, "fp"));
  if (!again.ok() || again->id != campaign->id || again->starts_at != campaign->starts_at ||
      again->ends_at != campaign->ends_at || again->title != campaign->title ||
      again->action_types != campaign->action_types ||
      again->multiplier_permille != campaign->multiplier_permille ||
      again->metric != campaign->metric || again->collective_target != campaign->collective_target ||
      again->individual_target != campaign->individual_target ||
      again->badge_title != campaign->badge_title) {
    std::abort();
  }
  if (campaign->individual_target > 0) {
    const BadgeRule rule = CampaignBadge(*campaign);
    if (!ParseCondition(RuleArgument({rule}).substr(rule.id.size() + 1)).ok()) std::abort();
  }
  return 0;
}
