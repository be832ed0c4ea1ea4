#pragma once

#include "absl/status/statusor.h"
#include "services/common/assembly.h"
#include "services/leaderboard/leaderboard_service.h"
#include "services/leaderboard/projector.h"

namespace ecoact::leaderboard {

// --projector_* flags, and --period_retention for the boards.
absl::StatusOr<ProjectorOptions> ProjectorOptionsFromFlags(const CommonConfig& common);

// --board_min_members.
absl::StatusOr<LeaderboardOptions> LeaderboardOptionsFromFlags();

// Adds ecoact.v1.LeaderboardService and, unless --projector=false, the
// projector that keeps the boards up to date.
absl::Status AddLeaderboardService(Assembly& assembly);

}  // namespace ecoact::leaderboard
