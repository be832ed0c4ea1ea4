// Collection-drive domain rules (no gRPC, no Redis): what a valid event is,
// signed check-in codes, and how a weigh-in is validated and converted.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ecoact/v1/events.pb.h"
#include "services/catalog/catalog.h"

namespace ecoact::events {

struct EventRecord {
  std::string id;
  v1::EventKind kind = v1::EVENT_KIND_UNSPECIFIED;
  std::string name;
  std::string place;
  std::string ward;
  std::string organiser_team;
  absl::Time starts_at;
  absl::Time ends_at;
  std::vector<std::string> action_types;
  v1::EventStatus status = v1::EVENT_STATUS_SCHEDULED;
  std::set<std::string> staff;
  std::string fingerprint;

  bool Accepts(absl::string_view action_type) const;
  bool Contains(absl::Time t) const { return t >= starts_at && t <= ends_at; }
  void ToProto(v1::Event* out) const;
};

// Validates a CreateEventRequest against the catalogue (accepted types must
// be weighed in kg) and the ward list; the id is derived from request_id.
absl::StatusOr<EventRecord> NewEvent(const v1::CreateEventRequest& request,
                                     const catalog::Catalog& catalog,
                                     const std::vector<std::string>& wards);

// "ev-" + 12 base32 characters of SHA-256(request id): a retried
// CreateEvent names the same event.
std::string EventIdFor(absl::string_view request_id);

// Signed, short-lived check-in codes: "EC1.<account>.<expiry s>.<mac>",
// HMAC-SHA256 under the server's key, bound to the account.
class CheckInCodes {
 public:
  CheckInCodes(std::string key, absl::Duration lifetime)
      : key_(std::move(key)), lifetime_(lifetime) {}
  std::string Issue(absl::string_view account_id, absl::Time now) const;
  absl::Time ExpiryOf(absl::Time now) const { return now + lifetime_; }
  // INVALID_ARGUMENT malformed or forged (UNAUTHENTICATED is kept for bad
  // tokens); FAILED_PRECONDITION expired.
  absl::StatusOr<std::string> Verify(absl::string_view code, absl::Time now) const;

 private:
  std::string Mac(absl::string_view payload) const;
  std::string key_;
  absl::Duration lifetime_;
};

struct EntryRules {
  int64_t max_grams_per_entry = 100000;  // 100 kg
};

// A validated weigh-in, converted with the factor valid when it happened.
struct PreparedEntry {
  std::string client_entry_id;
  std::string participant_id;
  catalog::Conversion conversion;
  absl::Time occurred_at;
  std::string fingerprint;
};

// INVALID_ARGUMENT (ids, weight <= 0 or above the maximum, time outside the
// event), NOT_FOUND (action type not in the catalogue), FAILED_PRECONDITION
// (action type not accepted by this event).
// Digest of what the staff device sent, for DUPLICATE versus "same entry id,
// different entry"; independent of server-side validation and conversion.
std::string WeighInFingerprint(const v1::WeighIn& weigh_in);

absl::StatusOr<PreparedEntry> PrepareWeighIn(const EventRecord& event, const v1::WeighIn& weigh_in,
                                             const catalog::Catalog& catalog,
                                             const EntryRules& rules, absl::Time now);

}  // namespace ecoact::events
