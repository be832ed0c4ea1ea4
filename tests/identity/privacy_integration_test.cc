// ExportMyData and DeleteMyAccount through gRPC on a real Redis (DESIGN
// invariant 7): the export holds what a citizen created; deletion erases the
// profile, takes the account off every board and out of its team and event
// check-ins, stops its tokens and secret, and leaves every group and event
// total as it was.
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

using BoardSnapshot = std::map<std::string, std::map<std::string, std::string>>;

class PrivacyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    admin_ = stack_->AdminToken();
    staff_ = stack_->StaffToken("staff.aiko");
    mika_ = stack_->Register("Mika", "nakahara", "class-3b");
    ken_ = stack_->Register("Ken", "nakahara", "class-3b");
  }

  grpc::Status Export(const std::string& token, v1::ExportMyDataResponse* out) {
    return stack_->identity()->ExportMyData(Stack::Context(token).get(), {}, out);
  }

  grpc::Status Delete(const std::string& token, const std::string& request_id,
                      const std::string& confirm) {
    v1::DeleteMyAccountRequest request;
    request.set_request_id(request_id);
    request.set_confirm_account_id(confirm);
    v1::DeleteMyAccountResponse response;
    return stack_->identity()->DeleteMyAccount(Stack::Context(token).get(), request, &response);
  }

  // An open drive where Mika checks in and a bag is weighed for her.
  std::string EventWithMikasWeighIn() {
    v1::CreateEventRequest create;
    create.set_request_id("privacy-drive-0001");
    create.set_kind(v1::EVENT_KIND_DRIVE);
    create.set_name("Clothing drive");
    create.set_ward("nakahara");
    *create.mutable_starts_at() = Ts(stack_->now() - absl::Hours(1));
    *create.mutable_ends_at() = Ts(stack_->now() + absl::Hours(3));
    create.add_accepted_action_types("clothing_reuse");
    v1::Event event;
    EXPECT_TRUE(stack_->events()->CreateEvent(Stack::Context(admin_).get(), create, &event).ok());
    v1::AssignStaffRequest assign;
    assign.set_event_id(event.event_id());
    assign.add_staff_logins("staff.aiko");
    EXPECT_TRUE(stack_->events()->AssignStaff(Stack::Context(admin_).get(), assign, &event).ok());
    v1::EventTransitionRequest open;
    open.set_event_id(event.event_id());
    EXPECT_TRUE(stack_->events()->OpenEvent(Stack::Context(staff_).get(), open, &event).ok());
    v1::CheckInCode code;
    EXPECT_TRUE(stack_->events()->GetCheckInCode(Stack::Context(mika_.token).get(), {}, &code).ok());
    v1::CheckInRequest check_in;
    check_in.set_event_id(event.event_id());
    check_in.set_code(code.code());
    v1::CheckInResponse checked;
    EXPECT_TRUE(stack_->events()->CheckIn(Stack::Context(staff_).get(), check_in, &checked).ok());
    v1::WeighIn weigh;
    weigh.set_event_id(event.event_id());
    weigh.set_client_entry_id("privacy-bag-0001");
    weigh.set_participant_id(checked.participant_id());
    weigh.set_action_type("clothing_reuse");
    weigh.set_weight_kg(3.2);
    *weigh.mutable_occurred_at() = Ts(stack_->now() - absl::Minutes(5));
    v1::EntryOutcome outcome;
    grpc::Status status =
        stack_->events()->RecordWeighIn(Stack::Context(staff_).get(), weigh, &outcome);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return event.event_id();
  }

  // Every board key with its members and scores.
  BoardSnapshot Boards() {
    BoardSnapshot boards;
    std::string cursor = "0";
    do {
      auto reply = stack_->redis().Command({"SCAN", cursor, "MATCH",
                                            absl::StrCat(stack_->keys().prefix(), ":{b:*"),
                                            "COUNT", "1000"});
      EXPECT_TRUE(reply.ok()) << reply.status();
      if (!reply.ok()) break;
      cursor = reply->elements[0].str;
      for (const RedisValue& key : reply->elements[1].elements) {
        auto members = stack_->redis().Command({"ZRANGE", key.str, "0", "-1", "WITHSCORES"});
        EXPECT_TRUE(members.ok()) << members.status();
        for (size_t i = 0; members.ok() && i + 1 < members->elements.size(); i += 2) {
          boards[key.str][members->elements[i].str] = members->elements[i + 1].str;
        }
      }
    } while (cursor != "0");
    return boards;
  }

  std::vector<std::string> Hash(const std::string& key) {
    auto reply = stack_->redis().Command({"HGETALL", key});
    EXPECT_TRUE(reply.ok()) << reply.status();
    std::vector<std::string> out;
    for (const RedisValue& v : reply->elements) out.push_back(v.str);
    return out;
  }

  int64_t Exists(const std::string& key) {
    auto reply = stack_->redis().Command({"EXISTS", key});
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->integer : -1;
  }

  static google::protobuf::Timestamp Ts(absl::Time t) {
    return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
  }

  std::unique_ptr<Stack> stack_;
  std::string admin_, staff_;
  Citizen mika_, ken_;
};

TEST_F(PrivacyTest, ExportHoldsProfileEntriesBadgesStreakAndTotals) {
  v1::RecordActionResponse first, second;
  ASSERT_TRUE(stack_->Record(mika_.token, "clothing_reuse", 2.0, &first).ok());
  ASSERT_TRUE(stack_->Record(mika_.token, "clothing_reuse", 1.5, &second).ok());
  ASSERT_TRUE(stack_->Record(ken_.token, "clothing_reuse", 4.0).ok());

  v1::ExportMyDataResponse data;
  ASSERT_TRUE(Export(mika_.token, &data).ok());
  EXPECT_EQ(data.profile().account_id(), mika_.account_id);
  EXPECT_EQ(data.profile().nickname(), "Mika");
  EXPECT_EQ(data.profile().ward(), "nakahara");
  EXPECT_EQ(data.profile().team(), "class-3b");
  EXPECT_EQ(data.profile().memberships_size(), 1);
  ASSERT_EQ(data.entries_size(), 2);  // Ken's entry is not hers
  EXPECT_EQ(data.entries_total(), 2);
  EXPECT_FALSE(data.entries_truncated());
  EXPECT_EQ(data.entries(0).entry_id(), first.entry().entry_id());
  EXPECT_EQ(data.entries(1).entry_id(), second.entry().entry_id());
  EXPECT_EQ(data.entries(1).quantity_milli(), 1500);
  EXPECT_EQ(data.all_time_totals().at("n"), 2);
  EXPECT_EQ(data.all_time_totals().at("co2"),
            first.entry().co2e_grams() + second.entry().co2e_grams());
  EXPECT_EQ(data.streak().current_days(), 1);
  EXPECT_FALSE(data.streak().last_active_day().empty());

  ASSERT_GT(first.new_badges_size(), 0) << "the first action earns a badge";
  std::set<std::string> exported;
  for (const v1::ExportedBadge& b : data.badges()) {
    exported.insert(b.badge_id());
    EXPECT_FALSE(b.entry_id().empty());
    EXPECT_GT(b.awarded_at().seconds(), 0);
  }
  EXPECT_TRUE(exported.count(first.new_badges(0).badge_id()));

  // A client can save it as JSON.
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(data, &json).ok());
  EXPECT_THAT(json, HasSubstr("\"nickname\":\"Mika\""));
}

TEST_F(PrivacyTest, DeleteNeedsTheAccountIdAsConfirmation) {
  EXPECT_THAT(Delete(mika_.token, "delete-request-0001", ken_.account_id),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("confirm_account_id")));
  EXPECT_THAT(Delete(mika_.token, "delete-request-0001", ""),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  v1::Profile profile;
  EXPECT_TRUE(stack_->identity()->GetMyProfile(Stack::Context(mika_.token).get(), {}, &profile).ok());
  EXPECT_EQ(profile.nickname(), "Mika");
}

TEST_F(PrivacyTest, DeleteLeavesEveryBoardAndKeepsEveryTotal) {
  ASSERT_TRUE(stack_->Record(mika_.token, "clothing_reuse", 2.0).ok());
  ASSERT_TRUE(stack_->Record(ken_.token, "clothing_reuse", 1.0).ok());
  const std::string event_id = EventWithMikasWeighIn();
  stack_->DrainProjector();
  const std::string checkins = absl::StrCat(stack_->keys().prefix(), ":{e:", event_id, "}:checkins");
  const std::string event_totals = absl::StrCat(stack_->keys().prefix(), ":{e:", event_id, "}:totals");
  auto checked_in = stack_->redis().Command({"HEXISTS", checkins, mika_.account_id});
  ASSERT_TRUE(checked_in.ok() && checked_in->integer == 1) << "the premise: Mika checked in";

  const BoardSnapshot before = Boards();
  ASSERT_TRUE(before.count(stack_->keys().Board(absl::StrCat("event:", event_id, ":all:pts"))));
  int mika_boards = 0;
  for (const auto& [board, members] : before) mika_boards += members.count(mika_.account_id);
  ASSERT_GE(mika_boards, 5) << "city, ward, team, event and audit boards at least";
  const std::vector<std::string> totals_before = Hash(event_totals);
  std::vector<std::vector<std::string>> aggregates_before;
  for (int s = 0; s < stack_->keys().shards(); ++s) {
    aggregates_before.push_back(Hash(stack_->keys().Aggregate(s, "all")));
  }
  const std::vector<std::string> ken_account = Hash(stack_->keys().Account(ken_.account_id));

  ASSERT_TRUE(Delete(mika_.token, "delete-request-0001", mika_.account_id).ok());
  stack_->DrainProjector();

  const BoardSnapshot after = Boards();
  for (const auto& [board, members] : after) {
    EXPECT_EQ(members.count(mika_.account_id), 0u) << "still on " << board;
  }
  // Every other score, group boards included, is as it was.
  for (const auto& [board, members] : before) {
    for (const auto& [member, score] : members) {
      if (member == mika_.account_id) continue;
      ASSERT_TRUE(after.count(board)) << board << " disappeared";
      EXPECT_EQ(after.at(board).count(member) ? after.at(board).at(member) : "-", score)
          << member << " on " << board;
    }
  }
  EXPECT_EQ(Hash(event_totals), totals_before);
  for (int s = 0; s < stack_->keys().shards(); ++s) {
    EXPECT_EQ(Hash(stack_->keys().Aggregate(s, "all")), aggregates_before[s]) << "shard " << s;
  }

  // The profile is a tombstone; rewards, membership and check-in are gone.
  const std::vector<std::string> tombstone = Hash(stack_->keys().Account(mika_.account_id));
  EXPECT_THAT(tombstone, ::testing::Contains("deleted"));
  for (const char* field : {"nickname", "ward", "team", "secret", "mh", "created_ms",
                            "fingerprint"}) {
    EXPECT_THAT(tombstone, ::testing::Not(::testing::Contains(field)));
  }
  EXPECT_EQ(Exists(stack_->keys().Badges(mika_.account_id)), 0);
  EXPECT_EQ(Exists(stack_->keys().Streak(mika_.account_id)), 0);
  EXPECT_EQ(Exists(stack_->keys().ActiveDays(mika_.account_id)), 0);
  auto member = stack_->redis().Command(
      {"SISMEMBER", stack_->keys().TeamMembers("class-3b"), mika_.account_id});
  ASSERT_TRUE(member.ok());
  EXPECT_EQ(member->integer, 0);
  checked_in = stack_->redis().Command({"HEXISTS", checkins, mika_.account_id});
  ASSERT_TRUE(checked_in.ok());
  EXPECT_EQ(checked_in->integer, 0);

  // Neither the secret nor the old token works any more.
  v1::SignInRequest sign_in;
  sign_in.set_account_id(mika_.account_id);
  sign_in.set_secret(mika_.secret);
  v1::SignInResponse signed_in;
  EXPECT_THAT(stack_->identity()->SignIn(Stack::Context().get(), sign_in, &signed_in),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(stack_->Record(mika_.token, "clothing_reuse", 1.0),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("deleted")));
  v1::Profile profile;
  EXPECT_THAT(stack_->identity()->GetMyProfile(Stack::Context(mika_.token).get(), {}, &profile),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::ExportMyDataResponse data;
  EXPECT_THAT(Export(mika_.token, &data), StatusIs(grpc::StatusCode::NOT_FOUND));

  // A retry is OK; another deletion request finds nothing left.
  EXPECT_TRUE(Delete(mika_.token, "delete-request-0001", mika_.account_id).ok());
  EXPECT_THAT(Delete(mika_.token, "delete-request-0002", mika_.account_id),
              StatusIs(grpc::StatusCode::NOT_FOUND));

  // Ken is untouched.
  EXPECT_EQ(Hash(stack_->keys().Account(ken_.account_id)), ken_account);
  EXPECT_TRUE(stack_->Record(ken_.token, "clothing_reuse", 1.0).ok());
  member = stack_->redis().Command(
      {"SISMEMBER", stack_->keys().TeamMembers("class-3b"), ken_.account_id});
  ASSERT_TRUE(member.ok());
  EXPECT_EQ(member->integer, 1);
}

TEST_F(PrivacyTest, StaffAndAdminsCannotExportOrDelete) {
  for (const std::string& token : {staff_, admin_}) {
    v1::ExportMyDataResponse data;
    EXPECT_THAT(Export(token, &data), StatusIs(grpc::StatusCode::PERMISSION_DENIED));
    EXPECT_THAT(Delete(token, "delete-request-0003", "admin"),
                StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  }
  EXPECT_THAT(Delete("", "delete-request-0004", mika_.account_id),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
}

}  // namespace
}  // namespace ecoact::test
