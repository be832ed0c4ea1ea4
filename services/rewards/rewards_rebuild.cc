#include "services/rewards/rewards_rebuild.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/archive/archiver.h"
#include "services/common/status_macros.h"

namespace ecoact::rewards {

std::string AwardJson(int64_t recorded_ms, const std::string& entry_id) {
  return absl::StrCat("{\"at\":", recorded_ms, ",\"entry\":\"", entry_id, "\"}");
}

void ApplyEntry(const StoredEntry& stored, const CityCalendar& calendar,
                const BadgeRuleSet& rules,
                const std::map<std::string, BadgeRule>& campaign_badges, AccountRewards* state) {
  const v1::LedgerEntry& e = stored.entry;
  const int64_t count = stored.count_delta;
  auto& t = state->totals;
  t["co2"] += e.co2e_grams();
  t["pts"] += e.points();
  t["n"] += count;
  t["co2:c:" + e.category()] += e.co2e_grams();
  t["pts:c:" + e.category()] += e.points();
  t["n:c:" + e.category()] += count;
  t["q:" + e.action_type()] += e.quantity_milli();
  t["n:t:" + e.action_type()] += count;
  if (!e.event_id().empty()) t["n@e"] += count;
  for (const std::string& c : e.campaign_ids()) {
    t["co2@c:" + c] += e.co2e_grams();
    t["pts@c:" + c] += e.points();
    t["n@c:" + c] += count;
  }
  if (count == 1) {
    const absl::Time occurred =
        absl::FromUnixMillis(google::protobuf::util::TimeUtil::TimestampToMilliseconds(e.occurred_at()));
    state->streak.Add(DayNumber(calendar.LocalDay(occurred)));
  }
  const int64_t recorded_ms =
      google::protobuf::util::TimeUtil::TimestampToMilliseconds(e.recorded_at());
  const int64_t best = state->streak.state().best;
  auto consider = [&](const BadgeRule& rule) {
    if (state->badges.count(rule.id) == 0 && Holds(rule, t, best)) {
      state->badges[rule.id] = AwardJson(recorded_ms, e.entry_id());
    }
  };
  for (const BadgeRule& rule : rules.rules()) consider(rule);
  for (const std::string& c : e.campaign_ids()) {
    auto it = campaign_badges.find(c);
    if (it != campaign_badges.end()) consider(it->second);
  }
}

void AddToCampaignAggregates(const StoredEntry& stored,
                             std::map<std::string, CampaignAggregate>* sums) {
  for (const std::string& c : stored.entry.campaign_ids()) {
    CampaignAggregate& sum = (*sums)[c];
    sum.co2 += stored.entry.co2e_grams();
    sum.pts += stored.entry.points();
    sum.accounts.insert(stored.account_id);
  }
}

namespace {

bool IsCampaignAggregateField(absl::string_view field) {
  return absl::StartsWith(field, "co2@c:") || absl::StartsWith(field, "pts@c:") ||
         absl::StartsWith(field, "act@c:");
}

}  // namespace

absl::Status WriteCampaignAggregates(RedisClient* redis, const std::string& aggregate_key,
                                     const std::map<std::string, CampaignAggregate>& sums) {
  // Writers are stopped (see the header), so the fields read here are still
  // the fields when the transaction runs.
  ASSIGN_OR_RETURN(RedisValue fields, redis->Command({"HKEYS", aggregate_key}));
  std::vector<std::vector<std::string>> commands = {{"MULTI"}};
  std::vector<std::string> stale = {"HDEL", aggregate_key};
  for (const RedisValue& field : fields.elements) {
    if (IsCampaignAggregateField(field.str)) stale.push_back(field.str);
  }
  if (stale.size() > 2) commands.push_back(std::move(stale));
  if (!sums.empty()) {
    std::vector<std::string> hset = {"HSET", aggregate_key};
    for (const auto& [campaign, sum] : sums) {
      for (const auto& [prefix, value] :
           {std::pair<const char*, int64_t>{"co2@c:", sum.co2}, {"pts@c:", sum.pts},
            {"act@c:", static_cast<int64_t>(sum.accounts.size())}}) {
        hset.push_back(absl::StrCat(prefix, campaign));
        hset.push_back(absl::StrCat(value));
      }
    }
    commands.push_back(std::move(hset));
  }
  commands.push_back({"EXEC"});
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis->Pipeline(commands));
  for (const RedisValue& reply : replies) {
    if (reply.IsError()) return RedisErrorToStatus("redis campaign aggregates", reply.str);
  }
  for (const RedisValue& reply : replies.back().elements) {
    if (reply.IsError()) return RedisErrorToStatus("redis campaign aggregates", reply.str);
  }
  return absl::OkStatus();
}

absl::StatusOr<RewardsRebuildReport> RebuildRewards(
    RedisClient* redis, const KeySpace& keys, const CityCalendar& calendar,
    const BadgeRuleSet& rules, const std::vector<CampaignDefinition>& campaigns,
    archive::ArchiveStore* archive) {
  // Shards are rewritten one by one: refuse before the first when a trimmed
  // stream lacks its archive.
  RETURN_IF_ERROR(archive::CheckLedgerComplete(redis, archive, keys));
  std::map<std::string, BadgeRule> campaign_badges;
  for (const CampaignDefinition& c : campaigns) {
    if (c.individual_target > 0) campaign_badges[c.id] = CampaignBadge(c);
  }
  RewardsRebuildReport report;
  for (int shard = 0; shard < keys.shards(); ++shard) {
    // An account's entries are all in its shard, in the order the script ran.
    std::map<std::string, AccountRewards> accounts;
    std::map<std::string, CampaignAggregate> campaign_sums;
    RETURN_IF_ERROR(archive::ForEachLedgerEntryWithArchive(redis, archive, keys, shard,
                                                           [&](const StoredEntry& stored) {
      ++report.entries;
      ApplyEntry(stored, calendar, rules, campaign_badges, &accounts[stored.account_id]);
      AddToCampaignAggregates(stored, &campaign_sums);
      return absl::OkStatus();
    }));
    for (const auto& [account, state] : accounts) {
      std::vector<std::vector<std::string>> commands = {
          {"MULTI"},
          {"DEL", keys.ActiveDays(account), keys.Streak(account), keys.Badges(account)}};
      for (int64_t day : state.streak.days()) {
        commands.push_back({"SETBIT", keys.ActiveDays(account), absl::StrCat(day), "1"});
      }
      const StreakState& s = state.streak.state();
      if (s.last >= 0) {
        commands.push_back({"HSET", keys.Streak(account), "last", absl::StrCat(s.last), "cur",
                            absl::StrCat(s.cur), "best", absl::StrCat(s.best)});
      }
      if (!state.badges.empty()) {
        std::vector<std::string> hset = {"HSET", keys.Badges(account)};
        for (const auto& [id, award] : state.badges) {
          hset.push_back(id);
          hset.push_back(award);
        }
        commands.push_back(std::move(hset));
      }
      std::vector<std::string> totals = {"HSET", keys.Totals(account, "all")};
      for (const auto& [field, value] : state.totals) {
        totals.push_back(field);
        totals.push_back(absl::StrCat(value));
      }
      commands.push_back(std::move(totals));
      commands.push_back({"EXEC"});
      ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis->Pipeline(commands));
      for (const RedisValue& reply : replies) {
        if (reply.IsError()) return RedisErrorToStatus("redis rewards rebuild", reply.str);
      }
      const RedisValue& exec = replies.back();
      for (const RedisValue& reply : exec.elements) {
        if (reply.IsError()) return RedisErrorToStatus("redis rewards rebuild", reply.str);
      }
      ++report.accounts;
      report.badges += static_cast<int64_t>(state.badges.size());
    }
    RETURN_IF_ERROR(WriteCampaignAggregates(redis, keys.Aggregate(shard, "all"), campaign_sums));
    report.campaign_aggregates += static_cast<int64_t>(campaign_sums.size());
  }
  return report;
}

}  // namespace ecoact::rewards
