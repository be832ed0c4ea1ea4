// ecoact.v1.EventsService: collection drives and points.
//
// A weigh-in is first written to the event's own ledger (one script in the
// event's slot: idempotency by client entry id, status, check-in, mass
// balance, totals), then credited to the participant's ledger shard through
// the same record_action script as citizens' own actions (idempotent by the
// request id "<event>:<entry>"). A retried upload whose entry is a
// DUPLICATE re-runs the credit, and closing an event re-runs every credit,
// so a crash between the two steps heals without double counting.
#pragma once

#include "ecoact/v1/events.grpc.pb.h"
#include "services/actions/ledger_store.h"
#include "services/actions/recorder.h"
#include "services/common/call_context.h"
#include "services/events/event_store.h"
#include "services/events/events.h"
#include "services/leaderboard/board_store.h"

namespace ecoact::events {

struct EventsOptions {
  EntryRules rules;
  int max_batch_entries = 500;
  std::vector<std::string> wards;
};

class EventsServiceImpl final : public v1::EventsService::Service {
 public:
  EventsServiceImpl(EventStore* store, actions::LedgerStore* ledger,
                    const actions::ActionRecorder* recorder, const catalog::Catalog* catalog,
                    leaderboard::BoardStore* boards, RedisClient* redis, const KeySpace* keys,
                    const CheckInCodes* codes, const Authenticator* auth, EventsOptions options);

  grpc::Status CreateEvent(grpc::ServerContext*, const v1::CreateEventRequest*, v1::Event*) override;
  grpc::Status AssignStaff(grpc::ServerContext*, const v1::AssignStaffRequest*, v1::Event*) override;
  grpc::Status OpenEvent(grpc::ServerContext*, const v1::EventTransitionRequest*, v1::Event*) override;
  grpc::Status CloseEvent(grpc::ServerContext*, const v1::EventTransitionRequest*, v1::Event*) override;
  grpc::Status ListEvents(grpc::ServerContext*, const v1::ListEventsRequest*,
                          v1::ListEventsResponse*) override;
  grpc::Status GetEvent(grpc::ServerContext*, const v1::GetEventRequest*, v1::Event*) override;
  grpc::Status GetCheckInCode(grpc::ServerContext*, const v1::GetCheckInCodeRequest*,
                              v1::CheckInCode*) override;
  grpc::Status CheckIn(grpc::ServerContext*, const v1::CheckInRequest*,
                       v1::CheckInResponse*) override;
  grpc::Status RecordWeighIn(grpc::ServerContext*, const v1::WeighIn*, v1::EntryOutcome*) override;
  grpc::Status UploadBatch(grpc::ServerContext*, const v1::UploadBatchRequest*,
                           v1::UploadBatchResponse*) override;
  grpc::Status SetClosingTotals(grpc::ServerContext*, const v1::SetClosingTotalsRequest*,
                                v1::EventLive*) override;
  grpc::Status CorrectEntry(grpc::ServerContext*, const v1::CorrectEntryRequest*,
                            v1::EntryOutcome*) override;
  grpc::Status GetAuditTrail(grpc::ServerContext*, const v1::GetAuditTrailRequest*,
                             v1::GetAuditTrailResponse*) override;
  grpc::Status GetEventLive(grpc::ServerContext*, const v1::GetEventLiveRequest*,
                            v1::EventLive*) override;

 private:
  // The event, or NOT_FOUND. With `staff_only`, the caller must be an admin
  // or staff assigned to it (PERMISSION_DENIED otherwise).
  absl::StatusOr<EventRecord> LoadEvent(const grpc::ServerContext& context,
                                        absl::string_view event_id, bool staff_only,
                                        TokenClaims* claims = nullptr);
  absl::Status DoCreate(const grpc::ServerContext& c, const v1::CreateEventRequest& r, v1::Event* out);
  absl::Status DoAssign(const grpc::ServerContext& c, const v1::AssignStaffRequest& r, v1::Event* out);
  absl::Status DoTransition(const grpc::ServerContext& c, absl::string_view id,
                            v1::EventStatus from, v1::EventStatus to, v1::Event* out);
  absl::Status DoList(const grpc::ServerContext& c, const v1::ListEventsRequest& r,
                      v1::ListEventsResponse* out);
  absl::Status DoCheckIn(const grpc::ServerContext& c, const v1::CheckInRequest& r,
                         v1::CheckInResponse* out);
  // One entry: validate, record at the event, credit the participant.
  absl::Status Weigh(const EventRecord& event, const v1::WeighIn& weigh_in, bool allow_closed,
                     absl::string_view staff, v1::EntryOutcome* out);
  absl::Status DoBatch(const grpc::ServerContext& c, const v1::UploadBatchRequest& r,
                       v1::UploadBatchResponse* out);
  absl::Status DoClosing(const grpc::ServerContext& c, const v1::SetClosingTotalsRequest& r,
                         v1::EventLive* out);
  absl::Status DoCorrect(const grpc::ServerContext& c, const v1::CorrectEntryRequest& r,
                         v1::EntryOutcome* out);
  absl::Status Live(const EventRecord& event, int board_size, const std::string& caller,
                    v1::EventLive* out);
  // The participant credit of an event entry (or of its correction).
  absl::StatusOr<actions::PreparedAction> CreditFor(const EventRecord& event,
                                                    const EntryRecord& record,
                                                    absl::string_view staff) const;
  // Credits (idempotently) a participant with an event entry's figures.
  absl::Status Credit(const EventRecord& event, const EntryRecord& record, absl::string_view staff);
  // Re-runs every credit of the event (after close): heals crashes.
  absl::Status Recredit(const EventRecord& event);

  EventStore* store_;
  actions::LedgerStore* ledger_;
  const actions::ActionRecorder* recorder_;
  const catalog::Catalog* catalog_;
  leaderboard::BoardStore* boards_;
  RedisClient* redis_;
  const KeySpace* keys_;
  const CheckInCodes* codes_;
  const Authenticator* auth_;
  EventsOptions options_;
};

}  // namespace ecoact::events
