// Impact reports, the pure part (no gRPC, no Redis): what one ledger entry
// adds to the report keys, how the stored fields add up to figures, month
// ranges, CSV rows and everyday equivalents.
//
// Keys (docs/keys.md), all in the slot of the ledger shard N whose entries
// they count, so that a batch of one shard is one script:
//   <p>:{s<N>}:rpt:<month>:<scope>      hash  co2|<cat>, wt|<cat>, n|<cat>,
//                                             fv|<cat>|<fv> (co2), fvn|<cat>|<fv> (actions)
//   <p>:{s<N>}:rpt-hll:<month>:<scope>  HLL   accounts active in the scope and month
//   <p>:{s<N>}:rpt-hll:<month>:<scope>|<cat>  HLL  the same per category
//   <p>:{s<N>}:rpt-grp:<month>          hash  co2|<scope>, wt|<scope>, n|<scope> per ward,
//                                             team and organisation (city rankings)
//   <p>:{s<N>}:rpt-idx:<month>          set   every <scope> with an entry that month
//   <p>:{s<N>}:rpt-applied              string  id of the last ledger entry counted
//   <p>:{s<N>}:rpt-owner                string  who may write (projector consumer or rebuild)
//   <p>:{s<N>}:rpt-holes                set     ids below rpt-applied not counted yet
// <scope> is "city", "ward:<id>", "team:<id>", "org:<id>", "event:<id>" or
// "camp:<id>".
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "ecoact/v1/common.pb.h"
#include "services/common/ledger_format.h"
#include "services/common/periods.h"

namespace ecoact::reports {

inline constexpr int kMaxMonths = 120;

// "city", "ward:nakahara", ... for a scope and id; empty for SCOPE_UNSPECIFIED.
std::string ScopeKey(v1::Scope scope, absl::string_view scope_id);
// The inverse; false for anything else.
bool ParseScopeKey(absl::string_view key, v1::Scope* scope, std::string* scope_id);
// "city", "ward", "team", "organisation", "event", "campaign" (CSV column).
absl::string_view ScopeName(v1::Scope scope);

// "YYYY-MM" -> month; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<absl::CivilMonth> ParseMonth(absl::string_view field, absl::string_view text);
std::string MonthKey(absl::CivilMonth month);

struct MonthRange {
  absl::CivilMonth from;
  absl::CivilMonth to;  // inclusive
  std::vector<std::string> Keys() const;
};
// Empty `to` is the month of `now`, empty `from` eleven months before `to`
// (when `from_required`, empty is INVALID_ARGUMENT). INVALID_ARGUMENT for a
// bad format, from after to, or more than kMaxMonths months.
absl::StatusOr<MonthRange> ResolveMonthRange(absl::string_view from, absl::string_view to,
                                             absl::Time now, const CityCalendar& calendar,
                                             bool from_required);

// The writes one batch of ledger entries makes, merged: increments summed
// per (key, field), PFADD members and SADD members de-duplicated per key.
// Key names are relative to the shard prefix ("rpt:2026-11:city").
struct ReportDelta {
  std::map<std::string, std::map<std::string, int64_t>> increments;
  std::map<std::string, std::set<std::string>> hll_adds;
  std::map<std::string, std::set<std::string>> set_adds;
  bool empty() const { return increments.empty() && hll_adds.empty() && set_adds.empty(); }
};

// Adds what `stored` contributes: to the city and to its ward, team,
// organisation, event and every campaign, in the month of occurred_at:
// co2, weight (kilogram units only: quantity_milli of a kilogram is grams),
// the action count (`cnt`), the factor version's share, and the account in
// the active-participant logs when the entry counts as an action (cnt 1).
void AddEntry(const StoredEntry& stored, const CityCalendar& calendar, ReportDelta* delta);

// The script call arguments of a delta: (op, key index, a, b) quadruples,
// where op is "h" (HINCRBY key a b), "p" (PFADD key a) or "s" (SADD key a),
// and key index is the 1-based KEYS position of the key given `first_key`
// (the index of the first data key) and the `keys` list it appends to.
void DeltaToScriptArgs(const ReportDelta& delta, const std::string& shard_prefix, int first_key,
                       std::vector<std::string>* keys, std::vector<std::string>* args);

struct Figures {
  int64_t co2e_grams = 0;
  int64_t weight_grams = 0;
  int64_t actions = 0;
  int64_t active_participants = 0;
  Figures& operator+=(const Figures& other);
  bool operator==(const Figures& other) const;
};

// What a scope's hash fields (one or several shards and months) add up to.
struct ScopeFigures {
  std::map<std::string, Figures> by_category;  // participants not filled here
  // factor version -> (co2, actions); with the category it belongs to.
  std::map<std::string, std::pair<int64_t, int64_t>> by_factor;
  std::map<std::string, std::string> factor_category;
  Figures Total() const;  // sum of categories (participants 0)
};
// Adds HGETALL field/value pairs of a rpt hash; unknown fields are ignored.
void AddHashFields(const std::vector<std::pair<std::string, std::string>>& fields,
                   ScopeFigures* out);

// Per group ("ward:x", "team:y", "org:z") figures from rpt-grp fields.
void AddGroupFields(const std::vector<std::pair<std::string, std::string>>& fields,
                    std::map<std::string, Figures>* out);

// floor(co2e_grams * 1000 / grams_per_unit) without overflow (saturating at
// the int64 range); 0 when grams_per_unit <= 0.
int64_t EquivalentQuantityMilli(int64_t co2e_grams, int64_t grams_per_unit);

inline constexpr absl::string_view kCsvHeader =
    "scope,scope_id,scope_name,month,category,co2e_grams,weight_grams,actions,"
    "active_participants,factor_versions\r\n";

struct CsvRow {
  v1::Scope scope = v1::SCOPE_UNSPECIFIED;
  std::string scope_id;
  std::string scope_name;
  std::string month;
  std::string category;
  Figures figures;
  std::vector<std::string> factor_versions;  // sorted on output
};
// One CRLF-terminated CSV line.
std::string FormatCsvRow(const CsvRow& row);

}  // namespace ecoact::reports
