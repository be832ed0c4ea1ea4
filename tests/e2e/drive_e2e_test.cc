// End to end: a collection drive run against redis-server and ecoact_server
// as processes through real gRPC clients. 200 participants check in, 2,000
// weigh-ins arrive live and as offline batches (one uploaded twice, one in
// overlapping halves), with anonymous drop-offs and a closing total. Then
// the reconciliation: event totals == sum of the event's ledger entries ==
// the change in participants' personal totals == the event board's sums.
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/events.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "ecoact/v1/leaderboard.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/common/clock.h"
#include "services/common/ledger_format.h"
#include "services/common/redis.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace ecoact::test {
namespace {

using google::protobuf::util::TimeUtil;

constexpr char kAdminPassword[] = "drive-admin-password";
constexpr int kParticipants = 200;
constexpr int kWeighIns = 2000;

class DriveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisServerOptions redis_options;
    redis_options.appendonly = true;
    auto redis = RedisServerProcess::Start(redis_options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    EcoactServerOptions options;
    options.binary = ECOACT_SERVER_BINARY;
    options.admin_password = kAdminPassword;
    options.key_prefix = "drive";
    options.extra_args = {"--ledger_shards=8"};
    if (SplitRequested()) options.split_binaries = SplitBinaries(ECOACT_SERVICES_DIR);
    auto server = EcoactServerProcess::Start(*redis_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    identity_ = server_->Stub<v1::IdentityService>();
    events_ = server_->Stub<v1::EventsService>();
    actions_ = server_->Stub<v1::ActionsService>();
    boards_ = server_->Stub<v1::LeaderboardService>();
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "") {
    return CallContext(token, absl::Seconds(30));
  }

  std::string SignIn(const std::string& login, const std::string& secret) {
    v1::SignInRequest request;
    request.set_account_id(login);
    request.set_secret(secret);
    v1::SignInResponse response;
    grpc::Status status = identity_->SignIn(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.token();
  }

  int64_t AllTimeGrams(const std::string& token) {
    v1::GetMyImpactResponse impact;
    grpc::Status status = actions_->GetMyImpact(Ctx(token).get(), {}, &impact);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return impact.totals(0).co2e_grams();
  }

  std::unique_ptr<RedisServerProcess> redis_;
  std::unique_ptr<EcoactServerProcess> server_;
  std::unique_ptr<v1::IdentityService::Stub> identity_;
  std::unique_ptr<v1::EventsService::Stub> events_;
  std::unique_ptr<v1::ActionsService::Stub> actions_;
  std::unique_ptr<v1::LeaderboardService::Stub> boards_;
};

TEST_F(DriveTest, TwoHundredParticipantsTwoThousandWeighInsReconcile) {
  const std::string admin = SignIn("admin", kAdminPassword);
  v1::CreateStaffRequest staff_request;
  staff_request.set_request_id("drive-staff-0001");
  staff_request.set_login("staff.drive");
  staff_request.set_password("drive-staff-password");
  v1::Profile staff_profile;
  ASSERT_TRUE(identity_->CreateStaff(Ctx(admin).get(), staff_request, &staff_profile).ok());
  const std::string staff = SignIn("staff.drive", "drive-staff-password");

  const absl::Time now = absl::Now();
  v1::CreateEventRequest create;
  create.set_request_id("drive-event-0001");
  create.set_kind(v1::EVENT_KIND_DRIVE);
  create.set_name("Todoroki clothing drive");
  create.set_ward("nakahara");
  *create.mutable_starts_at() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(now - absl::Hours(2)));
  *create.mutable_ends_at() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(now + absl::Hours(2)));
  create.add_accepted_action_types("clothing_reuse");
  create.add_accepted_action_types("clothing_recycling");
  v1::Event event;
  ASSERT_TRUE(events_->CreateEvent(Ctx(admin).get(), create, &event).ok());
  v1::AssignStaffRequest assign;
  assign.set_event_id(event.event_id());
  assign.add_staff_logins("staff.drive");
  ASSERT_TRUE(events_->AssignStaff(Ctx(admin).get(), assign, &event).ok());
  v1::EventTransitionRequest open;
  open.set_event_id(event.event_id());
  ASSERT_TRUE(events_->OpenEvent(Ctx(staff).get(), open, &event).ok());

  // 200 citizens register, some already have actions of their own.
  std::vector<std::string> tokens, ids;
  std::map<std::string, int64_t> personal_before;
  for (int i = 0; i < kParticipants; ++i) {
    v1::RegisterRequest r;
    r.set_request_id(absl::StrCat("drive-citizen-", i, "-", Base32(RandomBytes(6))));
    r.set_nickname(absl::StrCat("p", i));
    r.set_ward(i % 2 ? "nakahara" : "tama");
    v1::RegisterResponse registered;
    ASSERT_TRUE(identity_->Register(Ctx().get(), r, &registered).ok());
    tokens.push_back(registered.token());
    ids.push_back(registered.account_id());
    if (i % 10 == 0) {
      v1::RecordActionRequest own;
      own.set_request_id(absl::StrCat("own-action-", i, "-x"));
      own.set_action_type("plastic_bag_refused");
      own.set_quantity(2);
      v1::RecordActionResponse unused;
      ASSERT_TRUE(actions_->RecordAction(Ctx(registered.token()).get(), own, &unused).ok());
    }
    personal_before[registered.account_id()] = AllTimeGrams(registered.token());
    v1::CheckInCode code;
    ASSERT_TRUE(events_->GetCheckInCode(Ctx(registered.token()).get(), {}, &code).ok());
    v1::CheckInRequest check_in;
    check_in.set_event_id(event.event_id());
    check_in.set_code(code.code());
    v1::CheckInResponse checked;
    ASSERT_TRUE(events_->CheckIn(Ctx(staff).get(), check_in, &checked).ok());
    ASSERT_EQ(checked.participant_id(), registered.account_id());
  }

  // 2,000 weigh-ins: every 10th anonymous, two action types.
  std::vector<v1::WeighIn> all;
  for (int i = 0; i < kWeighIns; ++i) {
    v1::WeighIn w;
    w.set_event_id(event.event_id());
    w.set_client_entry_id(absl::StrCat("dev", i % 3, "-entry-", i));
    if (i % 10 != 9) w.set_participant_id(ids[(i * 7) % kParticipants]);
    w.set_action_type(i % 4 == 3 ? "clothing_recycling" : "clothing_reuse");
    w.set_weight_kg(0.2 + (i % 37) * 0.113);
    *w.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(
        absl::ToUnixMillis(now - absl::Minutes(90) + absl::Seconds(i)));
    all.push_back(w);
  }
  auto upload = [&](int from, int to) {
    v1::UploadBatchRequest batch;
    batch.set_event_id(event.event_id());
    for (int i = from; i < to; ++i) *batch.add_entries() = all[i];
    v1::UploadBatchResponse response;
    grpc::Status status = events_->UploadBatch(Ctx(staff).get(), batch, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.rejected(), 0);
    return response;
  };
  // Live weigh-ins for the first 400.
  for (int i = 0; i < 400; ++i) {
    v1::EntryOutcome outcome;
    ASSERT_TRUE(events_->RecordWeighIn(Ctx(staff).get(), all[i], &outcome).ok());
  }
  // Device A's offline batch (400..900) uploaded twice.
  EXPECT_EQ(upload(400, 900).accepted(), 500);
  v1::UploadBatchResponse twice = upload(400, 900);
  EXPECT_EQ(twice.duplicates(), 500);
  EXPECT_EQ(twice.accepted(), 0);
  // Device B's batch (900..1400) in overlapping halves.
  EXPECT_EQ(upload(900, 1200).accepted(), 300);
  v1::UploadBatchResponse overlap = upload(1100, 1400);
  EXPECT_EQ(overlap.duplicates(), 100);
  EXPECT_EQ(overlap.accepted(), 200);
  // The rest in batches of 200.
  for (int from = 1400; from < kWeighIns; from += 200) upload(from, from + 200);

  // Closing totals: what was logged plus 12.5 kg never logged per type.
  v1::GetEventLiveRequest live_request;
  live_request.set_event_id(event.event_id());
  v1::EventLive live;
  ASSERT_TRUE(events_->GetEventLive(Ctx(staff).get(), live_request, &live).ok());
  v1::SetClosingTotalsRequest closing;
  closing.set_event_id(event.event_id());
  for (const auto& t : live.by_action_type()) {
    auto* total = closing.add_totals();
    total->set_action_type(t.action_type());
    total->set_weight_kg((t.attributed_grams() + t.anonymous_grams() + 12500) / 1000.0);
  }
  ASSERT_TRUE(events_->SetClosingTotals(Ctx(staff).get(), closing, &live).ok());
  v1::EventTransitionRequest close;
  close.set_event_id(event.event_id());
  ASSERT_TRUE(events_->CloseEvent(Ctx(staff).get(), close, &event).ok());

  // 1. Expected figures from the weigh-ins themselves.
  int64_t expected_grams = 0;
  std::map<std::string, int64_t> expected_per_type;
  std::set<std::string> credited;
  for (const auto& w : all) {
    if (!w.participant_id().empty()) credited.insert(w.participant_id());
    int64_t grams = std::llround(w.weight_kg() * 1000);
    expected_grams += grams;
    expected_per_type[w.action_type()] += grams;
  }
  live_request.set_board_size(0);
  ASSERT_TRUE(events_->GetEventLive(Ctx(admin).get(), live_request, &live).ok());
  int64_t event_grams = 0, attributed = 0, entries = 0;
  for (const auto& t : live.by_action_type()) {
    event_grams += t.attributed_grams() + t.anonymous_grams();
    attributed += t.attributed_grams();
    entries += t.entries();
    EXPECT_EQ(t.attributed_grams() + t.anonymous_grams(), expected_per_type[t.action_type()]);
    EXPECT_EQ(t.unlogged_grams(), 12500);
  }
  EXPECT_EQ(event_grams, expected_grams);
  EXPECT_EQ(entries, kWeighIns);
  EXPECT_EQ(live.participants(), kParticipants);

  // 2. The event's own ledger stream sums to the event totals.
  RedisOptions redis_options = redis_->client_options();
  RedisClient redis(redis_options);
  int64_t ledger_co2 = 0, ledger_grams = 0, ledger_attributed_co2 = 0, ledger_entries = 0;
  std::string start = "-";
  while (true) {
    auto page = redis.Command({"XRANGE", absl::StrCat("drive:{e:", event.event_id(), "}:ledger"),
                               start, "+", "COUNT", "1000"});
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->elements.empty()) break;
    for (const auto& raw : page->elements) {
      std::map<std::string, std::string> f;
      for (size_t i = 0; i + 1 < raw.elements[1].elements.size(); i += 2) {
        f[raw.elements[1].elements[i].str] = raw.elements[1].elements[i + 1].str;
      }
      ledger_co2 += std::stoll(f["co2"]);
      ledger_grams += std::stoll(f["qty"]);
      if (!f["acct"].empty()) ledger_attributed_co2 += std::stoll(f["co2"]);
      ++ledger_entries;
    }
    start = "(" + page->elements.back().elements[0].str;
  }
  EXPECT_EQ(ledger_entries, kWeighIns);
  EXPECT_EQ(ledger_grams, event_grams);
  EXPECT_EQ(ledger_co2, live.co2e_grams());

  // 3. The change in participants' personal totals is the attributed CO2.
  int64_t personal_change = 0;
  for (int i = 0; i < kParticipants; ++i) {
    personal_change += AllTimeGrams(tokens[i]) - personal_before[ids[i]];
  }
  EXPECT_EQ(personal_change, ledger_attributed_co2);

  // 4. The event board (CO2) sums to the same, once the projector caught up.
  int64_t board_sum = 0;
  int64_t board_count = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    board_sum = 0;
    board_count = 0;
    v1::GetLeaderboardRequest board;
    board.mutable_board()->set_scope(v1::SCOPE_EVENT);
    board.mutable_board()->set_scope_id(event.event_id());
    board.mutable_board()->set_period(v1::PERIOD_ALL_TIME);
    board.mutable_board()->set_metric(v1::METRIC_CO2E_GRAMS);
    board.set_page_size(100);
    while (true) {
      v1::GetLeaderboardResponse page;
      ASSERT_TRUE(boards_->GetLeaderboard(Ctx(admin).get(), board, &page).ok());
      for (const auto& e : page.entries()) board_sum += e.score();
      board_count += page.entries_size();
      if (page.next_page_token().empty()) break;
      board.set_page_token(page.next_page_token());
    }
    if (board_sum == ledger_attributed_co2) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(board_sum, ledger_attributed_co2);
  // Everyone with at least one attributed weigh-in, nobody else.
  EXPECT_EQ(board_count, static_cast<int64_t>(credited.size()));
  std::printf("drive: %d weigh-ins, %lld g logged (%lld g attributed), %lld g CO2e, "
              "anonymous share %lld permille\n",
              kWeighIns, static_cast<long long>(event_grams), static_cast<long long>(attributed),
              static_cast<long long>(live.co2e_grams()),
              static_cast<long long>(live.anonymous_share_permille()));
}

}  // namespace
}  // namespace ecoact::test
