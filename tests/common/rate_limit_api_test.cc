// Rate limits through the whole stack: public calls are limited per client
// address, signed-in calls per account, and a refusal says when to retry.
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using ::testing::HasSubstr;

constexpr char kLimits[] =
    "*=100000,ecoact.v1.IdentityService.SignIn=3/3,"
    "ecoact.v1.IdentityService.GetMyProfile=2/2";

// The retry-after-ms trailer of a finished call, or -1.
int64_t RetryAfterMs(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find("retry-after-ms");
  int64_t ms = -1;
  if (it == trailers.end() ||
      !absl::SimpleAtoi(std::string(it->second.data(), it->second.size()), &ms)) {
    return -1;
  }
  return ms;
}

class RateLimitApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start(nullptr, kLimits);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  grpc::Status SignIn(const std::string& account_id, const std::string& secret,
                      grpc::ClientContext* context) {
    v1::SignInRequest request;
    request.set_account_id(account_id);
    request.set_secret(secret);
    v1::SignInResponse response;
    return stack_->identity()->SignIn(context, request, &response);
  }

  // `context` carries the token.
  grpc::Status Profile(grpc::ClientContext* context) {
    v1::Profile profile;
    return stack_->identity()->GetMyProfile(context, v1::GetMyProfileRequest(), &profile);
  }

  std::unique_ptr<Stack> stack_;
};

TEST_F(RateLimitApiTest, FourthWrongSignInFromOneAddressIsRefusedWithRetryAfter) {
  Citizen mika = stack_->Register("Mika", "nakahara");
  Citizen ren = stack_->Register("Ren", "saiwai");
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(SignIn(mika.account_id, "wrong-secret", Stack::Context().get()),
                StatusIs(grpc::StatusCode::UNAUTHENTICATED))
        << i;
  }
  auto context = Stack::Context();
  grpc::Status refused = SignIn(mika.account_id, "wrong-secret", context.get());
  EXPECT_THAT(refused, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                HasSubstr("rate limit of 3 calls per minute for "
                                          "ecoact.v1.IdentityService.SignIn exceeded; retry in")));
  int64_t retry = RetryAfterMs(*context);
  EXPECT_GT(retry, 0);
  EXPECT_LE(retry, 20000);  // one token every 20 s
  EXPECT_THAT(refused.error_message(), HasSubstr(absl::StrCat("retry in ", retry, " ms")));

  // Sign-in is public, so the limit is the address's: the right secret from
  // here waits too.
  EXPECT_THAT(SignIn(ren.account_id, ren.secret, Stack::Context().get()),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  // Other calls, and other accounts' signed-in calls, are unaffected.
  auto ren_profile = Stack::Context(ren.token);
  EXPECT_TRUE(Profile(ren_profile.get()).ok());
  v1::ListWardsResponse wards;
  EXPECT_TRUE(
      stack_->identity()->ListWards(Stack::Context().get(), v1::ListWardsRequest(), &wards).ok());
}

TEST_F(RateLimitApiTest, SignedInCallsAreLimitedPerAccount) {
  Citizen mika = stack_->Register("Mika", "nakahara");
  Citizen ren = stack_->Register("Ren", "saiwai");
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(Profile(Stack::Context(mika.token).get()).ok()) << i;
  }
  auto context = Stack::Context(mika.token);
  EXPECT_THAT(Profile(context.get()),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                       HasSubstr("ecoact.v1.IdentityService.GetMyProfile")));
  EXPECT_GT(RetryAfterMs(*context), 0);
  // Same address, another account: a bucket of its own.
  EXPECT_TRUE(Profile(Stack::Context(ren.token).get()).ok());
  EXPECT_TRUE(Profile(Stack::Context(ren.token).get()).ok());
  // A call without a valid token is refused by authorisation, not counted.
  EXPECT_THAT(Profile(Stack::Context().get()),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
}

}  // namespace
}  // namespace ecoact::test
