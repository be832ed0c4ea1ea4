#include "services/actions/ledger_store.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "actions_lua.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"
#include "services/common/ledger_format.h"
#include "services/common/status_macros.h"

namespace ecoact::actions {
namespace {

using google::protobuf::util::TimeUtil;

const LuaScript& RecordScript() {
  static const LuaScript script("record_action", embedded::kRecordActionLua);
  return script;
}
const LuaScript& ListScript() {
  static const LuaScript script("list_actions", embedded::kListActionsLua);
  return script;
}

constexpr v1::Period kPeriods[] = {v1::PERIOD_ALL_TIME, v1::PERIOD_MONTH, v1::PERIOD_WEEK,
                                   v1::PERIOD_DAY};

// Safe reads: a record written by another version must yield an error or a
// default, never an exception across the handler.
std::string JsonString(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t JsonInt(const nlohmann::json& value) {
  if (value.is_number()) return value.get<int64_t>();
  int64_t parsed = 0;
  if (value.is_string()) absl::SimpleAtoi(value.get<std::string>(), &parsed);
  return parsed;
}

absl::StatusOr<RecordedAction> DecodeResult(const std::string& json, bool replayed) {
  nlohmann::json r = nlohmann::json::parse(json, nullptr, false);
  if (!r.is_object() || !r.contains("totals") || !r["totals"].is_array() ||
      r["totals"].size() != 4 || !r.contains("keys") || !r["keys"].is_array() ||
      r["keys"].size() != 4) {
    return absl::InternalError("record_action returned an unreadable result");
  }
  for (int i = 0; i < 4; ++i) {
    if (!r["keys"][i].is_string() || !r["totals"][i].is_object()) {
      return absl::InternalError("record_action returned an unreadable result");
    }
  }
  RecordedAction out;
  out.replayed = replayed;
  v1::LedgerEntry& e = out.entry;
  e.set_entry_id(JsonString(r, "id"));
  e.set_action_type(JsonString(r, "type"));
  e.set_category(JsonString(r, "cat"));
  e.set_quantity_milli(JsonInt(r.value("qty", nlohmann::json(0))));
  e.set_unit(static_cast<v1::Unit>(JsonInt(r.value("unit", nlohmann::json(0)))));
  e.set_co2e_grams(JsonInt(r.value("co2", nlohmann::json(0))));
  e.set_points(JsonInt(r.value("pts", nlohmann::json(0))));
  e.set_factor_version(JsonString(r, "fv"));
  *e.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(JsonInt(r.value("occ", nlohmann::json(0))));
  *e.mutable_recorded_at() = TimeUtil::MillisecondsToTimestamp(JsonInt(r.value("rec", nlohmann::json(0))));
  e.set_ward(JsonString(r, "ward"));
  e.set_team(JsonString(r, "team"));
  e.set_event_id(JsonString(r, "event"));
  e.set_staff_verified(JsonString(r, "src") == "staff");
  e.set_organisation(JsonString(r, "org"));
  for (absl::string_view c : absl::StrSplit(JsonString(r, "camp"), ',', absl::SkipEmpty())) {
    e.add_campaign_ids(std::string(c));
  }
  e.set_bonus_points(JsonInt(r.value("bonus", nlohmann::json(0))));
  // cjson encodes an empty list as {}: only an array carries badges.
  if (r.contains("badges") && r["badges"].is_array()) {
    for (const auto& badge : r["badges"]) {
      if (badge.is_string()) out.new_badges.push_back(badge.get<std::string>());
    }
  }
  if (r.contains("streak") && r["streak"].is_object()) {
    out.streak.last = JsonInt(r["streak"].value("last", nlohmann::json(-1)));
    out.streak.cur = JsonInt(r["streak"].value("cur", nlohmann::json(0)));
    out.streak.best = JsonInt(r["streak"].value("best", nlohmann::json(0)));
  }
  for (int i = 0; i < 4; ++i) {
    v1::Totals* t = &out.totals.emplace_back();
    t->set_period(kPeriods[i]);
    t->set_period_key(r["keys"][i].get<std::string>());
    t->set_co2e_grams(JsonInt(r["totals"][i].value("co2", nlohmann::json(0))));
    t->set_points(JsonInt(r["totals"][i].value("pts", nlohmann::json(0))));
    t->set_actions(JsonInt(r["totals"][i].value("n", nlohmann::json(0))));
  }
  return out;
}

}  // namespace

std::string FormatMilli(int64_t milli) {
  std::string s = absl::StrFormat("%d.%03d", milli / 1000, std::abs(milli % 1000));
  while (absl::EndsWith(s, "0")) s.pop_back();
  if (absl::EndsWith(s, ".")) s.pop_back();
  return s;
}

RedisLedgerStore::RedisLedgerStore(RedisClient* redis, KeySpace keys, LedgerStoreOptions options)
    : redis_(redis), keys_(std::move(keys)), options_(options) {}

RedisClient::ScriptCall RedisLedgerStore::Call(const PreparedAction& action) const {
  const std::string& account = action.input.account_id;
  const catalog::Conversion& c = action.conversion;
  std::vector<std::string> keys = {
      keys_.Account(account),
      keys_.Request(account, action.input.request_id),
      keys_.Ledger(keys_.ShardOf(account)),
      keys_.Totals(account, "all"),
      keys_.Totals(account, action.periods.month),
      keys_.Totals(account, action.periods.week),
      keys_.Totals(account, action.periods.day),
      keys_.History(account),
      action.corrects_request_id.empty() ? keys_.Request(account, action.input.request_id)
                                         : keys_.Request(account, action.corrects_request_id),
      keys_.Aggregate(keys_.ShardOf(account), "all"),
      keys_.Aggregate(keys_.ShardOf(account), action.periods.month),
      keys_.Aggregate(keys_.ShardOf(account), action.periods.week),
      keys_.Aggregate(keys_.ShardOf(account), action.periods.day),
      keys_.ActiveDays(account),
      keys_.Streak(account),
      keys_.Badges(account),
  };
  std::vector<std::string> args = {
      action.fingerprint,
      absl::StrCat(absl::ToInt64Seconds(options_.idempotency_ttl)),
      absl::StrCat(action.source == "self" ? c.type->daily_cap_milli : 0),
      c.type->id,
      c.type->category,
      absl::StrCat(c.quantity_milli),
      absl::StrCat(static_cast<int>(c.type->unit)),
      absl::StrCat(c.co2e_grams),
      absl::StrCat(c.points),
      c.factor_tag,
      absl::StrCat(absl::ToUnixMillis(action.occurred_at)),
      absl::StrCat(absl::ToUnixMillis(action.recorded_at)),
      account,
      action.input.request_id,
      action.source,
      absl::StrCat(absl::ToUnixSeconds(action.month_totals_expire_at)),
      absl::StrCat(absl::ToUnixSeconds(action.week_totals_expire_at)),
      absl::StrCat(absl::ToUnixSeconds(action.day_totals_expire_at)),
      action.periods.month,
      action.periods.week,
      action.periods.day,
      action.event_id,
      action.logged_by,
      action.corrects_request_id.empty() ? "0" : "1",
      absl::StrCat(action.count_delta),
      absl::StrCat(action.local_day),
      action.badge_rules,
      absl::StrJoin(action.campaign_ids, ","),
      absl::StrCat(action.bonus_points),
  };
  return {std::move(keys), std::move(args)};
}

absl::StatusOr<RecordedAction> RedisLedgerStore::Append(const PreparedAction& action) {
  RedisClient::ScriptCall call = Call(action);
  ASSIGN_OR_RETURN(RedisValue reply, redis_->Eval(RecordScript(), call.keys, call.args));
  return Interpret(action, reply);
}

std::vector<absl::Status> RedisLedgerStore::AppendMany(const std::vector<PreparedAction>& actions) {
  std::vector<RedisClient::ScriptCall> calls;
  calls.reserve(actions.size());
  for (const PreparedAction& action : actions) calls.push_back(Call(action));
  absl::StatusOr<std::vector<RedisValue>> replies = redis_->EvalMany(RecordScript(), calls);
  std::vector<absl::Status> results;
  results.reserve(actions.size());
  for (size_t i = 0; i < actions.size(); ++i) {
    if (!replies.ok()) {
      results.push_back(replies.status());
    } else if ((*replies)[i].IsError()) {
      results.push_back(RedisErrorToStatus("redis script record_action", (*replies)[i].str));
    } else {
      results.push_back(Interpret(actions[i], (*replies)[i]).status());
    }
  }
  return results;
}

absl::StatusOr<RecordedAction> RedisLedgerStore::Interpret(const PreparedAction& action,
                                                           const RedisValue& reply) const {
  const catalog::Conversion& c = action.conversion;
  if (reply.elements.empty()) return absl::InternalError("record_action returned nothing");
  const std::string& outcome = reply.elements[0].str;
  if (outcome == "replay" && action.source == "staff") {
    // A repeated staff credit: its compact record carries no totals, and
    // the caller only needs to know it is there.
    RecordedAction result;
    result.replayed = true;
    result.entry.set_request_id(action.input.request_id);
    return result;
  }
  if (outcome == "ok" || outcome == "replay") {
    ASSIGN_OR_RETURN(RecordedAction result,
                     DecodeResult(reply.elements[1].str, outcome == "replay"));
    result.entry.set_request_id(action.input.request_id);
    return result;
  }
  if (outcome == "conflict") {
    return absl::AlreadyExistsError(absl::StrCat(
        "request_id '", action.input.request_id,
        "' was already used for a different action; use a new request_id for a new action"));
  }
  if (outcome == "no_account") return absl::NotFoundError("this account no longer exists");
  if (outcome == "deleted") {
    return absl::NotFoundError(action.source == "staff"
                                   ? "the participant's account was deleted"
                                   : "this account was deleted; sign up again to take part");
  }
  if (outcome == "not_citizen") {
    return absl::PermissionDeniedError(
        action.source == "staff" ? "the participant's account is not a citizen account"
                                 : "only citizen accounts record their own actions");
  }
  if (outcome == "cap" && reply.elements.size() == 3) {
    int64_t used = 0, cap = 0;
    absl::SimpleAtoi(reply.elements[1].str, &used);
    absl::SimpleAtoi(reply.elements[2].str, &cap);
    return absl::ResourceExhaustedError(absl::StrCat(
        "daily cap of ", FormatMilli(cap), " for '", c.type->id, "' on ", action.periods.day,
        ": ", FormatMilli(used), " already recorded, ", FormatMilli(c.quantity_milli),
        " more would exceed it; ", FormatMilli(std::max<int64_t>(0, cap - used)),
        " left today"));
  }
  return absl::InternalError(absl::StrCat("record_action: unexpected outcome '", outcome, "'"));
}

absl::StatusOr<std::optional<RecordedAction>> RedisLedgerStore::FindReplay(
    absl::string_view account_id, absl::string_view request_id, absl::string_view fingerprint) {
  ASSIGN_OR_RETURN(RedisValue stored, redis_->Command({"GET", keys_.Request(account_id, request_id)}));
  if (stored.IsNil()) return std::optional<RecordedAction>();
  nlohmann::json r = nlohmann::json::parse(stored.str, nullptr, false);
  if (!r.is_object() || !r.contains("fp") || r["fp"] != std::string(fingerprint)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "request_id '", request_id,
        "' was already used for a different action; use a new request_id for a new action"));
  }
  ASSIGN_OR_RETURN(RecordedAction result, DecodeResult(stored.str, /*replayed=*/true));
  result.entry.set_request_id(std::string(request_id));
  return std::optional<RecordedAction>(std::move(result));
}

absl::StatusOr<HistoryPage> RedisLedgerStore::History(absl::string_view account_id,
                                                      int64_t offset, int64_t limit) {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Eval(ListScript(),
                                {keys_.History(account_id),
                                 keys_.Ledger(keys_.ShardOf(account_id))},
                                {absl::StrCat(offset), absl::StrCat(limit)}));
  HistoryPage page;
  if (reply.elements.empty()) return page;
  ASSIGN_OR_RETURN(page.total, reply.elements[0].AsInt());
  for (size_t i = 1; i < reply.elements.size(); ++i) {
    if (reply.elements[i].type == RedisValue::Type::kString) {
      page.archived_entry_ids.push_back(reply.elements[i].str);
      continue;
    }
    ASSIGN_OR_RETURN(StoredEntry stored, DecodeStreamEntry(reply.elements[i]));
    page.entries.push_back(std::move(stored.entry));
  }
  return page;
}

absl::StatusOr<ImpactSnapshot> RedisLedgerStore::Impact(absl::string_view account_id,
                                                        const PeriodKeys& periods) {
  const std::string period_keys[] = {"all", periods.month, periods.week, periods.day};
  std::vector<std::vector<std::string>> commands;
  for (const std::string& key : period_keys) {
    commands.push_back({"HGETALL", keys_.Totals(account_id, key)});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(commands));
  ImpactSnapshot snapshot;
  std::map<std::string, v1::CategoryTotals> categories;
  for (int i = 0; i < 4; ++i) {
    if (replies[i].IsError()) return RedisErrorToStatus("redis HGETALL", replies[i].str);
    std::map<std::string, int64_t> fields;
    const auto& kv = replies[i].elements;
    for (size_t j = 0; j + 1 < kv.size(); j += 2) {
      int64_t value = 0;
      if (absl::SimpleAtoi(kv[j + 1].str, &value)) fields[kv[j].str] = value;
    }
    v1::Totals* totals = &snapshot.totals.emplace_back();
    totals->set_period(kPeriods[i]);
    totals->set_period_key(period_keys[i]);
    totals->set_co2e_grams(fields["co2"]);
    totals->set_points(fields["pts"]);
    totals->set_actions(fields["n"]);
    for (const auto& [field, value] : fields) {
      if (!absl::StartsWith(field, "n:c:")) continue;
      std::string category = field.substr(4);
      v1::CategoryTotals& cat = categories[category];
      cat.set_category(category);
      while (cat.totals_size() <= i) {
        v1::Totals* t = cat.add_totals();
        t->set_period(kPeriods[cat.totals_size() - 1]);
        t->set_period_key(period_keys[cat.totals_size() - 1]);
      }
      v1::Totals* t = cat.mutable_totals(i);
      t->set_actions(value);
      t->set_co2e_grams(fields["co2:c:" + category]);
      t->set_points(fields["pts:c:" + category]);
    }
  }
  for (auto& [name, cat] : categories) {
    while (cat.totals_size() < 4) {
      v1::Totals* t = cat.add_totals();
      t->set_period(kPeriods[cat.totals_size() - 1]);
      t->set_period_key(period_keys[cat.totals_size() - 1]);
    }
    snapshot.by_category.push_back(std::move(cat));
  }
  return snapshot;
}

}  // namespace ecoact::actions
