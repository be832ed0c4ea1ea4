// The --badges_file flag, shared by every binary that records actions
// (actions, events), shows badges (rewards) or rebuilds them (ecoact_rebuild),
// so that they all apply the same rules.
#pragma once

#include "absl/status/statusor.h"
#include "services/rewards/badge_rules.h"

namespace ecoact::rewards {

// The rules of --badges_file, or the built-in ones; errors name the line.
absl::StatusOr<BadgeRuleSet> BadgeRulesFromFlags();

}  // namespace ecoact::rewards
