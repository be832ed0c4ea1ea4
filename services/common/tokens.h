// Bearer tokens: JSON Web Tokens signed with HMAC-SHA256 (RFC 7519 / 7515)
// through OpenSSL. The header carries a key id so that keys can be rotated:
// the signer signs with its current key, the verifier accepts any key it
// knows.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ecoact/v1/common.pb.h"

namespace ecoact {

struct TokenClaims {
  std::string subject;  // account id
  v1::Role role = v1::ROLE_UNSPECIFIED;
  absl::Time issued_at;
  absl::Time expires_at;
};

class TokenService {
 public:
  // `keys` maps key id -> secret (at least 32 bytes each); `current_key_id`
  // signs new tokens. INVALID_ARGUMENT if a secret is too short or the
  // current key is missing.
  static absl::StatusOr<TokenService> Create(std::map<std::string, std::string> keys,
                                             std::string current_key_id, std::string issuer,
                                             absl::Duration lifetime);

  std::string Issue(absl::string_view subject, v1::Role role, absl::Time now) const;

  // UNAUTHENTICATED with the reason for a malformed, forged, expired or
  // foreign token.
  absl::StatusOr<TokenClaims> Verify(absl::string_view token, absl::Time now) const;

  absl::Duration lifetime() const { return lifetime_; }

 private:
  TokenService() = default;
  std::string Sign(absl::string_view key, absl::string_view signing_input) const;

  std::map<std::string, std::string> keys_;
  std::string current_key_id_;
  std::string issuer_;
  absl::Duration lifetime_;
};

absl::string_view RoleName(v1::Role role);

}  // namespace ecoact
