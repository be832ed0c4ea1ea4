#include "services/events/event_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "events_lua.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"
#include "services/common/status_macros.h"

namespace ecoact::events {
namespace {

const LuaScript& Script(int which) {
  static const LuaScript scripts[] = {
      {"create_event", embedded::kCreateEventLua},   {"transition", embedded::kTransitionLua},
      {"check_in", embedded::kCheckInLua},           {"event_entry", embedded::kEventEntryLua},
      {"correct_entry", embedded::kCorrectEntryLua}, {"closing_totals", embedded::kClosingTotalsLua},
  };
  return scripts[which];
}
enum { kCreate, kTransition, kCheckIn, kEntry, kCorrect, kClosing };

const char* StatusName(v1::EventStatus status) {
  switch (status) {
    case v1::EVENT_STATUS_OPEN: return "open";
    case v1::EVENT_STATUS_CLOSED: return "closed";
    default: return "scheduled";
  }
}

v1::EventStatus StatusFromName(absl::string_view name) {
  if (name == "open") return v1::EVENT_STATUS_OPEN;
  if (name == "closed") return v1::EVENT_STATUS_CLOSED;
  return v1::EVENT_STATUS_SCHEDULED;
}

int64_t ToInt(const std::string& s) {
  int64_t v = 0;
  absl::SimpleAtoi(s, &v);
  return v;
}

std::string JsonString(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t JsonInt(const nlohmann::json& j, const char* field) {
  if (!j.contains(field)) return 0;
  const auto& v = j[field];
  if (v.is_number()) return v.get<int64_t>();
  if (v.is_string()) return ToInt(v.get<std::string>());
  return 0;
}

absl::StatusOr<EntryRecord> DecodeRecord(const std::string& json, absl::string_view client_id) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return absl::InternalError("event entry record is not JSON");
  EntryRecord r;
  r.client_entry_id = std::string(client_id);
  r.participant = JsonString(j, "participant");
  r.action_type = JsonString(j, "type");
  r.grams = JsonInt(j, "qty");
  r.co2e_grams = JsonInt(j, "co2");
  r.points = JsonInt(j, "pts");
  r.factor_tag = JsonString(j, "fv");
  r.occurred_at = absl::FromUnixMillis(JsonInt(j, "occ"));
  r.received_at = absl::FromUnixMillis(JsonInt(j, "rec"));
  r.corrects = JsonString(j, "target");
  if (!r.corrects.empty()) r.count_delta = JsonString(j, "ckind") == "void" ? -1 : 0;
  r.co2e_mg_per_kg = JsonInt(j, "rate_mg");
  r.points_per_kg = JsonInt(j, "ppu");
  return r;
}

std::string Outcome(const RedisValue& reply) {
  return reply.elements.empty() ? "" : reply.elements[0].str;
}

}  // namespace

std::string EventStore::Key(absl::string_view id, absl::string_view what) const {
  return absl::StrCat(prefix_, ":{e:", id, "}:", what);
}
std::string EventStore::EventKey(absl::string_view id) const { return Key(id, "event"); }
std::string EventStore::LedgerKey(absl::string_view id) const { return Key(id, "ledger"); }

absl::Status EventStore::Create(const EventRecord& e) {
  std::vector<std::string> args = {
      e.fingerprint,
      "kind", absl::StrCat(static_cast<int>(e.kind)),
      "name", e.name,
      "place", e.place,
      "ward", e.ward,
      "team", e.organiser_team,
      "starts", absl::StrCat(absl::ToUnixMillis(e.starts_at)),
      "ends", absl::StrCat(absl::ToUnixMillis(e.ends_at)),
      "types", absl::StrJoin(e.action_types, ","),
      "status", "scheduled",
  };
  ASSIGN_OR_RETURN(RedisValue reply, redis_->Eval(Script(kCreate), {EventKey(e.id)}, args));
  if (Outcome(reply) == "exists") {
    return absl::AlreadyExistsError(
        "request_id was already used to create a different event; use a new request_id");
  }
  // The index is a separate slot; a retry of CreateEvent repairs it.
  return redis_->Command({"ZADD", absl::StrCat(prefix_, ":{events}:by_start"),
                          absl::StrCat(absl::ToUnixMillis(e.starts_at)), e.id})
      .status();
}

absl::StatusOr<std::optional<EventRecord>> EventStore::Get(absl::string_view id) {
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies,
                   redis_->Pipeline({{"HGETALL", EventKey(id)}, {"SMEMBERS", Key(id, "staff")}}));
  for (const RedisValue& reply : replies) {
    if (reply.IsError()) return RedisErrorToStatus("reading event", reply.str);
  }
  if (replies[0].elements.empty()) return std::optional<EventRecord>();
  EventRecord e;
  e.id = std::string(id);
  const auto& kv = replies[0].elements;
  for (size_t i = 0; i + 1 < kv.size(); i += 2) {
    const std::string& f = kv[i].str;
    const std::string& v = kv[i + 1].str;
    if (f == "kind") e.kind = static_cast<v1::EventKind>(ToInt(v));
    else if (f == "name") e.name = v;
    else if (f == "place") e.place = v;
    else if (f == "ward") e.ward = v;
    else if (f == "team") e.organiser_team = v;
    else if (f == "starts") e.starts_at = absl::FromUnixMillis(ToInt(v));
    else if (f == "ends") e.ends_at = absl::FromUnixMillis(ToInt(v));
    else if (f == "types") e.action_types = absl::StrSplit(v, ',', absl::SkipEmpty());
    else if (f == "status") e.status = StatusFromName(v);
    else if (f == "fingerprint") e.fingerprint = v;
  }
  for (const RedisValue& s : replies[1].elements) e.staff.insert(s.str);
  return std::optional<EventRecord>(std::move(e));
}

absl::Status EventStore::AddStaff(absl::string_view id, const std::vector<std::string>& logins) {
  std::vector<std::string> command = {"SADD", Key(id, "staff")};
  command.insert(command.end(), logins.begin(), logins.end());
  return redis_->Command(command).status();
}

absl::Status EventStore::Transition(absl::string_view id, v1::EventStatus from,
                                    v1::EventStatus to) {
  ASSIGN_OR_RETURN(RedisValue reply, redis_->Eval(Script(kTransition), {EventKey(id)},
                                                  {StatusName(from), StatusName(to)}));
  const std::string outcome = Outcome(reply);
  if (outcome == "missing") return absl::NotFoundError(absl::StrCat("unknown event '", id, "'"));
  if (outcome == "bad") {
    return absl::FailedPreconditionError(absl::StrCat(
        "the event is ", reply.elements[1].str, "; it must be ", StatusName(from), " for this"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> EventStore::ListIds(std::optional<absl::Time> ends_after) {
  // Events run at most 366 days, so one that ends after T started after
  // T - 366 days.
  std::string min = ends_after
                        ? absl::StrCat(absl::ToUnixMillis(*ends_after - absl::Hours(24 * 366)))
                        : "-inf";
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Command({"ZRANGEBYSCORE", absl::StrCat(prefix_, ":{events}:by_start"),
                                    min, "+inf"}));
  std::vector<std::string> ids;
  for (const RedisValue& v : reply.elements) ids.push_back(v.str);
  return ids;
}

absl::StatusOr<absl::Time> EventStore::CheckIn(absl::string_view id, absl::string_view account,
                                               absl::Time now) {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Eval(Script(kCheckIn), {EventKey(id), Key(id, "checkins")},
                                {std::string(account), absl::StrCat(absl::ToUnixMillis(now))}));
  const std::string outcome = Outcome(reply);
  if (outcome == "ok") return now;
  if (outcome == "missing") return absl::NotFoundError(absl::StrCat("unknown event '", id, "'"));
  if (outcome == "status") {
    return absl::FailedPreconditionError(
        absl::StrCat("check-in needs an open event; this one is ", reply.elements[1].str));
  }
  if (outcome != "dup" || reply.elements.size() < 2) {
    return absl::InternalError(absl::StrCat("check_in: unexpected outcome '", outcome, "'"));
  }
  return absl::AlreadyExistsError(absl::StrCat(
      "this participant is already checked in at this event (since ",
      absl::FormatTime(absl::FromUnixMillis(ToInt(reply.elements[1].str))),
      "); log their bags with participant_id ", account));
}

absl::StatusOr<std::vector<std::string>> EventStore::CheckedIn(absl::string_view id) {
  std::vector<std::string> accounts;
  std::string cursor = "0";
  do {  // HSCAN: a big drive is read in pieces
    ASSIGN_OR_RETURN(RedisValue reply,
                     redis_->Command({"HSCAN", Key(id, "checkins"), cursor, "COUNT", "1000"}));
    if (reply.elements.size() != 2) return absl::InternalError("unexpected HSCAN reply");
    cursor = reply.elements[0].str;
    const auto& kv = reply.elements[1].elements;
    for (size_t i = 0; i + 1 < kv.size(); i += 2) accounts.push_back(kv[i].str);
  } while (cursor != "0");
  return accounts;
}

absl::StatusOr<EntryRecord> EventStore::RecordEntry(absl::string_view id,
                                                    const PreparedEntry& entry, bool allow_closed,
                                                    absl::string_view staff, absl::Time now) {
  const catalog::Conversion& c = entry.conversion;
  std::vector<std::string> keys = {EventKey(id), Key(id, "entries"), Key(id, "totals"),
                                   LedgerKey(id), Key(id, "checkins")};
  std::vector<std::string> args = {
      entry.client_entry_id,
      entry.fingerprint,
      allow_closed ? "open,closed" : "open",
      entry.participant_id,
      c.type->id,
      absl::StrCat(c.quantity_milli),
      absl::StrCat(c.co2e_grams),
      absl::StrCat(c.points),
      c.factor_tag,
      absl::StrCat(absl::ToUnixMillis(entry.occurred_at)),
      absl::StrCat(absl::ToUnixMillis(now)),
      std::string(staff),
      absl::StrCat(c.factor->co2e_mg_per_unit),
      absl::StrCat(c.type->points_per_unit),
  };
  ASSIGN_OR_RETURN(RedisValue reply, redis_->Eval(Script(kEntry), keys, args));
  const std::string outcome = Outcome(reply);
  if (outcome == "ok" || outcome == "dup") {
    ASSIGN_OR_RETURN(EntryRecord record, DecodeRecord(reply.elements[1].str, entry.client_entry_id));
    record.duplicate = outcome == "dup";
    record.logged_by = std::string(staff);
    return record;
  }
  if (outcome == "conflict") {
    return absl::AlreadyExistsError(absl::StrCat(
        "client_entry_id '", entry.client_entry_id,
        "' was already used for a different entry at this event"));
  }
  if (outcome == "missing") return absl::NotFoundError(absl::StrCat("unknown event '", id, "'"));
  if (outcome == "status") {
    return absl::FailedPreconditionError(absl::StrCat(
        "the event is ", reply.elements[1].str,
        allow_closed ? "; weigh-ins are accepted once it is open"
                     : "; live weigh-ins need an open event (upload offline entries with UploadBatch)"));
  }
  if (outcome == "not_checked_in") {
    return absl::FailedPreconditionError(
        "participant is not checked in at this event; check them in first, or log the bag "
        "as an anonymous drop-off");
  }
  if (outcome == "mass") {
    return absl::ResourceExhaustedError(absl::StrCat(
        "mass balance: ", c.type->id, " already logged ", ToInt(reply.elements[1].str) / 1000.0,
        " kg of a closing total of ", ToInt(reply.elements[2].str) / 1000.0, " kg; ",
        c.quantity_milli / 1000.0, " kg more would exceed it"));
  }
  return absl::InternalError(absl::StrCat("event_entry: unexpected outcome '", outcome, "'"));
}

absl::StatusOr<EntryRecord> EventStore::Correct(
    absl::string_view id, absl::string_view request_id, absl::string_view fingerprint,
    absl::string_view target, bool void_entry, int64_t new_grams, int64_t new_co2,
    int64_t new_points, absl::string_view reason, absl::string_view staff, absl::Time now) {
  std::vector<std::string> keys = {EventKey(id), Key(id, "entries"), Key(id, "totals"),
                                   LedgerKey(id)};
  std::vector<std::string> args = {
      std::string(request_id), std::string(fingerprint), std::string(target),
      void_entry ? "void" : "adjust", absl::StrCat(new_grams), absl::StrCat(new_co2),
      absl::StrCat(new_points), std::string(reason), std::string(staff),
      absl::StrCat(absl::ToUnixMillis(now))};
  ASSIGN_OR_RETURN(RedisValue reply, redis_->Eval(Script(kCorrect), keys, args));
  const std::string outcome = Outcome(reply);
  if (outcome == "ok" || outcome == "dup") {
    ASSIGN_OR_RETURN(EntryRecord record,
                     DecodeRecord(reply.elements[1].str, absl::StrCat("corr:", request_id)));
    record.duplicate = outcome == "dup";
    record.logged_by = std::string(staff);
    return record;
  }
  if (outcome == "conflict") {
    return absl::AlreadyExistsError("request_id was already used for a different correction");
  }
  if (outcome == "missing") return absl::NotFoundError(absl::StrCat("unknown event '", id, "'"));
  if (outcome == "no_target") {
    return absl::NotFoundError(absl::StrCat("no entry '", target, "' at this event"));
  }
  if (outcome == "void") return absl::FailedPreconditionError("the entry is already void");
  if (outcome == "mass") {
    return absl::ResourceExhaustedError(absl::StrCat(
        "mass balance: already logged ", ToInt(reply.elements[1].str) / 1000.0,
        " kg of a closing total of ", ToInt(reply.elements[2].str) / 1000.0,
        " kg; the adjustment would exceed it"));
  }
  return absl::InternalError(absl::StrCat("correct_entry: unexpected outcome '", outcome, "'"));
}

absl::StatusOr<std::optional<EntryRecord>> EventStore::FindDuplicate(
    absl::string_view id, absl::string_view client_entry_id, absl::string_view fingerprint) {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Command({"HGET", Key(id, "entries"), std::string(client_entry_id)}));
  if (reply.IsNil()) return std::optional<EntryRecord>();
  nlohmann::json j = nlohmann::json::parse(reply.str, nullptr, false);
  if (!j.is_object() || !j.contains("fp") || j["fp"] != std::string(fingerprint)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "client_entry_id '", client_entry_id,
        "' was already used for a different entry at this event"));
  }
  ASSIGN_OR_RETURN(EntryRecord record, DecodeRecord(reply.str, client_entry_id));
  record.duplicate = true;
  return std::optional<EntryRecord>(std::move(record));
}

absl::StatusOr<std::optional<EntryRecord>> EventStore::GetEntry(absl::string_view id,
                                                                absl::string_view client_entry_id) {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Command({"HGET", Key(id, "entries"), std::string(client_entry_id)}));
  if (reply.IsNil()) return std::optional<EntryRecord>();
  nlohmann::json j = nlohmann::json::parse(reply.str, nullptr, false);
  ASSIGN_OR_RETURN(EntryRecord record, DecodeRecord(reply.str, client_entry_id));
  // The entry's figures as they stand after earlier corrections.
  record.grams = JsonInt(j, "cur_qty");
  record.co2e_grams = JsonInt(j, "cur_co2");
  record.points = JsonInt(j, "cur_pts");
  return std::optional<EntryRecord>(std::move(record));
}

absl::Status EventStore::SetClosingTotals(
    absl::string_view id, const std::vector<std::pair<std::string, int64_t>>& grams) {
  std::vector<std::string> args;
  for (const auto& [type, g] : grams) {
    args.push_back(type);
    args.push_back(absl::StrCat(g));
  }
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Eval(Script(kClosing), {EventKey(id), Key(id, "totals")}, args));
  const std::string outcome = Outcome(reply);
  if (outcome == "missing") return absl::NotFoundError(absl::StrCat("unknown event '", id, "'"));
  if (outcome == "mass") {
    return absl::ResourceExhaustedError(absl::StrCat(
        "mass balance: ", reply.elements[1].str, " already has ",
        ToInt(reply.elements[2].str) / 1000.0, " kg logged, more than the closing total of ",
        ToInt(reply.elements[3].str) / 1000.0, " kg; correct the entries or the total"));
  }
  return absl::OkStatus();
}

absl::StatusOr<EventTotals> EventStore::Totals(absl::string_view id) {
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies,
                   redis_->Pipeline({{"HGETALL", Key(id, "totals")},
                                     {"HLEN", Key(id, "checkins")},
                                     {"HGETALL", EventKey(id)}}));
  EventTotals totals;
  const auto& kv = replies[0].elements;
  for (size_t i = 0; i + 1 < kv.size(); i += 2) {
    const std::string& f = kv[i].str;
    int64_t v = ToInt(kv[i + 1].str);
    if (f == "co2") { totals.co2 = v; continue; }
    std::pair<std::string, std::string> split = absl::StrSplit(f, absl::MaxSplits(':', 1));
    auto& t = totals.by_type[split.second];
    if (split.first == "attr") t.attributed = v;
    else if (split.first == "anon") t.anonymous = v;
    else if (split.first == "co2") t.co2 = v;
    else if (split.first == "n") t.entries = v;
  }
  const auto& ev = replies[2].elements;
  for (size_t i = 0; i + 1 < ev.size(); i += 2) {
    if (ev[i].str.rfind("close:", 0) == 0) {
      auto& t = totals.by_type[ev[i].str.substr(6)];
      t.closing = ToInt(ev[i + 1].str);
      t.has_closing = true;
    }
  }
  totals.participants = replies[1].integer;
  return totals;
}

absl::Status EventStore::ScanLedger(
    absl::string_view id, const std::function<void(std::map<std::string, std::string>&)>& visit) {
  std::string start = "-";
  while (true) {
    ASSIGN_OR_RETURN(RedisValue page,
                     redis_->Command({"XRANGE", LedgerKey(id), start, "+", "COUNT", "1000"}));
    if (page.elements.empty()) return absl::OkStatus();
    for (const RedisValue& raw : page.elements) {
      std::map<std::string, std::string> fields;
      const auto& kv = raw.elements[1].elements;
      for (size_t i = 0; i + 1 < kv.size(); i += 2) fields[kv[i].str] = kv[i + 1].str;
      visit(fields);
    }
    start = "(" + page.elements.back().elements[0].str;
  }
}

absl::StatusOr<std::vector<v1::AuditRecord>> EventStore::Audit(absl::string_view id) {
  std::vector<v1::AuditRecord> records;
  RETURN_IF_ERROR(ScanLedger(id, [&](std::map<std::string, std::string>& f) {
    if (f["kind"] != "correct") return;
    v1::AuditRecord& r = records.emplace_back();
    r.set_request_id(f["entry"].substr(5));  // "corr:<request id>"
    r.set_client_entry_id(f["target"]);
    r.set_kind(f["ckind"] == "void" ? v1::CORRECTION_KIND_VOID : v1::CORRECTION_KIND_ADJUST);
    r.set_old_weight_grams(ToInt(f["old"]));
    r.set_new_weight_grams(ToInt(f["new"]));
    r.set_reason(f["reason"]);
    r.set_corrected_by(f["by"]);
    *r.mutable_corrected_at() =
        google::protobuf::util::TimeUtil::MillisecondsToTimestamp(ToInt(f["rec"]));
  }));
  return records;
}

absl::StatusOr<std::vector<EntryRecord>> EventStore::CreditedEntries(absl::string_view id) {
  std::vector<EntryRecord> entries;
  RETURN_IF_ERROR(ScanLedger(id, [&](std::map<std::string, std::string>& f) {
    if (f["acct"].empty()) return;
    EntryRecord& r = entries.emplace_back();
    r.client_entry_id = f["entry"];
    r.participant = f["acct"];
    r.action_type = f["type"];
    r.grams = ToInt(f["qty"]);
    r.co2e_grams = ToInt(f["co2"]);
    r.points = ToInt(f["pts"]);
    r.factor_tag = f["fv"];
    r.occurred_at = absl::FromUnixMillis(ToInt(f["occ"]));
    r.received_at = absl::FromUnixMillis(ToInt(f["rec"]));
    r.logged_by = f["by"];
    r.corrects = f["target"];
    if (f["kind"] == "correct") r.count_delta = f["ckind"] == "void" ? -1 : 0;
  }));
  return entries;
}

}  // namespace ecoact::events
