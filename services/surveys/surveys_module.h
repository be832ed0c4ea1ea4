#pragma once

#include "services/common/assembly.h"

namespace ecoact::surveys {

// Adds ecoact.v1.SurveysService (reads events for targets and check-ins).
absl::Status AddSurveysService(Assembly& assembly);

}  // namespace ecoact::surveys
