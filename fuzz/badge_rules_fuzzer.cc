// The badge-rule loader (--badges_file): any text goes through the textproto
// parser and the rule validation; accepted rules are then evaluated on
// extreme totals (the same sums the RecordAction script computes) and turned
// into the script's argument, which must parse back into the same rules.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>

#include "absl/strings/str_split.h"
#include "services/rewards/badge_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ecoact::rewards;
  absl::StatusOr<BadgeRuleSet> rules =
      BadgeRuleSet::Parse(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!rules.ok()) return 0;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::map<std::string, int64_t> totals;
  for (const BadgeRule& rule : rules->rules()) {
    if (rules->Find(rule.id) == nullptr) std::abort();
    for (const BadgeCondition& condition : rule.conditions) {
      for (const std::string& field : condition.fields) totals[field] = kMax;
    }
  }
  rules->Earned(totals, kMax);
  rules->Earned({}, 0);
  // "id=cond&cond;id2=..." : one entry per rule, each condition re-parses.
  const std::string argument = rules->LuaArgument();
  size_t index = 0;
  for (absl::string_view rule : absl::StrSplit(argument, ';', absl::SkipEmpty())) {
    if (index >= rules->rules().size()) std::abort();
    std::pair<absl::string_view, absl::string_view> id_conditions = absl::StrSplit(rule, '=');
    if (id_conditions.first != rules->rules()[index].id) std::abort();
    for (absl::string_view condition :
         absl::StrSplit(rule.substr(id_conditions.first.size() + 1), '&')) {
      if (!ParseCondition(condition).ok()) std::abort();
    }
    ++index;
  }
  if (index != rules->rules().size()) std::abort();
  return 0;
}
