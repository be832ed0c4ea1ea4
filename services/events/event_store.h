// Events in Redis. Everything about one event shares the hash tag {e:<id>}
// (docs/keys.md): its hash, staff set, check-ins, entries (idempotency
// records by client entry id), totals and its own ledger stream, so every
// event script is one atomic round trip in one slot. The participants'
// credits go to their own ledger shards afterwards (EventsCore).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ecoact/v1/events.pb.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "services/events/events.h"

namespace ecoact::events {

// What the event ledger remembers of one entry (or one correction).
struct EntryRecord {
  std::string client_entry_id;
  std::string participant;
  std::string action_type;
  int64_t grams = 0;
  int64_t co2e_grams = 0;
  int64_t points = 0;
  std::string factor_tag;
  absl::Time occurred_at;
  absl::Time received_at;
  std::string logged_by;  // staff login
  std::string corrects;   // for a correction: the client entry id it corrects
  int count_delta = 1;    // 1 for a weigh-in, 0 for an adjustment, -1 for a void
  // The rates the entry was priced with (0 if unknown).
  int64_t co2e_mg_per_kg = 0;
  int64_t points_per_kg = 0;
  bool duplicate = false;
};

struct EventTotals {
  struct PerType {
    int64_t attributed = 0, anonymous = 0, closing = 0, co2 = 0, entries = 0;
    bool has_closing = false;
  };
  std::map<std::string, PerType> by_type;
  int64_t co2 = 0;
  int64_t participants = 0;
};

class EventStore {
 public:
  EventStore(RedisClient* redis, std::string prefix) : redis_(redis), prefix_(std::move(prefix)) {}

  // ALREADY_EXISTS if the id was created by another request.
  absl::Status Create(const EventRecord& event);
  absl::StatusOr<std::optional<EventRecord>> Get(absl::string_view id);
  absl::Status AddStaff(absl::string_view id, const std::vector<std::string>& logins);
  // FAILED_PRECONDITION for a transition from another status.
  absl::Status Transition(absl::string_view id, v1::EventStatus from, v1::EventStatus to);
  // Event ids ordered by start time (optionally from `from` on).
  absl::StatusOr<std::vector<std::string>> ListIds(std::optional<absl::Time> ends_after);
  // ALREADY_EXISTS (message says when) if already checked in.
  absl::StatusOr<absl::Time> CheckIn(absl::string_view id, absl::string_view account,
                                     absl::Time now);
  // The accounts checked in at the event (for survey response rates).
  absl::StatusOr<std::vector<std::string>> CheckedIn(absl::string_view id);
  absl::StatusOr<EntryRecord> RecordEntry(absl::string_view id, const PreparedEntry& entry,
                                          bool allow_closed, absl::string_view staff,
                                          absl::Time now);
  // `new_*` are the entry's figures after the correction (0 for a void).
  absl::StatusOr<EntryRecord> Correct(absl::string_view id, absl::string_view request_id,
                                      absl::string_view fingerprint, absl::string_view target,
                                      bool void_entry, int64_t new_grams, int64_t new_co2,
                                      int64_t new_points, absl::string_view reason,
                                      absl::string_view staff, absl::Time now);
  // The entry as first recorded if `client_entry_id` exists with this
  // fingerprint (DUPLICATE); ALREADY_EXISTS for another fingerprint.
  absl::StatusOr<std::optional<EntryRecord>> FindDuplicate(absl::string_view id,
                                                           absl::string_view client_entry_id,
                                                           absl::string_view fingerprint);
  // The entry as first recorded (for computing a correction's figures).
  absl::StatusOr<std::optional<EntryRecord>> GetEntry(absl::string_view id,
                                                      absl::string_view client_entry_id);
  absl::Status SetClosingTotals(absl::string_view id,
                                const std::vector<std::pair<std::string, int64_t>>& grams);
  absl::StatusOr<EventTotals> Totals(absl::string_view id);
  absl::StatusOr<std::vector<v1::AuditRecord>> Audit(absl::string_view id);
  // Every attributed entry and correction of the event, in order, for
  // re-crediting participants (reconciliation).
  absl::StatusOr<std::vector<EntryRecord>> CreditedEntries(absl::string_view id);

  std::string EventKey(absl::string_view id) const;
  std::string LedgerKey(absl::string_view id) const;

 private:
  std::string Key(absl::string_view id, absl::string_view what) const;
  absl::Status ScanLedger(absl::string_view id,
                          const std::function<void(std::map<std::string, std::string>&)>& visit);
  RedisClient* redis_;
  std::string prefix_;
};

}  // namespace ecoact::events
