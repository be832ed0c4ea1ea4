#pragma once

#include "services/common/assembly.h"

namespace ecoact::actions {

// Adds ecoact.v1.ActionsService (loads the catalogue for conversions).
absl::Status AddActionsService(Assembly& assembly);

}  // namespace ecoact::actions
