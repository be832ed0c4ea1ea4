#pragma once

#include "services/common/assembly.h"

namespace ecoact::rewards {

// Adds ecoact.v1.RewardsService (badges, streaks, campaigns).
absl::Status AddRewardsService(Assembly& assembly);

}  // namespace ecoact::rewards
