#include "services/common/tokens.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"

namespace ecoact {
namespace {

constexpr size_t kMinSecretBytes = 32;
// Tolerated clock difference between the issuer and the verifier.
constexpr absl::Duration kClockSkew = absl::Seconds(30);

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid token: ", why));
}

v1::Role RoleFromName(absl::string_view name) {
  if (name == "citizen") return v1::ROLE_CITIZEN;
  if (name == "staff") return v1::ROLE_STAFF;
  if (name == "admin") return v1::ROLE_ADMIN;
  return v1::ROLE_UNSPECIFIED;
}

}  // namespace

absl::string_view RoleName(v1::Role role) {
  switch (role) {
    case v1::ROLE_CITIZEN: return "citizen";
    case v1::ROLE_STAFF: return "staff";
    case v1::ROLE_ADMIN: return "admin";
    default: return "none";
  }
}

absl::StatusOr<TokenService> TokenService::Create(std::map<std::string, std::string> keys,
                                                  std::string current_key_id,
                                                  std::string issuer,
                                                  absl::Duration lifetime) {
  for (const auto& [id, secret] : keys) {
    if (secret.size() < kMinSecretBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token key '", id, "' is ", secret.size(), " bytes; at least ", kMinSecretBytes,
          " are needed"));
    }
  }
  if (keys.count(current_key_id) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("current token key id '", current_key_id, "' has no secret"));
  }
  if (lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("token lifetime must be positive");
  }
  TokenService service;
  service.keys_ = std::move(keys);
  service.current_key_id_ = std::move(current_key_id);
  service.issuer_ = std::move(issuer);
  service.lifetime_ = lifetime;
  return service;
}

std::string TokenService::Sign(absl::string_view key, absl::string_view signing_input) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &mac_length);
  return std::string(reinterpret_cast<const char*>(mac), mac_length);
}

std::string TokenService::Issue(absl::string_view subject, v1::Role role, absl::Time now) const {
  nlohmann::json header = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", current_key_id_}};
  nlohmann::json payload = {{"iss", issuer_},
                            {"sub", std::string(subject)},
                            {"role", std::string(RoleName(role))},
                            {"iat", absl::ToUnixSeconds(now)},
                            {"exp", absl::ToUnixSeconds(now + lifetime_)}};
  std::string input = absl::StrCat(absl::WebSafeBase64Escape(header.dump()), ".",
                                   absl::WebSafeBase64Escape(payload.dump()));
  std::string signature = Sign(keys_.at(current_key_id_), input);
  return absl::StrCat(input, ".", absl::WebSafeBase64Escape(signature));
}

absl::StatusOr<TokenClaims> TokenService::Verify(absl::string_view token, absl::Time now) const {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Unauthenticated("not a JWT (expected three dot-separated parts)");
  std::string header_json, payload_json, signature;
  if (!absl::WebSafeBase64Unescape(parts[0], &header_json) ||
      !absl::WebSafeBase64Unescape(parts[1], &payload_json) ||
      !absl::WebSafeBase64Unescape(parts[2], &signature)) {
    return Unauthenticated("not base64url");
  }
  nlohmann::json header = nlohmann::json::parse(header_json, nullptr, false);
  // Compare the JSON value, not value("alg", ""): that throws when "alg" is
  // not a string (e.g. {"alg":256}), before the signature is even checked.
  if (!header.is_object() || !header.contains("alg") || header["alg"] != "HS256" ||
      !header.contains("kid") || !header["kid"].is_string()) {
    return Unauthenticated("unsupported header (HS256 with a key id expected)");
  }
  auto key = keys_.find(header["kid"].get<std::string>());
  if (key == keys_.end()) return Unauthenticated("signed with an unknown key");
  std::string signing_input = absl::StrCat(parts[0], ".", parts[1]);
  std::string expected = Sign(key->second, signing_input);
  if (expected.size() != signature.size() ||
      CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) != 0) {
    return Unauthenticated("bad signature");
  }
  nlohmann::json payload = nlohmann::json::parse(payload_json, nullptr, false);
  if (!payload.is_object() || !payload["sub"].is_string() || !payload["role"].is_string() ||
      !payload["exp"].is_number_integer() || !payload["iat"].is_number_integer() ||
      !payload["iss"].is_string()) {
    return Unauthenticated("missing claims");
  }
  if (payload["iss"].get<std::string>() != issuer_) return Unauthenticated("wrong issuer");
  TokenClaims claims;
  claims.subject = payload["sub"].get<std::string>();
  claims.role = RoleFromName(payload["role"].get<std::string>());
  claims.issued_at = absl::FromUnixSeconds(payload["iat"].get<int64_t>());
  claims.expires_at = absl::FromUnixSeconds(payload["exp"].get<int64_t>());
  if (claims.role == v1::ROLE_UNSPECIFIED || claims.subject.empty()) {
    return Unauthenticated("unknown role or empty subject");
  }
  if (now >= claims.expires_at + kClockSkew) {
    return Unauthenticated("expired; sign in again");
  }
  if (claims.issued_at > now + kClockSkew) return Unauthenticated("issued in the future");
  return claims;
}

}  // namespace ecoact
