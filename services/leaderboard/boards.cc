#include "services/leaderboard/boards.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/validation.h"

namespace ecoact::leaderboard {
namespace {

struct PeriodInfo {
  std::string key;
  std::optional<absl::Time> ends;
};

PeriodInfo PeriodAt(v1::Period period, const CityCalendar& calendar, absl::Time t) {
  PeriodKeys keys = calendar.KeysAt(t);
  switch (period) {
    case v1::PERIOD_MONTH: return {keys.month, calendar.MonthEnd(t)};
    case v1::PERIOD_WEEK: return {keys.week, calendar.WeekEnd(t)};
    case v1::PERIOD_DAY: return {keys.day, calendar.DayEnd(t)};
    default: return {"all", std::nullopt};
  }
}

const char* MetricField(v1::Metric metric) {
  return metric == v1::METRIC_CO2E_GRAMS ? "co2" : "pts";
}

std::string BoardName(absl::string_view scope, absl::string_view scope_id,
                      absl::string_view period_key, v1::Metric metric) {
  return absl::StrCat(scope, ":", scope_id, ":", period_key, ":", MetricField(metric));
}

}  // namespace

std::vector<BoardTarget> TargetsForEntry(const v1::LedgerEntry& entry,
                                         const CityCalendar& calendar,
                                         const BoardOptions& options) {
  const absl::Time occurred = absl::FromUnixMillis(
      google::protobuf::util::TimeUtil::TimestampToMilliseconds(entry.occurred_at()));
  struct ScopeInfo {
    const char* scope;
    std::string id;
    std::string field_suffix;
  };
  std::vector<ScopeInfo> scopes = {{"city", "", ""}};
  if (!entry.ward().empty()) scopes.push_back({"ward", entry.ward(), "@w:" + entry.ward()});
  if (!entry.team().empty()) scopes.push_back({"team", entry.team(), "@t:" + entry.team()});
  std::vector<BoardTarget> targets;
  if (!entry.event_id().empty()) {
    // An event's own board: all time only, fed by its weigh-ins.
    for (v1::Metric metric : {v1::METRIC_POINTS, v1::METRIC_CO2E_GRAMS}) {
      BoardTarget target;
      target.board = BoardName("event", entry.event_id(), "all", metric);
      target.totals_period_key = "all";
      target.totals_field = absl::StrCat(MetricField(metric), "@e:", entry.event_id());
      targets.push_back(std::move(target));
    }
  }
  for (v1::Period period :
       {v1::PERIOD_ALL_TIME, v1::PERIOD_MONTH, v1::PERIOD_WEEK, v1::PERIOD_DAY}) {
    PeriodInfo info = PeriodAt(period, calendar, occurred);
    for (const ScopeInfo& scope : scopes) {
      for (v1::Metric metric : {v1::METRIC_POINTS, v1::METRIC_CO2E_GRAMS}) {
        BoardTarget target;
        target.board = BoardName(scope.scope, scope.id, info.key, metric);
        target.totals_period_key = info.key;
        target.totals_field = absl::StrCat(MetricField(metric), scope.field_suffix);
        if (info.ends) target.expire_at = *info.ends + options.retention;
        targets.push_back(std::move(target));
      }
    }
  }
  return targets;
}

absl::StatusOr<ResolvedBoard> ResolveBoard(const v1::BoardRef& ref, const CityCalendar& calendar,
                                           absl::Time now, absl::string_view own_ward,
                                           absl::string_view own_team) {
  if (ref.period() == v1::PERIOD_UNSPECIFIED || !v1::Period_IsValid(ref.period())) {
    return absl::InvalidArgumentError("board.period must be ALL_TIME, MONTH, WEEK or DAY");
  }
  if (ref.metric() == v1::METRIC_UNSPECIFIED || !v1::Metric_IsValid(ref.metric())) {
    return absl::InvalidArgumentError("board.metric must be POINTS or CO2E_GRAMS");
  }
  std::string scope_name;
  std::string scope_id = ref.scope_id();
  switch (ref.scope()) {
    case v1::SCOPE_CITY:
      scope_name = "city";
      scope_id.clear();
      break;
    case v1::SCOPE_WARD:
      scope_name = "ward";
      if (scope_id.empty()) scope_id = std::string(own_ward);
      break;
    case v1::SCOPE_TEAM:
      scope_name = "team";
      if (scope_id.empty()) scope_id = std::string(own_team);
      break;
    case v1::SCOPE_EVENT:
      scope_name = "event";
      if (ref.period() != v1::PERIOD_ALL_TIME) {
        return absl::InvalidArgumentError("an event board has the ALL_TIME period only");
      }
      break;
    default:
      return absl::InvalidArgumentError("board.scope must be CITY, WARD, TEAM or EVENT");
  }
  if (scope_name != "city") {
    if (scope_id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "board.scope_id is required for a ", scope_name, " board (the caller has no ",
          scope_name, ")"));
    }
    absl::Status valid = ValidateSlug("board.scope_id", scope_id, 2, 32);
    if (!valid.ok()) return valid;
  }
  PeriodInfo info = PeriodAt(ref.period(), calendar, now);
  ResolvedBoard resolved;
  resolved.board = BoardName(scope_name, scope_id, info.key, ref.metric());
  resolved.period_key = info.key;
  resolved.period_ends = info.ends;
  return resolved;
}

}  // namespace ecoact::leaderboard
