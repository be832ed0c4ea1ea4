// Campaigns and challenges (domain code: no gRPC, no Redis).
//
// A campaign is stored as one JSON definition (docs/gamification.md) that
// the actions service's campaign cache reads to apply the multiplier and the
// reward badge; this file validates an admin's request into that definition
// and turns a stored definition back into the API's message.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ecoact/v1/rewards.pb.h"

namespace ecoact::rewards {

struct CampaignDefinition {
  std::string id;
  std::string title;
  std::vector<std::string> action_types;  // empty: every type
  absl::Time starts_at;
  absl::Time ends_at;
  int32_t multiplier_permille = 1000;
  std::string metric;  // "co2", "pts" or "" when no target is set
  int64_t collective_target = 0;
  int64_t individual_target = 0;
  std::string badge_title;
  absl::Time created_at;

  std::string RewardBadgeId() const {
    return individual_target > 0 ? "campaign:" + id : std::string();
  }
};

// INVALID_ARGUMENT naming the field for anything an admin got wrong;
// `known_types` are the catalogue's action type ids.
absl::StatusOr<CampaignDefinition> ValidateCampaign(const v1::CreateCampaignRequest& request,
                                                    const std::set<std::string>& known_types,
                                                    absl::Time now);

// Digest of what the admin sent, for "same request id, different payload".
std::string CampaignFingerprint(const v1::CreateCampaignRequest& request);

// The stored JSON (with the request fingerprint) and back. FromJson is
// INTERNAL for a definition this code did not write.
std::string CampaignToJson(const CampaignDefinition& campaign, const std::string& fingerprint);
absl::StatusOr<CampaignDefinition> CampaignFromJson(const std::string& json);

v1::CampaignState CampaignStateAt(const CampaignDefinition& campaign, absl::Time now);
v1::Campaign CampaignToProto(const CampaignDefinition& campaign, absl::Time now);

// Progress in thousandths of the target, capped at 1000; 0 without target.
int32_t Permille(int64_t value, int64_t target);

}  // namespace ecoact::rewards
