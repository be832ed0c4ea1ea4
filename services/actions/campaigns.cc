#include "services/actions/campaigns.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/arith.h"
#include "services/common/log.h"

namespace ecoact::actions {

bool Matches(const CampaignDefinition& campaign, absl::string_view action_type,
             absl::Time occurred) {
  if (occurred < campaign.starts_at || occurred >= campaign.ends_at) return false;
  return campaign.action_types.empty() ||
         std::find(campaign.action_types.begin(), campaign.action_types.end(), action_type) !=
             campaign.action_types.end();
}

CampaignOutcome ApplyCampaigns(const std::vector<CampaignDefinition>& campaigns,
                               absl::string_view action_type, absl::Time occurred,
                               int64_t base_points) {
  CampaignOutcome out;
  int64_t multiplier = 1000;
  for (const CampaignDefinition& c : campaigns) {
    if (!Matches(c, action_type, occurred)) continue;
    out.ids.push_back(c.id);
    multiplier = std::max<int64_t>(multiplier, c.multiplier_permille);
    if (c.individual_target > 0) out.badges.push_back(rewards::CampaignBadge(c));
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

absl::StatusOr<std::vector<CampaignDefinition>> RedisCampaignSource::Load() {
  absl::StatusOr<RedisValue> reply = redis_->Command({"HGETALL", key_});
  if (!reply.ok()) return reply.status();
  std::vector<CampaignDefinition> campaigns;
  const auto& kv = reply->elements;
  for (size_t i = 0; i + 1 < kv.size(); i += 2) {
    absl::StatusOr<CampaignDefinition> parsed = rewards::CampaignFromJson(kv[i + 1].str);
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
  absl::StatusOr<std::vector<CampaignDefinition>> loaded = Load();
  if (!loaded.ok()) return loaded.status();
  std::lock_guard<std::mutex> lock(mu_);
  campaigns_ = *std::move(loaded);
  loaded_ = true;
  return absl::OkStatus();
}

std::vector<CampaignDefinition> RedisCampaignSource::Current() {
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
