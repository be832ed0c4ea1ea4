#include "services/rewards/campaign_definition.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/status_macros.h"
#include "services/common/validation.h"

namespace ecoact::rewards {

absl::Status CheckCampaignDefinition(const CampaignDefinition& c) {
  // Ids end up in ledger fields (joined with ','), hash fields, board names
  // and the badge rule argument: the slug alphabet is safe in all of them.
  RETURN_IF_ERROR(ValidateSlug("id", c.id, 2, 32));
  if (c.starts_at >= c.ends_at) {
    return absl::InvalidArgumentError("starts_at must be before ends_at");
  }
  if (c.multiplier_permille < kMinMultiplierPermille ||
      c.multiplier_permille > kMaxMultiplierPermille) {
    return absl::InvalidArgumentError(
        absl::StrCat("multiplier_permille must be ", kMinMultiplierPermille, " (no bonus) to ",
                     kMaxMultiplierPermille, " (5x), got ", c.multiplier_permille));
  }
  if (c.collective_target < 0 || c.individual_target < 0 ||
      c.collective_target > kMaxCampaignTarget || c.individual_target > kMaxCampaignTarget) {
    return absl::InvalidArgumentError("collective_target and individual_target must be 0 (none) "
                                      "or a positive amount below 2^50");
  }
  const bool has_target = c.collective_target > 0 || c.individual_target > 0;
  if (c.metric != "co2" && c.metric != "pts" && !(c.metric.empty() && !has_target)) {
    return absl::InvalidArgumentError(
        has_target ? "metric is required with a target: METRIC_CO2E_GRAMS or METRIC_POINTS"
                   : "metric must be METRIC_CO2E_GRAMS, METRIC_POINTS or unspecified");
  }
  return absl::OkStatus();
}

std::string CampaignToJson(const CampaignDefinition& c, const std::string& fingerprint) {
  nlohmann::json j = {
      {"id", c.id},
      {"title", c.title},
      {"types", c.action_types},
      {"start_ms", absl::ToUnixMillis(c.starts_at)},
      {"end_ms", absl::ToUnixMillis(c.ends_at)},
      {"multiplier_permille", c.multiplier_permille},
      {"metric", c.metric},
      {"collective_target", c.collective_target},
      {"individual_target", c.individual_target},
      {"badge_title", c.badge_title},
      {"created_ms", absl::ToUnixMillis(c.created_at)},
      {"fp", fingerprint},
  };
  return j.dump();
}

absl::StatusOr<CampaignDefinition> CampaignFromJson(absl::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InternalError("stored campaign is not a JSON object");
  // get<int64_t>() converts a JSON float with a static_cast, which is
  // undefined beyond int64's range (found by fuzz/campaign_json_fuzzer), and
  // the multiplier must not wrap into int32's range: every number written
  // here is an int64, so accept nothing else.
  for (const char* key : {"start_ms", "end_ms", "multiplier_permille", "collective_target",
                          "individual_target", "created_ms"}) {
    auto it = j.find(key);
    if (it != j.end() && !it->is_number_integer()) {
      return absl::InternalError(absl::StrCat("stored campaign is malformed: '", key,
                                              "' is not an integer"));
    }
  }
  CampaignDefinition c;
  try {
    // Required: id and the window; the rest has the API's defaults.
    c.id = j.at("id").get<std::string>();
    c.starts_at = absl::FromUnixMillis(j.at("start_ms").get<int64_t>());
    c.ends_at = absl::FromUnixMillis(j.at("end_ms").get<int64_t>());
    c.title = j.value("title", c.id);
    c.action_types = j.value("types", std::vector<std::string>{});
    const int64_t multiplier = j.value("multiplier_permille", int64_t{kMinMultiplierPermille});
    if (multiplier < 0 || multiplier > kMaxMultiplierPermille) {
      return absl::InternalError(absl::StrCat("stored campaign \"", c.id,
                                              "\" is invalid: multiplier_permille ", multiplier));
    }
    c.multiplier_permille =
        multiplier == 0 ? kMinMultiplierPermille : static_cast<int32_t>(multiplier);
    c.metric = j.value("metric", "");
    c.collective_target = j.value("collective_target", int64_t{0});
    c.individual_target = j.value("individual_target", int64_t{0});
    c.badge_title = j.value("badge_title", "");
    c.created_at = absl::FromUnixMillis(j.value("created_ms", int64_t{0}));
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(absl::StrCat("stored campaign is malformed: ", e.what()));
  }
  if (c.badge_title.empty()) c.badge_title = c.title;
  if (absl::Status checked = CheckCampaignDefinition(c); !checked.ok()) {
    return absl::InternalError(
        absl::StrCat("stored campaign \"", c.id, "\" is invalid: ", checked.message()));
  }
  return c;
}

BadgeRule CampaignBadge(const CampaignDefinition& c) {
  const std::string target = c.metric == "pts" ? absl::StrCat(c.individual_target, " points")
                                               : absl::StrCat(c.individual_target, " g CO2e");
  BadgeRule rule;
  rule.id = kCampaignBadgePrefix + c.id;
  rule.title_ja = c.badge_title;
  rule.title_en = c.badge_title;
  rule.description_ja = absl::StrCat("「", c.title, "」で", target, "を達成");
  rule.description_en = absl::StrCat("Reach ", target, " in \"", c.title, "\"");
  rule.conditions.push_back(
      {{absl::StrCat(c.metric == "pts" ? "pts" : "co2", "@c:", c.id)}, c.individual_target});
  return rule;
}

}  // namespace ecoact::rewards
