#include "services/identity/teams.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/validation.h"

namespace ecoact::identity {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

}  // namespace

std::string JoinCodeFromBytes(absl::string_view random) {
  std::string code;
  uint64_t bits = 0;
  for (size_t i = 0; i < 5 && i < random.size(); ++i) {
    bits = (bits << 8) | static_cast<unsigned char>(random[i]);
  }
  for (size_t i = 0; i < kJoinCodeLength; ++i) {
    code.push_back(kCrockford[(bits >> (5 * (kJoinCodeLength - 1 - i))) & 31]);
  }
  return code;
}

absl::StatusOr<std::string> NormaliseJoinCode(absl::string_view typed) {
  if (typed.size() > kMaxTypedJoinCode) {
    return absl::InvalidArgumentError(absl::StrCat(
        "join_code must be at most ", kMaxTypedJoinCode, " characters as typed, got ",
        typed.size()));
  }
  std::string code;
  for (char c : typed) {
    if (c == ' ' || c == '-') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == 'I' || c == 'L') c = '1';
    if (c == 'O') c = '0';
    if (std::string_view(kCrockford).find(c) == std::string_view::npos) {
      return absl::InvalidArgumentError(
          "join_code may contain only digits and letters other than U (spaces and hyphens are "
          "ignored)");
    }
    code.push_back(c);
  }
  if (code.size() != kJoinCodeLength) {
    return absl::InvalidArgumentError(absl::StrCat("join_code must have ", kJoinCodeLength,
                                                   " characters, not counting spaces and hyphens"));
  }
  return code;
}

std::vector<Membership> ParseMembershipHistory(absl::string_view json) {
  std::vector<Membership> history;
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) return history;
  for (const nlohmann::json& element : parsed) {
    if (!element.is_array() || element.size() != 3 || !element[0].is_number() ||
        !element[1].is_string() || !element[2].is_string()) {
      continue;
    }
    history.push_back({absl::FromUnixMillis(element[0].get<int64_t>()),
                       element[1].get<std::string>(), element[2].get<std::string>()});
  }
  return history;
}

std::string MembershipHistoryJson(const std::vector<Membership>& history) {
  nlohmann::json out = nlohmann::json::array();
  for (const Membership& m : history) {
    out.push_back({absl::ToUnixMillis(m.since), m.team_id, m.organisation_id});
  }
  return out.dump();
}

absl::Status ValidateGroup(GroupKind kind, absl::string_view id, absl::string_view name,
                           std::string* normalised_name) {
  absl::Status valid =
      ValidateSlug(kind == GroupKind::kTeam ? "team_id" : "organisation_id", id, 2, 32);
  if (!valid.ok()) return valid;
  return ValidateDisplayText("name", name, 60, normalised_name);
}

}  // namespace ecoact::identity
