#include "services/leaderboard/leaderboard_module.h"

#include <unistd.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"
#include "services/identity/accounts.h"
#include "services/identity/identity_flags.h"
#include "services/leaderboard/leaderboard_service.h"

ABSL_FLAG(bool, projector, true, "Run the leaderboard projector in this process");
ABSL_FLAG(std::string, projector_consumer, "",
          "Consumer name in the ledger consumer group; stable across restarts of the same "
          "replica. Empty: the host name");
ABSL_FLAG(int, projector_batch, 1000, "Ledger entries read per projector round trip");
ABSL_FLAG(int64_t, board_min_actions, 1,
          "Fewest all-time actions before a citizen appears on public citizen boards "
          "(1: after the first action). Group totals count everyone");
ABSL_FLAG(int, board_min_members, 5,
          "A ward, team or organisation citizen board with fewer ranked members shows its "
          "total only, so no one in a small group is singled out");
ABSL_FLAG(absl::Duration, projector_linger, absl::Milliseconds(25),
          "After a cycle that caught up with the ledger, the projector waits this long "
          "before reading again, so that entries arriving meanwhile are applied together: "
          "fewer round trips and less CPU per action, at most this much added board lag "
          "(0 applies every entry as soon as it arrives)");
ABSL_FLAG(absl::Duration, board_cache_ttl, absl::Milliseconds(250),
          "How long a board's first page (the top) and a member's nickname are served from "
          "memory before Redis is read again (0 reads Redis on every call): a crowd reading "
          "the same page costs one read per interval, and a board shows changes at most this "
          "much later");
ABSL_FLAG(int, projector_resync_batch, 100,
          "Accounts whose board entries are re-derived per projector round trip (after a "
          "hidden/test change or on reaching --board_min_actions)");

ABSL_FLAG(int, board_partitions, 1,
          "Parts of each city-wide citizen board, each its own key and Redis Cluster slot "
          "(1: one key per board). Read by merging the parts. Server, projector and "
          "ecoact_rebuild must agree; after a change run ecoact_rebuild, which rewrites the "
          "boards in the new layout (docs/operations.md, Sizing)");

namespace ecoact::leaderboard {

absl::StatusOr<ProjectorOptions> ProjectorOptionsFromFlags(const CommonConfig& common) {
  ProjectorOptions options;
  options.consumer = absl::GetFlag(FLAGS_projector_consumer);
  if (options.consumer.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    options.consumer = host[0] ? host : "projector";
  }
  options.batch = absl::GetFlag(FLAGS_projector_batch);
  if (options.batch < 1 || options.batch > 100000) {
    return absl::InvalidArgumentError("--projector_batch must be in [1, 100000]");
  }
  options.boards.retention = common.period_retention;
  options.boards.partitions = absl::GetFlag(FLAGS_board_partitions);
  if (options.boards.partitions < 1 || options.boards.partitions > kMaxBoardPartitions) {
    return absl::InvalidArgumentError(
        absl::StrCat("--board_partitions must be in [1, ", kMaxBoardPartitions, "]"));
  }
  options.min_actions = absl::GetFlag(FLAGS_board_min_actions);
  if (options.min_actions < 0 || options.min_actions > 1000000) {
    return absl::InvalidArgumentError("--board_min_actions must be in [0, 1000000]");
  }
  options.linger = absl::GetFlag(FLAGS_projector_linger);
  if (options.linger < absl::ZeroDuration() || options.linger > absl::Seconds(5)) {
    return absl::InvalidArgumentError("--projector_linger must be in [0s, 5s]");
  }
  options.resync_batch = absl::GetFlag(FLAGS_projector_resync_batch);
  if (options.resync_batch < 1 || options.resync_batch > 10000) {
    return absl::InvalidArgumentError("--projector_resync_batch must be in [1, 10000]");
  }
  return options;
}

absl::StatusOr<LeaderboardOptions> LeaderboardOptionsFromFlags() {
  LeaderboardOptions options;
  options.min_members = absl::GetFlag(FLAGS_board_min_members);
  if (options.min_members < 0 || options.min_members > 1000000) {
    return absl::InvalidArgumentError("--board_min_members must be in [0, 1000000]");
  }
  return options;
}

absl::Status AddLeaderboardService(Assembly& assembly) {
  ASSIGN_OR_RETURN(ProjectorOptions options, ProjectorOptionsFromFlags(*assembly.config));
  // A blocking read must return before the Redis command timeout.
  options.block = std::min(absl::Milliseconds(500), assembly.config->redis.command_timeout / 2);
  BoardCacheOptions cache;
  cache.ttl = absl::GetFlag(FLAGS_board_cache_ttl);
  if (cache.ttl < absl::ZeroDuration() || cache.ttl > absl::Seconds(60)) {
    return absl::InvalidArgumentError("--board_cache_ttl must be in [0s, 60s]");
  }
  auto* boards = assembly.Keep(std::make_unique<BoardStore>(assembly.redis, *assembly.keys,
                                                            cache, options.boards.partitions));
  ASSIGN_OR_RETURN(LeaderboardOptions service_options, LeaderboardOptionsFromFlags());
  // Ward race boards show the wards' display names ("中原区"), from the same
  // --wards list identity offers at sign-up.
  ASSIGN_OR_RETURN(identity::IdentityConfig identity_config, identity::IdentityConfigFromFlags());
  ASSIGN_OR_RETURN(identity::WardDirectory wards,
                   identity::WardDirectory::Parse(identity_config.wards));
  for (const auto& ward : wards.wards()) service_options.ward_names[ward.id] = ward.name;
  auto* service = assembly.Keep(std::make_unique<LeaderboardServiceImpl>(
      boards, assembly.redis, assembly.keys, assembly.calendar, assembly.auth, service_options));
  assembly.server->AddService(service, "ecoact.v1.LeaderboardService");
  if (absl::GetFlag(FLAGS_projector)) {
    // XREADGROUP ... BLOCK waits inside Redis on purpose: on the shared
    // pipelined connection every call's reply would queue behind it, and the
    // projector's batches of scripts would delay them too. The projector
    // gets a blocking connection of its own (its one thread needs one).
    RedisOptions projector_redis = assembly.config->redis;
    projector_redis.mode = RedisMode::kPool;
    projector_redis.pool_size = 1;
    auto* redis = assembly.Keep(std::make_unique<RedisClient>(projector_redis));
    auto* projector = assembly.Keep(
        std::make_unique<Projector>(redis, assembly.keys, assembly.calendar, options));
    assembly.server->AddWorker(projector);
  }
  return absl::OkStatus();
}

}  // namespace ecoact::leaderboard
