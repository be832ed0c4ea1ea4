// ID tokens of an external OpenID Connect provider (docs/security.md,
// "Tokens"): verified against the provider's public keys from a JWKS file,
// its issuer and our audience. The file is re-read when it changed (the
// provider rotated keys and a job fetched its jwks_uri again): checked (a
// stat) at most every 30 s, and at once when a token names an unknown key,
// so a key the provider withdrew stops being trusted. A file that fails to
// load keeps the previous keys, is logged, and is tried again at the next
// check.
#pragma once

#include <ctime>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/tokens.h"

namespace ecoact::identity {

struct OidcIdentity {
  std::string issuer;
  std::string subject;
  // What ecoact keeps of it: hex HMAC-SHA256 keyed with the server secret
  // of "oidc:<issuer>\n<subject>". Keyed, so that knowing someone's
  // provider subject does not find their ecoact account (DESIGN invariant 7).
  std::string LinkKey(absl::string_view server_secret) const;
};

class OidcProvider {
 public:
  // INVALID_ARGUMENT if the JWKS file cannot be read or holds no usable key.
  static absl::StatusOr<std::unique_ptr<OidcProvider>> Create(std::string issuer,
                                                              std::string audience,
                                                              std::string jwks_file);

  // UNAUTHENTICATED "invalid ID token: <reason>".
  absl::StatusOr<OidcIdentity> Verify(absl::string_view id_token, absl::Time now);

 private:
  OidcProvider() = default;
  // Re-reads the file if it changed; true if the keys were replaced.
  bool ReloadIfChanged();

  static constexpr absl::Duration kCheckInterval = absl::Seconds(30);

  JwtExpectations expect_;
  std::string jwks_file_;
  absl::Mutex mu_;
  std::shared_ptr<const JwsKeySet> keys_ ABSL_GUARDED_BY(mu_);
  struct timespec loaded_mtime_ ABSL_GUARDED_BY(mu_) = {0, 0};
  absl::Time last_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace ecoact::identity
