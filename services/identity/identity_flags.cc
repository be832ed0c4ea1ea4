#include "services/identity/identity_flags.h"

#include "absl/flags/flag.h"
#include "services/identity/accounts.h"

ABSL_FLAG(std::string, wards, std::string(ecoact::identity::kKawasakiWards),
          "The city's wards as ID:NAME[,ID:NAME...] (default: Kawasaki's seven wards)");
ABSL_FLAG(std::string, admin_login, "admin",
          "Login of the first admin account, created at start-up if missing "
          "(env ECOACT_ADMIN_LOGIN)");
ABSL_FLAG(std::string, admin_password, "",
          "Password of the first admin (12+ characters; env ECOACT_ADMIN_PASSWORD). "
          "Empty: no admin is created");
ABSL_FLAG(int, password_iterations, 100000,
          "PBKDF2-HMAC-SHA256 iterations for new staff/admin passwords");

ABSL_FLAG(absl::Duration, refresh_token_lifetime, absl::Hours(24 * 30),
          "Lifetime of a refresh token; each refresh issues a new one for this long");
ABSL_FLAG(absl::Duration, session_max_age, absl::Hours(24 * 90),
          "Longest a citizen's sign-in lasts however often it is refreshed; then the app "
          "signs in again (env ECOACT_SESSION_MAX_AGE)");
ABSL_FLAG(absl::Duration, session_max_age_staff, absl::Hours(12),
          "Longest a staff or admin sign-in lasts however often it is refreshed; then they "
          "sign in again with their password (env ECOACT_SESSION_MAX_AGE_STAFF)");
ABSL_FLAG(std::string, oidc_issuer, "",
          "Issuer (iss) of the OpenID Connect provider whose ID tokens SignInWithOidc "
          "accepts (env ECOACT_OIDC_ISSUER); empty: OIDC sign-in is off");
ABSL_FLAG(std::string, oidc_audience, "",
          "Audience (aud) the provider's ID tokens must name: ecoact's client id there");
ABSL_FLAG(std::string, oidc_jwks_file, "",
          "JWKS file with the provider's public keys (its jwks_uri document; RS256 and ES256 "
          "keys are used, others skipped). Its modification time is checked at most every 30s "
          "and when a token names an unknown key; re-read when it changed. A file that fails "
          "to load keeps the previous keys, is logged and is retried at the next check");

namespace ecoact::identity {

absl::StatusOr<IdentityConfig> IdentityConfigFromFlags() {
  IdentityConfig config;
  config.wards = absl::GetFlag(FLAGS_wards);
  config.admin_login = absl::GetFlag(FLAGS_admin_login);
  config.admin_password = absl::GetFlag(FLAGS_admin_password);
  config.password_iterations = absl::GetFlag(FLAGS_password_iterations);
  if (config.password_iterations < 1000) {
    return absl::InvalidArgumentError("--password_iterations must be at least 1000");
  }
  config.refresh_token_lifetime = absl::GetFlag(FLAGS_refresh_token_lifetime);
  if (config.refresh_token_lifetime < absl::Minutes(1)) {
    return absl::InvalidArgumentError("--refresh_token_lifetime must be at least 1m");
  }
  config.session_max_age = absl::GetFlag(FLAGS_session_max_age);
  config.session_max_age_staff = absl::GetFlag(FLAGS_session_max_age_staff);
  if (config.session_max_age < absl::Minutes(1) || config.session_max_age_staff < absl::Minutes(1)) {
    return absl::InvalidArgumentError(
        "--session_max_age and --session_max_age_staff must be at least 1m");
  }
  config.oidc_issuer = absl::GetFlag(FLAGS_oidc_issuer);
  config.oidc_audience = absl::GetFlag(FLAGS_oidc_audience);
  config.oidc_jwks_file = absl::GetFlag(FLAGS_oidc_jwks_file);
  bool any = !config.oidc_issuer.empty() || !config.oidc_audience.empty() ||
             !config.oidc_jwks_file.empty();
  if (any && (config.oidc_issuer.empty() || config.oidc_audience.empty() ||
              config.oidc_jwks_file.empty())) {
    return absl::InvalidArgumentError(
        "OpenID Connect needs all of --oidc_issuer, --oidc_audience and --oidc_jwks_file");
  }
  return config;
}

}  // namespace ecoact::identity
