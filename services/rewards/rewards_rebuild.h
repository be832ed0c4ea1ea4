// Recomputes badges and streaks from the ledger streams alone (DESIGN
// invariant 1): per account the all-time totals fields that badge rules
// read, the active-day bitmap, the streak hash and the badges hash, with
// the same arithmetic as record_action.lua. Run with writers stopped (like
// the board rebuild): an action recorded meanwhile may be overwritten.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/actions/campaigns.h"
#include "services/common/keys.h"
#include "services/common/ledger_format.h"
#include "services/common/periods.h"
#include "services/common/redis.h"
#include "services/rewards/badge_rules.h"
#include "services/rewards/streak.h"

namespace ecoact::rewards {

// One account's rewards state, folded entry by entry in ledger order.
struct AccountRewards {
  std::map<std::string, int64_t> totals;        // all-time fields
  StreakTracker streak;
  std::map<std::string, std::string> badges;   // id -> {"at":ms,"entry":"id"}
};

// The award value record_action.lua stores, byte for byte.
std::string AwardJson(int64_t recorded_ms, const std::string& entry_id);

// Applies one entry: totals, streak (only count 1 makes a day active), then
// every rule not yet awarded (file rules, then the reward badges of the
// entry's campaigns).
void ApplyEntry(const StoredEntry& stored, const CityCalendar& calendar,
                const BadgeRuleSet& rules,
                const std::map<std::string, BadgeRule>& campaign_badges, AccountRewards* state);

struct RewardsRebuildReport {
  int64_t entries = 0;
  int64_t accounts = 0;
  int64_t badges = 0;
};

// Reads every shard's ledger, then per account replaces the bitmap, the
// streak and badges hashes and sets the recomputed totals fields, in one
// MULTI/EXEC pipeline per account (atomic for readers).
absl::StatusOr<RewardsRebuildReport> RebuildRewards(RedisClient* redis, const KeySpace& keys,
                                                    const CityCalendar& calendar,
                                                    const BadgeRuleSet& rules,
                                                    const std::vector<actions::CampaignRule>& campaigns);

}  // namespace ecoact::rewards
