// Campaigns and challenges (domain code: no gRPC, no Redis).
//
// A campaign is stored as one JSON definition (campaign_definition.h, shared
// with the actions service's campaign cache); this file validates an admin's
// request into that definition and turns a definition into the API's
// message.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ecoact/v1/rewards.pb.h"
#include "services/rewards/campaign_definition.h"

namespace ecoact::rewards {

// A campaign applies to actions recorded after it is created and never
// rewrites history: otherwise a correction of an older entry could pick up a
// multiplier the entry itself never got. The slack absorbs clock skew and an
// admin's "starts now" typed a few seconds before sending.
inline constexpr absl::Duration kStartsAtSlack = absl::Seconds(60);
// A campaign names at most this many action types (empty means every type).
inline constexpr int kMaxCampaignActionTypes = 100;

// INVALID_ARGUMENT naming the field for anything an admin got wrong (the
// rules of CheckCampaignDefinition, plus: title, badge_title, known action
// types, both times set, at most 366 days, ends_at in the future, starts_at
// not more than kStartsAtSlack before `now`); `known_types` are the
// catalogue's action type ids.
absl::StatusOr<CampaignDefinition> ValidateCampaign(const v1::CreateCampaignRequest& request,
                                                    const std::set<std::string>& known_types,
                                                    absl::Time now);

// Digest of what the admin sent, for "same request id, different payload".
std::string CampaignFingerprint(const v1::CreateCampaignRequest& request);

v1::CampaignState CampaignStateAt(const CampaignDefinition& campaign, absl::Time now);
v1::Campaign CampaignToProto(const CampaignDefinition& campaign, absl::Time now);

// Progress in thousandths of the target, capped at 1000; 0 without target.
int32_t Permille(int64_t value, int64_t target);

}  // namespace ecoact::rewards
