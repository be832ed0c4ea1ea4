#include "services/actions/campaigns.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/log.h"

namespace ecoact::actions {
namespace {

bool IsCampaignId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("campaign definition: '", field, "' ", why));
}

absl::StatusOr<int64_t> Integer(const nlohmann::json& j, const char* field, bool required) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    if (required) return Bad(field, "is required");
    return 0;
  }
  if (!it->is_number_integer()) return Bad(field, "must be an integer");
  return it->get<int64_t>();
}

}  // namespace

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

absl::StatusOr<CampaignRule> ParseCampaignJson(absl::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError("campaign definition is not a JSON object");
  CampaignRule c;
  if (!j.contains("id") || !j["id"].is_string() || !IsCampaignId(j["id"].get<std::string>())) {
    return Bad("id", "must be 1 to 64 of [A-Za-z0-9_.-]");
  }
  c.id = j["id"].get<std::string>();
  if (j.contains("title") && j["title"].is_string()) c.title = j["title"].get<std::string>();
  if (j.contains("types")) {
    if (!j["types"].is_array()) return Bad("types", "must be a list of action type ids");
    for (const auto& t : j["types"]) {
      if (!t.is_string()) return Bad("types", "must be a list of action type ids");
      c.types.push_back(t.get<std::string>());
    }
  }
  absl::StatusOr<int64_t> start = Integer(j, "start_ms", true);
  if (!start.ok()) return start.status();
  absl::StatusOr<int64_t> end = Integer(j, "end_ms", true);
  if (!end.ok()) return end.status();
  if (*end <= *start) return Bad("end_ms", "must be after start_ms");
  c.start = absl::FromUnixMillis(*start);
  c.end = absl::FromUnixMillis(*end);
  absl::StatusOr<int64_t> multiplier = Integer(j, "multiplier_permille", false);
  if (!multiplier.ok()) return multiplier.status();
  c.multiplier_permille = *multiplier == 0 ? 1000 : *multiplier;
  if (c.multiplier_permille < 1000 || c.multiplier_permille > 100000) {
    return Bad("multiplier_permille", "must be 1000 (no bonus) to 100000");
  }
  if (j.contains("metric")) {
    if (!j["metric"].is_string() ||
        (j["metric"] != "co2" && j["metric"] != "pts")) {
      return Bad("metric", "must be \"co2\" or \"pts\"");
    }
    c.metric = j["metric"].get<std::string>();
  }
  absl::StatusOr<int64_t> target = Integer(j, "individual_target", false);
  if (!target.ok()) return target.status();
  if (*target < 0) return Bad("individual_target", "must be >= 0");
  c.individual_target = *target;
  if (j.contains("badge_title") && j["badge_title"].is_string()) {
    c.badge_title = j["badge_title"].get<std::string>();
  }
  if (c.badge_title.empty()) c.badge_title = c.title.empty() ? c.id : c.title;
  return c;
}

bool Matches(const CampaignRule& campaign, absl::string_view action_type, absl::Time occurred) {
  if (occurred < campaign.start || occurred >= campaign.end) return false;
  return campaign.types.empty() ||
         std::find(campaign.types.begin(), campaign.types.end(), action_type) !=
             campaign.types.end();
}

CampaignOutcome ApplyCampaigns(const std::vector<CampaignRule>& campaigns,
                               absl::string_view action_type, absl::Time occurred,
                               int64_t base_points) {
  CampaignOutcome out;
  int64_t multiplier = 1000;
  for (const CampaignRule& c : campaigns) {
    if (!Matches(c, action_type, occurred)) continue;
    out.ids.push_back(c.id);
    multiplier = std::max(multiplier, c.multiplier_permille);
    if (c.individual_target > 0) {
      out.badges.push_back(
          rewards::CampaignBadge(c.id, c.metric, c.individual_target, c.badge_title));
    }
  }
  // Ids sorted: the ledger field and the rebuild do not depend on hash order.
  std::sort(out.ids.begin(), out.ids.end());
  std::sort(out.badges.begin(), out.badges.end(),
            [](const rewards::BadgeRule& a, const rewards::BadgeRule& b) { return a.id < b.id; });
  out.points = FloorDiv(base_points * multiplier, 1000);
  out.bonus = out.points - base_points;
  return out;
}

RedisCampaignSource::RedisCampaignSource(RedisClient* redis, const KeySpace& keys,
                                         absl::Duration refresh)
    : redis_(redis), key_(keys.Campaigns()), refresh_(refresh) {
  thread_ = std::thread([this] { Run(); });
}

RedisCampaignSource::~RedisCampaignSource() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

absl::StatusOr<std::vector<CampaignRule>> RedisCampaignSource::Load() {
  absl::StatusOr<RedisValue> reply = redis_->Command({"HGETALL", key_});
  if (!reply.ok()) return reply.status();
  std::vector<CampaignRule> campaigns;
  const auto& kv = reply->elements;
  for (size_t i = 0; i + 1 < kv.size(); i += 2) {
    absl::StatusOr<CampaignRule> parsed = ParseCampaignJson(kv[i + 1].str);
    if (!parsed.ok()) {
      LogWarning("campaign definition skipped",
                 {{"campaign", kv[i].str}, {"error", std::string(parsed.status().message())}});
      continue;
    }
    campaigns.push_back(*std::move(parsed));
  }
  return campaigns;
}

absl::Status RedisCampaignSource::Invalidate() {
  absl::StatusOr<std::vector<CampaignRule>> loaded = Load();
  if (!loaded.ok()) return loaded.status();
  std::lock_guard<std::mutex> lock(mu_);
  campaigns_ = *std::move(loaded);
  loaded_ = true;
  return absl::OkStatus();
}

std::vector<CampaignRule> RedisCampaignSource::Current() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (loaded_) return campaigns_;
  }
  // Only before the first successful load (start-up, or Redis was down):
  // an action must not miss a running campaign's multiplier.
  (void)Invalidate();
  std::lock_guard<std::mutex> lock(mu_);
  return campaigns_;
}

void RedisCampaignSource::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    absl::Status refreshed = Invalidate();
    if (!refreshed.ok()) {
      LogWarning("campaign refresh failed", {{"error", std::string(refreshed.message())}});
    }
    lock.lock();
    wake_.wait_for(lock, absl::ToChronoMilliseconds(refresh_), [this] { return stopping_; });
  }
}

}  // namespace ecoact::actions
