#include "services/events/events.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "openssl/sha.h"
#include "services/actions/actions_service.h"
#include "services/common/clock.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"

namespace ecoact::events {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

}  // namespace

bool EventRecord::Accepts(absl::string_view action_type) const {
  for (const auto& t : action_types) {
    if (t == action_type) return true;
  }
  return false;
}

void EventRecord::ToProto(v1::Event* out) const {
  out->set_event_id(id);
  out->set_kind(kind);
  out->set_name(name);
  out->set_place(place);
  out->set_ward(ward);
  out->set_organiser_team(organiser_team);
  *out->mutable_starts_at() = ToTimestamp(starts_at);
  *out->mutable_ends_at() = ToTimestamp(ends_at);
  for (const auto& t : action_types) out->add_accepted_action_types(t);
  out->set_status(status);
  for (const auto& s : staff) out->add_staff(s);
}

std::string EventIdFor(absl::string_view request_id) {
  std::string input = absl::StrCat("ecoact-event:", request_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return "ev-" + Base32(std::string(reinterpret_cast<const char*>(digest), 8)).substr(0, 12);
}

absl::StatusOr<EventRecord> NewEvent(const v1::CreateEventRequest& request,
                                     const catalog::Catalog& catalog,
                                     const std::vector<std::string>& wards) {
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  EventRecord event;
  event.id = EventIdFor(request.request_id());
  if (request.kind() != v1::EVENT_KIND_DRIVE && request.kind() != v1::EVENT_KIND_COLLECTION_POINT) {
    return absl::InvalidArgumentError("kind must be EVENT_KIND_DRIVE or EVENT_KIND_COLLECTION_POINT");
  }
  event.kind = request.kind();
  RETURN_IF_ERROR(ValidateDisplayText("name", request.name(), 80, &event.name));
  if (!request.place().empty()) {
    RETURN_IF_ERROR(ValidateDisplayText("place", request.place(), 120, &event.place));
  }
  RETURN_IF_ERROR(ValidateSlug("ward", request.ward(), 2, 32));
  bool known_ward = false;
  for (const auto& w : wards) known_ward = known_ward || w == request.ward();
  if (!known_ward) {
    return absl::NotFoundError(absl::StrCat("unknown ward '", request.ward(), "'; see ListWards"));
  }
  event.ward = request.ward();
  if (!request.organiser_team().empty()) {
    RETURN_IF_ERROR(ValidateSlug("organiser_team", request.organiser_team(), 2, 32));
    event.organiser_team = request.organiser_team();
  }
  if (!request.has_starts_at() || !request.has_ends_at()) {
    return absl::InvalidArgumentError("starts_at and ends_at are required");
  }
  ASSIGN_OR_RETURN(event.starts_at, TimeFromProto(request.starts_at(), "starts_at"));
  ASSIGN_OR_RETURN(event.ends_at, TimeFromProto(request.ends_at(), "ends_at"));
  if (event.ends_at <= event.starts_at || event.ends_at - event.starts_at > absl::Hours(24 * 366)) {
    return absl::InvalidArgumentError("ends_at must be after starts_at, at most 366 days later");
  }
  if (request.accepted_action_types().empty() || request.accepted_action_types_size() > 20) {
    return absl::InvalidArgumentError("accepted_action_types must list 1 to 20 action types");
  }
  for (const std::string& type : request.accepted_action_types()) {
    RETURN_IF_ERROR(ValidateActionTypeId("accepted_action_types", type));
    const catalog::ActionTypeInfo* info = catalog.Find(type);
    if (info == nullptr) {
      return absl::NotFoundError(absl::StrCat("unknown action type '", type,
                                              "'; see CatalogService.ListActionTypes"));
    }
    if (info->unit != v1::UNIT_KILOGRAM) {
      return absl::InvalidArgumentError(
          absl::StrCat("action type '", type, "' is not weighed in kg; events collect by weight"));
    }
    if (!event.Accepts(type)) event.action_types.push_back(type);
  }
  event.fingerprint = Fingerprint({"event", absl::StrCat(static_cast<int>(request.kind())),
                                   request.name(), request.place(), request.ward(),
                                   request.organiser_team(),
                                   absl::StrCat(absl::ToUnixSeconds(event.starts_at)),
                                   absl::StrCat(absl::ToUnixSeconds(event.ends_at)),
                                   absl::StrJoin(event.action_types, ",")});
  return event;
}

std::string CheckInCodes::Mac(absl::string_view payload) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &length);
  // 128 bits are plenty for a code that lives minutes.
  return Base32(std::string(reinterpret_cast<const char*>(mac), 16));
}

std::string CheckInCodes::Issue(absl::string_view account_id, absl::Time now) const {
  std::string payload =
      absl::StrCat("EC1.", account_id, ".", absl::ToUnixSeconds(now + lifetime_));
  return absl::StrCat(payload, ".", Mac(payload));
}

absl::StatusOr<std::string> CheckInCodes::Verify(absl::string_view code, absl::Time now) const {
  std::vector<absl::string_view> parts = absl::StrSplit(code, '.');
  int64_t expiry = 0;
  if (code.size() > 200 || parts.size() != 4 || parts[0] != "EC1" || parts[1].empty() ||
      !absl::SimpleAtoi(parts[2], &expiry)) {
    return absl::InvalidArgumentError("not an ecoact check-in code (mistyped or cut off?)");
  }
  std::string payload = absl::StrCat(parts[0], ".", parts[1], ".", parts[2]);
  std::string expected = Mac(payload);
  if (expected.size() != parts[3].size() ||
      CRYPTO_memcmp(expected.data(), parts[3].data(), expected.size()) != 0) {
    return absl::InvalidArgumentError("check-in code is not valid: forged or mistyped");
  }
  if (now > absl::FromUnixSeconds(expiry)) {
    return absl::FailedPreconditionError(
        "check-in code expired; ask the participant to show a fresh one in the app");
  }
  return std::string(parts[1]);
}

absl::StatusOr<PreparedEntry> PrepareWeighIn(const EventRecord& event, const v1::WeighIn& weigh_in,
                                             const catalog::Catalog& catalog,
                                             const EntryRules& rules, absl::Time now) {
  PreparedEntry entry;
  if (!ValidateRequestId(weigh_in.client_entry_id()).ok()) {
    return absl::InvalidArgumentError(
        "client_entry_id must be 8 to 64 characters of A-Z a-z 0-9 - _ (unique per event)");
  }
  entry.client_entry_id = weigh_in.client_entry_id();
  if (!weigh_in.participant_id().empty() && weigh_in.participant_id().size() > 64) {
    return absl::InvalidArgumentError("participant_id is not one CheckIn returned");
  }
  entry.participant_id = weigh_in.participant_id();
  entry.occurred_at = now;
  if (weigh_in.has_occurred_at()) {
    ASSIGN_OR_RETURN(entry.occurred_at, TimeFromProto(weigh_in.occurred_at(), "occurred_at"));
  }
  if (entry.occurred_at > now + absl::Minutes(5)) {
    return absl::InvalidArgumentError("occurred_at is in the future (check the device's clock)");
  }
  if (!event.Contains(entry.occurred_at)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "occurred_at ", absl::FormatTime(entry.occurred_at), " is outside the event (",
        absl::FormatTime(event.starts_at), " to ", absl::FormatTime(event.ends_at), ")"));
  }
  const double weight = weigh_in.weight_kg();
  if (!std::isfinite(weight) || weight <= 0 ||
      weight * 1000 > static_cast<double>(rules.max_grams_per_entry) + 0.5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weight_kg must be above 0 and at most ", rules.max_grams_per_entry / 1000,
        " kg per entry, got ", weight));
  }
  RETURN_IF_ERROR(ValidateActionTypeId("action_type", weigh_in.action_type()));
  if (catalog.Find(weigh_in.action_type()) == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown action type '", weigh_in.action_type(), "'"));
  }
  if (!event.Accepts(weigh_in.action_type())) {
    return absl::FailedPreconditionError(
        absl::StrCat("this event does not collect '", weigh_in.action_type(), "'; it accepts ",
                     absl::StrJoin(event.action_types, ", ")));
  }
  catalog::ConversionRequest request;
  request.action_type = weigh_in.action_type();
  request.quantity = weight;
  request.unit = v1::UNIT_KILOGRAM;
  request.occurred_at = entry.occurred_at;
  ASSIGN_OR_RETURN(entry.conversion, catalog.Convert(request));
  entry.fingerprint = WeighInFingerprint(weigh_in);
  return entry;
}

std::string WeighInFingerprint(const v1::WeighIn& weigh_in) {
  return Fingerprint({"weigh", weigh_in.participant_id(), weigh_in.action_type(),
                      absl::StrFormat("%.17g", weigh_in.weight_kg()),
                      weigh_in.has_occurred_at()
                          ? absl::StrCat(weigh_in.occurred_at().seconds(), ".",
                                         weigh_in.occurred_at().nanos())
                          : "now"});
}

}  // namespace ecoact::events
