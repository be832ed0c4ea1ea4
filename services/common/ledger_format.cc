#include "services/common/ledger_format.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/status_macros.h"

namespace ecoact {
namespace {

using google::protobuf::util::TimeUtil;

absl::Status Malformed(absl::string_view id, absl::string_view field) {
  return absl::InternalError(absl::StrCat("ledger entry ", id, ": bad or missing '", field, "'"));
}

}  // namespace

absl::StatusOr<StoredEntry> DecodeStreamEntry(const RedisValue& entry) {
  if (entry.type != RedisValue::Type::kArray || entry.elements.size() != 2 ||
      entry.elements[1].type != RedisValue::Type::kArray) {
    return absl::InternalError("ledger entry is not [id, fields]");
  }
  StoredEntry out;
  const std::string& id = entry.elements[0].str;
  v1::LedgerEntry& e = out.entry;
  e.set_entry_id(id);
  // Corrections (compensating entries) may carry negative figures.
  constexpr int64_t kMissing = INT64_MIN;
  int64_t qty = kMissing, unit = 0, co2 = kMissing, pts = kMissing, occ = -1, rec = -1;
  const auto& fields = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& f = fields[i].str;
    const std::string& v = fields[i + 1].str;
    bool ok = true;
    if (f == "acct") out.account_id = v;
    else if (f == "req") e.set_request_id(v);
    else if (f == "type") e.set_action_type(v);
    else if (f == "cat") e.set_category(v);
    else if (f == "qty") ok = absl::SimpleAtoi(v, &qty);
    else if (f == "unit") ok = absl::SimpleAtoi(v, &unit);
    else if (f == "co2") ok = absl::SimpleAtoi(v, &co2);
    else if (f == "pts") ok = absl::SimpleAtoi(v, &pts);
    else if (f == "fv") e.set_factor_version(v);
    else if (f == "occ") ok = absl::SimpleAtoi(v, &occ);
    else if (f == "rec") ok = absl::SimpleAtoi(v, &rec);
    else if (f == "ward") e.set_ward(v);
    else if (f == "team") e.set_team(v);
    else if (f == "src") out.source = v;
    else if (f == "event") e.set_event_id(v);
    else if (f == "by") out.logged_by = v;
    else if (f == "org") e.set_organisation(v);
    else if (f == "camp") {
      for (absl::string_view c : absl::StrSplit(v, ',', absl::SkipEmpty())) {
        e.add_campaign_ids(std::string(c));
      }
    } else if (f == "bonus") {
      int64_t bonus = 0;
      ok = absl::SimpleAtoi(v, &bonus);
      e.set_bonus_points(bonus);
    } else if (f == "cnt") {
      ok = absl::SimpleAtoi(v, &out.count_delta);
    }
    if (!ok) return Malformed(id, f);
  }
  if (out.account_id.empty()) return Malformed(id, "acct");
  if (qty == kMissing) return Malformed(id, "qty");
  if (co2 == kMissing) return Malformed(id, "co2");
  if (pts == kMissing) return Malformed(id, "pts");
  // Beyond year 9999 protobuf's TimeUtil aborts the process (found by
  // fuzz/ledger_entry_fuzzer): a corrupt entry must not take a reader down.
  constexpr int64_t kMaxTimestampMs = int64_t{253402300799} * 1000 + 999;
  if (occ < 0 || occ > kMaxTimestampMs) return Malformed(id, "occ");
  if (rec > kMaxTimestampMs) return Malformed(id, "rec");
  e.set_staff_verified(out.source == "staff");
  e.set_quantity_milli(qty);
  e.set_unit(static_cast<v1::Unit>(unit));
  e.set_co2e_grams(co2);
  e.set_points(pts);
  *e.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(occ);
  *e.mutable_recorded_at() = TimeUtil::MillisecondsToTimestamp(rec < 0 ? occ : rec);
  return out;
}

absl::Status ForEachLedgerEntry(RedisClient* redis, const std::string& stream,
                                const std::function<absl::Status(const StoredEntry&)>& visit,
                                const std::string& first) {
  std::string start = first;
  while (true) {
    ASSIGN_OR_RETURN(RedisValue page,
                     redis->Command({"XRANGE", stream, start, "+", "COUNT", "10000"}));
    if (page.elements.empty()) return absl::OkStatus();
    for (const RedisValue& raw : page.elements) {
      ASSIGN_OR_RETURN(StoredEntry stored, DecodeStreamEntry(raw));
      RETURN_IF_ERROR(visit(stored));
    }
    // Exclusive start after the last id read.
    start = "(" + page.elements.back().elements[0].str;
  }
}

}  // namespace ecoact
