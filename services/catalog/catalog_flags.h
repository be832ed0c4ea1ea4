// Start-up configuration of the catalogue, shared by catalog_server and the
// actions service (which validates occurred_at with the same max_backdate).
#pragma once

#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/catalog/catalog.h"
#include "services/common/periods.h"

ABSL_DECLARE_FLAG(std::string, catalog_file);
ABSL_DECLARE_FLAG(absl::Duration, max_backdate);

namespace ecoact::catalog {

struct CatalogConfig {
  std::string catalog_file;      // --catalog_file; empty = the embedded catalogue
  absl::Duration max_backdate;   // --max_backdate
};

// Reads and validates the flags; INVALID_ARGUMENT names the flag.
absl::StatusOr<CatalogConfig> CatalogConfigFromFlags();

// Parses the configured file, or the catalogue built into the binary. Errors
// name the file.
absl::StatusOr<Catalog> LoadCatalog(const CatalogConfig& config, const CityCalendar& calendar);

}  // namespace ecoact::catalog
