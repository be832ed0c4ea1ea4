// The action catalogue (domain code: no gRPC, no Redis). Parsed from the
// textproto data file (services/catalog/data/catalog.textproto), validated as
// a whole, and used to turn a quantity into exact integer grams of CO2e and
// points with the factor version valid on the action's local date.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ecoact/v1/catalog.pb.h"
#include "services/common/periods.h"

namespace ecoact::catalog {

struct FactorVersion {
  int version = 0;
  int64_t co2e_mg_per_unit = 0;  // milligrams CO2e per whole unit
  absl::Time valid_from;          // inclusive, start of the local day
  std::optional<absl::Time> valid_until;  // exclusive; nullopt = current
  v1::Factor proto;               // as shown by GetFactor
};

struct ActionTypeInfo {
  std::string id;
  std::string category;
  v1::Unit unit = v1::UNIT_UNSPECIFIED;
  int64_t min_quantity_milli = 0;
  int64_t max_quantity_milli = 0;
  int64_t points_per_unit = 0;
  int64_t daily_cap_milli = 0;        // 0 = no cap
  std::vector<FactorVersion> factors;  // increasing version
  v1::ActionType proto;                // with current_factor set
};

struct ConversionRequest {
  std::string action_type;
  double quantity = 0;
  v1::Unit unit = v1::UNIT_UNSPECIFIED;  // unspecified = take the type's unit
  absl::Time occurred_at;
};

struct Conversion {
  const ActionTypeInfo* type = nullptr;
  const FactorVersion* factor = nullptr;
  int64_t quantity_milli = 0;
  int64_t co2e_grams = 0;  // round half up of quantity_milli * mg / 1e6
  int64_t points = 0;      // floor(quantity_milli * points_per_unit / 1000)
  std::string factor_tag;  // "<action_type>@v<version>"
};

class Catalog {
 public:
  // Parses and validates the whole file; INVALID_ARGUMENT naming the action
  // type, the field and the rule (or the textproto line) on the first error.
  static absl::StatusOr<Catalog> Parse(absl::string_view textproto, const CityCalendar& calendar);

  const ActionTypeInfo* Find(absl::string_view id) const;
  // Like Find, with the status a handler returns: INVALID_ARGUMENT for an
  // empty id, NOT_FOUND (pointing at ListActionTypes) for an unknown one.
  absl::StatusOr<const ActionTypeInfo*> Lookup(absl::string_view id) const;
  const std::vector<ActionTypeInfo>& types() const { return types_; }
  const std::string& edition() const { return edition_; }

  // NOT_FOUND unknown type; INVALID_ARGUMENT wrong unit, non-finite,
  // out-of-range or fractional-item quantity (the message states the allowed
  // range in the type's unit), or no factor valid at occurred_at.
  absl::StatusOr<Conversion> Convert(const ConversionRequest& request) const;

 private:
  std::string edition_;
  std::vector<ActionTypeInfo> types_;
  std::map<std::string, size_t, std::less<>> index_;
  absl::TimeZone zone_;  // the city's, for messages that show local times
};

// The version of `type`'s factor whose [valid_from, valid_until) contains
// `t`; nullptr if `t` is before the first version.
const FactorVersion* FactorValidAt(const ActionTypeInfo& type, absl::Time t);

// The catalogue compiled into the binary (the repository's data file).
absl::string_view EmbeddedCatalogText();

// INVALID_ARGUMENT if `occurred_at` is more than 5 minutes after `now` or
// more than `max_backdate` before it; the message gives the accepted window.
absl::Status CheckOccurredAt(absl::Time occurred_at, absl::Time now, absl::Duration max_backdate);

}  // namespace ecoact::catalog
