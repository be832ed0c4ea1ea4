// Badge rules (docs/gamification.md): loaded from the badges textproto,
// passed to the RecordAction script as one argument, and evaluated in C++ by
// the rebuild. Pure domain code: no gRPC, no Redis.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ecoact::rewards {

// "<field>[+<field>...]>=<threshold>": the sum of the fields is at least the
// threshold. A missing field counts as 0.
struct BadgeCondition {
  std::vector<std::string> fields;
  int64_t threshold = 0;
};

struct BadgeRule {
  std::string id;
  std::string title_ja;
  std::string title_en;
  std::string description_ja;
  std::string description_en;
  std::vector<BadgeCondition> conditions;  // all must hold
};

// The pseudo-field naming the longest streak, not a totals field.
inline constexpr char kStreakBestField[] = "streak_best";

// INVALID_ARGUMENT unless `text` is a condition over known field forms with
// a threshold > 0.
absl::StatusOr<BadgeCondition> ParseCondition(absl::string_view text);

// True when every condition holds on `totals` (all-time totals fields) and
// `streak_best`. The same arithmetic as record_action.lua.
bool Holds(const BadgeRule& rule, const std::map<std::string, int64_t>& totals,
           int64_t streak_best);

// "id=f>=n&f+g>=n;id2=..." for ARGV of record_action.lua.
std::string RuleArgument(const std::vector<BadgeRule>& rules);

// Reward badges of campaigns are "campaign:<id>" (CampaignBadge in
// campaign_definition.h).
inline constexpr char kCampaignBadgePrefix[] = "campaign:";

class BadgeRuleSet {
 public:
  // Parses and validates the badges textproto; errors name the line.
  static absl::StatusOr<BadgeRuleSet> Parse(absl::string_view textproto);

  const std::vector<BadgeRule>& rules() const { return rules_; }
  const BadgeRule* Find(absl::string_view id) const;
  std::string LuaArgument() const { return RuleArgument(rules_); }
  // Ids of every rule that holds (awarded or not), in file order.
  std::vector<std::string> Earned(const std::map<std::string, int64_t>& totals,
                                  int64_t streak_best) const;

 private:
  std::vector<BadgeRule> rules_;
};

// One award as the RecordAction script stores it in an account's badges
// hash: badge id -> {"at": recorded ms, "entry": ledger entry id}.
struct StoredAward {
  std::string badge_id;
  int64_t at_ms = 0;
  std::string entry_id;
};

// The awards of a badges hash (HGETALL's field, value, ... list), oldest
// first; INTERNAL for a value the script did not write.
absl::StatusOr<std::vector<StoredAward>> DecodeAwards(
    const std::vector<std::string>& fields_and_values);

// The rules compiled into the binaries.
absl::string_view EmbeddedBadgesText();

// Rules from `path`, or the embedded ones when `path` is empty; errors name
// the file and the line.
absl::StatusOr<BadgeRuleSet> LoadBadgeRules(const std::string& path);

}  // namespace ecoact::rewards
