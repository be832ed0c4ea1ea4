// ecoact_rebuild: recomputes every leaderboard from the ledger alone, and
// with --rewards every account's badges and streak and the collective
// campaign progress.
//   build/services/leaderboard/ecoact_rebuild --redis=127.0.0.1:6390
//   build/services/leaderboard/ecoact_rebuild --redis=127.0.0.1:6390 --rewards
//   build/services/leaderboard/ecoact_rebuild --redis=127.0.0.1:6390 --reports
// With --archive_dir, each shard's archived entries (ecoact_archive) are read
// before what is left of its stream, so boards, rewards and reports come out
// the same after archiving as before. Without it, once a stream has been
// trimmed, the rebuild refuses (exit code 3) and changes nothing.
// Boards are safe to rebuild while the services run; rewards are not (they
// overwrite all-time totals with figures read earlier), so they must be
// asked for, with the actions and events services stopped.
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "services/actions/campaigns.h"
#include "services/archive/archive_flags.h"
#include "services/common/config.h"
#include "services/leaderboard/leaderboard_module.h"
#include "services/reports/report_projector.h"
#include "services/rewards/badge_flags.h"
#include "services/rewards/rewards_rebuild.h"

ABSL_FLAG(bool, rewards, false,
          "Also rebuild badges, streaks and campaign progress (all-time totals and the "
          "campaign fields of the shard aggregates). NOT safe while actions are recorded: stop "
          "the actions and events services first (boards alone are safe to rebuild live)");

ABSL_FLAG(bool, reports, false,
          "Also rebuild the impact report figures (services/reports) from the ledger. Safe "
          "while the services run: a running reports projector pauses and then goes on "
          "after the last entry the rebuild counted");

int main(int argc, char** argv) {
  ecoact::InitFlags(argc, argv,
                    "recomputes every leaderboard from the ledger streams, then exits; with "
                    "--rewards (actions and events services stopped) also badges, streaks and "
                    "campaign progress");
  auto config = ecoact::CommonConfigFromFlags();
  if (!config.ok()) ecoact::ExitWithConfigError(config.status());
  auto options = ecoact::leaderboard::ProjectorOptionsFromFlags(*config);
  if (!options.ok()) ecoact::ExitWithConfigError(options.status());
  auto calendar = ecoact::CityCalendar::Create(config->time_zone, config->week_start);
  if (!calendar.ok()) ecoact::ExitWithConfigError(calendar.status());
  auto archive_config = ecoact::archive::ArchiveConfigFromFlags();
  if (!archive_config.ok()) ecoact::ExitWithConfigError(archive_config.status());
  auto archive = ecoact::archive::OpenArchive(*archive_config);
  if (!archive.ok()) ecoact::ExitWithConfigError(archive.status());
  ecoact::RedisClient redis(config->redis);
  ecoact::KeySpace keys(config->key_prefix, config->ledger_shards);
  // Before anything is rewritten: once ecoact_archive has trimmed a stream,
  // the streams alone (or a wrong --archive_dir) would give partial numbers.
  if (absl::Status complete =
          ecoact::archive::CheckLedgerComplete(&redis, archive->get(), keys);
      !complete.ok()) {
    std::fprintf(stderr, "rebuild refused, nothing changed: %s\n",
                 std::string(complete.message()).c_str());
    return complete.code() == absl::StatusCode::kFailedPrecondition ? 3 : 1;
  }
  const absl::Time started = absl::Now();
  auto report = ecoact::leaderboard::RebuildBoards(&redis, keys, *calendar, options->boards,
                                                   absl::Now(), options->min_actions,
                                                   archive->get());
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
  if (absl::GetFlag(FLAGS_reports)) {
    const absl::Time reports_started = absl::Now();
    ecoact::reports::RebuildOptions reports_options;
    reports_options.archive = archive->get();
    auto reports = ecoact::reports::RebuildReports(&redis, keys, *calendar, reports_options);
    if (!reports.ok()) {
      std::fprintf(stderr, "reports rebuild failed: %s\n",
                   std::string(reports.status().message()).c_str());
      return 1;
    }
    std::printf("rebuilt impact reports from %lld ledger entries in %.3f s (%lld old report "
                "keys removed)\n",
                static_cast<long long>(reports->entries),
                absl::ToDoubleSeconds(absl::Now() - reports_started),
                static_cast<long long>(reports->keys_removed));
  }
  if (!absl::GetFlag(FLAGS_rewards)) {
    std::printf("badges, streaks and campaign progress not rebuilt: pass --rewards, after "
                "stopping the actions and events services (a rewards rebuild overwrites what "
                "actions recorded meanwhile add)\n");
    return 0;
  }
  std::printf("rebuilding badges, streaks and campaign progress: the actions and events "
              "services must be stopped (an action recorded meanwhile would be lost from the "
              "totals)\n");
  // Rewards: the same badge rules the actions service uses, campaigns as
  // currently defined.
  auto rules = ecoact::rewards::BadgeRulesFromFlags();
  if (!rules.ok()) ecoact::ExitWithConfigError(rules.status());
  ecoact::actions::RedisCampaignSource campaign_source(&redis, keys);
  auto campaigns = campaign_source.Load();
  if (!campaigns.ok()) {
    std::fprintf(stderr, "rewards rebuild failed: %s\n",
                 std::string(campaigns.status().message()).c_str());
    return 1;
  }
  // (Not a StatusOr built from campaigns.status(): an OK status is not a
  // valid StatusOr and aborted every --rewards run.)
  auto rewards = ecoact::rewards::RebuildRewards(&redis, keys, *calendar, *rules, *campaigns,
                                                 archive->get());
  if (!rewards.ok()) {
    std::fprintf(stderr, "rewards rebuild failed: %s\n",
                 std::string(rewards.status().message()).c_str());
    return 1;
  }
  std::printf("rebuilt badges and streaks of %lld accounts (%lld badges) and %lld shard "
              "campaign aggregates from %lld entries\n",
              static_cast<long long>(rewards->accounts), static_cast<long long>(rewards->badges),
              static_cast<long long>(rewards->campaign_aggregates),
              static_cast<long long>(rewards->entries));
  return 0;
}
