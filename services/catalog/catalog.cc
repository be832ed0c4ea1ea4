#include "services/catalog/catalog.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "catalog_data.h"
#include "ecoact/catalogfile/v1/catalog_file.pb.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "services/common/status_macros.h"
#include "services/common/textproto.h"
#include "services/common/validation.h"

namespace ecoact::catalog {
namespace {

namespace file = ::ecoact::catalogfile::v1;

// Categories the totals are kept by; a new one needs code that shows it.
const std::set<std::string, std::less<>>& KnownCategories() {
  static const auto* categories =
      new std::set<std::string, std::less<>>{"clothing", "recycling", "plastic", "mobility"};
  return *categories;
}

// Upper bounds that keep every product below in 64 bits with room to spare:
// 1e9 milli-units x 1e12 mg = 1e21 fits __int128, and the results fit int64.
constexpr int64_t kMaxQuantityMilli = int64_t{1'000'000} * 1000;  // 1,000,000 units
constexpr int64_t kMaxMilligramsPerUnit = int64_t{1'000'000} * 1'000'000;  // 1,000 t
constexpr int64_t kMaxPointsPerUnit = 1'000'000;
constexpr absl::Duration kMaxAhead = absl::Minutes(5);

// "kg" for factors ("kg CO2e/kg") and ranges ("0.1 and 200 kg").
absl::string_view UnitSymbol(v1::Unit unit) {
  switch (unit) {
    case v1::UNIT_KILOGRAM:
      return "kg";
    case v1::UNIT_ITEM:
      return "item";
    case v1::UNIT_KILOMETRE:
      return "km";
    default:
      return "?";
  }
}

absl::string_view UnitPlural(v1::Unit unit) {
  return unit == v1::UNIT_ITEM ? "items" : UnitSymbol(unit);
}

std::string UnitLabel(v1::Unit unit) {
  return absl::StrCat(v1::Unit_Name(unit), " (", UnitPlural(unit), ")");
}

bool IsKnownUnit(v1::Unit unit) {
  return unit == v1::UNIT_KILOGRAM || unit == v1::UNIT_ITEM || unit == v1::UNIT_KILOMETRE;
}

// [a-z][a-z0-9_]{1,39}
bool IsValidId(absl::string_view id) {
  if (id.size() < 2 || id.size() > 40) return false;
  if (!absl::ascii_islower(static_cast<unsigned char>(id[0]))) return false;
  for (char c : id.substr(1)) {
    auto u = static_cast<unsigned char>(c);
    if (!absl::ascii_islower(u) && !absl::ascii_isdigit(u) && c != '_') return false;
  }
  return true;
}

// Parses a non-negative decimal ("22.158", "200") exactly into an integer in
// units of 10^-decimals, refusing more than `decimals` decimals, signs,
// exponents and anything above `max_scaled`.
absl::StatusOr<int64_t> ParseScaledDecimal(absl::string_view text, int decimals,
                                           int64_t max_scaled) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        why, ": expected a non-negative decimal with at most ", decimals,
        " decimals such as \"0.25\" or \"200\", got '", text, "'"));
  };
  size_t dot = text.find('.');
  absl::string_view whole = text.substr(0, dot);
  absl::string_view fraction =
      dot == absl::string_view::npos ? absl::string_view() : text.substr(dot + 1);
  if (whole.empty()) return bad("missing digits before the decimal point");
  if (dot != absl::string_view::npos && fraction.empty()) {
    return bad("missing digits after the decimal point");
  }
  for (absl::string_view part : {whole, fraction}) {
    for (char c : part) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return bad("not a decimal number");
    }
  }
  if (fraction.size() > static_cast<size_t>(decimals)) return bad("too many decimals");
  // Leading zeros are harmless; strip them before the length check.
  while (whole.size() > 1 && whole[0] == '0') whole.remove_prefix(1);
  if (whole.size() > 15) return bad("too large");
  int64_t value = 0;
  for (char c : whole) value = value * 10 + (c - '0');
  for (int i = 0; i < decimals; ++i) {
    value = value * 10 + (i < static_cast<int>(fraction.size()) ? fraction[i] - '0' : 0);
    if (value > max_scaled) return bad("too large");
  }
  if (value > max_scaled) return bad("too large");
  return value;
}

// 22158000, 6 -> "22.158"; 200000, 3 -> "200".
std::string FormatScaled(int64_t value, int decimals) {
  int64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  std::string text = absl::StrCat(value / scale);
  int64_t fraction = value % scale;
  if (fraction == 0) return text;
  std::string digits = absl::StrCat(scale + fraction).substr(1);  // zero-padded
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  return absl::StrCat(text, ".", digits);
}

// The shortest text that reads back as `value` ("2.0005", "nan", "1e+300").
std::string ShortestText(double value) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// The quantity rounded half up to 1/1000 of a unit, on the shortest decimal
// text of the double, i.e. on what the client typed: 2.0005 -> 2001, whereas
// 2.0005 * 1000 in binary floating point may be 2000.4999...
// Precondition: 0 < value <= 1e7.
int64_t RoundToMilli(double value) {
  char buffer[512];  // fixed notation of the smallest double is ~330 chars
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed);
  absl::string_view text(buffer, static_cast<size_t>(result.ptr - buffer));
  size_t dot = text.find('.');
  absl::string_view whole = text.substr(0, dot);
  absl::string_view fraction =
      dot == absl::string_view::npos ? absl::string_view() : text.substr(dot + 1);
  int64_t milli = 0;
  for (char c : whole) milli = milli * 10 + (c - '0');
  for (size_t i = 0; i < 3; ++i) milli = milli * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  if (fraction.size() > 3 && fraction[3] >= '5') ++milli;
  return milli;
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}


absl::Status Prefixed(absl::string_view prefix, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

absl::StatusOr<absl::Time> ParseLocalDate(absl::string_view text, const CityCalendar& calendar) {
  ASSIGN_OR_RETURN(absl::CivilDay day, ParseCivilDay(text));
  return calendar.StartOf(day);
}

absl::Status ValidateSources(const file::FactorDef& def) {
  if (def.sources().empty()) {
    return absl::InvalidArgumentError(
        "sources: at least one source (title, publisher, year, url) is required");
  }
  for (int i = 0; i < def.sources_size(); ++i) {
    const v1::Source& source = def.sources(i);
    std::string where = absl::StrCat("sources[", i, "]: ");
    if (absl::StripAsciiWhitespace(source.title()).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "title is required"));
    }
    if (!absl::StartsWith(source.url(), "https://") && !absl::StartsWith(source.url(), "http://")) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "url must be an http(s) address, got '", source.url(), "'"));
    }
    if (source.year() != 0 && (source.year() < 1900 || source.year() > 2200)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "year must be a publication year or unset, got ", source.year()));
    }
  }
  return absl::OkStatus();
}

// One factor version without its validity end, which depends on the next.
absl::StatusOr<FactorVersion> BuildFactor(const file::FactorDef& def, int expected_version,
                                          v1::Unit unit, const CityCalendar& calendar) {
  if (def.version() != expected_version) {
    return absl::InvalidArgumentError(absl::StrCat(
        "version: versions must be numbered 1, 2, 3... in file order; expected ",
        expected_version, ", got ", def.version()));
  }
  FactorVersion factor;
  factor.version = def.version();
  auto mg = ParseScaledDecimal(def.kg_co2e_per_unit(), 6, kMaxMilligramsPerUnit);
  if (!mg.ok()) return Prefixed("kg_co2e_per_unit: ", mg.status());
  factor.co2e_mg_per_unit = *mg;
  if (absl::StripAsciiWhitespace(def.basis()).empty()) {
    return absl::InvalidArgumentError(
        "basis is required: say what is avoided compared with what (baseline and boundary)");
  }
  RETURN_IF_ERROR(ValidateSources(def));
  if (def.confidence() == v1::CONFIDENCE_UNSPECIFIED || !v1::Confidence_IsValid(def.confidence())) {
    return absl::InvalidArgumentError(
        "confidence must be CONFIDENCE_HIGH, CONFIDENCE_MEDIUM or CONFIDENCE_LOW");
  }
  auto from = ParseLocalDate(def.valid_from(), calendar);
  if (!from.ok()) return Prefixed("valid_from: ", from.status());
  factor.valid_from = *from;

  v1::Factor& proto = factor.proto;
  proto.set_version(factor.version);
  proto.set_co2e_milligrams_per_unit(factor.co2e_mg_per_unit);
  proto.set_display(absl::StrCat(FormatScaled(factor.co2e_mg_per_unit, 6), " kg CO2e/",
                                 UnitSymbol(unit)));
  proto.set_basis(def.basis());
  *proto.mutable_sources() = def.sources();
  proto.set_confidence(def.confidence());
  proto.set_derivation(def.derivation());
  *proto.mutable_valid_from() = ToTimestamp(factor.valid_from);
  return factor;
}

// Version k ends exactly where version k+1 starts; the last is open-ended.
absl::Status LinkValidity(const google::protobuf::RepeatedPtrField<file::FactorDef>& defs,
                          std::vector<FactorVersion>& factors, const CityCalendar& calendar) {
  for (size_t i = 0; i < factors.size(); ++i) {
    const file::FactorDef& def = defs[static_cast<int>(i)];
    std::string where = absl::StrCat("factor v", def.version(), ": valid_until: ");
    if (i + 1 == factors.size()) {
      if (!def.valid_until().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, "the last version must be open-ended (empty valid_until), got '",
            def.valid_until(), "'; to retire a factor add a new version"));
      }
      break;
    }
    const file::FactorDef& next = defs[static_cast<int>(i + 1)];
    if (def.valid_until().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "required because v", next.version(), " follows; set it to v", next.version(),
          "'s valid_from '", next.valid_from(), "'"));
    }
    auto until = ParseLocalDate(def.valid_until(), calendar);
    if (!until.ok()) return Prefixed(where, until.status());
    if (*until <= factors[i].valid_from) {
      return absl::InvalidArgumentError(absl::StrCat(where, "'", def.valid_until(),
                                                     "' must be after valid_from '",
                                                     def.valid_from(), "'"));
    }
    if (*until != factors[i + 1].valid_from) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "'", def.valid_until(), "' must equal v", next.version(), "'s valid_from '",
          next.valid_from(), "' (", *until < factors[i + 1].valid_from ? "gap" : "overlap",
          " between versions)"));
    }
    factors[i].valid_until = *until;
    *factors[i].proto.mutable_valid_until() = ToTimestamp(*until);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ParseQuantity(absl::string_view field, absl::string_view text,
                                      v1::Unit unit) {
  auto milli = ParseScaledDecimal(text, 3, kMaxQuantityMilli);
  if (!milli.ok()) return Prefixed(absl::StrCat(field, ": "), milli.status());
  if (unit == v1::UNIT_ITEM && *milli % 1000 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": items are counted in whole numbers, got '", text, "'"));
  }
  return *milli;
}

absl::StatusOr<ActionTypeInfo> BuildType(const file::ActionTypeDef& def,
                                         const CityCalendar& calendar) {
  ActionTypeInfo info;
  info.id = def.id();
  info.category = def.category();
  info.unit = def.unit();
  if (def.category().empty() || KnownCategories().count(def.category()) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "category must be one of ", absl::StrJoin(KnownCategories(), ", "), "; got '",
        def.category(), "'"));
  }
  if (absl::StripAsciiWhitespace(def.name_ja()).empty() ||
      absl::StripAsciiWhitespace(def.name_en()).empty()) {
    return absl::InvalidArgumentError("name_ja and name_en are required");
  }
  if (!IsKnownUnit(def.unit())) {
    return absl::InvalidArgumentError(
        "unit must be UNIT_KILOGRAM, UNIT_ITEM or UNIT_KILOMETRE");
  }
  ASSIGN_OR_RETURN(info.min_quantity_milli,
                   ParseQuantity("min_quantity", def.min_quantity(), def.unit()));
  ASSIGN_OR_RETURN(info.max_quantity_milli,
                   ParseQuantity("max_quantity", def.max_quantity(), def.unit()));
  if (info.min_quantity_milli <= 0) {
    return absl::InvalidArgumentError("min_quantity must be greater than 0");
  }
  if (info.min_quantity_milli > info.max_quantity_milli) {
    return absl::InvalidArgumentError(absl::StrCat("min_quantity '", def.min_quantity(),
                                                   "' must not exceed max_quantity '",
                                                   def.max_quantity(), "'"));
  }
  if (def.points_per_unit() < 0 || def.points_per_unit() > kMaxPointsPerUnit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "points_per_unit must be in [0, ", kMaxPointsPerUnit, "], got ", def.points_per_unit()));
  }
  info.points_per_unit = def.points_per_unit();
  if (!def.daily_cap().empty()) {
    ASSIGN_OR_RETURN(info.daily_cap_milli,
                     ParseQuantity("daily_cap", def.daily_cap(), def.unit()));
    if (info.daily_cap_milli != 0 && info.daily_cap_milli < info.min_quantity_milli) {
      return absl::InvalidArgumentError(absl::StrCat(
          "daily_cap '", def.daily_cap(), "' is below min_quantity '", def.min_quantity(),
          "': nobody could self-report this action; use \"0\" or \"\" for no cap"));
    }
  }
  if (def.factors().empty()) {
    return absl::InvalidArgumentError("factors: at least one factor version is required");
  }
  for (int i = 0; i < def.factors_size(); ++i) {
    auto factor = BuildFactor(def.factors(i), i + 1, def.unit(), calendar);
    if (!factor.ok()) {
      return Prefixed(absl::StrCat("factor v", def.factors(i).version(), ": "), factor.status());
    }
    info.factors.push_back(*std::move(factor));
  }
  RETURN_IF_ERROR(LinkValidity(def.factors(), info.factors, calendar));

  v1::ActionType& proto = info.proto;
  proto.set_id(info.id);
  proto.set_category(info.category);
  proto.set_name_ja(def.name_ja());
  proto.set_name_en(def.name_en());
  proto.set_unit(info.unit);
  proto.set_min_quantity_milli(info.min_quantity_milli);
  proto.set_max_quantity_milli(info.max_quantity_milli);
  proto.set_points_per_unit(info.points_per_unit);
  proto.set_daily_cap_milli(info.daily_cap_milli);
  // The open-ended version; ListActionTypes replaces it with the version in
  // force at the time of the call when a future version has been added.
  *proto.mutable_current_factor() = info.factors.back().proto;
  return info;
}

std::string AllowedRange(const ActionTypeInfo& type) {
  return absl::StrCat("between ", FormatScaled(type.min_quantity_milli, 3), " and ",
                      FormatScaled(type.max_quantity_milli, 3), " ", UnitPlural(type.unit));
}

absl::StatusOr<int64_t> QuantityToMilli(const ActionTypeInfo& type, double quantity) {
  if (!std::isfinite(quantity)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "quantity must be a finite number ", AllowedRange(type), ", got ", ShortestText(quantity)));
  }
  if (type.unit == v1::UNIT_ITEM && quantity != std::trunc(quantity)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "quantity of '", type.id, "' is counted in whole items: it must be a whole number ",
        AllowedRange(type), ", got ", ShortestText(quantity)));
  }
  auto out_of_range = [&] {
    return absl::InvalidArgumentError(absl::StrCat("quantity must be ", AllowedRange(type),
                                                   ", got ", ShortestText(quantity)));
  };
  // Above 10x the largest allowed value there is nothing to round.
  if (quantity <= 0 || quantity > static_cast<double>(type.max_quantity_milli) / 100.0 + 1) {
    return out_of_range();
  }
  int64_t milli = RoundToMilli(quantity);
  if (milli < type.min_quantity_milli || milli > type.max_quantity_milli) return out_of_range();
  return milli;
}

}  // namespace

absl::StatusOr<Catalog> Catalog::Parse(absl::string_view textproto, const CityCalendar& calendar) {
  file::CatalogFile parsed;
  google::protobuf::TextFormat::Parser parser;
  RETURN_IF_ERROR(ParseTextproto("catalogue", textproto, parser, &parsed));
  if (absl::StripAsciiWhitespace(parsed.edition()).empty()) {
    return absl::InvalidArgumentError(
        "catalogue: edition is required (e.g. \"2026-11-29.1\"); bump it on every change");
  }
  if (parsed.action_types().empty()) {
    return absl::InvalidArgumentError("catalogue: no action_types");
  }
  Catalog catalog;
  catalog.edition_ = parsed.edition();
  catalog.zone_ = calendar.zone();
  for (int i = 0; i < parsed.action_types_size(); ++i) {
    const file::ActionTypeDef& def = parsed.action_types(i);
    if (!IsValidId(def.id())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "catalogue: action_types[", i, "]: id must match [a-z][a-z0-9_]{1,39}, got '",
          def.id(), "'"));
    }
    if (catalog.index_.count(def.id()) > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "catalogue: action_types[", i, "]: duplicate id '", def.id(), "'"));
    }
    auto info = BuildType(def, calendar);
    if (!info.ok()) {
      return Prefixed(absl::StrCat("catalogue: action type '", def.id(), "': "), info.status());
    }
    catalog.index_.emplace(def.id(), catalog.types_.size());
    catalog.types_.push_back(*std::move(info));
  }
  return catalog;
}

const ActionTypeInfo* Catalog::Find(absl::string_view id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &types_[it->second];
}

absl::StatusOr<const ActionTypeInfo*> Catalog::Lookup(absl::string_view id) const {
  if (id.empty()) {
    return absl::InvalidArgumentError(
        "action_type is required; see CatalogService.ListActionTypes");
  }
  if (absl::Status shaped = ValidateActionTypeId("action_type", id); !shaped.ok()) return shaped;
  const ActionTypeInfo* type = Find(id);
  if (type == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown action type '", id,
                                            "'; see CatalogService.ListActionTypes"));
  }
  return type;
}

const FactorVersion* FactorValidAt(const ActionTypeInfo& type, absl::Time t) {
  for (const FactorVersion& factor : type.factors) {
    if (factor.valid_from <= t && (!factor.valid_until || t < *factor.valid_until)) {
      return &factor;
    }
  }
  return nullptr;
}

absl::StatusOr<Conversion> Catalog::Convert(const ConversionRequest& request) const {
  ASSIGN_OR_RETURN(const ActionTypeInfo* type, Lookup(request.action_type));
  if (request.unit != v1::UNIT_UNSPECIFIED && request.unit != type->unit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "action type '", type->id, "' is measured in ", UnitLabel(type->unit),
        ", but the request says ", UnitLabel(request.unit)));
  }
  ASSIGN_OR_RETURN(int64_t quantity_milli, QuantityToMilli(*type, request.quantity));
  const FactorVersion* factor = FactorValidAt(*type, request.occurred_at);
  if (factor == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no factor of '", type->id, "' applies at ",
        absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", request.occurred_at, zone_),
        ": the first version is valid from ",
        absl::FormatTime("%Y-%m-%d", type->factors.front().valid_from, zone_), " (",
        zone_.name(), ")"));
  }
  Conversion conversion;
  conversion.type = type;
  conversion.factor = factor;
  conversion.quantity_milli = quantity_milli;
  // Both operands are bounded at parse time (see kMax*), and so are the results.
  const __int128 milligrams = static_cast<__int128>(quantity_milli) * factor->co2e_mg_per_unit;
  conversion.co2e_grams = static_cast<int64_t>((milligrams + 500'000) / 1'000'000);
  conversion.points =
      static_cast<int64_t>(static_cast<__int128>(quantity_milli) * type->points_per_unit / 1000);
  conversion.factor_tag = absl::StrCat(type->id, "@v", factor->version);
  return conversion;
}

absl::string_view EmbeddedCatalogText() { return embedded::kCatalogTextproto; }

absl::Status CheckOccurredAt(absl::Time occurred_at, absl::Time now, absl::Duration max_backdate) {
  const absl::Time earliest = now - max_backdate;
  const absl::Time latest = now + kMaxAhead;
  if (occurred_at >= earliest && occurred_at <= latest) return absl::OkStatus();
  auto format = [](absl::Time t) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  };
  return absl::InvalidArgumentError(absl::StrCat(
      "occurred_at ", format(occurred_at), " is ",
      occurred_at > latest ? "in the future" : "too far back", ": it must be between ", format(earliest), " and ", format(latest), " (at most ",
      absl::FormatDuration(max_backdate), " before and ", absl::FormatDuration(kMaxAhead),
      " after the server's clock)"));
}

}  // namespace ecoact::catalog
