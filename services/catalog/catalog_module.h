#pragma once

#include "services/common/assembly.h"

namespace ecoact::catalog {

// Loads the catalogue (--catalog_file or the embedded one) and adds
// ecoact.v1.CatalogService.
absl::Status AddCatalogService(Assembly& assembly);

}  // namespace ecoact::catalog
