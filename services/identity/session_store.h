// Sign-in state in Redis (docs/keys.md): refresh token families next to each
// account, and the links from OpenID Connect identities to accounts.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ecoact/v1/common.pb.h"
#include "services/common/keys.h"
#include "services/common/redis.h"

namespace ecoact::identity {

enum class RotateOutcome { kRotated, kReplayed, kReused, kUnknown, kExpired, kGone, kTooOld };

struct RotateResult {
  RotateOutcome outcome = RotateOutcome::kUnknown;
  v1::Role role = v1::ROLE_UNSPECIFIED;  // when rotated, replayed or too old
  absl::Time expires_at;                 // of the next refresh token
};

struct RefreshPolicy {
  absl::Duration lifetime = absl::Hours(24 * 30);
  // A retried refresh with the same old token within this time gets the same
  // new token instead of revoking the family.
  absl::Duration retry_grace = absl::Seconds(30);
  int max_families = 32;  // sign-ins (devices) kept per account
  // However often it is refreshed, a sign-in (family) ends this long after
  // it began: citizens, and staff or admins.
  absl::Duration max_age = absl::Hours(24 * 90);
  absl::Duration max_age_staff = absl::Hours(12);

  absl::Duration MaxAge(v1::Role role) const {
    return role == v1::ROLE_CITIZEN ? max_age : max_age_staff;
  }
};

class SessionStore {
 public:
  SessionStore(RedisClient* redis, KeySpace keys, RefreshPolicy policy);

  const RefreshPolicy& policy() const { return policy_; }

  // Starts a family; NOT_FOUND if the account does not exist or was deleted.
  // Returns the family's expiry.
  absl::StatusOr<absl::Time> StartFamily(absl::string_view account_id, absl::string_view family,
                                         absl::string_view secret_hash, absl::Time now);
  absl::StatusOr<RotateResult> Rotate(absl::string_view account_id, absl::string_view family,
                                      absl::string_view presented_hash,
                                      absl::string_view next_hash, absl::Time now);
  // Deletes the family if `presented_hash` is its current secret's (or the
  // previous one's within the retry grace); UNAUTHENTICATED otherwise. A
  // missing family is OK: already signed out (a retry), expired or revoked.
  absl::Status SignOut(absl::string_view account_id, absl::string_view family,
                       absl::string_view presented_hash, absl::Time now);

  // The account linked to an identity: links `candidate` if none is (or if
  // the linked one is `replace_deleted`), and returns the linked id.
  absl::StatusOr<std::string> LinkOidc(absl::string_view identity_hash,
                                       absl::string_view candidate,
                                       absl::string_view replace_deleted);
  absl::StatusOr<std::string> FindOidc(absl::string_view identity_hash);
  // Removes the link if it still leads to `account_id`.
  absl::Status UnlinkOidc(absl::string_view identity_hash, absl::string_view account_id);

 private:
  RedisClient* redis_;
  KeySpace keys_;
  RefreshPolicy policy_;
};

}  // namespace ecoact::identity
