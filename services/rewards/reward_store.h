// Reading and writing rewards in Redis: campaign definitions (their own
// slot), and the badges, streak and campaign totals that the RecordAction
// script keeps in each account's shard (docs/gamification.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "services/rewards/campaigns.h"
#include "services/rewards/streak.h"

namespace ecoact::rewards {

struct CampaignSums {
  int64_t co2 = 0;
  int64_t pts = 0;
  int64_t participants = 0;
};

class RewardStore {
 public:
  RewardStore(RedisClient* redis, KeySpace keys) : redis_(redis), keys_(std::move(keys)) {}

  // ALREADY_EXISTS if the id was taken by another request; a retry of the
  // same request returns the stored definition.
  absl::StatusOr<CampaignDefinition> CreateCampaign(const CampaignDefinition& campaign,
                                                    const std::string& fingerprint);
  absl::StatusOr<std::vector<CampaignDefinition>> ListCampaigns();
  // NOT_FOUND for an unknown id.
  absl::StatusOr<CampaignDefinition> GetCampaign(const std::string& id);

  // Everyone's sums: one pipelined HMGET over every shard's all-time
  // aggregate.
  absl::StatusOr<CampaignSums> CollectiveSums(const std::string& campaign_id);
  absl::StatusOr<CampaignSums> AccountSums(const std::string& account_id,
                                           const std::string& campaign_id);

  // Oldest first.
  absl::StatusOr<std::vector<StoredAward>> Awards(const std::string& account_id);
  absl::StatusOr<StreakState> Streak(const std::string& account_id);

 private:
  RedisClient* redis_;
  KeySpace keys_;
};

}  // namespace ecoact::rewards
