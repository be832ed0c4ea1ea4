#include "services/rewards/badge_rules.h"

#include <algorithm>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ecoact/rewardsfile/v1/badges_file.pb.h"
#include "nlohmann/json.hpp"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "rewards_data.h"
#include "services/common/status_macros.h"
#include "services/common/textproto.h"

namespace ecoact::rewards {
namespace {

namespace file = ::ecoact::rewardsfile::v1;


bool IsIdChar(char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
}

bool IsBadgeId(absl::string_view id) {
  if (id.size() < 2 || id.size() > 40 || !absl::ascii_islower(id[0])) return false;
  for (char c : id) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

// The characters the rule argument uses as separators may not appear in a
// name: ids are [A-Za-z0-9_.-].
bool IsName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

bool IsKnownField(absl::string_view f) {
  if (f == "co2" || f == "pts" || f == "n" || f == "n@e" || f == kStreakBestField) return true;
  for (absl::string_view prefix : {"co2:c:", "pts:c:", "n:c:", "q:", "n:t:", "co2@c:", "pts@c:",
                                   "n@c:"}) {
    if (absl::StartsWith(f, prefix)) return IsName(f.substr(prefix.size()));
  }
  return false;
}

int64_t Value(const std::map<std::string, int64_t>& totals, const std::string& field,
              int64_t streak_best) {
  if (field == kStreakBestField) return streak_best;
  auto it = totals.find(field);
  return it == totals.end() ? 0 : it->second;
}

std::string ConditionText(const BadgeCondition& c) {
  return absl::StrCat(absl::StrJoin(c.fields, "+"), ">=", c.threshold);
}

}  // namespace

absl::StatusOr<BadgeCondition> ParseCondition(absl::string_view text) {
  std::vector<absl::string_view> sides = absl::StrSplit(text, absl::MaxSplits(">=", 1));
  if (sides.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("condition '", text, "' is not of the form <field>[+<field>...]>=<n>"));
  }
  BadgeCondition condition;
  if (!absl::SimpleAtoi(sides[1], &condition.threshold) || condition.threshold <= 0 ||
      !absl::ascii_isdigit(sides[1].empty() ? 'x' : sides[1][0])) {
    return absl::InvalidArgumentError(
        absl::StrCat("condition '", text, "': the threshold must be a whole number > 0"));
  }
  for (absl::string_view field : absl::StrSplit(sides[0], '+')) {
    if (!IsKnownField(field)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "condition '", text, "': unknown field '", field,
          "' (co2, pts, n, n@e, streak_best, co2:c:/pts:c:/n:c:<category>, q:/n:t:<type>, "
          "co2@c:/pts@c:/n@c:<campaign>)"));
    }
    if (field == kStreakBestField && sides[0] != kStreakBestField) {
      return absl::InvalidArgumentError(
          absl::StrCat("condition '", text, "': streak_best cannot be summed with totals"));
    }
    condition.fields.emplace_back(field);
  }
  return condition;
}

bool Holds(const BadgeRule& rule, const std::map<std::string, int64_t>& totals,
           int64_t streak_best) {
  for (const BadgeCondition& c : rule.conditions) {
    // 128 bits: a sum of int64 totals cannot overflow it (found by
    // fuzz/badge_rules_fuzzer with totals near 2^63).
    __int128 sum = 0;
    for (const std::string& f : c.fields) sum += Value(totals, f, streak_best);
    if (sum < c.threshold) return false;
  }
  return !rule.conditions.empty();
}

std::string RuleArgument(const std::vector<BadgeRule>& rules) {
  std::vector<std::string> parts;
  for (const BadgeRule& rule : rules) {
    std::vector<std::string> conditions;
    for (const BadgeCondition& c : rule.conditions) conditions.push_back(ConditionText(c));
    parts.push_back(absl::StrCat(rule.id, "=", absl::StrJoin(conditions, "&")));
  }
  return absl::StrJoin(parts, ";");
}

absl::StatusOr<BadgeRuleSet> BadgeRuleSet::Parse(absl::string_view textproto) {
  file::BadgesFile parsed;
  google::protobuf::TextFormat::Parser parser;
  google::protobuf::TextFormat::ParseInfoTree tree;
  parser.WriteLocationsTo(&tree);
  RETURN_IF_ERROR(ParseTextproto("badges", textproto, parser, &parsed));
  const auto* badges_field = file::BadgesFile::descriptor()->FindFieldByName("badges");
  const auto* conditions_field = file::BadgeDef::descriptor()->FindFieldByName("conditions");
  BadgeRuleSet set;
  std::set<std::string> seen;
  for (int i = 0; i < parsed.badges_size(); ++i) {
    const file::BadgeDef& def = parsed.badges(i);
    const int line = tree.GetLocation(badges_field, i).line + 1;
    auto error = [&](int at, const std::string& message) {
      return absl::InvalidArgumentError(
          absl::StrCat("badges line ", at, ": badge '", def.id(), "': ", message));
    };
    if (!IsBadgeId(def.id())) {
      return error(line, "id must match [a-z][a-z0-9_]{1,39}");
    }
    if (!seen.insert(def.id()).second) return error(line, "duplicate id");
    if (def.title_ja().empty() || def.title_en().empty() || def.description_en().empty()) {
      return error(line, "title_ja, title_en and description_en are required");
    }
    if (def.conditions().empty()) return error(line, "at least one condition is required");
    BadgeRule rule{def.id(), def.title_ja(), def.title_en(), def.description_ja(),
                   def.description_en(), {}};
    google::protobuf::TextFormat::ParseInfoTree* sub = tree.GetTreeForNested(badges_field, i);
    for (int j = 0; j < def.conditions_size(); ++j) {
      absl::StatusOr<BadgeCondition> condition = ParseCondition(def.conditions(j));
      if (!condition.ok()) {
        int at = sub ? sub->GetLocation(conditions_field, j).line + 1 : line;
        return error(at, std::string(condition.status().message()));
      }
      rule.conditions.push_back(*std::move(condition));
    }
    set.rules_.push_back(std::move(rule));
  }
  return set;
}

const BadgeRule* BadgeRuleSet::Find(absl::string_view id) const {
  for (const BadgeRule& rule : rules_) {
    if (rule.id == id) return &rule;
  }
  return nullptr;
}

std::vector<std::string> BadgeRuleSet::Earned(const std::map<std::string, int64_t>& totals,
                                              int64_t streak_best) const {
  std::vector<std::string> out;
  for (const BadgeRule& rule : rules_) {
    if (Holds(rule, totals, streak_best)) out.push_back(rule.id);
  }
  return out;
}

absl::string_view EmbeddedBadgesText() { return embedded::kBadgesTextproto; }

absl::StatusOr<BadgeRuleSet> LoadBadgeRules(const std::string& path) {
  if (path.empty()) {
    auto rules = BadgeRuleSet::Parse(EmbeddedBadgesText());
    if (!rules.ok()) {
      return absl::Status(rules.status().code(),
                          absl::StrCat("built-in badge rules: ", rules.status().message()));
    }
    return rules;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int error = errno;
    std::string message =
        absl::StrCat("cannot read badges file '", path, "': ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::FailedPreconditionError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto rules = BadgeRuleSet::Parse(text.str());
  if (!rules.ok()) {
    return absl::Status(rules.status().code(),
                        absl::StrCat("badges file '", path, "': ", rules.status().message()));
  }
  return rules;
}

absl::StatusOr<std::vector<StoredAward>> DecodeAwards(
    const std::vector<std::string>& fields_and_values) {
  std::vector<StoredAward> awards;
  for (size_t i = 0; i + 1 < fields_and_values.size(); i += 2) {
    nlohmann::json j = nlohmann::json::parse(fields_and_values[i + 1], nullptr, false);
    if (!j.is_object()) return absl::InternalError("stored badge award is not JSON");
    awards.push_back({fields_and_values[i], j.value("at", int64_t{0}), j.value("entry", "")});
  }
  std::sort(awards.begin(), awards.end(), [](const StoredAward& a, const StoredAward& b) {
    return a.at_ms != b.at_ms ? a.at_ms < b.at_ms : a.entry_id < b.entry_id;
  });
  return awards;
}

}  // namespace ecoact::rewards
