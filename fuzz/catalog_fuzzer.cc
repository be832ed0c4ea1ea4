// The catalogue loader (--catalog_file): any text goes through the textproto
// parser and the whole-file validation; a catalogue that is accepted must
// then convert its own boundary quantities at the time of every factor
// version without crashing or overflowing (the bounds checked at load time
// are what keeps Convert's arithmetic exact).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fuzz/fuzz_support.h"

namespace ecoact::fuzz {
namespace {

void Convert(const catalog::Catalog& catalog, const catalog::ActionTypeInfo& type, double quantity,
             absl::Time at) {
  catalog::ConversionRequest request;
  request.action_type = type.id;
  request.quantity = quantity;
  request.unit = type.unit;
  request.occurred_at = at;
  absl::StatusOr<catalog::Conversion> conversion = catalog.Convert(request);
  if (conversion.ok() && (conversion->co2e_grams < 0 || conversion->points < 0)) std::abort();
}

}  // namespace
}  // namespace ecoact::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ecoact;
  absl::StatusOr<catalog::Catalog> parsed = catalog::Catalog::Parse(
      absl::string_view(reinterpret_cast<const char*>(data), size), fuzz::Calendar());
  if (!parsed.ok()) return 0;
  for (const catalog::ActionTypeInfo& type : parsed->types()) {
    if (parsed->Find(type.id) != &type) std::abort();
    for (const catalog::FactorVersion& factor : type.factors) {
      for (int64_t milli : {type.min_quantity_milli, type.max_quantity_milli}) {
        fuzz::Convert(*parsed, type, static_cast<double>(milli) / 1000, factor.valid_from);
      }
      fuzz::Convert(*parsed, type, 1e300, factor.valid_from);
    }
  }
  return 0;
}
