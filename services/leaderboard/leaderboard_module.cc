#include "services/leaderboard/leaderboard_module.h"

#include <unistd.h>

#include "absl/flags/flag.h"
#include "services/common/status_macros.h"
#include "services/leaderboard/leaderboard_service.h"

ABSL_FLAG(bool, projector, true, "Run the leaderboard projector in this process");
ABSL_FLAG(std::string, projector_consumer, "",
          "Consumer name in the ledger consumer group; stable across restarts of the same "
          "replica. Empty: the host name");
ABSL_FLAG(int, projector_batch, 1000, "Ledger entries read per projector round trip");

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
  return options;
}

absl::Status AddLeaderboardService(Assembly& assembly) {
  ASSIGN_OR_RETURN(ProjectorOptions options, ProjectorOptionsFromFlags(*assembly.config));
  // A blocking read must return before the Redis command timeout.
  options.block = std::min(absl::Milliseconds(500), assembly.config->redis.command_timeout / 2);
  auto* boards = assembly.Keep(std::make_unique<BoardStore>(assembly.redis, *assembly.keys));
  auto* service = assembly.Keep(std::make_unique<LeaderboardServiceImpl>(
      boards, assembly.redis, assembly.keys, assembly.calendar, assembly.auth));
  assembly.server->AddService(service, "ecoact.v1.LeaderboardService");
  if (absl::GetFlag(FLAGS_projector)) {
    auto* projector = assembly.Keep(std::make_unique<Projector>(
        assembly.redis, assembly.keys, assembly.calendar, options));
    assembly.server->AddWorker(projector);
  }
  return absl::OkStatus();
}

}  // namespace ecoact::leaderboard
