#include "services/rewards/campaigns.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"

namespace ecoact::rewards {
namespace {

using google::protobuf::util::TimeUtil;

// Campaign windows are kept to the millisecond (as stored).
absl::Time ToMillis(absl::Time t) { return absl::FromUnixMillis(absl::ToUnixMillis(t)); }

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

}  // namespace

absl::StatusOr<CampaignDefinition> ValidateCampaign(const v1::CreateCampaignRequest& request,
                                                    const std::set<std::string>& known_types,
                                                    absl::Time now) {
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  CampaignDefinition c;
  RETURN_IF_ERROR(ValidateDisplayText("title", request.title(), 80, &c.title));
  c.id = request.id();
  if (request.action_types_size() > kMaxCampaignActionTypes) {
    return absl::InvalidArgumentError(
        absl::StrCat("action_types lists at most ", kMaxCampaignActionTypes,
                     " action types (empty means every type), got ", request.action_types_size()));
  }
  std::set<std::string> seen;
  for (const std::string& type : request.action_types()) {
    RETURN_IF_ERROR(ValidateActionTypeId("action_types", type));
    if (known_types.count(type) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("action_types: \"", type, "\" is not an action type of the catalogue "
                       "(see CatalogService.ListActionTypes)"));
    }
    if (seen.insert(type).second) c.action_types.push_back(type);
  }
  if (!request.has_starts_at() || !request.has_ends_at()) {
    return absl::InvalidArgumentError("starts_at and ends_at are required");
  }
  // Checked before any arithmetic: a Timestamp near the int64 limits would
  // overflow the conversion to milliseconds.
  ASSIGN_OR_RETURN(c.starts_at, TimeFromProto(request.starts_at(), "starts_at"));
  ASSIGN_OR_RETURN(c.ends_at, TimeFromProto(request.ends_at(), "ends_at"));
  c.starts_at = ToMillis(c.starts_at);
  c.ends_at = ToMillis(c.ends_at);
  if (c.starts_at >= c.ends_at) {
    return absl::InvalidArgumentError("starts_at must be before ends_at");
  }
  if (c.starts_at < now - kStartsAtSlack) {
    return absl::InvalidArgumentError(
        "starts_at is in the past: a campaign applies to actions recorded after it is created "
        "and never rewrites history");
  }
  if (c.ends_at <= now) {
    return absl::InvalidArgumentError("ends_at is in the past: the campaign would never run");
  }
  if (c.ends_at - c.starts_at > absl::Hours(24 * 366)) {
    return absl::InvalidArgumentError("a campaign lasts at most 366 days");
  }
  // 0 means "no bonus"; anything else is checked with the stored form's rules.
  c.multiplier_permille =
      request.multiplier_permille() == 0 ? kMinMultiplierPermille : request.multiplier_permille();
  c.collective_target = request.collective_target();
  c.individual_target = request.individual_target();
  switch (request.metric()) {
    case v1::METRIC_CO2E_GRAMS: c.metric = "co2"; break;
    case v1::METRIC_POINTS: c.metric = "pts"; break;
    case v1::METRIC_UNSPECIFIED: break;
    default: return absl::InvalidArgumentError("metric must be METRIC_CO2E_GRAMS or METRIC_POINTS");
  }
  RETURN_IF_ERROR(CheckCampaignDefinition(c));
  c.badge_title = c.title;
  if (!request.badge_title().empty()) {
    RETURN_IF_ERROR(ValidateDisplayText("badge_title", request.badge_title(), 40, &c.badge_title));
  }
  c.created_at = now;
  return c;
}

std::string CampaignFingerprint(const v1::CreateCampaignRequest& request) {
  // The request id is part of it: the same campaign id sent again under
  // another request id is another admin's campaign, not a retry.
  return Fingerprint({"campaign", request.SerializeAsString()});
}

v1::CampaignState CampaignStateAt(const CampaignDefinition& c, absl::Time now) {
  if (now < c.starts_at) return v1::CAMPAIGN_STATE_UPCOMING;
  if (now < c.ends_at) return v1::CAMPAIGN_STATE_RUNNING;
  return v1::CAMPAIGN_STATE_ENDED;
}

v1::Campaign CampaignToProto(const CampaignDefinition& c, absl::Time now) {
  v1::Campaign out;
  out.set_id(c.id);
  out.set_title(c.title);
  for (const auto& type : c.action_types) out.add_action_types(type);
  *out.mutable_starts_at() = ToProto(c.starts_at);
  *out.mutable_ends_at() = ToProto(c.ends_at);
  out.set_multiplier_permille(c.multiplier_permille);
  out.set_metric(c.metric == "co2"   ? v1::METRIC_CO2E_GRAMS
                 : c.metric == "pts" ? v1::METRIC_POINTS
                                     : v1::METRIC_UNSPECIFIED);
  out.set_collective_target(c.collective_target);
  out.set_individual_target(c.individual_target);
  out.set_reward_badge_id(c.RewardBadgeId());
  out.set_badge_title(c.badge_title);
  out.set_state(CampaignStateAt(c, now));
  return out;
}

int32_t Permille(int64_t value, int64_t target) {
  if (target <= 0 || value <= 0) return 0;
  if (value >= target) return 1000;
  return static_cast<int32_t>((static_cast<__int128>(value) * 1000) / target);
}

}  // namespace ecoact::rewards
