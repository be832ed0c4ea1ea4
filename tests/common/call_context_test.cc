// Authenticator: one signature verification per call while the policy gate's
// CallScope is open, and a fresh one for any other call.
#include "services/common/call_context.h"

#include <atomic>

#include "gmock/gmock.h"
#include "grpcpp/test/server_context_test_spouse.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using ::ecoact::test::StatusIs;

const absl::Time kNow = absl::FromUnixSeconds(1'790'000'000);

// Verification reads the clock once: the count of clock reads is the count
// of verifications.
class CallContextTest : public ::testing::Test {
 protected:
  CallContextTest()
      : tokens_(*TokenService::Create({{"k1", std::string(40, 'k')}}, "k1", "ecoact",
                                      absl::Hours(1))),
        auth_(&tokens_, [this] {
          ++clock_reads_;
          return kNow;
        }) {}

  void SignIn(grpc::ServerContext* context, const std::string& token) {
    spouses_.push_back(std::make_unique<grpc::testing::ServerContextTestSpouse>(context));
    spouses_.back()->AddClientMetadata("authorization", "Bearer " + token);
  }

  TokenService tokens_;
  Authenticator auth_;
  std::atomic<int> clock_reads_{0};
  std::vector<std::unique_ptr<grpc::testing::ServerContextTestSpouse>> spouses_;
};

TEST_F(CallContextTest, EachCheckVerifiesAgainOutsideAScope) {
  grpc::ServerContext context;
  SignIn(&context, tokens_.Issue("u1", v1::ROLE_CITIZEN, kNow));
  ASSERT_OK(auth_.Require(context, {v1::ROLE_CITIZEN}).status());
  ASSERT_OK(auth_.RequireAny(context).status());
  EXPECT_EQ(clock_reads_, 2);
}

TEST_F(CallContextTest, InsideTheCallsScopeTheTokenIsVerifiedOnce) {
  grpc::ServerContext context;
  SignIn(&context, tokens_.Issue("u1", v1::ROLE_CITIZEN, kNow));
  {
    Authenticator::CallScope scope(&auth_, &context);
    auto claims = auth_.Require(context, {v1::ROLE_CITIZEN});
    ASSERT_OK(claims.status());
    EXPECT_EQ(claims->subject, "u1");
    ASSERT_OK(auth_.RequireAny(context).status());
    // The role check still runs on the remembered claims.
    EXPECT_THAT(auth_.Require(context, {v1::ROLE_ADMIN}).status(),
                StatusIs(absl::StatusCode::kPermissionDenied));
    EXPECT_EQ(clock_reads_, 1);
  }
  ASSERT_OK(auth_.RequireAny(context).status());
  EXPECT_EQ(clock_reads_, 2) << "the scope ended with the call";
}

TEST_F(CallContextTest, ARefusedTokenStaysRefusedForTheWholeCall) {
  grpc::ServerContext context;
  SignIn(&context, "eyJhbGciOiJIUzI1NiJ9.e30.forged");
  Authenticator::CallScope scope(&auth_, &context);
  EXPECT_THAT(auth_.RequireAny(context).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(auth_.Require(context, {v1::ROLE_CITIZEN}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(CallContextTest, AnotherCallOrAnotherAuthenticatorIsNotServedFromTheScope) {
  grpc::ServerContext in_scope;
  grpc::ServerContext other_call;
  SignIn(&in_scope, tokens_.Issue("u1", v1::ROLE_CITIZEN, kNow));
  SignIn(&other_call, tokens_.Issue("u2", v1::ROLE_ADMIN, kNow));
  Authenticator other_auth(&tokens_, [] { return kNow; });
  Authenticator::CallScope scope(&auth_, &in_scope);
  ASSERT_OK(auth_.RequireAny(in_scope).status());
  auto other = auth_.Require(other_call, {v1::ROLE_ADMIN});
  ASSERT_OK(other.status());
  EXPECT_EQ(other->subject, "u2");
  EXPECT_EQ(other_auth.RequireAny(in_scope)->subject, "u1");
  ASSERT_OK(auth_.RequireAny(in_scope).status());
  EXPECT_EQ(clock_reads_, 2) << "u1 once, u2 once";
}

}  // namespace
}  // namespace ecoact
