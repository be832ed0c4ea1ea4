// Campaigns as the recorder sees them (docs/gamification.md "Campaigns"):
// which actions a campaign matches, the points multiplier, and the reward
// badge rule. Definitions are written by the rewards service into
// `ea:{campaigns}:def`; the actions service reads them through a cache so
// that recording an action costs no extra Redis round trip.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "services/rewards/badge_rules.h"
#include "services/rewards/campaign_definition.h"

namespace ecoact::actions {

// Definitions are rewards::CampaignDefinition, read with the codec the
// rewards service writes them with (so a campaign the API accepts is never
// skipped here).
using rewards::CampaignDefinition;

// The action matches when its type is listed (or the list is empty) and it
// occurred inside [start, end).
bool Matches(const CampaignDefinition& campaign, absl::string_view action_type,
             absl::Time occurred);

// The matched campaigns and the points after the highest multiplier.
struct CampaignOutcome {
  std::vector<std::string> ids;
  int64_t points = 0;  // floor(base * max multiplier / 1000)
  int64_t bonus = 0;   // points - base
  std::vector<rewards::BadgeRule> badges;  // reward badges of matched campaigns
};
CampaignOutcome ApplyCampaigns(const std::vector<CampaignDefinition>& campaigns,
                               absl::string_view action_type, absl::Time occurred,
                               int64_t base_points);

class CampaignSource {
 public:
  virtual ~CampaignSource() = default;
  // The definitions in force; must not block on I/O in steady state.
  virtual std::vector<CampaignDefinition> Current() = 0;
};

// Fixed definitions (unit tests, tools).
class StaticCampaignSource : public CampaignSource {
 public:
  explicit StaticCampaignSource(std::vector<CampaignDefinition> campaigns)
      : campaigns_(std::move(campaigns)) {}
  std::vector<CampaignDefinition> Current() override { return campaigns_; }

 private:
  std::vector<CampaignDefinition> campaigns_;
};

// Reads `ea:{campaigns}:def` (HGETALL) on a background thread every
// `refresh`, so Current() only copies the cached list; a definition that
// does not parse (rewards::CampaignFromJson) is skipped and logged. Invalidate() reloads at once (the
// process that created a campaign sees it on its next action).
class RedisCampaignSource : public CampaignSource {
 public:
  RedisCampaignSource(RedisClient* redis, const KeySpace& keys,
                      absl::Duration refresh = absl::Seconds(2));
  ~RedisCampaignSource() override;
  std::vector<CampaignDefinition> Current() override;
  // Reloads now; UNAVAILABLE etc. keeps the previous list.
  absl::Status Invalidate();
  // One load without the cache (the rebuild).
  absl::StatusOr<std::vector<CampaignDefinition>> Load();

 private:
  void Run();
  RedisClient* redis_;
  std::string key_;
  absl::Duration refresh_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool loaded_ = false;
  std::vector<CampaignDefinition> campaigns_;
  std::thread thread_;
};

}  // namespace ecoact::actions
