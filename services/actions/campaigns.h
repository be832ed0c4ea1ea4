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

namespace ecoact::actions {

struct CampaignRule {
  std::string id;
  std::string title;
  std::vector<std::string> types;  // empty: every action type
  absl::Time start;                // inclusive
  absl::Time end;                  // exclusive
  int64_t multiplier_permille = 1000;
  std::string metric = "co2";      // "co2" | "pts": what individual_target counts
  int64_t individual_target = 0;   // 0: no reward badge
  std::string badge_title;
};

// Reads one definition in the contract's JSON layout; INVALID_ARGUMENT names
// the bad field. Ids must be [A-Za-z0-9_.-]{1,64} (they are joined with ','
// in the ledger and used inside badge rules).
absl::StatusOr<CampaignRule> ParseCampaignJson(absl::string_view json);

// The action matches when its type is listed (or the list is empty) and it
// occurred inside [start, end).
bool Matches(const CampaignRule& campaign, absl::string_view action_type, absl::Time occurred);

// The matched campaigns and the points after the highest multiplier.
struct CampaignOutcome {
  std::vector<std::string> ids;
  int64_t points = 0;  // floor(base * max multiplier / 1000)
  int64_t bonus = 0;   // points - base
  std::vector<rewards::BadgeRule> badges;  // reward badges of matched campaigns
};
CampaignOutcome ApplyCampaigns(const std::vector<CampaignRule>& campaigns,
                               absl::string_view action_type, absl::Time occurred,
                               int64_t base_points);

// Exact floor division (points may be negative in staff corrections).
int64_t FloorDiv(int64_t a, int64_t b);

class CampaignSource {
 public:
  virtual ~CampaignSource() = default;
  // The definitions in force; must not block on I/O in steady state.
  virtual std::vector<CampaignRule> Current() = 0;
};

// Fixed definitions (unit tests, tools).
class StaticCampaignSource : public CampaignSource {
 public:
  explicit StaticCampaignSource(std::vector<CampaignRule> campaigns)
      : campaigns_(std::move(campaigns)) {}
  std::vector<CampaignRule> Current() override { return campaigns_; }

 private:
  std::vector<CampaignRule> campaigns_;
};

// Reads `ea:{campaigns}:def` (HGETALL) on a background thread every
// `refresh`, so Current() only copies the cached list; a definition that
// does not parse is skipped and logged. Invalidate() reloads at once (the
// process that created a campaign sees it on its next action).
class RedisCampaignSource : public CampaignSource {
 public:
  RedisCampaignSource(RedisClient* redis, const KeySpace& keys,
                      absl::Duration refresh = absl::Seconds(2));
  ~RedisCampaignSource() override;
  std::vector<CampaignRule> Current() override;
  // Reloads now; UNAVAILABLE etc. keeps the previous list.
  absl::Status Invalidate();
  // One load without the cache (the rebuild).
  absl::StatusOr<std::vector<CampaignRule>> Load();

 private:
  void Run();
  RedisClient* redis_;
  std::string key_;
  absl::Duration refresh_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool loaded_ = false;
  std::vector<CampaignRule> campaigns_;
  std::thread thread_;
};

}  // namespace ecoact::actions
