// Refresh tokens (docs/security.md, "Tokens"): opaque strings
// "rt1.<account id, base64url>.<family id>.<secret>". A family is the chain
// of refresh tokens that descends from one sign-in; each refresh replaces
// the family's current secret with the next one. Redis keeps only SHA-256
// hashes of secrets. The next secret is derived from the current one with
// the server secret, so a retried refresh (same old token, within the grace
// period) yields the same new token without storing it.
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ecoact::identity {

struct RefreshCredential {
  std::string account_id;
  std::string family;  // 22 base64url characters (128 random bits)
  std::string secret;  // 43 base64url characters (256 random bits)

  std::string Format() const;
  // nullopt for anything that is not a well-formed refresh token.
  static std::optional<RefreshCredential> Parse(absl::string_view text);
};

// A new family for `account_id` from 48 random bytes.
RefreshCredential NewRefreshToken(absl::string_view account_id, absl::string_view random48);

// The token that replaces `token` at its next refresh.
RefreshCredential NextRefreshToken(absl::string_view server_secret, const RefreshCredential& token);

// What Redis stores of a secret: hex SHA-256.
std::string SecretHash(absl::string_view secret);

}  // namespace ecoact::identity
