#include "services/events/events_service.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/grpc_status.h"
#include "services/common/log.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"

namespace ecoact::events {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

void FillOutcome(const EntryRecord& record, v1::EntryOutcome* out) {
  out->set_client_entry_id(record.client_entry_id);
  out->set_status(record.duplicate ? v1::ENTRY_STATUS_DUPLICATE : v1::ENTRY_STATUS_ACCEPTED);
  out->set_weight_grams(record.grams);
  out->set_co2e_grams(record.co2e_grams);
  out->set_points(record.points);
  out->set_factor_version(record.factor_tag);
  *out->mutable_received_at() = ToTimestamp(record.received_at);
}

const char* CodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case absl::StatusCode::kNotFound: return "NOT_FOUND";
    case absl::StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case absl::StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case absl::StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case absl::StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case absl::StatusCode::kUnavailable: return "UNAVAILABLE";
    case absl::StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    default: return "INTERNAL";
  }
}

// "<event>:<entry>": ':' is not allowed in client request ids, so a citizen
// can never pick (and block) the request id of a staff credit.
std::string CreditRequestId(absl::string_view event_id, absl::string_view entry_id) {
  return absl::StrCat(event_id, ":", entry_id);
}

absl::StatusOr<int64_t> KgToGrams(double kg, absl::string_view field) {
  if (!std::isfinite(kg) || kg < 0 || kg > 1e6) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be a number of kg between 0 and 1000000, got ", kg));
  }
  return static_cast<int64_t>(std::llround(kg * 1000));
}

}  // namespace

EventsServiceImpl::EventsServiceImpl(EventStore* store, actions::LedgerStore* ledger,
                                     const actions::ActionRecorder* recorder,
                                     const catalog::Catalog* catalog,
                                     leaderboard::BoardStore* boards, RedisClient* redis,
                                     const KeySpace* keys, const CheckInCodes* codes,
                                     const Authenticator* auth, EventsOptions options)
    : store_(store), ledger_(ledger), recorder_(recorder), catalog_(catalog), boards_(boards),
      redis_(redis), keys_(keys), codes_(codes), auth_(auth), options_(std::move(options)) {}

absl::StatusOr<EventRecord> EventsServiceImpl::LoadEvent(const grpc::ServerContext& context,
                                                         absl::string_view event_id,
                                                         bool staff_only, TokenClaims* claims_out) {
  ASSIGN_OR_RETURN(TokenClaims claims,
                   staff_only ? auth_->Require(context, {v1::ROLE_STAFF, v1::ROLE_ADMIN})
                              : auth_->RequireAny(context));
  if (event_id.empty()) return absl::InvalidArgumentError("event_id is required (see ListEvents)");
  if (event_id.size() > 64) {
    return absl::NotFoundError("unknown event (event ids are at most 64 characters)");
  }
  ASSIGN_OR_RETURN(std::optional<EventRecord> event, store_->Get(event_id));
  if (!event) return absl::NotFoundError(absl::StrCat("unknown event ", QuoteForMessage(event_id)));
  if (staff_only && claims.role == v1::ROLE_STAFF && event->staff.count(claims.subject) == 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("you are not assigned to event '", event_id, "'; ask an admin"));
  }
  if (claims_out != nullptr) *claims_out = claims;
  return *std::move(event);
}

namespace {

// Staff logins are often names: only admins and the event's own staff see them.
void HideStaffFrom(const TokenClaims& claims, v1::Event* event) {
  if (claims.role == v1::ROLE_ADMIN) return;
  for (const std::string& s : event->staff()) {
    if (claims.role == v1::ROLE_STAFF && s == claims.subject) return;
  }
  event->clear_staff();
}

}  // namespace

absl::Status EventsServiceImpl::DoCreate(const grpc::ServerContext& context,
                                         const v1::CreateEventRequest& request, v1::Event* out) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  ASSIGN_OR_RETURN(EventRecord event, NewEvent(request, *catalog_, options_.wards));
  RETURN_IF_ERROR(store_->Create(event));
  ASSIGN_OR_RETURN(std::optional<EventRecord> stored, store_->Get(event.id));
  if (!stored) return absl::InternalError("event vanished after creation");
  stored->ToProto(out);
  return absl::OkStatus();
}

absl::Status EventsServiceImpl::DoAssign(const grpc::ServerContext& context,
                                         const v1::AssignStaffRequest& request, v1::Event* out) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  ASSIGN_OR_RETURN(EventRecord event, LoadEvent(context, request.event_id(), true));
  if (request.staff_logins().empty() || request.staff_logins_size() > 100) {
    return absl::InvalidArgumentError("staff_logins must list 1 to 100 logins");
  }
  std::vector<std::vector<std::string>> reads;
  for (const std::string& login : request.staff_logins()) {
    RETURN_IF_ERROR(ValidateSlug("staff login", login, 3, 32));
    reads.push_back({"HGET", keys_->Account(login), "role"});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> roles, redis_->Pipeline(reads));
  std::vector<std::string> logins(request.staff_logins().begin(), request.staff_logins().end());
  for (size_t i = 0; i < logins.size(); ++i) {
    if (roles[i].IsNil()) return absl::NotFoundError(absl::StrCat("no account '", logins[i], "'"));
    if (roles[i].str != "staff") {
      return absl::FailedPreconditionError(
          absl::StrCat("'", logins[i], "' is not a staff account (role ", roles[i].str, ")"));
    }
  }
  RETURN_IF_ERROR(store_->AddStaff(event.id, logins));
  for (const auto& login : logins) event.staff.insert(login);
  event.ToProto(out);
  return absl::OkStatus();
}

absl::Status EventsServiceImpl::DoTransition(const grpc::ServerContext& context,
                                             absl::string_view id, v1::EventStatus from,
                                             v1::EventStatus to, v1::Event* out) {
  ASSIGN_OR_RETURN(EventRecord event, LoadEvent(context, id, true));
  RETURN_IF_ERROR(store_->Transition(id, from, to));
  event.status = to;
  if (to == v1::EVENT_STATUS_CLOSED) RETURN_IF_ERROR(Recredit(event));
  event.ToProto(out);
  return absl::OkStatus();
}

absl::Status EventsServiceImpl::DoList(const grpc::ServerContext& context,
                                       const v1::ListEventsRequest& request,
                                       v1::ListEventsResponse* out) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->RequireAny(context));
  if (request.page_size() < 0 || request.page_size() > 100) {
    return absl::InvalidArgumentError("page_size must be 0 (default 20) to 100");
  }
  if (!request.ward().empty()) RETURN_IF_ERROR(ValidateSlug("ward", request.ward(), 2, 32));
  int64_t offset = 0;
  if (!request.page_token().empty() &&
      (!absl::SimpleAtoi(request.page_token(), &offset) || offset < 0 || offset > 1000000)) {
    return absl::InvalidArgumentError("page_token is not one this service returned");
  }
  const absl::Time now = auth_->Now();
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   store_->ListIds(request.include_past() ? std::nullopt
                                                          : std::optional<absl::Time>(now)));
  std::vector<EventRecord> events;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(std::optional<EventRecord> event, store_->Get(id));
    if (!event) continue;
    if (!request.ward().empty() && event->ward != request.ward()) continue;
    if (!request.include_past() && event->ends_at < now) continue;
    events.push_back(*std::move(event));
  }
  const int64_t size = request.page_size() == 0 ? 20 : request.page_size();
  for (int64_t i = offset; i < static_cast<int64_t>(events.size()) && i < offset + size; ++i) {
    v1::Event* listed = out->add_events();
    events[i].ToProto(listed);
    HideStaffFrom(claims, listed);
  }
  if (offset + size < static_cast<int64_t>(events.size())) {
    out->set_next_page_token(absl::StrCat(offset + size));
  }
  return absl::OkStatus();
}

absl::Status EventsServiceImpl::DoCheckIn(const grpc::ServerContext& context,
                                          const v1::CheckInRequest& request,
                                          v1::CheckInResponse* out) {
  ASSIGN_OR_RETURN(EventRecord event, LoadEvent(context, request.event_id(), true));
  ASSIGN_OR_RETURN(std::string account, codes_->Verify(request.code(), auth_->Now()));
  ASSIGN_OR_RETURN(RedisValue profile,
                   redis_->Command({"HMGET", keys_->Account(account), "role", "nickname"}));
  if (profile.elements.size() != 2 || profile.elements[0].str != "citizen") {
    return absl::NotFoundError("the code's account no longer exists or is not a citizen");
  }
  ASSIGN_OR_RETURN(absl::Time at, store_->CheckIn(event.id, account, auth_->Now()));
  out->set_participant_id(account);
  out->set_nickname(profile.elements[1].str);
  *out->mutable_checked_in_at() = ToTimestamp(at);
  return absl::OkStatus();
}

absl::StatusOr<actions::PreparedAction> EventsServiceImpl::CreditFor(
    const EventRecord& event, const EntryRecord& record, absl::string_view staff) const {
  catalog::Conversion conversion;
  conversion.type = catalog_->Find(record.action_type);
  if (conversion.type == nullptr) {
    return absl::InternalError(
        absl::StrCat("action type '", record.action_type, "' left the catalogue"));
  }
  conversion.quantity_milli = record.grams;
  conversion.co2e_grams = record.co2e_grams;
  conversion.points = record.points;
  conversion.factor_tag = record.factor_tag;
  actions::PreparedAction credit = recorder_->PrepareCredit(
      record.participant, CreditRequestId(event.id, record.client_entry_id), conversion,
      record.occurred_at, event.id,
      record.logged_by.empty() ? std::string(staff) : record.logged_by);
  if (!record.corrects.empty()) {
    credit.corrects_request_id = CreditRequestId(event.id, record.corrects);
  }
  credit.count_delta = record.count_delta;
  return credit;
}

absl::Status EventsServiceImpl::Credit(const EventRecord& event, const EntryRecord& record,
                                       absl::string_view staff) {
  if (record.participant.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(actions::PreparedAction credit, CreditFor(event, record, staff));
  return ledger_->Append(credit).status();
}

absl::Status EventsServiceImpl::Recredit(const EventRecord& event) {
  ASSIGN_OR_RETURN(std::vector<EntryRecord> entries, store_->CreditedEntries(event.id));
  int64_t failed = 0;
  absl::Status first_failure;
  auto note = [&](const absl::Status& status) {
    if (!status.ok() && failed++ == 0) first_failure = status;
  };
  // Pipelined in chunks: a year-long collection point has many entries.
  constexpr size_t kChunk = 200;
  for (size_t from = 0; from < entries.size(); from += kChunk) {
    std::vector<actions::PreparedAction> credits;
    for (size_t i = from; i < std::min(entries.size(), from + kChunk); ++i) {
      absl::StatusOr<actions::PreparedAction> credit = CreditFor(event, entries[i], "");
      if (credit.ok()) {
        credits.push_back(*std::move(credit));
      } else {
        note(credit.status());
      }
    }
    for (const absl::Status& credited : ledger_->AppendMany(credits)) {
      // Redis unreachable: stop, CloseEvent may be called again.
      if (absl::IsUnavailable(credited) || absl::IsDeadlineExceeded(credited)) return credited;
      // A permanent failure (e.g. the account was deleted) must not block
      // the other participants' credits.
      note(credited);
    }
  }
  if (failed > 0) {
    LogWarning("close: some credits could not be re-run",
               {{"event", event.id}, {"failed", failed},
                {"first_reason", std::string(first_failure.message())}});
  }
  return absl::OkStatus();
}

absl::Status EventsServiceImpl::Weigh(const EventRecord& event, const v1::WeighIn& weigh_in,
                                      bool allow_closed, absl::string_view staff,
                                      v1::EntryOutcome* out) {
  const absl::Time now = auth_->Now();
  if (!allow_closed && !weigh_in.has_occurred_at() && now > event.ends_at) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the event ended at ", absl::FormatTime(event.ends_at),
        "; close it, and upload entries weighed during it with UploadBatch"));
  }
  absl::StatusOr<PreparedEntry> entry =
      PrepareWeighIn(event, weigh_in, *catalog_, options_.rules, now);
  absl::StatusOr<EntryRecord> record;
  if (entry.ok()) {
    record = store_->RecordEntry(event.id, *entry, allow_closed, staff, now);
  } else {
    // An entry recorded by an earlier upload stays a DUPLICATE even if it
    // would not validate any more (e.g. the event ended since).
    absl::StatusOr<std::optional<EntryRecord>> earlier =
        weigh_in.client_entry_id().empty() || weigh_in.client_entry_id().size() > 64
            ? absl::StatusOr<std::optional<EntryRecord>>(std::nullopt)
            : store_->FindDuplicate(event.id, weigh_in.client_entry_id(),
                                    WeighInFingerprint(weigh_in));
    if (!earlier.ok()) return earlier.status();
    if (!*earlier) return entry.status();
    record = **earlier;
  }
  if (!record.ok()) return record.status();
  FillOutcome(*record, out);
  absl::Status credited = Credit(event, *record, staff);
  if (!credited.ok()) {
    // The entry is kept at the event: say so, so that no device logs the
    // bag again under a new id; sending the same entry again finishes it.
    out->set_code(CodeName(credited.code()));
    out->set_message(absl::StrCat("recorded at the event, but crediting the participant "
                                  "failed; send the same entry again to finish: ",
                                  credited.message()));
    if (!allow_closed) return absl::Status(credited.code(), out->message());
  }
  return absl::OkStatus();
}

absl::Status EventsServiceImpl::DoBatch(const grpc::ServerContext& context,
                                        const v1::UploadBatchRequest& request,
                                        v1::UploadBatchResponse* out) {
  TokenClaims claims;
  ASSIGN_OR_RETURN(EventRecord event, LoadEvent(context, request.event_id(), true, &claims));
  if (request.entries().empty() || request.entries_size() > options_.max_batch_entries) {
    return absl::InvalidArgumentError(absl::StrCat("a batch holds 1 to ",
                                                   options_.max_batch_entries, " entries, got ",
                                                   request.entries_size()));
  }
  for (v1::WeighIn entry : request.entries()) {
    v1::EntryOutcome* outcome = out->add_outcomes();
    absl::Status status =
        !entry.event_id().empty() && entry.event_id() != event.id
            ? absl::InvalidArgumentError(absl::StrCat("entry belongs to event ",
                                                      QuoteForMessage(entry.event_id()),
                                                      ", not this batch's"))
            : Weigh(event, entry, /*allow_closed=*/true, claims.subject, outcome);
    if (!status.ok()) {
      outcome->Clear();
      outcome->set_client_entry_id(entry.client_entry_id());
      outcome->set_status(v1::ENTRY_STATUS_REJECTED);
      outcome->set_code(CodeName(status.code()));
      outcome->set_message(std::string(status.message()));
      out->set_rejected(out->rejected() + 1);
    } else if (outcome->status() == v1::ENTRY_STATUS_DUPLICATE) {
      out->set_duplicates(out->duplicates() + 1);
    } else {
      out->set_accepted(out->accepted() + 1);
    }
  }
  return absl::OkStatus();
}

absl::Status EventsServiceImpl::DoClosing(const grpc::ServerContext& context,
                                          const v1::SetClosingTotalsRequest& request,
                                          v1::EventLive* out) {
  TokenClaims claims;
  ASSIGN_OR_RETURN(EventRecord event, LoadEvent(context, request.event_id(), true, &claims));
  // One total per accepted action type, and an event accepts at most 20.
  if (request.totals().empty() || request.totals_size() > 20) {
    return absl::InvalidArgumentError(absl::StrCat(
        "totals must list 1 to 20 closing totals (one per accepted action type), got ",
        request.totals_size()));
  }
  std::vector<std::pair<std::string, int64_t>> grams;
  std::set<std::string> seen;
  for (const v1::ClosingTotal& total : request.totals()) {
    if (total.action_type().empty()) {
      return absl::InvalidArgumentError("every closing total needs an action_type");
    }
    RETURN_IF_ERROR(ValidateActionTypeId("totals.action_type", total.action_type()));
    if (!seen.insert(total.action_type()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("action type '", total.action_type(), "' is listed twice"));
    }
    if (catalog_->Find(total.action_type()) == nullptr) {
      return absl::NotFoundError(absl::StrCat("unknown action type '", total.action_type(), "'"));
    }
    if (!event.Accepts(total.action_type())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "this event does not collect '", total.action_type(), "'"));
    }
    ASSIGN_OR_RETURN(int64_t g, KgToGrams(total.weight_kg(), "weight_kg"));
    grams.emplace_back(total.action_type(), g);
  }
  RETURN_IF_ERROR(store_->SetClosingTotals(event.id, grams));
  return Live(event, 10, claims.subject, out);
}

absl::Status EventsServiceImpl::DoCorrect(const grpc::ServerContext& context,
                                          const v1::CorrectEntryRequest& request,
                                          v1::EntryOutcome* out) {
  TokenClaims claims;
  ASSIGN_OR_RETURN(EventRecord event, LoadEvent(context, request.event_id(), true, &claims));
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  std::string reason;
  RETURN_IF_ERROR(ValidateDisplayText("reason", request.reason(), 200, &reason));
  if (reason.size() < 3) return absl::InvalidArgumentError("reason must say why (3+ characters)");
  if (request.kind() != v1::CORRECTION_KIND_VOID && request.kind() != v1::CORRECTION_KIND_ADJUST) {
    return absl::InvalidArgumentError("kind must be CORRECTION_KIND_VOID or CORRECTION_KIND_ADJUST");
  }
  if (request.client_entry_id().empty() || request.client_entry_id().size() > 70) {
    return absl::InvalidArgumentError("client_entry_id must name the entry to correct");
  }
  if (request.client_entry_id().rfind("corr:", 0) == 0) {
    return absl::FailedPreconditionError(
        "a correction cannot be corrected; correct the original entry again");
  }
  ASSIGN_OR_RETURN(std::optional<EntryRecord> target,
                   store_->GetEntry(event.id, request.client_entry_id()));
  if (!target) {
    return absl::NotFoundError(
        absl::StrCat("no entry ", QuoteForMessage(request.client_entry_id()), " at this event"));
  }
  int64_t new_grams = 0, new_co2 = 0, new_points = 0;
  if (request.kind() == v1::CORRECTION_KIND_ADJUST) {
    catalog::ConversionRequest conversion_request;
    conversion_request.action_type = target->action_type;
    conversion_request.quantity = request.new_weight_kg();
    conversion_request.unit = v1::UNIT_KILOGRAM;
    conversion_request.occurred_at = target->occurred_at;
    if (!std::isfinite(request.new_weight_kg()) || request.new_weight_kg() <= 0 ||
        request.new_weight_kg() * 1000 > options_.rules.max_grams_per_entry) {
      return absl::InvalidArgumentError(absl::StrCat(
          "new_weight_kg must be above 0 and at most ", options_.rules.max_grams_per_entry / 1000,
          " kg (use CORRECTION_KIND_VOID to cancel an entry)"));
    }
    ASSIGN_OR_RETURN(catalog::Conversion conversion, catalog_->Convert(conversion_request));
    new_grams = conversion.quantity_milli;
    new_co2 = conversion.co2e_grams;
    new_points = conversion.points;
    if (target->co2e_mg_per_kg > 0 || target->points_per_kg > 0) {
      // Price the new weight with the rates the entry was recorded with: a
      // correction fixes the weight, it does not re-price the entry.
      const __int128 grams = new_grams;
      new_co2 = static_cast<int64_t>((grams * target->co2e_mg_per_kg + 500000) / 1000000);
      new_points = static_cast<int64_t>(grams * target->points_per_kg / 1000);
    }
  }
  std::string fingerprint = Fingerprint({"correct", request.client_entry_id(),
                                         absl::StrCat(static_cast<int>(request.kind())),
                                         absl::StrCat(new_grams), reason});
  ASSIGN_OR_RETURN(EntryRecord record,
                   store_->Correct(event.id, request.request_id(), fingerprint,
                                   request.client_entry_id(),
                                   request.kind() == v1::CORRECTION_KIND_VOID, new_grams, new_co2,
                                   new_points, reason, claims.subject, auth_->Now()));
  absl::Status credited = Credit(event, record, claims.subject);
  if (!credited.ok()) {
    return absl::Status(credited.code(),
                        absl::StrCat("the correction is recorded at the event, but crediting the "
                                     "participant failed; repeat it with the same request_id to "
                                     "finish: ", credited.message()));
  }
  FillOutcome(record, out);
  return absl::OkStatus();
}

absl::Status EventsServiceImpl::Live(const EventRecord& event, int board_size,
                                     const std::string& caller, v1::EventLive* out) {
  ASSIGN_OR_RETURN(EventTotals totals, store_->Totals(event.id));
  event.ToProto(out->mutable_event());
  int64_t anonymous = 0, all = 0;
  for (const auto& [type, t] : totals.by_type) {
    if (type.empty()) continue;
    v1::ActionTypeTotal* row = out->add_by_action_type();
    row->set_action_type(type);
    row->set_attributed_grams(t.attributed);
    row->set_anonymous_grams(t.anonymous);
    row->set_closing_total_grams(t.closing);
    row->set_has_closing_total(t.has_closing);
    const int64_t logged = t.attributed + t.anonymous;
    const int64_t unlogged = t.closing > logged ? t.closing - logged : 0;
    row->set_unlogged_grams(unlogged);
    row->set_co2e_grams(t.co2);
    row->set_entries(t.entries);
    anonymous += t.anonymous + unlogged;
    all += logged + unlogged;
  }
  out->set_co2e_grams(totals.co2);
  out->set_participants(totals.participants);
  out->set_anonymous_share_permille(all > 0 ? anonymous * 1000 / all : 0);
  if (board_size > 0) {
    ASSIGN_OR_RETURN(leaderboard::BoardPage page,
                     boards_->Page(absl::StrCat("event:", event.id, ":all:pts"), 0, board_size));
    for (const auto& m : page.members) {
      v1::BoardEntry* entry = out->add_board();
      entry->set_rank(m.rank);
      entry->set_nickname(m.nickname);
      entry->set_score(m.score);
      entry->set_is_me(m.account_id == caller);
    }
  }
  return absl::OkStatus();
}

grpc::Status EventsServiceImpl::CreateEvent(grpc::ServerContext* c, const v1::CreateEventRequest* r,
                                            v1::Event* out) {
  return ToGrpcStatus(DoCreate(*c, *r, out));
}

grpc::Status EventsServiceImpl::AssignStaff(grpc::ServerContext* c, const v1::AssignStaffRequest* r,
                                            v1::Event* out) {
  return ToGrpcStatus(DoAssign(*c, *r, out));
}

grpc::Status EventsServiceImpl::OpenEvent(grpc::ServerContext* c,
                                          const v1::EventTransitionRequest* r, v1::Event* out) {
  return ToGrpcStatus(DoTransition(*c, r->event_id(), v1::EVENT_STATUS_SCHEDULED,
                              v1::EVENT_STATUS_OPEN, out));
}

grpc::Status EventsServiceImpl::CloseEvent(grpc::ServerContext* c,
                                           const v1::EventTransitionRequest* r, v1::Event* out) {
  return ToGrpcStatus(DoTransition(*c, r->event_id(), v1::EVENT_STATUS_OPEN,
                              v1::EVENT_STATUS_CLOSED, out));
}

grpc::Status EventsServiceImpl::ListEvents(grpc::ServerContext* c, const v1::ListEventsRequest* r,
                                           v1::ListEventsResponse* out) {
  return ToGrpcStatus(DoList(*c, *r, out));
}

grpc::Status EventsServiceImpl::GetEvent(grpc::ServerContext* c, const v1::GetEventRequest* r,
                                         v1::Event* out) {
  TokenClaims claims;
  auto event = LoadEvent(*c, r->event_id(), false, &claims);
  if (event.ok()) {
    event->ToProto(out);
    HideStaffFrom(claims, out);
  }
  return ToGrpcStatus(event.status());
}

grpc::Status EventsServiceImpl::GetCheckInCode(grpc::ServerContext* c,
                                               const v1::GetCheckInCodeRequest*,
                                               v1::CheckInCode* out) {
  auto claims = auth_->Require(*c, {v1::ROLE_CITIZEN});
  if (claims.ok()) {
    const absl::Time now = auth_->Now();
    out->set_code(codes_->Issue(claims->subject, now));
    *out->mutable_expires_at() = ToTimestamp(codes_->ExpiryOf(now));
  }
  return ToGrpcStatus(claims.status());
}

grpc::Status EventsServiceImpl::CheckIn(grpc::ServerContext* c, const v1::CheckInRequest* r,
                                        v1::CheckInResponse* out) {
  return ToGrpcStatus(DoCheckIn(*c, *r, out));
}

grpc::Status EventsServiceImpl::RecordWeighIn(grpc::ServerContext* c, const v1::WeighIn* r,
                                              v1::EntryOutcome* out) {
  TokenClaims claims;
  auto event = LoadEvent(*c, r->event_id(), true, &claims);
  if (!event.ok()) return ToGrpcStatus(event.status());
  return ToGrpcStatus(Weigh(*event, *r, /*allow_closed=*/false, claims.subject, out));
}

grpc::Status EventsServiceImpl::UploadBatch(grpc::ServerContext* c, const v1::UploadBatchRequest* r,
                                            v1::UploadBatchResponse* out) {
  return ToGrpcStatus(DoBatch(*c, *r, out));
}

grpc::Status EventsServiceImpl::SetClosingTotals(grpc::ServerContext* c,
                                                 const v1::SetClosingTotalsRequest* r,
                                                 v1::EventLive* out) {
  return ToGrpcStatus(DoClosing(*c, *r, out));
}

grpc::Status EventsServiceImpl::CorrectEntry(grpc::ServerContext* c,
                                             const v1::CorrectEntryRequest* r,
                                             v1::EntryOutcome* out) {
  return ToGrpcStatus(DoCorrect(*c, *r, out));
}

grpc::Status EventsServiceImpl::GetAuditTrail(grpc::ServerContext* c,
                                              const v1::GetAuditTrailRequest* r,
                                              v1::GetAuditTrailResponse* out) {
  auto admin = auth_->Require(*c, {v1::ROLE_ADMIN});
  if (!admin.ok()) return ToGrpcStatus(admin.status());
  auto event = LoadEvent(*c, r->event_id(), true);
  if (!event.ok()) return ToGrpcStatus(event.status());
  auto records = store_->Audit(event->id);
  if (records.ok()) {
    for (auto& record : *records) *out->add_records() = std::move(record);
  }
  return ToGrpcStatus(records.status());
}

grpc::Status EventsServiceImpl::GetEventLive(grpc::ServerContext* c,
                                             const v1::GetEventLiveRequest* r, v1::EventLive* out) {
  TokenClaims claims;
  auto event = LoadEvent(*c, r->event_id(), false, &claims);
  if (!event.ok()) return ToGrpcStatus(event.status());
  if (r->board_size() < 0 || r->board_size() > 50) {
    return ToGrpcStatus(absl::InvalidArgumentError("board_size must be 0 to 50"));
  }
  absl::Status live = Live(*event, r->board_size(), claims.subject, out);
  HideStaffFrom(claims, out->mutable_event());
  return ToGrpcStatus(live);
}

}  // namespace ecoact::events
