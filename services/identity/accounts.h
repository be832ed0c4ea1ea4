// Identity domain rules (no gRPC, no Redis): what a valid profile is, how
// secrets are hashed, and how a citizen's credentials follow from the
// registration request.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ecoact/v1/common.pb.h"
#include "services/identity/teams.h"

namespace ecoact::identity {

struct WardInfo {
  std::string id;
  std::string name;
};

// The city's wards, from --wards ("id:name,id:name").
class WardDirectory {
 public:
  static absl::StatusOr<WardDirectory> Parse(absl::string_view spec);
  bool Contains(absl::string_view id) const;
  const std::vector<WardInfo>& wards() const { return wards_; }

 private:
  std::vector<WardInfo> wards_;
};

// Kawasaki City's seven wards.
inline constexpr absl::string_view kKawasakiWards =
    "kawasaki:川崎区,saiwai:幸区,nakahara:中原区,takatsu:高津区,miyamae:宮前区,"
    "tama:多摩区,asao:麻生区";

struct AccountRecord {
  std::string id;
  v1::Role role = v1::ROLE_UNSPECIFIED;
  std::string nickname;       // citizens: public nickname; staff: display name
  std::string ward;
  std::string team;
  std::string organisation;
  bool hidden = false;        // left off public citizen boards
  bool test = false;          // a test account, never on public boards
  bool deleted = false;       // a tombstone left by DeleteMyAccount (role "deleted")
  std::vector<Membership> memberships;  // oldest first
  std::string secret_hash;    // "pbkdf2-sha256$<iterations>$<salt>$<hash>"
  absl::Time created_at;
  std::string fingerprint;    // of the creating request, for idempotent retries
  std::string oidc;           // hash of the linked OpenID Connect identity, if any
};

struct ProfileChange {
  std::optional<std::string> nickname;
  std::optional<std::string> ward;
  std::optional<bool> hidden;
  std::optional<bool> test;
};

// Validates and normalises a citizen profile. NOT_FOUND for an unknown ward.
absl::Status ValidateProfile(const WardDirectory& wards, absl::string_view nickname,
                             absl::string_view ward, std::string* normalised_nickname);

// PBKDF2-HMAC-SHA256 through OpenSSL with a random salt.
std::string HashSecret(absl::string_view secret, int iterations);
// Constant-time check of `secret` against HashSecret's output.
bool VerifySecret(absl::string_view secret, absl::string_view stored);

struct CitizenCredentials {
  std::string account_id;  // "u" + 20 base32 characters
  std::string secret;      // 52 base32 characters
};

// Derived with HMAC-SHA256 under the server's key from the registration
// request id, so a retried Register returns the same account and secret
// without the secret ever being stored in clear.
CitizenCredentials DeriveCitizenCredentials(absl::string_view server_key,
                                            absl::string_view request_id);

}  // namespace ecoact::identity
