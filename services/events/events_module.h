#pragma once

#include "services/common/assembly.h"

namespace ecoact::events {

// Adds ecoact.v1.EventsService (loads the catalogue for weigh-ins).
absl::Status AddEventsService(Assembly& assembly);

}  // namespace ecoact::events
