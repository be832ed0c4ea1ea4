#include "services/leaderboard/boards.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
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

std::string BoardName(absl::string_view scope, absl::string_view scope_id,
                      absl::string_view period_key, v1::Metric metric) {
  return absl::StrCat(scope, ":", scope_id, ":", period_key, ":", MetricField(metric));
}

constexpr v1::Metric kMetrics[] = {v1::METRIC_POINTS, v1::METRIC_CO2E_GRAMS};
constexpr v1::Period kPeriods[] = {v1::PERIOD_ALL_TIME, v1::PERIOD_MONTH, v1::PERIOD_WEEK,
                                   v1::PERIOD_DAY};

}  // namespace

std::string AuditBoardName(absl::string_view day_key) {
  return absl::StrCat("audit:", day_key, ":co2");
}

const char* MetricField(v1::Metric metric) {
  return metric == v1::METRIC_CO2E_GRAMS ? "co2" : "pts";
}

const std::vector<GroupLevel>& GroupLevels() {
  static const std::vector<GroupLevel> levels = {
      {v1::LEVEL_TEAMS, "teams", "t"},
      {v1::LEVEL_ORGANISATIONS, "orgs", "o"},
      {v1::LEVEL_WARDS, "wards", "w"},
  };
  return levels;
}

const std::string& OwnGroupAt(const OwnGroups& own, v1::Level level) {
  static const std::string none;
  switch (level) {
    case v1::LEVEL_TEAMS: return own.team;
    case v1::LEVEL_ORGANISATIONS: return own.org;
    case v1::LEVEL_WARDS: return own.ward;
    default: return none;
  }
}

std::string GroupBoardName(const GroupLevel& level, bool per_active_member,
                           absl::string_view period_key, v1::Metric metric) {
  return BoardName(absl::StrCat(level.board, per_active_member ? "-avg" : ""), "", period_key,
                   metric);
}

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
  if (!entry.organisation().empty()) {
    scopes.push_back({"org", entry.organisation(), "@o:" + entry.organisation()});
  }
  std::vector<BoardTarget> targets;
  // All-time boards of the event and the campaigns the entry counted for:
  // they have their own dates, so no period boards.
  auto add_all_time = [&](const char* scope, const std::string& id, const char* tag) {
    for (v1::Metric metric : kMetrics) {
      BoardTarget target;
      target.board = BoardName(scope, id, "all", metric);
      target.totals_period_key = "all";
      target.totals_field = absl::StrCat(MetricField(metric), tag, id);
      targets.push_back(std::move(target));
    }
  };
  if (!entry.event_id().empty()) add_all_time("event", entry.event_id(), "@e:");
  for (const std::string& campaign : entry.campaign_ids()) {
    if (!campaign.empty()) add_all_time("campaign", campaign, "@c:");
  }
  for (v1::Period period : kPeriods) {
    PeriodInfo info = PeriodAt(period, calendar, occurred);
    std::optional<absl::Time> expire_at;
    if (info.ends) expire_at = *info.ends + options.retention;
    for (v1::Metric metric : kMetrics) {
      for (const ScopeInfo& scope : scopes) {
        BoardTarget target;
        target.board = BoardName(scope.scope, scope.id, info.key, metric);
        target.totals_period_key = info.key;
        target.totals_field = absl::StrCat(MetricField(metric), scope.field_suffix);
        target.expire_at = expire_at;
        targets.push_back(std::move(target));
      }
      for (const GroupLevel& level : GroupLevels()) {
        const std::string& group = level.level == v1::LEVEL_TEAMS ? entry.team()
                                   : level.level == v1::LEVEL_WARDS ? entry.ward()
                                                                    : entry.organisation();
        if (group.empty()) continue;
        for (bool avg : {false, true}) {
          BoardTarget target;
          target.kind = BoardKind::kGroup;
          target.board = GroupBoardName(level, avg, info.key, metric);
          target.totals_period_key = info.key;
          target.totals_field = absl::StrCat(MetricField(metric), "@", level.tag, ":", group);
          if (avg) target.active_field = absl::StrCat("act@", level.tag, ":", group);
          target.group_id = group;
          target.expire_at = expire_at;
          targets.push_back(std::move(target));
        }
      }
    }
    if (period == v1::PERIOD_DAY) {
      BoardTarget audit;
      audit.kind = BoardKind::kAudit;
      audit.board = AuditBoardName(info.key);
      audit.totals_period_key = info.key;
      audit.totals_field = "co2";
      audit.expire_at = expire_at;
      targets.push_back(std::move(audit));
    }
  }
  return targets;
}

std::vector<std::pair<std::string, int64_t>> CitizenBoardsFromTotals(
    absl::string_view period_key, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<std::pair<std::string, int64_t>> boards;
  const bool all_time = period_key == "all";
  for (const auto& [field, value] : fields) {
    absl::string_view metric;
    absl::string_view rest = field;
    if (absl::ConsumePrefix(&rest, "pts")) {
      metric = "pts";
    } else if (absl::ConsumePrefix(&rest, "co2")) {
      metric = "co2";
    } else {
      continue;
    }
    int64_t score = 0;
    if (!absl::SimpleAtoi(value, &score)) continue;
    if (rest.empty()) {
      boards.emplace_back(absl::StrCat("city::", period_key, ":", metric), score);
      continue;
    }
    if (rest.size() < 4 || rest[0] != '@' || rest[2] != ':') continue;  // "pts:c:<cat>" etc.
    const absl::string_view id = rest.substr(3);
    const char* scope = nullptr;
    switch (rest[1]) {
      case 'w': scope = "ward"; break;
      case 't': scope = "team"; break;
      case 'o': scope = "org"; break;
      case 'e': scope = all_time ? "event" : nullptr; break;
      case 'c': scope = all_time ? "campaign" : nullptr; break;
      default: break;
    }
    if (scope == nullptr) continue;
    boards.emplace_back(absl::StrCat(scope, ":", id, ":", period_key, ":", metric), score);
  }
  return boards;
}

absl::StatusOr<ResolvedBoard> ResolveBoard(const v1::BoardRef& ref, const CityCalendar& calendar,
                                           absl::Time now, const OwnGroups& own) {
  if (ref.period() == v1::PERIOD_UNSPECIFIED || !v1::Period_IsValid(ref.period())) {
    return absl::InvalidArgumentError("board.period must be ALL_TIME, MONTH, WEEK or DAY");
  }
  if (ref.metric() == v1::METRIC_UNSPECIFIED || !v1::Metric_IsValid(ref.metric())) {
    return absl::InvalidArgumentError("board.metric must be POINTS or CO2E_GRAMS");
  }
  if (!v1::Level_IsValid(ref.level())) {
    return absl::InvalidArgumentError(
        "board.level must be UNSPECIFIED (citizens), TEAMS, ORGANISATIONS or WARDS");
  }
  PeriodInfo info = PeriodAt(ref.period(), calendar, now);
  ResolvedBoard resolved;
  resolved.period_key = info.key;
  resolved.period_ends = info.ends;
  if (ref.level() != v1::LEVEL_UNSPECIFIED) {
    if (ref.scope() != v1::SCOPE_CITY) {
      return absl::InvalidArgumentError(
          "board.level TEAMS, ORGANISATIONS and WARDS rank groups city-wide: board.scope must "
          "be CITY");
    }
    for (const GroupLevel& level : GroupLevels()) {
      if (level.level == ref.level()) resolved.group = level;
    }
    resolved.kind = BoardKind::kGroup;
    resolved.per_active_member = ref.per_active_member();
    resolved.board = GroupBoardName(resolved.group, ref.per_active_member(), info.key,
                                    ref.metric());
    return resolved;
  }
  if (ref.per_active_member()) {
    return absl::InvalidArgumentError(
        "board.per_active_member applies to group boards only (board.level TEAMS, "
        "ORGANISATIONS or WARDS)");
  }
  std::string scope_name;
  std::string scope_id = ref.scope_id();
  const char* tag = nullptr;
  switch (ref.scope()) {
    case v1::SCOPE_CITY:
      scope_name = "city";
      scope_id.clear();
      break;
    case v1::SCOPE_WARD:
      scope_name = "ward";
      tag = "w";
      if (scope_id.empty()) scope_id = own.ward;
      break;
    case v1::SCOPE_TEAM:
      scope_name = "team";
      tag = "t";
      if (scope_id.empty()) scope_id = own.team;
      break;
    case v1::SCOPE_ORGANISATION:
      scope_name = "org";
      tag = "o";
      if (scope_id.empty()) scope_id = own.org;
      break;
    case v1::SCOPE_EVENT:
    case v1::SCOPE_CAMPAIGN:
      scope_name = ref.scope() == v1::SCOPE_EVENT ? "event" : "campaign";
      if (ref.period() != v1::PERIOD_ALL_TIME) {
        return absl::InvalidArgumentError(
            absl::StrCat(scope_name == "event" ? "an event" : "a campaign",
                         " board has the ALL_TIME period only"));
      }
      break;
    default:
      return absl::InvalidArgumentError(
          "board.scope must be CITY, WARD, TEAM, ORGANISATION, EVENT or CAMPAIGN");
  }
  if (scope_name != "city") {
    if (scope_id.empty()) {
      const std::string what = scope_name == "org" ? "organisation" : scope_name;
      return absl::InvalidArgumentError(absl::StrCat(
          "board.scope_id is required for a ", what, " board (the caller has no ", what, ")"));
    }
    absl::Status valid = ValidateSlug("board.scope_id", scope_id, 2, 32);
    if (!valid.ok()) return valid;
  }
  resolved.board = BoardName(scope_name, scope_id, info.key, ref.metric());
  resolved.scope_id = scope_id;
  if (tag != nullptr) {
    resolved.group_total_field = absl::StrCat(MetricField(ref.metric()), "@", tag, ":", scope_id);
  }
  return resolved;
}

std::vector<MyBoard> BoardsOfCitizen(const OwnGroups& own,
                                     const std::vector<std::pair<std::string, std::string>>& all_time,
                                     const CityCalendar& calendar, absl::Time now) {
  std::vector<MyBoard> boards;
  auto add = [&](v1::Scope scope, const std::string& id, v1::Period period, v1::Metric metric,
                 v1::Level level, bool per_member, const std::string& group) {
    MyBoard board;
    board.ref.set_scope(scope);
    board.ref.set_scope_id(id);
    board.ref.set_period(period);
    board.ref.set_metric(metric);
    board.ref.set_level(level);
    board.ref.set_per_active_member(per_member);
    auto resolved = ResolveBoard(board.ref, calendar, now, own);
    if (!resolved.ok()) return;  // e.g. an id that no board can have
    board.resolved = *std::move(resolved);
    board.group_id = group;
    boards.push_back(std::move(board));
  };
  const std::pair<v1::Scope, const std::string*> scopes[] = {
      {v1::SCOPE_CITY, nullptr},
      {v1::SCOPE_WARD, &own.ward},
      {v1::SCOPE_TEAM, &own.team},
      {v1::SCOPE_ORGANISATION, &own.org}};
  for (const auto& [scope, id] : scopes) {
    if (id != nullptr && id->empty()) continue;
    for (v1::Period period : kPeriods) {
      for (v1::Metric metric : kMetrics) {
        add(scope, id ? *id : "", period, metric, v1::LEVEL_UNSPECIFIED, false, "");
      }
    }
  }
  for (const auto& [field, value] : all_time) {
    absl::string_view rest = field;
    if (!absl::ConsumePrefix(&rest, "pts@")) continue;  // one entry per board id
    v1::Scope scope = absl::ConsumePrefix(&rest, "c:")   ? v1::SCOPE_CAMPAIGN
                      : absl::ConsumePrefix(&rest, "e:") ? v1::SCOPE_EVENT
                                                         : v1::SCOPE_UNSPECIFIED;
    if (scope == v1::SCOPE_UNSPECIFIED || rest.empty()) continue;
    for (v1::Metric metric : kMetrics) {
      add(scope, std::string(rest), v1::PERIOD_ALL_TIME, metric, v1::LEVEL_UNSPECIFIED, false, "");
    }
  }
  for (const GroupLevel& level : GroupLevels()) {
    const std::string& group = OwnGroupAt(own, level.level);
    if (group.empty()) continue;
    for (bool per_member : {false, true}) {
      for (v1::Period period : kPeriods) {
        for (v1::Metric metric : kMetrics) {
          add(v1::SCOPE_CITY, "", period, metric, level.level, per_member, group);
        }
      }
    }
  }
  return boards;
}

}  // namespace ecoact::leaderboard
