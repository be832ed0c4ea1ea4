// Everyday equivalents of a CO2 figure (a cedar's yearly absorption, car-km),
// from services/catalog/data/equivalents.textproto: each with its sources and
// confidence, like the emission factors.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ecoact/v1/reports.pb.h"

namespace ecoact::catalog {

// Parses and checks an equivalents file: ids [a-z][a-z0-9_]{1,39} and unique,
// labels and units present, kg_co2_per_unit a positive decimal with at most
// 3 decimals (exact grams), at least one source with title and publisher, a
// confidence. INVALID_ARGUMENT naming the entry otherwise. The result has
// every field of v1::Equivalent but quantity_milli.
absl::StatusOr<std::vector<v1::Equivalent>> ParseEquivalents(absl::string_view text);

// The file built into the binary.
absl::string_view EmbeddedEquivalentsText();

}  // namespace ecoact::catalog
