#include "services/identity/oidc.h"

#include <sys/stat.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/common/log.h"
#include "services/common/tokens.h"

namespace ecoact::identity {
namespace {

constexpr size_t kMaxSubjectBytes = 255;  // OpenID Connect Core 1.0, 2.

bool Stat(const std::string& path, struct timespec* mtime) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return false;
  *mtime = info.st_mtim;
  return true;
}

absl::StatusOr<std::shared_ptr<const JwsKeySet>> LoadKeys(const std::string& path) {
  auto keys = std::make_shared<JwsKeySet>();
  absl::Status added = keys->AddFile(path);
  if (!added.ok()) return absl::InvalidArgumentError(absl::StrCat("--oidc_jwks_file: ", added.message()));
  if (keys->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--oidc_jwks_file: ", path, " holds no RS256 or ES256 signing key"));
  }
  return std::shared_ptr<const JwsKeySet>(std::move(keys));
}

absl::Status AsIdTokenError(const absl::Status& status) {
  absl::string_view message = status.message();
  absl::ConsumePrefix(&message, "invalid token: ");
  return absl::UnauthenticatedError(absl::StrCat("invalid ID token: ", message));
}

}  // namespace

std::string OidcIdentity::LinkKey(absl::string_view server_secret) const {
  const std::string input = absl::StrCat("oidc:", issuer, "\n", subject);
  return absl::BytesToHexString(HmacSha256(server_secret, input));
}

absl::StatusOr<std::unique_ptr<OidcProvider>> OidcProvider::Create(std::string issuer,
                                                                    std::string audience,
                                                                    std::string jwks_file) {
  std::unique_ptr<OidcProvider> provider(new OidcProvider());
  provider->expect_.issuer = std::move(issuer);
  provider->expect_.audience = std::move(audience);
  provider->jwks_file_ = std::move(jwks_file);
  struct timespec mtime = {0, 0};
  Stat(provider->jwks_file_, &mtime);
  auto keys = LoadKeys(provider->jwks_file_);
  if (!keys.ok()) return keys.status();
  absl::MutexLock lock(&provider->mu_);
  provider->keys_ = *std::move(keys);
  provider->loaded_mtime_ = mtime;
  return provider;
}

bool OidcProvider::ReloadIfChanged() {
  struct timespec mtime;
  if (!Stat(jwks_file_, &mtime)) {
    LogWarning("cannot read the OIDC JWKS file; keeping the previous provider keys",
               {{"file", jwks_file_}, {"reason", std::string("stat failed")}});
    return false;
  }
  absl::MutexLock lock(&mu_);
  if (mtime.tv_sec == loaded_mtime_.tv_sec && mtime.tv_nsec == loaded_mtime_.tv_nsec) {
    return false;
  }
  auto keys = LoadKeys(jwks_file_);
  if (!keys.ok()) {
    // Not marked as loaded: tried again at the next check (the job may be
    // halfway through writing it). The reason names key ids at most.
    LogWarning("cannot reload the OIDC JWKS file; keeping the previous provider keys",
               {{"file", jwks_file_}, {"reason", std::string(keys.status().message())}});
    return false;
  }
  loaded_mtime_ = mtime;
  keys_ = *std::move(keys);
  return true;
}

absl::StatusOr<OidcIdentity> OidcProvider::Verify(absl::string_view id_token, absl::Time now) {
  bool check = false;
  {
    absl::MutexLock lock(&mu_);
    if (now - last_check_ >= kCheckInterval || now < last_check_) {
      last_check_ = now;
      check = true;
    }
  }
  if (check) ReloadIfChanged();
  std::shared_ptr<const JwsKeySet> keys;
  {
    absl::MutexLock lock(&mu_);
    keys = keys_;
  }
  auto payload = VerifyJwt(id_token, *keys, expect_, now);
  if (!payload.ok() && absl::StrContains(payload.status().message(), "unknown key") &&
      ReloadIfChanged()) {
    absl::MutexLock lock(&mu_);
    keys = keys_;
    payload = VerifyJwt(id_token, *keys, expect_, now);
  }
  if (!payload.ok()) return AsIdTokenError(payload.status());
  auto sub = payload->find("sub");
  if (sub == payload->end() || !sub->is_string() || sub->get<std::string>().empty() ||
      sub->get<std::string>().size() > kMaxSubjectBytes) {
    return absl::UnauthenticatedError("invalid ID token: no subject (sub)");
  }
  return OidcIdentity{expect_.issuer, sub->get<std::string>()};
}

}  // namespace ecoact::identity
