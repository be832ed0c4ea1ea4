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
  return config;
}

}  // namespace ecoact::identity
