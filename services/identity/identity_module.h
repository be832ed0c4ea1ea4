#pragma once

#include "services/common/assembly.h"

namespace ecoact::identity {

// Adds ecoact.v1.IdentityService and creates the first admin if configured.
absl::Status AddIdentityService(Assembly& assembly);

}  // namespace ecoact::identity
