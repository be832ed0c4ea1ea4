// Bearer tokens and the keys that verify them: everything a caller or an
// OpenID Connect provider hands to services/common/tokens. The first byte
// picks what the rest is:
//   0: a compact JWS, verified as an access token by a server holding an
//      HS256 and an ES256 key (the header, kid and alg checks, base64url);
//   1: the payload of a token whose header and HS256 signature are made
//      here, so that arbitrary claims reach the claims checks and the role
//      mapping (iss, aud, exp, nbf, iat, sub, role of every JSON type);
//   2: a JWKS document, as --token_verify_keys and --oidc_jwks_file hold;
//   3: a PEM key.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_support.h"
#include "services/common/tokens.h"

namespace {

using ecoact::JwsKey;
using ecoact::TokenService;

constexpr char kHmacSecret[] = "fuzz-hmac-secret-of-at-least-32-bytes!";

// The public half of a P-256 key made for this target with openssl; its
// private half was thrown away (tokens here are never ES256-valid).
constexpr char kEcPublicPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0kbpduHJxQbVFu8CCCzJ8W2Rq7Jd\n"
    "ugoZCTL9GH0kL8/n9tPlFtrAOsmW09shyznzaRoayKfO6FoRbPwjwxhvuw==\n"
    "-----END PUBLIC KEY-----\n";

const TokenService& Service() {
  static const TokenService* service = [] {
    TokenService::Options options;
    JwsKey hmac = ecoact::fuzz::OrDie(JwsKey::Hmac(kHmacSecret));
    options.signer.emplace("hs1", hmac);
    if (!options.verify_keys.Add("es1", ecoact::fuzz::OrDie(JwsKey::FromPem(kEcPublicPem)))
             .ok()) {
      std::abort();
    }
    return new TokenService(ecoact::fuzz::OrDie(TokenService::Create(std::move(options))));
  }();
  return *service;
}

const JwsKey& Hmac() {
  static const JwsKey* key = new JwsKey(ecoact::fuzz::OrDie(JwsKey::Hmac(kHmacSecret)));
  return *key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      (void)Service().Verify(input, ecoact::fuzz::FixedNow());
      break;
    case 1: {
      std::string signing_input =
          absl::StrCat(absl::WebSafeBase64Escape(R"({"alg":"HS256","kid":"hs1","typ":"JWT"})"),
                       ".", absl::WebSafeBase64Escape(input));
      absl::StatusOr<std::string> signature = Hmac().Sign(signing_input);
      if (!signature.ok()) std::abort();  // an HMAC key always signs
      (void)Service().Verify(
          absl::StrCat(signing_input, ".", absl::WebSafeBase64Escape(*signature)),
          ecoact::fuzz::FixedNow());
      break;
    }
    case 2: {
      ecoact::JwsKeySet keys;
      (void)keys.AddJwks(input, "fuzz");
      (void)keys.PublicJwks();
      break;
    }
    case 3: {
      absl::StatusOr<JwsKey> key = JwsKey::FromPem(input);
      if (key.ok()) (void)key->Thumbprint();
      break;
    }
  }
  return 0;
}
