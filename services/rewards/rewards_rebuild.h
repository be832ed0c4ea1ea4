// Recomputes badges and streaks from the ledger streams alone (DESIGN
// invariant 1): per account the all-time totals fields that badge rules
// read, the active-day bitmap, the streak hash and the badges hash, with
// the same arithmetic as record_action.lua, and the campaign fields of each
// shard's all-time aggregate. Run with the actions and events services
// stopped: an action recorded meanwhile may be overwritten.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/archive/archive_store.h"
#include "services/common/keys.h"
#include "services/common/ledger_format.h"
#include "services/common/periods.h"
#include "services/common/redis.h"
#include "services/rewards/badge_rules.h"
#include "services/rewards/campaign_definition.h"
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

// One shard's collective progress of one campaign: the `co2@c:`, `pts@c:`
// and `act@c:` fields of the shard's `agg:all`.
struct CampaignAggregate {
  int64_t co2 = 0;
  int64_t pts = 0;
  std::set<std::string> accounts;  // act: accounts with a matching entry
};

// Adds an entry to the aggregates of the campaigns it matched.
void AddToCampaignAggregates(const StoredEntry& stored,
                             std::map<std::string, CampaignAggregate>* sums);

// Replaces every campaign field of one shard's `agg:all` with `sums`
// (fields of campaigns without entries are removed), in one MULTI/EXEC.
absl::Status WriteCampaignAggregates(RedisClient* redis, const std::string& aggregate_key,
                                     const std::map<std::string, CampaignAggregate>& sums);

struct RewardsRebuildReport {
  int64_t entries = 0;
  int64_t accounts = 0;
  int64_t badges = 0;
  int64_t campaign_aggregates = 0;  // (shard, campaign) pairs written
};

// Reads every shard's ledger, then per account replaces the bitmap, the
// streak and badges hashes and sets the recomputed totals fields, in one
// MULTI/EXEC pipeline per account (atomic for readers); then replaces the
// campaign fields of the shard's `agg:all` (collective campaign progress).
// Not safe while actions are recorded: totals read earlier overwrite what a
// concurrent RecordAction added (ecoact_rebuild --rewards says so). With
// `archive`, each shard's archived entries are read first.
absl::StatusOr<RewardsRebuildReport> RebuildRewards(
    RedisClient* redis, const KeySpace& keys, const CityCalendar& calendar,
    const BadgeRuleSet& rules, const std::vector<CampaignDefinition>& campaigns,
    archive::ArchiveStore* archive = nullptr);

}  // namespace ecoact::rewards
