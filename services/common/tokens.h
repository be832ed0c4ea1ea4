// Bearer tokens: JSON Web Tokens (RFC 7519) with JWS signatures (RFC 7515,
// 7518) computed and checked through OpenSSL (docs/security.md, "Tokens").
//
// Algorithms: HS256 (HMAC-SHA256, the local default: one shared secret),
// ES256 (ECDSA P-256 with SHA-256; the signature is r||s, 64 bytes, as JOSE
// requires, not DER) and RS256 (RSASSA-PKCS1-v1_5 with SHA-256, what most
// OpenID Connect providers sign with). Every key has a key id ("kid"), and a
// token names the key that signed it: the signer signs with one key, a
// verifier accepts any key of its set, which is how keys rotate. A key is
// bound to its algorithm, so a token cannot choose how it is checked (no
// "none", no HS256 "signed" with a public key's bytes).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ecoact/v1/common.pb.h"
#include "nlohmann/json.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace ecoact {

enum class JwsAlgorithm { kHs256, kEs256, kRs256 };

absl::string_view JwsAlgorithmName(JwsAlgorithm algorithm);

// SHA-256 of `data` and HMAC-SHA256 of `input` under `key`, as raw 32-byte
// strings (OpenSSL); callers encode them (hex, base32, base64url).
std::string Sha256(absl::string_view data);
std::string HmacSha256(absl::string_view key, absl::string_view input);

// One key: an HMAC secret, or an EC P-256 / RSA (2048+ bits) key, public
// only or with its private half. Cheap to copy (the OpenSSL key is shared).
class JwsKey {
 public:
  // INVALID_ARGUMENT if the secret is shorter than 32 bytes.
  static absl::StatusOr<JwsKey> Hmac(std::string secret);
  // A PEM private key ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY")
  // or public key ("PUBLIC KEY"). INVALID_ARGUMENT for anything else, other
  // curves, or RSA below 2048 bits.
  static absl::StatusOr<JwsKey> FromPem(absl::string_view pem);
  // One JWK (RFC 7517) of kty "EC" (crv "P-256") or "RSA".
  static absl::StatusOr<JwsKey> FromJwk(const nlohmann::json& jwk);

  JwsAlgorithm algorithm() const { return algorithm_; }
  bool can_sign() const;
  // The same key material (the public halves, for asymmetric keys).
  bool SameAs(const JwsKey& other) const;
  // The RFC 7638 thumbprint (base64url SHA-256 of the canonical public JWK):
  // the default key id of an asymmetric key, the same wherever it is
  // computed. Empty for HMAC keys.
  std::string Thumbprint() const;
  // The public JWK with `kid`, for publishing a JWKS. Empty object for HMAC.
  nlohmann::json PublicJwk(absl::string_view kid) const;

  // JWS signature of `input` (raw bytes). Requires can_sign().
  absl::StatusOr<std::string> Sign(absl::string_view input) const;
  bool Verify(absl::string_view input, absl::string_view signature) const;

 private:
  JwsKey() = default;
  JwsAlgorithm algorithm_ = JwsAlgorithm::kHs256;
  std::string secret_;
  std::shared_ptr<EVP_PKEY> key_;
  bool private_ = false;
};

// The keys a verifier accepts, by key id.
class JwsKeySet {
 public:
  // INVALID_ARGUMENT for an empty kid, or a kid already bound to another key.
  absl::Status Add(std::string kid, JwsKey key);
  // A JWKS document {"keys": [...]}: its EC P-256 and RSA signing keys (keys
  // with "use": "enc" are skipped); each needs a "kid". INVALID_ARGUMENT
  // names `source` and the key.
  absl::Status AddJwks(absl::string_view json, absl::string_view source);
  // A file holding a JWKS document, or one PEM key (key id = its thumbprint;
  // a private key contributes its public half).
  absl::Status AddFile(const std::string& path);

  const JwsKey* Find(absl::string_view kid) const;
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }
  // {"keys": [...]} of the asymmetric keys, for other verifiers.
  nlohmann::json PublicJwks() const;

 private:
  std::map<std::string, JwsKey, std::less<>> keys_;
};

struct JwtExpectations {
  std::string issuer;    // "iss" must equal it
  std::string audience;  // "aud" (a string or an array) must hold it
  // Tolerated clock difference between the issuer and the verifier.
  absl::Duration leeway = absl::Seconds(30);
};

// Verifies a compact JWS: the header's alg and kid against `keys`, the
// signature, then iss, aud, exp (required), nbf and iat (when present).
// Returns the payload. UNAUTHENTICATED "invalid token: <reason>" otherwise.
absl::StatusOr<nlohmann::json> VerifyJwt(absl::string_view token, const JwsKeySet& keys,
                                         const JwtExpectations& expect, absl::Time now);

// A compact JWS of `payload` signed with `key` under `kid`.
absl::StatusOr<std::string> SignJwt(const nlohmann::json& payload, absl::string_view kid,
                                    const JwsKey& key);

struct TokenClaims {
  std::string subject;  // account id
  v1::Role role = v1::ROLE_UNSPECIFIED;
  absl::Time issued_at;
  absl::Time expires_at;
};

// ecoact's own access tokens: iss and aud "ecoact", sub = account id, role,
// iat, exp.
class TokenService {
 public:
  struct Options {
    JwsKeySet verify_keys;
    // Signs new tokens (added to verify_keys too); none on a server that
    // only verifies.
    std::optional<std::pair<std::string, JwsKey>> signer;
    std::string issuer = "ecoact";
    std::string audience = "ecoact";
    absl::Duration lifetime = absl::Minutes(15);
  };
  // INVALID_ARGUMENT: no key at all, a signer without its private key, a
  // non-positive lifetime.
  static absl::StatusOr<TokenService> Create(Options options);

  // HS256 only: `keys` maps key id -> secret (at least 32 bytes each);
  // `current_key_id` signs new tokens. INVALID_ARGUMENT if a secret is too
  // short or the current key is missing.
  static absl::StatusOr<TokenService> Create(std::map<std::string, std::string> keys,
                                             std::string current_key_id, std::string issuer,
                                             absl::Duration lifetime);

  // Whether this server holds a signing key. Issue requires it.
  bool can_issue() const { return signer_.has_value(); }
  const std::string& signing_key_id() const;
  JwsAlgorithm signing_algorithm() const;

  std::string Issue(absl::string_view subject, v1::Role role, absl::Time now) const;

  // UNAUTHENTICATED with the reason for a malformed, forged, expired or
  // foreign token.
  absl::StatusOr<TokenClaims> Verify(absl::string_view token, absl::Time now) const;

  absl::Duration lifetime() const { return lifetime_; }
  const JwsKeySet& verify_keys() const { return keys_; }

 private:
  TokenService() = default;

  JwsKeySet keys_;
  std::optional<std::pair<std::string, JwsKey>> signer_;
  JwtExpectations expect_;
  absl::Duration lifetime_;
};

absl::string_view RoleName(v1::Role role);

}  // namespace ecoact
