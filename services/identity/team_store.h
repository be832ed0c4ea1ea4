// Storage of teams, organisations, join codes and memberships in Redis
// (docs/gamification.md). Groups, codes and member sets share the {org}
// slot; a citizen's membership lives in the account hash in the account's
// shard slot, changed by one script there, after which the member sets are
// brought in line with SADD/SREM (idempotent, so a retry heals a failure in
// between).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "services/identity/accounts.h"
#include "services/identity/teams.h"

namespace ecoact::identity {

enum class CreateGroupOutcome { kCreated, kReplayed, kCodeTaken };

struct CreateGroupResult {
  CreateGroupOutcome outcome = CreateGroupOutcome::kCreated;
  Group group;  // as stored; unset for kCodeTaken
};

enum class MembershipOp { kJoin, kLeaveTeam, kLeaveOrganisation };

struct MembershipChange {
  MembershipOp op = MembershipOp::kJoin;
  CodeTarget target;  // kJoin only
  std::string request_id;
  absl::Time now;
};

class TeamStore {
 public:
  virtual ~TeamStore() = default;
  // Creates `group` with its join_code. kCodeTaken: pick another code.
  // ALREADY_EXISTS: the id was created with another fingerprint; NOT_FOUND:
  // a team's organisation does not exist.
  virtual absl::StatusOr<CreateGroupResult> Create(const Group& group,
                                                   absl::string_view fingerprint) = 0;
  // Every group of `kind`, sorted by id; teams optionally of one organisation.
  virtual absl::StatusOr<std::vector<Group>> List(GroupKind kind,
                                                  absl::string_view organisation_id) = 0;
  virtual absl::StatusOr<bool> Exists(GroupKind kind, absl::string_view id) = 0;
  // What a normalised code stands for; nullopt for an unknown code.
  virtual absl::StatusOr<std::optional<CodeTarget>> ResolveCode(absl::string_view code) = 0;
  // Applies `change` to a citizen and returns the account as it is after.
  // A request id among the account's latest 16 membership requests is a
  // replay: the current profile, membership unchanged, member sets re-applied
  // from the history. NOT_FOUND unknown account; FAILED_PRECONDITION not a citizen, or leaving
  // what the citizen is not in; ALREADY_EXISTS request id reused for another
  // change.
  virtual absl::StatusOr<AccountRecord> ChangeMembership(absl::string_view account_id,
                                                         const MembershipChange& change) = 0;
  // Adds a new account to the member sets of its team and organisation.
  virtual absl::Status AddMember(const AccountRecord& account) = 0;
};

class RedisTeamStore : public TeamStore {
 public:
  RedisTeamStore(RedisClient* redis, KeySpace keys);
  absl::StatusOr<CreateGroupResult> Create(const Group& group,
                                           absl::string_view fingerprint) override;
  absl::StatusOr<std::vector<Group>> List(GroupKind kind,
                                          absl::string_view organisation_id) override;
  absl::StatusOr<bool> Exists(GroupKind kind, absl::string_view id) override;
  absl::StatusOr<std::optional<CodeTarget>> ResolveCode(absl::string_view code) override;
  absl::StatusOr<AccountRecord> ChangeMembership(absl::string_view account_id,
                                                 const MembershipChange& change) override;
  absl::Status AddMember(const AccountRecord& account) override;

 private:
  std::string GroupKey(GroupKind kind, absl::string_view id) const;
  std::string MembersKey(GroupKind kind, absl::string_view id) const;
  // SREM from the groups left, SADD to the groups joined, in one round trip.
  absl::Status SyncMemberSets(absl::string_view account_id, const CodeTarget& before,
                              const CodeTarget& after);

  RedisClient* redis_;
  KeySpace keys_;
};

}  // namespace ecoact::identity
