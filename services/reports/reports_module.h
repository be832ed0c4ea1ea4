#pragma once

#include "services/common/assembly.h"

namespace ecoact::reports {

// Adds ecoact.v1.ReportsService and, with --reports_projector, the reports
// projector (reads the catalogue for factor sources and the equivalents,
// --wards for ward names, events for event names).
absl::Status AddReportsService(Assembly& assembly);

}  // namespace ecoact::reports
