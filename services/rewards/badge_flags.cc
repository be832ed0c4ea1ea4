#include "services/rewards/badge_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, badges_file, "",
          "Badge rules textproto (schema ecoact.rewardsfile.v1.BadgesFile) "
          "(env ECOACT_BADGES_FILE); empty = the rules built into the binary");

namespace ecoact::rewards {

absl::StatusOr<BadgeRuleSet> BadgeRulesFromFlags() {
  return LoadBadgeRules(absl::GetFlag(FLAGS_badges_file));
}

}  // namespace ecoact::rewards
