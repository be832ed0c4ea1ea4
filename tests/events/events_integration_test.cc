// EventsService through gRPC on a real Redis: a small drive end to end, every
// rejection path, idempotent offline batches, mass balance, corrections with
// an audit trail, and healing of a credit lost between the two writes.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    admin_ = stack_->AdminToken();
    staff_ = stack_->StaffToken("staff.aiko");
    other_staff_ = stack_->StaffToken("staff.ben");
    mika_ = stack_->Register("Mika", "nakahara");
    event_ = CreateEvent("drive-request-0001");
  }

  v1::Event CreateEvent(const std::string& request_id) {
    v1::CreateEventRequest request;
    request.set_request_id(request_id);
    request.set_kind(v1::EVENT_KIND_DRIVE);
    request.set_name("Frontale clothing drive");
    request.set_ward("nakahara");
    *request.mutable_starts_at() = Ts(stack_->now() - absl::Hours(1));
    *request.mutable_ends_at() = Ts(stack_->now() + absl::Hours(3));
    request.add_accepted_action_types("clothing_reuse");
    request.add_accepted_action_types("clothing_recycling");
    v1::Event event;
    grpc::Status status = stack_->events()->CreateEvent(Stack::Context(admin_).get(), request, &event);
    EXPECT_TRUE(status.ok()) << status.error_message();
    v1::AssignStaffRequest assign;
    assign.set_event_id(event.event_id());
    assign.add_staff_logins("staff.aiko");
    status = stack_->events()->AssignStaff(Stack::Context(admin_).get(), assign, &event);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return event;
  }

  grpc::Status Open(const std::string& token) {
    v1::EventTransitionRequest request;
    request.set_event_id(event_.event_id());
    v1::Event out;
    return stack_->events()->OpenEvent(Stack::Context(token).get(), request, &out);
  }
  grpc::Status Close(const std::string& token) {
    v1::EventTransitionRequest request;
    request.set_event_id(event_.event_id());
    v1::Event out;
    return stack_->events()->CloseEvent(Stack::Context(token).get(), request, &out);
  }

  std::string Code(const std::string& citizen_token) {
    v1::CheckInCode code;
    grpc::Status status =
        stack_->events()->GetCheckInCode(Stack::Context(citizen_token).get(), {}, &code);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return code.code();
  }

  grpc::Status CheckIn(const std::string& token, const std::string& code,
                       v1::CheckInResponse* out = nullptr) {
    v1::CheckInRequest request;
    request.set_event_id(event_.event_id());
    request.set_code(code);
    v1::CheckInResponse ignored;
    return stack_->events()->CheckIn(Stack::Context(token).get(), request, out ? out : &ignored);
  }

  v1::WeighIn Entry(const std::string& id, const std::string& participant, double kg,
                    const std::string& type = "clothing_reuse") {
    v1::WeighIn w;
    w.set_event_id(event_.event_id());
    w.set_client_entry_id(id);
    w.set_participant_id(participant);
    w.set_action_type(type);
    w.set_weight_kg(kg);
    *w.mutable_occurred_at() = Ts(stack_->now() - absl::Minutes(5));
    return w;
  }

  grpc::Status Weigh(const std::string& token, const v1::WeighIn& w,
                     v1::EntryOutcome* out = nullptr) {
    v1::EntryOutcome ignored;
    return stack_->events()->RecordWeighIn(Stack::Context(token).get(), w, out ? out : &ignored);
  }

  v1::UploadBatchResponse Upload(const std::vector<v1::WeighIn>& entries) {
    v1::UploadBatchRequest request;
    request.set_event_id(event_.event_id());
    for (const auto& e : entries) *request.add_entries() = e;
    v1::UploadBatchResponse response;
    grpc::Status status =
        stack_->events()->UploadBatch(Stack::Context(staff_).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::EventLive Live() {
    v1::GetEventLiveRequest request;
    request.set_event_id(event_.event_id());
    request.set_board_size(10);
    v1::EventLive live;
    grpc::Status status = stack_->events()->GetEventLive(Stack::Context(admin_).get(), request, &live);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return live;
  }

  int64_t PersonalGrams(const Citizen& c) {
    v1::GetMyImpactResponse impact;
    EXPECT_TRUE(stack_->actions()->GetMyImpact(Stack::Context(c.token).get(), {}, &impact).ok());
    return impact.totals(0).co2e_grams();
  }

  std::unique_ptr<Stack> stack_;
  std::string admin_, staff_, other_staff_;
  Citizen mika_;
  v1::Event event_;
};

TEST_F(EventsTest, SmallDriveCreditsParticipantsAndShowsLiveTotals) {
  ASSERT_TRUE(Open(staff_).ok());
  v1::CheckInResponse checked;
  ASSERT_TRUE(CheckIn(staff_, Code(mika_.token), &checked).ok());
  EXPECT_EQ(checked.nickname(), "Mika");
  v1::EntryOutcome outcome;
  ASSERT_TRUE(Weigh(staff_, Entry("bag-0001-a", checked.participant_id(), 3.2), &outcome).ok());
  EXPECT_EQ(outcome.status(), v1::ENTRY_STATUS_ACCEPTED);
  EXPECT_EQ(outcome.weight_grams(), 3200);
  ASSERT_TRUE(Weigh(staff_, Entry("bag-0002-anon", "", 1.5, "clothing_recycling")).ok());

  EXPECT_EQ(PersonalGrams(mika_), outcome.co2e_grams());
  v1::ListMyActionsResponse history;
  ASSERT_TRUE(stack_->actions()->ListMyActions(Stack::Context(mika_.token).get(), {}, &history).ok());
  ASSERT_EQ(history.entries_size(), 1);
  EXPECT_TRUE(history.entries(0).staff_verified());
  EXPECT_EQ(history.entries(0).event_id(), event_.event_id());

  stack_->DrainProjector();
  v1::EventLive live = Live();
  EXPECT_EQ(live.participants(), 1);
  ASSERT_EQ(live.board_size(), 1);
  EXPECT_EQ(live.board(0).nickname(), "Mika");
  EXPECT_EQ(live.board(0).score(), outcome.points());
  int64_t attributed = 0, anonymous = 0;
  for (const auto& t : live.by_action_type()) {
    attributed += t.attributed_grams();
    anonymous += t.anonymous_grams();
  }
  EXPECT_EQ(attributed, 3200);
  EXPECT_EQ(anonymous, 1500);
  EXPECT_EQ(live.anonymous_share_permille(), 1500 * 1000 / 4700);

  // The event board through the leaderboard service too.
  v1::GetLeaderboardRequest board;
  board.mutable_board()->set_scope(v1::SCOPE_EVENT);
  board.mutable_board()->set_scope_id(event_.event_id());
  board.mutable_board()->set_period(v1::PERIOD_ALL_TIME);
  board.mutable_board()->set_metric(v1::METRIC_CO2E_GRAMS);
  v1::GetLeaderboardResponse page;
  ASSERT_TRUE(stack_->boards()->GetLeaderboard(Stack::Context(mika_.token).get(), board, &page).ok());
  ASSERT_EQ(page.entries_size(), 1);
  EXPECT_EQ(page.entries(0).score(), outcome.co2e_grams());
}

TEST_F(EventsTest, EveryRejectionPathHasAPreciseStatus) {
  const std::string code = Code(mika_.token);
  // Not yet open.
  EXPECT_THAT(CheckIn(staff_, code), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(Weigh(staff_, Entry("early-0001", "", 1)),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("scheduled")));
  ASSERT_TRUE(Open(staff_).ok());
  // Unassigned staff and citizens.
  EXPECT_THAT(CheckIn(other_staff_, code),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED, HasSubstr("not assigned")));
  EXPECT_THAT(CheckIn(mika_.token, code), StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(Weigh(mika_.token, Entry("self-0001", mika_.account_id, 1)),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(Open(mika_.token), StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  // Forged, expired and reused codes.
  std::string forged = code;
  forged.back() = forged.back() == 'a' ? 'b' : 'a';
  EXPECT_THAT(CheckIn(staff_, forged),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("forged")));
  EXPECT_THAT(CheckIn(staff_, "EC1.u123.99999999999.abc"),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  const absl::Time issued = stack_->now();
  stack_->set_now(issued + absl::Minutes(11));
  EXPECT_THAT(CheckIn(stack_->StaffToken("staff.late"), code),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));  // not assigned either
  EXPECT_THAT(CheckIn(admin_ = stack_->AdminToken(), code),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("expired")));
  stack_->set_now(issued);
  admin_ = stack_->AdminToken();
  ASSERT_TRUE(CheckIn(staff_, code).ok());
  EXPECT_THAT(CheckIn(staff_, code),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("already checked in")));
  // Weights, types, participants.
  EXPECT_THAT(Weigh(staff_, Entry("zero-0001", mika_.account_id, 0)),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(Weigh(staff_, Entry("neg-0001", mika_.account_id, -3)),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(Weigh(staff_, Entry("huge-0001", mika_.account_id, 250)),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("at most 100 kg")));
  EXPECT_THAT(Weigh(staff_, Entry("type-0001", mika_.account_id, 1, "shoes_teleport")),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(Weigh(staff_, Entry("type-0002", mika_.account_id, 1, "pet_bottles")),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("does not collect")));
  Citizen ken = stack_->Register("Ken", "tama");
  EXPECT_THAT(Weigh(staff_, Entry("nocheck-0001", ken.account_id, 1)),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("not checked in")));
  // Mass balance.
  ASSERT_TRUE(Weigh(staff_, Entry("mass-0001", mika_.account_id, 4)).ok());
  v1::SetClosingTotalsRequest closing;
  closing.set_event_id(event_.event_id());
  auto* total = closing.add_totals();
  total->set_action_type("clothing_reuse");
  total->set_weight_kg(3);
  v1::EventLive live;
  EXPECT_THAT(stack_->events()->SetClosingTotals(Stack::Context(staff_).get(), closing, &live),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, HasSubstr("4 kg logged")));
  total->set_weight_kg(5);
  ASSERT_TRUE(stack_->events()->SetClosingTotals(Stack::Context(staff_).get(), closing, &live).ok());
  EXPECT_THAT(Weigh(staff_, Entry("mass-0002", "", 1.5)),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, HasSubstr("closing total of 5 kg")));
  ASSERT_TRUE(Weigh(staff_, Entry("mass-0003", "", 1)).ok());
  // Closed: live weigh-ins refused, uploads inside the event accepted.
  ASSERT_TRUE(Close(staff_).ok());
  EXPECT_THAT(Weigh(staff_, Entry("late-0001", "", 0.1, "clothing_recycling")),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("closed")));
  v1::WeighIn outside = Entry("late-0002", "", 0.5, "clothing_recycling");
  *outside.mutable_occurred_at() = Ts(stack_->now() - absl::Hours(2));
  v1::UploadBatchResponse late =
      Upload({Entry("late-0003", "", 0.5, "clothing_recycling"), outside});
  EXPECT_EQ(late.outcomes(0).status(), v1::ENTRY_STATUS_ACCEPTED);
  EXPECT_EQ(late.outcomes(1).status(), v1::ENTRY_STATUS_REJECTED);
  EXPECT_EQ(late.outcomes(1).code(), "INVALID_ARGUMENT");
  EXPECT_THAT(Open(staff_), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
}

TEST_F(EventsTest, OfflineBatchesAreSafeToUploadTwiceAndInOverlappingPieces) {
  ASSERT_TRUE(Open(staff_).ok());
  ASSERT_TRUE(CheckIn(staff_, Code(mika_.token)).ok());
  std::vector<v1::WeighIn> batch;
  for (int i = 0; i < 10; ++i) {
    batch.push_back(Entry(absl::StrCat("offline-", i, "-dev1"), i % 2 ? "" : mika_.account_id,
                          1 + i * 0.1));
  }
  batch.push_back(Entry("offline-bad-dev1", mika_.account_id, -1));  // one bad entry
  v1::UploadBatchResponse first = Upload(batch);
  EXPECT_EQ(first.accepted(), 10);
  EXPECT_EQ(first.rejected(), 1);
  const int64_t personal = PersonalGrams(mika_);
  const v1::EventLive before = Live();

  v1::UploadBatchResponse again = Upload(batch);
  EXPECT_EQ(again.accepted(), 0);
  EXPECT_EQ(again.duplicates(), 10);
  EXPECT_EQ(again.rejected(), 1);
  // Overlapping halves: 0-6 and 4-10.
  std::vector<v1::WeighIn> a(batch.begin(), batch.begin() + 7);
  std::vector<v1::WeighIn> b(batch.begin() + 4, batch.end());
  EXPECT_EQ(Upload(a).duplicates(), 7);
  EXPECT_EQ(Upload(b).duplicates(), 6);
  EXPECT_EQ(PersonalGrams(mika_), personal);
  EXPECT_EQ(Live().co2e_grams(), before.co2e_grams());
  // The same entry id with other contents is refused, not merged.
  std::vector<v1::WeighIn> changed = {Entry("offline-0-dev1", mika_.account_id, 9)};
  v1::UploadBatchResponse conflict = Upload(changed);
  EXPECT_EQ(conflict.outcomes(0).code(), "ALREADY_EXISTS");
  // An entry of another event is refused, not moved into this one.
  v1::WeighIn foreign = Entry("foreign-0001", "", 1);
  foreign.set_event_id("ev-someotherevent");
  EXPECT_EQ(Upload({foreign}).outcomes(0).code(), "INVALID_ARGUMENT");
  // Closing totals: each type once, known to the catalogue.
  v1::SetClosingTotalsRequest closing;
  closing.set_event_id(event_.event_id());
  for (int i = 0; i < 2; ++i) {
    auto* total = closing.add_totals();
    total->set_action_type("clothing_reuse");
    total->set_weight_kg(500);
  }
  v1::EventLive live;
  EXPECT_THAT(stack_->events()->SetClosingTotals(Stack::Context(staff_).get(), closing, &live),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("twice")));
  closing.mutable_totals(1)->set_action_type("teleport");
  EXPECT_THAT(stack_->events()->SetClosingTotals(Stack::Context(staff_).get(), closing, &live),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  // Oversized batches are refused whole.
  v1::UploadBatchRequest big;
  big.set_event_id(event_.event_id());
  for (int i = 0; i < 501; ++i) *big.add_entries() = Entry(absl::StrCat("big-", i, "-x"), "", 1);
  v1::UploadBatchResponse response;
  EXPECT_THAT(stack_->events()->UploadBatch(Stack::Context(staff_).get(), big, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("1 to 500")));
}

TEST_F(EventsTest, CorrectionsAreCompensatingEntriesWithAnAuditTrail) {
  ASSERT_TRUE(Open(staff_).ok());
  ASSERT_TRUE(CheckIn(staff_, Code(mika_.token)).ok());
  v1::EntryOutcome first, second;
  ASSERT_TRUE(Weigh(staff_, Entry("fix-0001-a", mika_.account_id, 5), &first).ok());
  ASSERT_TRUE(Weigh(staff_, Entry("fix-0002-b", mika_.account_id, 2), &second).ok());
  const int64_t before = PersonalGrams(mika_);
  // Mika moves ward after the drive: the corrections stay with the ward the
  // entries were credited under.
  v1::UpdateMyProfileRequest move;
  move.set_request_id("move-ward-0001");
  move.set_ward("tama");
  v1::Profile moved;
  ASSERT_TRUE(stack_->identity()->UpdateMyProfile(Stack::Context(mika_.token).get(), move, &moved).ok());

  v1::CorrectEntryRequest adjust;
  adjust.set_request_id("correct-0001-x");
  adjust.set_event_id(event_.event_id());
  adjust.set_client_entry_id("fix-0001-a");
  adjust.set_kind(v1::CORRECTION_KIND_ADJUST);
  adjust.set_new_weight_kg(4);
  adjust.set_reason("scale was not tared");
  v1::EntryOutcome adjusted;
  ASSERT_TRUE(stack_->events()->CorrectEntry(Stack::Context(staff_).get(), adjust, &adjusted).ok());
  EXPECT_EQ(adjusted.weight_grams(), -1000);
  // Idempotent by request id.
  ASSERT_TRUE(stack_->events()->CorrectEntry(Stack::Context(staff_).get(), adjust, &adjusted).ok());
  EXPECT_EQ(adjusted.status(), v1::ENTRY_STATUS_DUPLICATE);

  v1::CorrectEntryRequest cancel = adjust;
  cancel.set_request_id("correct-0002-x");
  cancel.set_client_entry_id("fix-0002-b");
  cancel.set_kind(v1::CORRECTION_KIND_VOID);
  cancel.set_reason("entered twice");
  ASSERT_TRUE(stack_->events()->CorrectEntry(Stack::Context(admin_).get(), cancel, &adjusted).ok());
  cancel.set_request_id("correct-0003-x");
  EXPECT_THAT(stack_->events()->CorrectEntry(Stack::Context(staff_).get(), cancel, &adjusted),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("already void")));
  cancel.set_client_entry_id("no-such-entry");
  EXPECT_THAT(stack_->events()->CorrectEntry(Stack::Context(staff_).get(), cancel, &adjusted),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  cancel.set_client_entry_id("corr:correct-0001-x");  // a correction's own id
  EXPECT_THAT(stack_->events()->CorrectEntry(Stack::Context(staff_).get(), cancel, &adjusted),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("cannot be corrected")));

  v1::ListMyActionsResponse history;
  ASSERT_TRUE(stack_->actions()->ListMyActions(Stack::Context(mika_.token).get(), {}, &history).ok());
  ASSERT_EQ(history.entries_size(), 4);
  for (const auto& e : history.entries()) EXPECT_EQ(e.ward(), "nakahara") << e.entry_id();

  auto four_kg = stack_->catalog().Convert({"clothing_reuse", 4, v1::UNIT_KILOGRAM, stack_->now()});
  EXPECT_EQ(PersonalGrams(mika_), four_kg->co2e_grams);
  EXPECT_LT(PersonalGrams(mika_), before);
  // Two weigh-ins, one adjusted (no new action), one voided: one action.
  v1::GetMyImpactResponse impact;
  ASSERT_TRUE(stack_->actions()->GetMyImpact(Stack::Context(mika_.token).get(), {}, &impact).ok());
  EXPECT_EQ(impact.totals(0).actions(), 1);
  stack_->DrainProjector();
  EXPECT_EQ(Live().board(0).score(), four_kg->points);

  v1::GetAuditTrailRequest audit_request;
  audit_request.set_event_id(event_.event_id());
  v1::GetAuditTrailResponse audit;
  ASSERT_TRUE(stack_->events()->GetAuditTrail(Stack::Context(admin_).get(), audit_request, &audit).ok());
  ASSERT_EQ(audit.records_size(), 2);
  EXPECT_EQ(audit.records(0).corrected_by(), "staff.aiko");
  EXPECT_EQ(audit.records(0).old_weight_grams(), 5000);
  EXPECT_EQ(audit.records(0).new_weight_grams(), 4000);
  EXPECT_EQ(audit.records(0).reason(), "scale was not tared");
  EXPECT_EQ(audit.records(1).kind(), v1::CORRECTION_KIND_VOID);
  EXPECT_EQ(audit.records(1).corrected_by(), "admin");
  EXPECT_THAT(stack_->events()->GetAuditTrail(Stack::Context(staff_).get(), audit_request, &audit),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  audit_request.set_event_id("ev-doesnotexist");
  EXPECT_THAT(stack_->events()->GetAuditTrail(Stack::Context(admin_).get(), audit_request, &audit),
              StatusIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(EventsTest, ClosingRecreditsAnEntryWhoseCreditWasLost) {
  ASSERT_TRUE(Open(staff_).ok());
  ASSERT_TRUE(CheckIn(staff_, Code(mika_.token)).ok());
  // Simulate a crash after the event write and before the credit.
  events::EventStore store(&stack_->redis(), stack_->keys().prefix());
  auto event = store.Get(event_.event_id());
  ASSERT_TRUE(event.ok() && event->has_value());
  auto prepared = events::PrepareWeighIn(**event, Entry("lost-0001-a", mika_.account_id, 2),
                                         stack_->catalog(), {}, stack_->now());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ASSERT_TRUE(store.RecordEntry(event_.event_id(), *prepared, false, "staff.aiko", stack_->now()).ok());
  EXPECT_EQ(PersonalGrams(mika_), 0);
  ASSERT_TRUE(Close(staff_).ok());
  EXPECT_EQ(PersonalGrams(mika_), prepared->conversion.co2e_grams);
  // Closing twice does not credit twice.
  ASSERT_TRUE(Close(staff_).ok());
  EXPECT_EQ(PersonalGrams(mika_), prepared->conversion.co2e_grams);
  // The credit's idempotency record is kept for good (and small), so
  // re-running credits at any later close cannot count them twice.
  const std::string record_key =
      stack_->keys().Request(mika_.account_id, event_.event_id() + ":lost-0001-a");
  auto ttl = stack_->redis().Command({"TTL", record_key});
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->integer, -1);
  auto size = stack_->redis().Command({"STRLEN", record_key});
  ASSERT_TRUE(size.ok());
  EXPECT_LT(size->integer, 200);
}

}  // namespace
}  // namespace ecoact::test
