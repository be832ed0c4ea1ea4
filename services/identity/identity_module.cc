#include "services/identity/identity_module.h"

#include "services/common/log.h"
#include "services/common/status_macros.h"
#include "services/identity/identity_flags.h"
#include "services/identity/identity_service.h"

namespace ecoact::identity {

absl::Status AddIdentityService(Assembly& assembly) {
  ASSIGN_OR_RETURN(IdentityConfig config, IdentityConfigFromFlags());
  ASSIGN_OR_RETURN(WardDirectory wards, WardDirectory::Parse(config.wards));
  auto* ward_directory = assembly.Keep(std::make_unique<WardDirectory>(std::move(wards)));
  auto* store = assembly.Keep(
      std::make_unique<RedisAccountStore>(assembly.redis, *assembly.keys));
  auto* teams = assembly.Keep(std::make_unique<RedisTeamStore>(assembly.redis, *assembly.keys));
  auto* privacy =
      assembly.Keep(std::make_unique<RedisPrivacyStore>(assembly.redis, *assembly.keys));
  RefreshPolicy refresh_policy;
  refresh_policy.lifetime = config.refresh_token_lifetime;
  refresh_policy.max_age = config.session_max_age;
  refresh_policy.max_age_staff = config.session_max_age_staff;
  auto* sessions = assembly.Keep(
      std::make_unique<SessionStore>(assembly.redis, *assembly.keys, refresh_policy));
  IdentityOptions options;
  if (!config.oidc_issuer.empty()) {
    ASSIGN_OR_RETURN(options.oidc, OidcProvider::Create(config.oidc_issuer, config.oidc_audience,
                                                        config.oidc_jwks_file));
  }
  if (!assembly.tokens->can_issue()) {
    return absl::InvalidArgumentError(
        "the identity service issues tokens: give it --token_signing_key or --token_keys");
  }
  // Credentials derive from the deployment's secret, under their own label.
  options.credential_key = assembly.config->server_secret;
  options.password_iterations = config.password_iterations;
  auto* service = assembly.Keep(std::make_unique<IdentityServiceImpl>(
      store, teams, privacy, sessions, assembly.auth, ward_directory, options));
  assembly.server->AddService(service, "ecoact.v1.IdentityService");
  if (config.admin_password.empty()) {
    LogWarning("no --admin_password: no admin account is created");
    return absl::OkStatus();
  }
  absl::Status admin = EnsureAdmin(store, config.admin_login, config.admin_password,
                                   config.password_iterations, assembly.auth->Now());
  if (absl::IsUnavailable(admin) || absl::IsDeadlineExceeded(admin)) {
    // Redis may start after us; the admin is created on the next start.
    LogError("could not create the first admin: Redis unreachable",
             {{"reason", std::string(admin.message())}});
    return absl::OkStatus();
  }
  return admin;
}

}  // namespace ecoact::identity
