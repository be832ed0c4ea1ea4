#include "services/reports/report_model.h"

#include <algorithm>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/csv.h"
#include "services/common/validation.h"

namespace ecoact::reports {
namespace {

struct ScopePrefix {
  v1::Scope scope;
  absl::string_view key;   // in Redis keys
  absl::string_view name;  // in CSV
};

constexpr ScopePrefix kScopes[] = {
    {v1::SCOPE_CITY, "city", "city"},        {v1::SCOPE_WARD, "ward", "ward"},
    {v1::SCOPE_TEAM, "team", "team"},        {v1::SCOPE_ORGANISATION, "org", "organisation"},
    {v1::SCOPE_EVENT, "event", "event"},     {v1::SCOPE_CAMPAIGN, "camp", "campaign"},
};

bool ParseInt64(absl::string_view text, int64_t* out) { return absl::SimpleAtoi(text, out); }

}  // namespace

std::string ScopeKey(v1::Scope scope, absl::string_view scope_id) {
  for (const ScopePrefix& s : kScopes) {
    if (s.scope != scope) continue;
    if (scope == v1::SCOPE_CITY) return "city";
    return absl::StrCat(s.key, ":", scope_id);
  }
  return "";
}

bool ParseScopeKey(absl::string_view key, v1::Scope* scope, std::string* scope_id) {
  if (key == "city") {
    *scope = v1::SCOPE_CITY;
    scope_id->clear();
    return true;
  }
  const size_t colon = key.find(':');
  if (colon == absl::string_view::npos || colon + 1 == key.size()) return false;
  for (const ScopePrefix& s : kScopes) {
    if (s.scope == v1::SCOPE_CITY || key.substr(0, colon) != s.key) continue;
    *scope = s.scope;
    *scope_id = std::string(key.substr(colon + 1));
    return true;
  }
  return false;
}

absl::string_view ScopeName(v1::Scope scope) {
  for (const ScopePrefix& s : kScopes) {
    if (s.scope == scope) return s.name;
  }
  return "";
}

absl::StatusOr<absl::CivilMonth> ParseMonth(absl::string_view field, absl::string_view text) {
  int year = 0, month = 0;
  const bool shaped = text.size() == 7 && text[4] == '-' &&
                      absl::SimpleAtoi(text.substr(0, 4), &year) &&
                      absl::SimpleAtoi(text.substr(5, 2), &month) &&
                      std::all_of(text.begin(), text.begin() + 4, ::isdigit) &&
                      std::all_of(text.begin() + 5, text.end(), ::isdigit);
  if (!shaped || month < 1 || month > 12 || year < 2000 || year > 2199) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be a month \"YYYY-MM\" between 2000-01 and 2199-12, got ",
                     QuoteForMessage(text)));
  }
  return absl::CivilMonth(year, month);
}

std::string MonthKey(absl::CivilMonth month) {
  return absl::StrFormat("%04d-%02d", month.year(), month.month());
}

std::vector<std::string> MonthRange::Keys() const {
  std::vector<std::string> keys;
  for (absl::CivilMonth m = from; m <= to; ++m) keys.push_back(MonthKey(m));
  return keys;
}

absl::StatusOr<MonthRange> ResolveMonthRange(absl::string_view from, absl::string_view to,
                                             absl::Time now, const CityCalendar& calendar,
                                             bool from_required) {
  MonthRange range;
  if (to.empty()) {
    if (from_required) return absl::InvalidArgumentError("to_month is required (\"YYYY-MM\")");
    range.to = absl::CivilMonth(calendar.LocalDay(now));
  } else {
    auto parsed = ParseMonth("to_month", to);
    if (!parsed.ok()) return parsed.status();
    range.to = *parsed;
  }
  if (from.empty()) {
    if (from_required) return absl::InvalidArgumentError("from_month is required (\"YYYY-MM\")");
    range.from = range.to - 11;
  } else {
    auto parsed = ParseMonth("from_month", from);
    if (!parsed.ok()) return parsed.status();
    range.from = *parsed;
  }
  if (range.from > range.to) {
    return absl::InvalidArgumentError(absl::StrCat("from_month ", MonthKey(range.from),
                                                   " is after to_month ", MonthKey(range.to),
                                                   "; swap them"));
  }
  const int64_t months = (range.to - range.from) + 1;
  if (months > kMaxMonths) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the range ", MonthKey(range.from), " to ", MonthKey(range.to), " is ", months,
        " months; at most ", kMaxMonths, " (10 years) per request: split it"));
  }
  return range;
}

void AddEntry(const StoredEntry& stored, const CityCalendar& calendar, ReportDelta* delta) {
  const v1::LedgerEntry& e = stored.entry;
  const absl::Time occurred = absl::FromUnixMillis(
      google::protobuf::util::TimeUtil::TimestampToMilliseconds(e.occurred_at()));
  const std::string month = calendar.KeysAt(occurred).month;
  const std::string& cat = e.category();
  const int64_t weight = e.unit() == v1::UNIT_KILOGRAM ? e.quantity_milli() : 0;
  const bool counts_participant = !stored.account_id.empty() && stored.count_delta == 1;
  std::vector<std::string> scopes = {"city"};
  if (!e.ward().empty()) scopes.push_back(ScopeKey(v1::SCOPE_WARD, e.ward()));
  if (!e.team().empty()) scopes.push_back(ScopeKey(v1::SCOPE_TEAM, e.team()));
  if (!e.organisation().empty()) {
    scopes.push_back(ScopeKey(v1::SCOPE_ORGANISATION, e.organisation()));
  }
  if (!e.event_id().empty()) scopes.push_back(ScopeKey(v1::SCOPE_EVENT, e.event_id()));
  for (const std::string& campaign : e.campaign_ids()) {
    if (!campaign.empty()) scopes.push_back(ScopeKey(v1::SCOPE_CAMPAIGN, campaign));
  }
  const std::string group_key = absl::StrCat("rpt-grp:", month);
  for (size_t i = 0; i < scopes.size(); ++i) {
    const std::string& scope = scopes[i];
    std::map<std::string, int64_t>& fields = delta->increments[absl::StrCat("rpt:", month, ":", scope)];
    fields[absl::StrCat("co2|", cat)] += e.co2e_grams();
    if (weight != 0) fields[absl::StrCat("wt|", cat)] += weight;
    fields[absl::StrCat("n|", cat)] += stored.count_delta;
    if (!e.factor_version().empty()) {
      fields[absl::StrCat("fv|", cat, "|", e.factor_version())] += e.co2e_grams();
      fields[absl::StrCat("fvn|", cat, "|", e.factor_version())] += stored.count_delta;
    }
    if (counts_participant) {
      const std::string hll = absl::StrCat("rpt-hll:", month, ":", scope);
      delta->hll_adds[hll].insert(stored.account_id);
      delta->hll_adds[absl::StrCat(hll, "|", cat)].insert(stored.account_id);
    }
    delta->set_adds[absl::StrCat("rpt-idx:", month)].insert(scope);
    // Wards, teams and organisations (scopes 1..3 when present) also feed the
    // city's rankings.
    const bool group = scope.rfind("ward:", 0) == 0 || scope.rfind("team:", 0) == 0 ||
                       scope.rfind("org:", 0) == 0;
    if (group) {
      std::map<std::string, int64_t>& g = delta->increments[group_key];
      g[absl::StrCat("co2|", scope)] += e.co2e_grams();
      if (weight != 0) g[absl::StrCat("wt|", scope)] += weight;
      g[absl::StrCat("n|", scope)] += stored.count_delta;
    }
  }
}

void DeltaToScriptArgs(const ReportDelta& delta, const std::string& shard_prefix, int first_key,
                       std::vector<std::string>* keys, std::vector<std::string>* args) {
  std::map<std::string, int> index;
  auto key_index = [&](const std::string& name) {
    auto [it, added] = index.try_emplace(name, 0);
    if (added) {
      keys->push_back(absl::StrCat(shard_prefix, name));
      it->second = first_key + static_cast<int>(index.size()) - 1;
    }
    return absl::StrCat(it->second);
  };
  for (const auto& [key, fields] : delta.increments) {
    const std::string k = key_index(key);
    for (const auto& [field, value] : fields) {
      if (value == 0) continue;
      args->insert(args->end(), {"h", k, field, absl::StrCat(value)});
    }
  }
  for (const auto& [key, members] : delta.hll_adds) {
    const std::string k = key_index(key);
    for (const std::string& m : members) args->insert(args->end(), {"p", k, m, ""});
  }
  for (const auto& [key, members] : delta.set_adds) {
    const std::string k = key_index(key);
    for (const std::string& m : members) args->insert(args->end(), {"s", k, m, ""});
  }
}

Figures& Figures::operator+=(const Figures& other) {
  co2e_grams += other.co2e_grams;
  weight_grams += other.weight_grams;
  actions += other.actions;
  active_participants += other.active_participants;
  return *this;
}

bool Figures::operator==(const Figures& other) const {
  return co2e_grams == other.co2e_grams && weight_grams == other.weight_grams &&
         actions == other.actions && active_participants == other.active_participants;
}

Figures ScopeFigures::Total() const {
  Figures total;
  for (const auto& [cat, f] : by_category) total += f;
  return total;
}

void AddHashFields(const std::vector<std::pair<std::string, std::string>>& fields,
                   ScopeFigures* out) {
  for (const auto& [field, text] : fields) {
    int64_t value = 0;
    if (!ParseInt64(text, &value)) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(field, absl::MaxSplits('|', 2));
    if (parts.size() == 2) {
      Figures& f = out->by_category[std::string(parts[1])];
      if (parts[0] == "co2") f.co2e_grams += value;
      else if (parts[0] == "wt") f.weight_grams += value;
      else if (parts[0] == "n") f.actions += value;
    } else if (parts.size() == 3 && (parts[0] == "fv" || parts[0] == "fvn")) {
      auto& [co2, actions] = out->by_factor[std::string(parts[2])];
      (parts[0] == "fv" ? co2 : actions) += value;
      out->factor_category[std::string(parts[2])] = std::string(parts[1]);
    }
  }
}

void AddGroupFields(const std::vector<std::pair<std::string, std::string>>& fields,
                    std::map<std::string, Figures>* out) {
  for (const auto& [field, text] : fields) {
    int64_t value = 0;
    if (!ParseInt64(text, &value)) continue;
    const size_t bar = field.find('|');
    if (bar == std::string::npos) continue;
    const absl::string_view what = absl::string_view(field).substr(0, bar);
    Figures& f = (*out)[field.substr(bar + 1)];
    if (what == "co2") f.co2e_grams += value;
    else if (what == "wt") f.weight_grams += value;
    else if (what == "n") f.actions += value;
  }
}

int64_t EquivalentQuantityMilli(int64_t co2e_grams, int64_t grams_per_unit) {
  if (grams_per_unit <= 0) return 0;
  const __int128 scaled = static_cast<__int128>(co2e_grams) * 1000;
  __int128 q = scaled / grams_per_unit;
  if (scaled % grams_per_unit != 0 && scaled < 0) --q;  // floor for negatives
  if (q > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (q < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(q);
}

std::string FormatCsvRow(const CsvRow& row) {
  std::vector<std::string> versions = row.factor_versions;
  std::sort(versions.begin(), versions.end());
  return absl::StrCat(ScopeName(row.scope), ",", CsvCell(row.scope_id, true), ",",
                      CsvCell(row.scope_name, true), ",", row.month, ",",
                      CsvCell(row.category, true), ",", row.figures.co2e_grams, ",",
                      row.figures.weight_grams, ",", row.figures.actions, ",",
                      row.figures.active_participants, ",",
                      CsvCell(absl::StrJoin(versions, ";"), true), "\r\n");
}

}  // namespace ecoact::reports
