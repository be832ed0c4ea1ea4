#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ecoact::identity {

struct IdentityConfig {
  std::string wards;           // --wards
  std::string admin_login;     // --admin_login
  std::string admin_password;  // --admin_password
  int password_iterations = 0; // --password_iterations
  absl::Duration refresh_token_lifetime;  // --refresh_token_lifetime
  absl::Duration session_max_age;         // --session_max_age (citizens)
  absl::Duration session_max_age_staff;   // --session_max_age_staff (staff, admins)
  std::string oidc_issuer;     // --oidc_issuer
  std::string oidc_audience;   // --oidc_audience
  std::string oidc_jwks_file;  // --oidc_jwks_file
};

absl::StatusOr<IdentityConfig> IdentityConfigFromFlags();

}  // namespace ecoact::identity
