// IdentityService through gRPC on a real Redis: idempotent sign-up, sign-in,
// profile changes, staff creation.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using ::testing::HasSubstr;

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }
  std::unique_ptr<Stack> stack_;
};

TEST_F(IdentityTest, RegisterIsIdempotentAndSignInWorks) {
  v1::RegisterRequest request;
  request.set_request_id("0b7c9e2a-1f3d-4c5e-9a8b-7c6d5e4f3a2b");
  request.set_nickname("Mika");
  request.set_ward("nakahara");
  v1::RegisterResponse first, retry;
  ASSERT_TRUE(stack_->identity()->Register(Stack::Context().get(), request, &first).ok());
  ASSERT_TRUE(stack_->identity()->Register(Stack::Context().get(), request, &retry).ok());
  EXPECT_EQ(retry.account_id(), first.account_id());
  EXPECT_EQ(retry.account_secret(), first.account_secret());
  EXPECT_EQ(first.profile().role(), v1::ROLE_CITIZEN);

  // Same request id, different payload.
  request.set_nickname("Someone else");
  v1::RegisterResponse conflict;
  EXPECT_THAT(stack_->identity()->Register(Stack::Context().get(), request, &conflict),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS));

  v1::SignInRequest sign_in;
  sign_in.set_account_id(first.account_id());
  sign_in.set_secret(first.account_secret());
  v1::SignInResponse session;
  ASSERT_TRUE(stack_->identity()->SignIn(Stack::Context().get(), sign_in, &session).ok());
  EXPECT_EQ(session.profile().nickname(), "Mika");
  sign_in.set_secret("wrong");
  EXPECT_THAT(stack_->identity()->SignIn(Stack::Context().get(), sign_in, &session),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  sign_in.set_account_id("nobody-at-all");
  EXPECT_THAT(stack_->identity()->SignIn(Stack::Context().get(), sign_in, &session),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(IdentityTest, RegisterRejectsBadInput) {
  v1::RegisterRequest request;
  request.set_request_id("too-short");
  request.set_nickname("Mika");
  request.set_ward("nakahara");
  v1::RegisterResponse response;
  EXPECT_THAT(stack_->identity()->Register(Stack::Context().get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("request_id")));
  request.set_request_id("0b7c9e2a-1f3d-4c5e-9a8b-000000000001");
  request.set_ward("atlantis");
  EXPECT_THAT(stack_->identity()->Register(Stack::Context().get(), request, &response),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("ListWards")));
  request.set_ward("tama");
  request.set_nickname(std::string(100, 'x'));
  EXPECT_THAT(stack_->identity()->Register(Stack::Context().get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("nickname")));
}

TEST_F(IdentityTest, ProfileChangesApplyToNewActionsOnly) {
  Citizen mika = stack_->Register("Mika", "nakahara", "class-1a");
  v1::RecordActionResponse before;
  ASSERT_TRUE(stack_->Record(mika.token, "plastic_bag_refused", 1, &before).ok());
  v1::UpdateMyProfileRequest update;
  update.set_request_id("update-profile-1");
  update.set_ward("tama");
  v1::Profile profile;
  ASSERT_TRUE(
      stack_->identity()->UpdateMyProfile(Stack::Context(mika.token).get(), update, &profile).ok());
  EXPECT_EQ(profile.ward(), "tama");
  EXPECT_EQ(profile.team(), "class-1a");
  // Membership is dated: the leave applies to actions that occur after it.
  stack_->set_now(stack_->now() + absl::Seconds(1));
  v1::LeaveTeamRequest leave;
  leave.set_request_id("leave-team-1");
  ASSERT_TRUE(stack_->identity()->LeaveTeam(Stack::Context(mika.token).get(), leave, &profile).ok());
  EXPECT_EQ(profile.team(), "");
  v1::RecordActionResponse after;
  ASSERT_TRUE(stack_->Record(mika.token, "plastic_bag_refused", 1, &after).ok());
  EXPECT_EQ(before.entry().ward(), "nakahara");
  EXPECT_EQ(before.entry().team(), "class-1a");
  EXPECT_EQ(after.entry().ward(), "tama");
  EXPECT_EQ(after.entry().team(), "");

  v1::Profile me;
  ASSERT_TRUE(stack_->identity()->GetMyProfile(Stack::Context(mika.token).get(), {}, &me).ok());
  EXPECT_EQ(me.ward(), "tama");
  update.set_ward("atlantis");
  EXPECT_THAT(stack_->identity()->UpdateMyProfile(Stack::Context(mika.token).get(), update, &profile),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(stack_->identity()->UpdateMyProfile(Stack::Context(stack_->AdminToken()).get(),
                                                  update, &profile),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
}

TEST_F(IdentityTest, StaffCreationIsIdempotentAndLoginsAreUnique) {
  const std::string admin = stack_->AdminToken();
  v1::CreateStaffRequest request;
  request.set_request_id("staff-request-0001");
  request.set_login("sato.k");
  request.set_password("twelve-chars-or-more");
  request.set_display_name("佐藤");
  v1::Profile first, again, other;
  ASSERT_TRUE(stack_->identity()->CreateStaff(Stack::Context(admin).get(), request, &first).ok());
  ASSERT_TRUE(stack_->identity()->CreateStaff(Stack::Context(admin).get(), request, &again).ok());
  EXPECT_EQ(again.account_id(), "sato.k");
  request.set_request_id("staff-request-0002");
  EXPECT_THAT(stack_->identity()->CreateStaff(Stack::Context(admin).get(), request, &other),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS));
  request.set_login("Bad Login");
  EXPECT_THAT(stack_->identity()->CreateStaff(Stack::Context(admin).get(), request, &other),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("login")));
  request.set_login("short.pw");
  request.set_password("short");
  EXPECT_THAT(stack_->identity()->CreateStaff(Stack::Context(admin).get(), request, &other),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("password")));

  v1::ListWardsResponse wards;
  ASSERT_TRUE(stack_->identity()->ListWards(Stack::Context().get(), {}, &wards).ok());
  EXPECT_EQ(wards.wards_size(), 7);
}

}  // namespace
}  // namespace ecoact::test
