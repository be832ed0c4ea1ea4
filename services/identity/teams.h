// Teams, organisations and join codes (docs/gamification.md), without gRPC
// or Redis: what a valid code is, how one is made, and how the dated
// membership history stored in the account hash (`mh`) reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ecoact::identity {

inline constexpr size_t kJoinCodeLength = 8;
// A typed code may carry spaces and hyphens; anything longer than this is
// not a code, whatever it contains.
inline constexpr size_t kMaxTypedJoinCode = 32;
// The history keeps this many latest membership changes (also in
// set_membership.lua).
inline constexpr size_t kMaxMembershipHistory = 64;

// A join code from `random` bytes (at least 5): 8 characters of Crockford
// base32, upper case, e.g. "7K3M9Q4X".
std::string JoinCodeFromBytes(absl::string_view random);

// The canonical form of a code as typed: upper case, spaces and hyphens
// dropped, and the letters Crockford reads as digits (I, L -> 1; O -> 0)
// mapped. INVALID_ARGUMENT if it is not 8 characters of the alphabet.
absl::StatusOr<std::string> NormaliseJoinCode(absl::string_view typed);

enum class GroupKind { kTeam, kOrganisation };

// A team or an organisation, as stored.
struct Group {
  GroupKind kind = GroupKind::kTeam;
  std::string id;
  std::string name;
  std::string organisation_id;  // teams only; empty for none
  std::string join_code;
  int64_t member_count = 0;
  absl::Time created_at;
};

// What a join code stands for: the team and its organisation, or an
// organisation alone (team empty).
struct CodeTarget {
  std::string team_id;
  std::string organisation_id;
};

struct Membership {
  absl::Time since;
  std::string team_id;
  std::string organisation_id;
};

// Parses `mh` ([[from_ms, team, org], ...]); malformed elements are skipped,
// so a damaged history never makes a profile unreadable.
std::vector<Membership> ParseMembershipHistory(absl::string_view json);

// The stored form of a history: [[from_ms, team, org], ...].
std::string MembershipHistoryJson(const std::vector<Membership>& history);

// Validates an admin's request to create a team or organisation; the
// trimmed name goes to `normalised_name`.
absl::Status ValidateGroup(GroupKind kind, absl::string_view id, absl::string_view name,
                           std::string* normalised_name);

}  // namespace ecoact::identity
