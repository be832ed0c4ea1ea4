// ecoact_rebuild: recomputes every leaderboard, and every account's badges
// and streak, from the ledger alone.
//   build/services/leaderboard/ecoact_rebuild --redis=127.0.0.1:6390
#include <cstdio>

#include "absl/time/clock.h"
#include "services/common/config.h"
#include "services/leaderboard/leaderboard_module.h"
#include "services/rewards/badge_flags.h"
#include "services/rewards/rewards_rebuild.h"

int main(int argc, char** argv) {
  ecoact::InitFlags(argc, argv,
                    "recomputes every leaderboard from the ledger streams, then exits");
  auto config = ecoact::CommonConfigFromFlags();
  if (!config.ok()) ecoact::ExitWithConfigError(config.status());
  auto options = ecoact::leaderboard::ProjectorOptionsFromFlags(*config);
  if (!options.ok()) ecoact::ExitWithConfigError(options.status());
  auto calendar = ecoact::CityCalendar::Create(config->time_zone, config->week_start);
  if (!calendar.ok()) ecoact::ExitWithConfigError(calendar.status());
  ecoact::RedisClient redis(config->redis);
  ecoact::KeySpace keys(config->key_prefix, config->ledger_shards);
  const absl::Time started = absl::Now();
  auto report = ecoact::leaderboard::RebuildBoards(&redis, keys, *calendar, options->boards,
                                                   absl::Now(), options->min_actions);
  if (!report.ok()) {
    std::fprintf(stderr, "rebuild failed: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  std::printf("rebuilt %lld boards (%lld group, %lld audit; %lld scores) from %lld ledger "
              "entries in %.3f s (%.0f entries/s); %lld accounts left off citizen boards; "
              "removed %lld stale boards\n",
              static_cast<long long>(report->boards),
              static_cast<long long>(report->group_boards),
              static_cast<long long>(report->audit_boards), static_cast<long long>(report->scores),
              static_cast<long long>(report->entries), seconds,
              seconds > 0 ? static_cast<double>(report->entries) / seconds : 0.0,
              static_cast<long long>(report->hidden_accounts),
              static_cast<long long>(report->stale_boards_removed));
  // Rewards: the same badge rules the actions service uses, campaigns as
  // currently defined.
  auto rules = ecoact::rewards::BadgeRulesFromFlags();
  if (!rules.ok()) ecoact::ExitWithConfigError(rules.status());
  ecoact::actions::RedisCampaignSource campaign_source(&redis, keys);
  auto campaigns = campaign_source.Load();
  absl::StatusOr<ecoact::rewards::RewardsRebuildReport> rewards = campaigns.status();
  if (campaigns.ok()) {
    rewards = ecoact::rewards::RebuildRewards(&redis, keys, *calendar, *rules, *campaigns);
  }
  if (!rewards.ok()) {
    std::fprintf(stderr, "rewards rebuild failed: %s\n",
                 std::string(rewards.status().message()).c_str());
    return 1;
  }
  std::printf("rebuilt badges and streaks of %lld accounts (%lld badges) from %lld entries\n",
              static_cast<long long>(rewards->accounts), static_cast<long long>(rewards->badges),
              static_cast<long long>(rewards->entries));
  return 0;
}
