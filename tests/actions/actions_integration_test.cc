// RecordAction, ListMyActions and GetMyImpact through real gRPC stubs on a
// real redis-server: idempotency, exact totals under concurrency, caps, and
// every bad input leaving the ledger unchanged.
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

class ActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    citizen_ = stack_->Register("Mika", "nakahara", "class-3b");
  }

  int64_t LedgerLength() {
    int64_t total = 0;
    for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
      auto n = stack_->redis().Command({"XLEN", stack_->keys().Ledger(shard)});
      EXPECT_TRUE(n.ok());
      total += n->integer;
    }
    return total;
  }

  v1::GetMyImpactResponse Impact(const std::string& token) {
    v1::GetMyImpactResponse response;
    grpc::Status status =
        stack_->actions()->GetMyImpact(Stack::Context(token).get(), {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status Send(const v1::RecordActionRequest& request, v1::RecordActionResponse* response,
                    const std::string& token) {
    v1::RecordActionResponse ignored;
    grpc::Status status = stack_->actions()->RecordAction(Stack::Context(token).get(), request,
                                                          response ? response : &ignored);
    if (!status.ok()) std::cerr << "RecordAction: " << status.error_message() << "\n";
    return status;
  }

  v1::RecordActionRequest Request(const std::string& type, double quantity) {
    v1::RecordActionRequest request;
    request.set_request_id(absl::StrCat("req-", ++counter_, "-abcdef"));
    request.set_action_type(type);
    request.set_quantity(quantity);
    return request;
  }

  std::unique_ptr<Stack> stack_;
  Citizen citizen_;
  int counter_ = 0;
};

TEST_F(ActionsTest, RecordsExactFiguresFromTheCatalogue) {
  auto conversion = stack_->catalog().Convert({"clothing_reuse", 3.0, v1::UNIT_KILOGRAM, stack_->now()});
  ASSERT_TRUE(conversion.ok());
  v1::RecordActionResponse response;
  grpc::Status recorded = Send(Request("clothing_reuse", 3.0), &response, citizen_.token);
  ASSERT_TRUE(recorded.ok()) << recorded.error_message();
  EXPECT_EQ(response.entry().co2e_grams(), conversion->co2e_grams);
  EXPECT_EQ(response.entry().points(), conversion->points);
  EXPECT_EQ(response.entry().factor_version(), conversion->factor_tag);
  EXPECT_EQ(response.entry().quantity_milli(), 3000);
  EXPECT_EQ(response.entry().ward(), "nakahara");
  EXPECT_EQ(response.entry().team(), "class-3b");
  EXPECT_FALSE(response.replayed());
  ASSERT_EQ(response.totals_size(), 4);
  for (const auto& totals : response.totals()) {
    EXPECT_EQ(totals.co2e_grams(), conversion->co2e_grams);
    EXPECT_EQ(totals.actions(), 1);
  }
  v1::GetMyImpactResponse impact = Impact(citizen_.token);
  ASSERT_EQ(impact.totals_size(), 4);
  EXPECT_EQ(impact.totals(0).co2e_grams(), conversion->co2e_grams);
  ASSERT_EQ(impact.by_category_size(), 1);
  EXPECT_EQ(impact.by_category(0).category(), "clothing");
  EXPECT_EQ(impact.by_category(0).totals(0).co2e_grams(), conversion->co2e_grams);
}

TEST_F(ActionsTest, ReplayReturnsTheFirstResultAndChangesNothing) {
  v1::RecordActionRequest request = Request("plastic_bag_refused", 2);
  v1::RecordActionResponse first, second;
  ASSERT_TRUE(Send(request, &first, citizen_.token).ok());
  const int64_t length = LedgerLength();
  stack_->set_now(stack_->now() + absl::Minutes(3));  // a later retry
  ASSERT_TRUE(Send(request, &second, citizen_.token).ok());
  EXPECT_TRUE(second.replayed());
  EXPECT_EQ(second.entry().entry_id(), first.entry().entry_id());
  EXPECT_EQ(second.entry().co2e_grams(), first.entry().co2e_grams());
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(second.entry().occurred_at()),
            TimeUtil::TimestampToMilliseconds(first.entry().occurred_at()));
  EXPECT_EQ(second.totals(0).actions(), 1);
  EXPECT_EQ(LedgerLength(), length);
  EXPECT_EQ(Impact(citizen_.token).totals(0).actions(), 1);
}

TEST_F(ActionsTest, ARetryIsReplayedEvenWhenItWouldNoLongerValidate) {
  // Recorded at the edge of the backdating window, acknowledged, but the
  // reply was lost; the app retries ten minutes later.
  v1::RecordActionRequest request = Request("clothing_reuse", 1);
  *request.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(
      absl::ToUnixMillis(stack_->now() - absl::Hours(24 * 7) + absl::Minutes(5)));
  v1::RecordActionResponse first, retry;
  ASSERT_TRUE(Send(request, &first, citizen_.token).ok());
  stack_->set_now(stack_->now() + absl::Minutes(10));
  const std::string token =
      stack_->tokens().Issue(citizen_.account_id, v1::ROLE_CITIZEN, stack_->now());
  ASSERT_TRUE(Send(request, &retry, token).ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.entry().entry_id(), first.entry().entry_id());
  // A new request with the same stale time is refused.
  request.set_request_id("fresh-request-0001");
  EXPECT_THAT(Send(request, &retry, token),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("too far back")));
  EXPECT_EQ(LedgerLength(), 1);
}

TEST_F(ActionsTest, SameRequestIdWithAnotherPayloadIsRejected) {
  v1::RecordActionRequest request = Request("plastic_bag_refused", 2);
  ASSERT_TRUE(Send(request, nullptr, citizen_.token).ok());
  request.set_quantity(3);
  v1::RecordActionResponse response;
  EXPECT_THAT(Send(request, &response, citizen_.token),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("different action")));
  EXPECT_EQ(LedgerLength(), 1);
  EXPECT_EQ(Impact(citizen_.token).totals(0).actions(), 1);
}

TEST_F(ActionsTest, FiftyConcurrentRecordsGiveExactTotals) {
  auto conversion =
      stack_->catalog().Convert({"pet_bottles", 0.1, v1::UNIT_UNSPECIFIED, stack_->now()});
  ASSERT_TRUE(conversion.ok()) << conversion.status();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      v1::RecordActionRequest request;
      request.set_request_id(absl::StrCat("concurrent-", i, "-xyz"));
      request.set_action_type("pet_bottles");
      request.set_quantity(0.1);
      v1::RecordActionResponse response;
      if (Send(request, &response, citizen_.token).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(ok.load(), 50);
  v1::GetMyImpactResponse impact = Impact(citizen_.token);
  EXPECT_EQ(impact.totals(0).actions(), 50);
  EXPECT_EQ(impact.totals(0).co2e_grams(), 50 * conversion->co2e_grams);
  EXPECT_EQ(impact.totals(0).points(), 50 * conversion->points);
  EXPECT_EQ(LedgerLength(), 50);
}

TEST_F(ActionsTest, DailyCapIsEnforcedPerLocalDay) {
  const catalog::ActionTypeInfo* bags = stack_->catalog().Find("plastic_bag_refused");
  ASSERT_NE(bags, nullptr);
  ASSERT_GT(bags->daily_cap_milli, 0);
  const int cap = static_cast<int>(bags->daily_cap_milli / 1000);
  ASSERT_TRUE(Send(Request("plastic_bag_refused", cap), nullptr, citizen_.token).ok());
  v1::RecordActionResponse response;
  EXPECT_THAT(Send(Request("plastic_bag_refused", 1), &response, citizen_.token),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, HasSubstr("0 left today")));
  EXPECT_THAT(Send(Request("plastic_bag_refused", 1), &response, citizen_.token),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, HasSubstr("daily cap of 20")));
  EXPECT_EQ(LedgerLength(), 1);
  // The next local day has its own cap.
  stack_->set_now(stack_->calendar().DayEnd(stack_->now()) + absl::Minutes(1));
  const std::string tomorrow_token =
      stack_->tokens().Issue(citizen_.account_id, v1::ROLE_CITIZEN, stack_->now());
  EXPECT_TRUE(Send(Request("plastic_bag_refused", 1), nullptr, tomorrow_token).ok());
}

TEST_F(ActionsTest, BadInputGetsAPreciseStatusAndChangesNothing) {
  struct Case {
    std::string name;
    v1::RecordActionRequest request;
    grpc::StatusCode code;
  };
  std::vector<Case> cases;
  auto add = [&](std::string name, v1::RecordActionRequest r, grpc::StatusCode code) {
    cases.push_back({std::move(name), std::move(r), code});
  };
  add("unknown type", Request("teleportation", 1), grpc::StatusCode::NOT_FOUND);
  v1::RecordActionRequest wrong_unit = Request("clothing_reuse", 1);
  wrong_unit.set_unit(v1::UNIT_ITEM);
  add("wrong unit", wrong_unit, grpc::StatusCode::INVALID_ARGUMENT);
  add("zero", Request("clothing_reuse", 0), grpc::StatusCode::INVALID_ARGUMENT);
  add("negative", Request("clothing_reuse", -2), grpc::StatusCode::INVALID_ARGUMENT);
  add("nan", Request("clothing_reuse", std::nan("")), grpc::StatusCode::INVALID_ARGUMENT);
  add("infinite", Request("clothing_reuse", std::numeric_limits<double>::infinity()),
      grpc::StatusCode::INVALID_ARGUMENT);
  add("absurd", Request("clothing_reuse", 1e12), grpc::StatusCode::INVALID_ARGUMENT);
  add("fractional item", Request("plastic_bag_refused", 1.5), grpc::StatusCode::INVALID_ARGUMENT);
  v1::RecordActionRequest future = Request("clothing_reuse", 1);
  *future.mutable_occurred_at() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(stack_->now() + absl::Hours(1)));
  add("future", future, grpc::StatusCode::INVALID_ARGUMENT);
  v1::RecordActionRequest stale = Request("clothing_reuse", 1);
  *stale.mutable_occurred_at() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(stack_->now() - absl::Hours(24 * 30)));
  add("stale", stale, grpc::StatusCode::INVALID_ARGUMENT);
  v1::RecordActionRequest ancient = Request("clothing_reuse", 1);
  ancient.mutable_occurred_at()->set_seconds(-5);
  add("ancient", ancient, grpc::StatusCode::INVALID_ARGUMENT);
  v1::RecordActionRequest no_id = Request("clothing_reuse", 1);
  no_id.set_request_id("");
  add("missing request id", no_id, grpc::StatusCode::INVALID_ARGUMENT);
  v1::RecordActionRequest bad_id = Request("clothing_reuse", 1);
  bad_id.set_request_id("has spaces in it");
  add("malformed request id", bad_id, grpc::StatusCode::INVALID_ARGUMENT);

  for (const Case& c : cases) {
    v1::RecordActionResponse response;
    grpc::Status status = Send(c.request, &response, citizen_.token);
    EXPECT_EQ(status.error_code(), c.code) << c.name << ": " << status.error_message();
    EXPECT_FALSE(status.error_message().empty()) << c.name;
  }
  EXPECT_EQ(LedgerLength(), 0);
  EXPECT_EQ(Impact(citizen_.token).totals(0).actions(), 0);
}

TEST_F(ActionsTest, TokensAndRolesAreChecked) {
  v1::RecordActionResponse response;
  EXPECT_THAT(Send(Request("clothing_reuse", 1), &response, ""),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  std::string forged = citizen_.token;
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'a' ? 'b' : 'a';
  EXPECT_THAT(Send(Request("clothing_reuse", 1), &response, forged),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  std::string expired = stack_->tokens().Issue(citizen_.account_id, v1::ROLE_CITIZEN,
                                               stack_->now() - absl::Hours(3));
  EXPECT_THAT(Send(Request("clothing_reuse", 1), &response, expired),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED, HasSubstr("expired")));
  auto other_keys = TokenService::Create({{"k1", std::string(40, 'x')}}, "k1", "ecoact",
                                         absl::Hours(1));
  ASSERT_TRUE(other_keys.ok());
  EXPECT_THAT(Send(Request("clothing_reuse", 1), &response,
                   other_keys->Issue(citizen_.account_id, v1::ROLE_CITIZEN, stack_->now())),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED, HasSubstr("signature")));

  // An admin records no actions; a citizen creates no staff.
  const std::string admin = stack_->AdminToken();
  EXPECT_THAT(Send(Request("clothing_reuse", 1), &response, admin),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  v1::CreateStaffRequest staff;
  staff.set_request_id("create-staff-1");
  staff.set_login("aiko");
  staff.set_password("long-enough-password");
  v1::Profile profile;
  EXPECT_THAT(stack_->identity()->CreateStaff(Stack::Context(citizen_.token).get(), staff, &profile),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  ASSERT_TRUE(stack_->identity()->CreateStaff(Stack::Context(admin).get(), staff, &profile).ok());
  EXPECT_EQ(profile.role(), v1::ROLE_STAFF);
  EXPECT_EQ(LedgerLength(), 0);
}

TEST_F(ActionsTest, HistoryIsPagedNewestFirst) {
  for (int i = 1; i <= 5; ++i) {
    v1::RecordActionRequest request = Request("train_instead_of_car", i);
    *request.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(
        absl::ToUnixMillis(stack_->now() - absl::Minutes(10 - i)));
    ASSERT_TRUE(Send(request, nullptr, citizen_.token).ok());
  }
  v1::ListMyActionsRequest request;
  request.set_page_size(2);
  std::vector<int64_t> quantities;
  for (int page = 0; page < 5; ++page) {
    v1::ListMyActionsResponse response;
    ASSERT_TRUE(stack_->actions()->ListMyActions(Stack::Context(citizen_.token).get(), request,
                                                 &response).ok());
    for (const auto& e : response.entries()) quantities.push_back(e.quantity_milli());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(quantities, (std::vector<int64_t>{5000, 4000, 3000, 2000, 1000}));
  request.set_page_token("not-a-token");
  v1::ListMyActionsResponse response;
  EXPECT_THAT(stack_->actions()->ListMyActions(Stack::Context(citizen_.token).get(), request,
                                               &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(ActionsTest, RedisDownIsUnavailableAndRecovers) {
  auto health = grpc::health::v1::Health::NewStub(stack_->channel());
  auto serving = [&] {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("ecoact.v1.ActionsService");
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health->Check(Stack::Context().get(), request, &response);
    return status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  };
  auto wait_for = [&](bool want) {
    for (int i = 0; i < 50 && serving() != want; ++i) absl::SleepFor(absl::Milliseconds(100));
    return serving() == want;
  };
  ASSERT_TRUE(wait_for(true));
  ASSERT_TRUE(stack_->redis_process().Stop().ok());
  const absl::Time start = absl::Now();
  v1::RecordActionResponse response;
  EXPECT_THAT(Send(Request("clothing_reuse", 1), &response, citizen_.token),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // fails fast, well within the deadline
  EXPECT_TRUE(wait_for(false));
  ASSERT_TRUE(stack_->redis_process().Restart().ok());
  EXPECT_TRUE(wait_for(true));
  // The restarted Redis has no data (no AOF in this test): register anew.
  Citizen again = stack_->Register("Mika2", "tama");
  EXPECT_TRUE(Send(Request("clothing_reuse", 1), &response, again.token).ok());
}

}  // namespace
}  // namespace ecoact::test
