#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace ecoact::identity {

struct IdentityConfig {
  std::string wards;           // --wards
  std::string admin_login;     // --admin_login
  std::string admin_password;  // --admin_password
  int password_iterations = 0; // --password_iterations
};

absl::StatusOr<IdentityConfig> IdentityConfigFromFlags();

}  // namespace ecoact::identity
