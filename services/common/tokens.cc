#include "services/common/tokens.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "openssl/bio.h"
#include "openssl/bn.h"
#include "openssl/core_names.h"
#include "openssl/crypto.h"
#include "openssl/ec.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "openssl/param_build.h"
#include "openssl/pem.h"
#include "openssl/sha.h"

namespace ecoact {

std::string Sha256(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string HmacSha256(absl::string_view key, absl::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_length);
  return std::string(reinterpret_cast<const char*>(mac), mac_length);
}

namespace {

constexpr size_t kMinSecretBytes = 32;
constexpr int kMinRsaBits = 2048;
constexpr size_t kEs256CoordinateBytes = 32;

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid token: ", why));
}

v1::Role RoleFromName(absl::string_view name) {
  if (name == "citizen") return v1::ROLE_CITIZEN;
  if (name == "staff") return v1::ROLE_STAFF;
  if (name == "admin") return v1::ROLE_ADMIN;
  return v1::ROLE_UNSPECIFIED;
}

std::optional<JwsAlgorithm> AlgorithmFromName(absl::string_view name) {
  if (name == "HS256") return JwsAlgorithm::kHs256;
  if (name == "ES256") return JwsAlgorithm::kEs256;
  if (name == "RS256") return JwsAlgorithm::kRs256;
  return std::nullopt;
}

// Key ids and algorithm names come from the token: keep them short and
// printable in messages.
std::string Quoted(absl::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out + (text.size() > 64 ? "...\"" : "\"");
}

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

std::string BigNumBytes(const BIGNUM* bn, int pad_to = 0) {
  std::string out(pad_to > 0 ? pad_to : BN_num_bytes(bn), '\0');
  if (pad_to > 0) {
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad_to);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  return out;
}

BnPtr GetBigNum(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, name, &bn);
  return BnPtr(bn, BN_free);
}

std::string B64(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }


// Classifies an OpenSSL key: ES256 for EC P-256, RS256 for RSA 2048+.
absl::StatusOr<JwsAlgorithm> AlgorithmOfKey(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {0};
    size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &length) != 1 ||
        (std::string(group) != "prime256v1" && std::string(group) != "P-256")) {
      return absl::InvalidArgumentError(
          absl::StrCat("EC key on curve '", group, "': only P-256 (ES256) is supported"));
    }
    return JwsAlgorithm::kEs256;
  }
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
      return absl::InvalidArgumentError(absl::StrCat("RSA key of ", EVP_PKEY_get_bits(key),
                                                     " bits: at least 2048 are needed"));
    }
    return JwsAlgorithm::kRs256;
  }
  return absl::InvalidArgumentError("only EC P-256 and RSA keys are supported");
}

// The JOSE ES256 signature r||s from OpenSSL's DER ECDSA-Sig-Value, and back.
std::optional<std::string> DerToJose(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string out = BigNumBytes(r, kEs256CoordinateBytes) + BigNumBytes(s, kEs256CoordinateBytes);
  ECDSA_SIG_free(sig);
  return out;
}

std::optional<std::string> JoseToDer(absl::string_view jose) {
  if (jose.size() != 2 * kEs256CoordinateBytes) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(jose.data());
  BIGNUM* r = BN_bin2bn(bytes, kEs256CoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + kEs256CoordinateBytes, kEs256CoordinateBytes, nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (r == nullptr || s == nullptr || sig == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), length);
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> Base64UrlField(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  std::string bytes;
  if (it == jwk.end() || !it->is_string() ||
      !absl::WebSafeBase64Unescape(it->get<std::string>(), &bytes) || bytes.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("JWK without a base64url '", name, "'"));
  }
  return bytes;
}

absl::StatusOr<PkeyPtr> PublicKeyFromParams(const char* type, OSSL_PARAM_BLD* builder) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  bool ok = params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  ERR_clear_error();
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("not a valid ", type, " public key"));
  return PkeyPtr(key, EVP_PKEY_free);
}

}  // namespace

absl::string_view JwsAlgorithmName(JwsAlgorithm algorithm) {
  switch (algorithm) {
    case JwsAlgorithm::kHs256: return "HS256";
    case JwsAlgorithm::kEs256: return "ES256";
    case JwsAlgorithm::kRs256: return "RS256";
  }
  return "?";
}

absl::string_view RoleName(v1::Role role) {
  switch (role) {
    case v1::ROLE_CITIZEN: return "citizen";
    case v1::ROLE_STAFF: return "staff";
    case v1::ROLE_ADMIN: return "admin";
    default: return "none";
  }
}

// ------------------------------------------------------------------ JwsKey

absl::StatusOr<JwsKey> JwsKey::Hmac(std::string secret) {
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat("an HS256 secret of ", secret.size(),
                                                   " bytes; at least ", kMinSecretBytes,
                                                   " are needed"));
  }
  JwsKey key;
  key.algorithm_ = JwsAlgorithm::kHs256;
  key.secret_ = std::move(secret);
  key.private_ = true;
  return key;
}

absl::StatusOr<JwsKey> JwsKey::FromPem(absl::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf failed");
  bool is_private = true;
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    is_private = false;
    BIO_reset(bio);
    raw = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  }
  BIO_free(bio);
  ERR_clear_error();
  if (raw == nullptr) {
    return absl::InvalidArgumentError(
        "not a PEM private key or public key (an unencrypted PKCS#8, SEC1 or PKCS#1 private "
        "key, or a SubjectPublicKeyInfo public key)");
  }
  PkeyPtr owned(raw, EVP_PKEY_free);
  JwsKey key;
  auto algorithm = AlgorithmOfKey(raw);
  if (!algorithm.ok()) return algorithm.status();
  key.algorithm_ = *algorithm;
  key.key_ = std::shared_ptr<EVP_PKEY>(owned.release(), EVP_PKEY_free);
  key.private_ = is_private;
  return key;
}

absl::StatusOr<JwsKey> JwsKey::FromJwk(const nlohmann::json& jwk) {
  if (!jwk.is_object() || !jwk.contains("kty") || !jwk["kty"].is_string()) {
    return absl::InvalidArgumentError("a JWK must be an object with a 'kty'");
  }
  const std::string kty = jwk["kty"].get<std::string>();
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> builder(OSSL_PARAM_BLD_new(),
                                                                           OSSL_PARAM_BLD_free);
  absl::StatusOr<PkeyPtr> made = absl::InvalidArgumentError("");
  JwsKey key;
  if (kty == "EC") {
    if (!jwk.contains("crv") || jwk["crv"] != "P-256") {
      return absl::InvalidArgumentError("EC JWK: only crv P-256 (ES256) is supported");
    }
    auto x = Base64UrlField(jwk, "x");
    auto y = Base64UrlField(jwk, "y");
    if (!x.ok()) return x.status();
    if (!y.ok()) return y.status();
    if (x->size() != kEs256CoordinateBytes || y->size() != kEs256CoordinateBytes) {
      return absl::InvalidArgumentError("EC JWK: x and y must be 32 bytes each");
    }
    std::string point = absl::StrCat("\x04", *x, *y);
    OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                     point.size());
    made = PublicKeyFromParams("EC", builder.get());
    key.algorithm_ = JwsAlgorithm::kEs256;
  } else if (kty == "RSA") {
    auto n = Base64UrlField(jwk, "n");
    auto e = Base64UrlField(jwk, "e");
    if (!n.ok()) return n.status();
    if (!e.ok()) return e.status();
    BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), n->size(), nullptr),
               BN_free);
    BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), e->size(), nullptr),
               BN_free);
    OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get());
    OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get());
    made = PublicKeyFromParams("RSA", builder.get());
    key.algorithm_ = JwsAlgorithm::kRs256;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("JWK kty ", Quoted(kty), ": only EC (P-256) and RSA are supported"));
  }
  if (!made.ok()) return made.status();
  auto algorithm = AlgorithmOfKey(made->get());
  if (!algorithm.ok()) return algorithm.status();
  if (jwk.contains("alg") && jwk["alg"] != std::string(JwsAlgorithmName(*algorithm))) {
    return absl::InvalidArgumentError(absl::StrCat("JWK alg ", jwk["alg"].dump(), " does not fit a ",
                                                   kty, " key (", JwsAlgorithmName(*algorithm),
                                                   " expected)"));
  }
  key.key_ = std::shared_ptr<EVP_PKEY>(made->release(), EVP_PKEY_free);
  return key;
}

bool JwsKey::can_sign() const { return private_; }

bool JwsKey::SameAs(const JwsKey& other) const {
  if (algorithm_ != other.algorithm_) return false;
  if (algorithm_ == JwsAlgorithm::kHs256) return secret_ == other.secret_;
  return EVP_PKEY_eq(key_.get(), other.key_.get()) == 1;
}

nlohmann::json JwsKey::PublicJwk(absl::string_view kid) const {
  nlohmann::json jwk = nlohmann::json::object();
  if (algorithm_ == JwsAlgorithm::kEs256) {
    BnPtr x = GetBigNum(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X);
    BnPtr y = GetBigNum(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
    if (!x || !y) return jwk;
    jwk = {{"kty", "EC"}, {"crv", "P-256"}, {"x", B64(BigNumBytes(x.get(), 32))},
           {"y", B64(BigNumBytes(y.get(), 32))}};
  } else if (algorithm_ == JwsAlgorithm::kRs256) {
    BnPtr n = GetBigNum(key_.get(), OSSL_PKEY_PARAM_RSA_N);
    BnPtr e = GetBigNum(key_.get(), OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e) return jwk;
    jwk = {{"kty", "RSA"}, {"n", B64(BigNumBytes(n.get()))}, {"e", B64(BigNumBytes(e.get()))}};
  } else {
    return jwk;
  }
  if (!kid.empty()) {
    jwk["kid"] = std::string(kid);
    jwk["alg"] = std::string(JwsAlgorithmName(algorithm_));
    jwk["use"] = "sig";
  }
  return jwk;
}

std::string JwsKey::Thumbprint() const {
  // RFC 7638: the required members only, in lexicographic order, no
  // whitespace; nlohmann::json objects are sorted and dump() is compact.
  nlohmann::json jwk = PublicJwk("");
  if (jwk.empty()) return "";
  return B64(Sha256(jwk.dump()));
}

absl::StatusOr<std::string> JwsKey::Sign(absl::string_view input) const {
  if (algorithm_ == JwsAlgorithm::kHs256) return HmacSha256(secret_, input);
  if (!private_) return absl::FailedPreconditionError("a public key cannot sign");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t length = 0;
  std::string signature;
  bool ok = ctx != nullptr &&
            EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
            EVP_DigestSign(ctx, nullptr, &length,
                           reinterpret_cast<const unsigned char*>(input.data()),
                           input.size()) == 1;
  if (ok) {
    signature.resize(length);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    signature.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  if (!ok) return absl::InternalError("OpenSSL could not sign the token");
  if (algorithm_ == JwsAlgorithm::kEs256) {
    std::optional<std::string> jose = DerToJose(signature);
    if (!jose) return absl::InternalError("OpenSSL returned a malformed ECDSA signature");
    return *std::move(jose);
  }
  return signature;
}

bool JwsKey::Verify(absl::string_view input, absl::string_view signature) const {
  if (algorithm_ == JwsAlgorithm::kHs256) {
    std::string expected = HmacSha256(secret_, input);
    return expected.size() == signature.size() &&
           CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
  }
  std::string der;
  if (algorithm_ == JwsAlgorithm::kEs256) {
    std::optional<std::string> converted = JoseToDer(signature);
    if (!converted) return false;
    der = *std::move(converted);
    signature = der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr &&
            EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

// --------------------------------------------------------------- JwsKeySet

absl::Status JwsKeySet::Add(std::string kid, JwsKey key) {
  if (kid.empty()) return absl::InvalidArgumentError("a key needs a non-empty key id");
  auto it = keys_.find(kid);
  if (it != keys_.end()) {
    if (!it->second.SameAs(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("key id '", kid, "' is given to two different keys"));
    }
    return absl::OkStatus();
  }
  keys_.emplace(std::move(kid), std::move(key));
  return absl::OkStatus();
}

namespace {

// Why ecoact cannot use a JWK of a provider's document (an algorithm or key
// type it does not verify), or nullopt if it is one it can: EC P-256 for
// ES256, RSA for RS256. Providers publish other keys next to theirs (OKP,
// P-384, PS256, ...), which are skipped rather than failing the document.
std::optional<std::string> UnsupportedKey(const nlohmann::json& jwk) {
  if (!jwk.is_object()) return std::nullopt;  // malformed: FromJwk says why
  const auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return std::nullopt;
  std::string expected_alg;
  if (*kty == "EC") {
    if (!jwk.contains("crv") || jwk["crv"] != "P-256") {
      return std::string("EC JWK: only crv P-256 (ES256) is supported");
    }
    expected_alg = "ES256";
  } else if (*kty == "RSA") {
    expected_alg = "RS256";
  } else {
    return absl::StrCat("JWK kty ", Quoted(kty->get<std::string>()),
                        ": only EC (P-256) and RSA are supported");
  }
  if (jwk.contains("alg") && jwk["alg"] != expected_alg) {
    return absl::StrCat("JWK alg ", jwk["alg"].dump(), " does not fit a ",
                        kty->get<std::string>(), " key (", expected_alg, " expected)");
  }
  return std::nullopt;
}

}  // namespace

absl::Status JwsKeySet::AddJwks(absl::string_view json, absl::string_view source) {
  nlohmann::json jwks = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not a JWKS document ({\"keys\": [...]})"));
  }
  int index = 0;
  int usable = 0;
  std::vector<std::string> skipped;
  for (const nlohmann::json& jwk : jwks["keys"]) {
    ++index;
    if (jwk.is_object() && jwk.contains("use") && jwk["use"] == "enc") continue;
    if (std::optional<std::string> why = UnsupportedKey(jwk)) {
      const bool named = jwk.contains("kid") && jwk["kid"].is_string();
      skipped.push_back(absl::StrCat(
          named ? absl::StrCat("key ", Quoted(jwk["kid"].get<std::string>()))
                : absl::StrCat("key #", index),
          ": ", *why));
      continue;
    }
    if (!jwk.is_object() || !jwk.contains("kid") || !jwk["kid"].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": key #", index, " has no string 'kid'"));
    }
    auto key = JwsKey::FromJwk(jwk);
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": key ", Quoted(jwk["kid"].get<std::string>()),
                                                     ": ", key.status().message()));
    }
    absl::Status added = Add(jwk["kid"].get<std::string>(), *std::move(key));
    if (!added.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", added.message()));
    ++usable;
  }
  if (usable == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": no usable signing key (EC P-256 for ES256, or RSA for RS256)",
        skipped.empty() ? "" : absl::StrCat("; skipped ", absl::StrJoin(skipped, "; "))));
  }
  return absl::OkStatus();
}

absl::Status JwsKeySet::AddFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) return absl::InvalidArgumentError(absl::StrCat("cannot read key file ", path));
  std::string content = text.str();
  if (absl::StrContains(content, "-----BEGIN")) {
    auto key = JwsKey::FromPem(content);
    if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", key.status().message()));
    std::string kid = key->Thumbprint();  // before the key is moved away
    return Add(std::move(kid), *std::move(key));
  }
  return AddJwks(content, path);
}

const JwsKey* JwsKeySet::Find(absl::string_view kid) const {
  auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : &it->second;
}

nlohmann::json JwsKeySet::PublicJwks() const {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& [kid, key] : keys_) {
    if (key.algorithm() != JwsAlgorithm::kHs256) keys.push_back(key.PublicJwk(kid));
  }
  return {{"keys", keys}};
}

// --------------------------------------------------------------------- JWT

absl::StatusOr<std::string> SignJwt(const nlohmann::json& payload, absl::string_view kid,
                                    const JwsKey& key) {
  nlohmann::json header = {
      {"alg", std::string(JwsAlgorithmName(key.algorithm()))}, {"typ", "JWT"}, {"kid", std::string(kid)}};
  std::string input = absl::StrCat(B64(header.dump()), ".", B64(payload.dump()));
  auto signature = key.Sign(input);
  if (!signature.ok()) return signature.status();
  return absl::StrCat(input, ".", B64(*signature));
}

absl::StatusOr<nlohmann::json> VerifyJwt(absl::string_view token, const JwsKeySet& keys,
                                         const JwtExpectations& expect, absl::Time now) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Unauthenticated("not a JWT (expected three dot-separated parts)");
  std::string header_json, payload_json, signature;
  if (!absl::WebSafeBase64Unescape(parts[0], &header_json) ||
      !absl::WebSafeBase64Unescape(parts[1], &payload_json) ||
      !absl::WebSafeBase64Unescape(parts[2], &signature)) {
    return Unauthenticated("not base64url");
  }
  nlohmann::json header = nlohmann::json::parse(header_json, nullptr, false);
  // Compare JSON values, never value("alg", ""): that throws when "alg" is
  // not a string (e.g. {"alg":256}), before the signature is even checked.
  if (!header.is_object() || !header.contains("alg") || !header["alg"].is_string()) {
    return Unauthenticated("unsupported header (a JSON object with alg and kid expected)");
  }
  const std::string alg_name = header["alg"].get<std::string>();
  std::optional<JwsAlgorithm> alg = AlgorithmFromName(alg_name);
  if (!alg) {
    return Unauthenticated(absl::StrCat(
        "unsupported header: alg ", Quoted(alg_name),
        absl::EqualsIgnoreCase(alg_name, "none") ? " is refused, tokens must be signed"
                                                 : " (HS256, ES256 or RS256 expected)"));
  }
  if (!header.contains("kid") || !header["kid"].is_string()) {
    return Unauthenticated("unsupported header: no key id (kid)");
  }
  const std::string kid = header["kid"].get<std::string>();
  const JwsKey* key = keys.Find(kid);
  if (key == nullptr) {
    return Unauthenticated(absl::StrCat("signed with an unknown key (kid ", Quoted(kid),
                                        "); the key may have been retired: sign in again"));
  }
  if (key->algorithm() != *alg) {
    return Unauthenticated(absl::StrCat("unsupported header: alg ", alg_name, " does not match key ",
                                        Quoted(kid), ", an ", JwsAlgorithmName(key->algorithm()),
                                        " key"));
  }
  if (!key->Verify(absl::StrCat(parts[0], ".", parts[1]), signature)) {
    return Unauthenticated("bad signature");
  }
  nlohmann::json payload = nlohmann::json::parse(payload_json, nullptr, false);
  if (!payload.is_object() || !payload.contains("iss") || !payload["iss"].is_string() ||
      !payload.contains("exp") || !payload["exp"].is_number_integer()) {
    return Unauthenticated("missing claims (iss and an integer exp are required)");
  }
  for (const char* claim : {"iat", "nbf"}) {
    if (payload.contains(claim) && !payload[claim].is_number_integer()) {
      return Unauthenticated(absl::StrCat("missing claims: ", claim, " is not an integer"));
    }
  }
  if (payload["iss"].get<std::string>() != expect.issuer) {
    return Unauthenticated(absl::StrCat("wrong issuer ", Quoted(payload["iss"].get<std::string>()),
                                        " (expected ", Quoted(expect.issuer), ")"));
  }
  bool audience_ok = false;
  if (payload.contains("aud")) {
    const nlohmann::json& aud = payload["aud"];
    if (aud.is_string()) audience_ok = aud == expect.audience;
    if (aud.is_array()) {
      for (const auto& one : aud) audience_ok = audience_ok || one == expect.audience;
    }
  }
  if (!audience_ok) {
    return Unauthenticated(absl::StrCat("wrong audience (the token is not for ",
                                        Quoted(expect.audience), ")"));
  }
  const absl::Time expires = absl::FromUnixSeconds(payload["exp"].get<int64_t>());
  if (now >= expires + expect.leeway) {
    return Unauthenticated(absl::StrCat(
        "expired at ", absl::FormatTime(absl::RFC3339_sec, expires, absl::UTCTimeZone()),
        "; refresh it (IdentityService.RefreshToken) or sign in again"));
  }
  if (payload.contains("nbf")) {
    const absl::Time not_before = absl::FromUnixSeconds(payload["nbf"].get<int64_t>());
    if (not_before > now + expect.leeway) {
      return Unauthenticated(absl::StrCat(
          "not valid before ", absl::FormatTime(absl::RFC3339_sec, not_before, absl::UTCTimeZone())));
    }
  }
  if (payload.contains("iat") &&
      absl::FromUnixSeconds(payload["iat"].get<int64_t>()) > now + expect.leeway) {
    return Unauthenticated("issued in the future (check the clocks)");
  }
  return payload;
}

// ------------------------------------------------------------ TokenService

absl::StatusOr<TokenService> TokenService::Create(Options options) {
  if (options.lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("token lifetime must be positive");
  }
  if (options.signer) {
    if (!options.signer->second.can_sign()) {
      return absl::InvalidArgumentError(absl::StrCat("signing key '", options.signer->first,
                                                     "' is a public key; a private key is needed"));
    }
    absl::Status added = options.verify_keys.Add(options.signer->first, options.signer->second);
    if (!added.ok()) return added;
  }
  if (options.verify_keys.empty()) {
    return absl::InvalidArgumentError("no token key: tokens could be neither issued nor verified");
  }
  TokenService service;
  service.keys_ = std::move(options.verify_keys);
  service.signer_ = std::move(options.signer);
  service.expect_.issuer = std::move(options.issuer);
  service.expect_.audience = std::move(options.audience);
  service.lifetime_ = options.lifetime;
  return service;
}

absl::StatusOr<TokenService> TokenService::Create(std::map<std::string, std::string> keys,
                                                  std::string current_key_id,
                                                  std::string issuer,
                                                  absl::Duration lifetime) {
  Options options;
  for (auto& [id, secret] : keys) {
    auto key = JwsKey::Hmac(std::move(secret));
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("token key '", id, "': ", key.status().message()));
    }
    if (id == current_key_id) options.signer.emplace(id, *key);
    absl::Status added = options.verify_keys.Add(id, *std::move(key));
    if (!added.ok()) return added;
  }
  if (!options.signer) {
    return absl::InvalidArgumentError(
        absl::StrCat("current token key id '", current_key_id, "' has no secret"));
  }
  options.issuer = std::move(issuer);
  options.audience = "ecoact";
  options.lifetime = lifetime;
  return Create(std::move(options));
}

const std::string& TokenService::signing_key_id() const {
  static const std::string kNone;
  return signer_ ? signer_->first : kNone;
}

JwsAlgorithm TokenService::signing_algorithm() const {
  return signer_ ? signer_->second.algorithm() : JwsAlgorithm::kHs256;
}

std::string TokenService::Issue(absl::string_view subject, v1::Role role, absl::Time now) const {
  nlohmann::json payload = {{"iss", expect_.issuer},
                            {"aud", expect_.audience},
                            {"sub", std::string(subject)},
                            {"role", std::string(RoleName(role))},
                            {"iat", absl::ToUnixSeconds(now)},
                            {"exp", absl::ToUnixSeconds(now + lifetime_)}};
  if (!signer_) return "";  // callers check can_issue() at start-up
  auto token = SignJwt(payload, signer_->first, signer_->second);
  return token.ok() ? *std::move(token) : "";
}

absl::StatusOr<TokenClaims> TokenService::Verify(absl::string_view token, absl::Time now) const {
  auto payload = VerifyJwt(token, keys_, expect_, now);
  if (!payload.ok()) return payload.status();
  const nlohmann::json& claims_json = *payload;
  if (!claims_json.contains("sub") || !claims_json["sub"].is_string() ||
      !claims_json.contains("role") || !claims_json["role"].is_string() ||
      !claims_json.contains("iat")) {
    return Unauthenticated("missing claims (sub, role and iat are required)");
  }
  TokenClaims claims;
  claims.subject = claims_json["sub"].get<std::string>();
  claims.role = RoleFromName(claims_json["role"].get<std::string>());
  claims.issued_at = absl::FromUnixSeconds(claims_json["iat"].get<int64_t>());
  claims.expires_at = absl::FromUnixSeconds(claims_json["exp"].get<int64_t>());
  if (claims.role == v1::ROLE_UNSPECIFIED || claims.subject.empty()) {
    return Unauthenticated("unknown role or empty subject");
  }
  return claims;
}

}  // namespace ecoact
