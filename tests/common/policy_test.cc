// The access policy: every RPC in the protos declares one, the server checks
// it before the handler runs, and every RPC called with every role gets the
// outcome its policy says.
#include "services/common/policy.h"

#include <atomic>
#include <cstdio>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "google/protobuf/message.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using google::protobuf::MethodDescriptor;
using ::testing::HasSubstr;
using test::IsOk;
using test::StatusIs;

TEST(PolicyTable, EveryRpcDeclaresOnePolicy) {
  std::vector<const MethodDescriptor*> methods = EcoactMethods();
  std::set<std::string> services;
  for (const MethodDescriptor* method : methods) services.insert(method->service()->full_name());
  // Every service of the API is linked in and walked (a guard against the
  // walk finding nothing).
  EXPECT_THAT(services, ::testing::IsSupersetOf({"ecoact.v1.IdentityService",
                                                 "ecoact.v1.CatalogService",
                                                 "ecoact.v1.ActionsService",
                                                 "ecoact.v1.LeaderboardService",
                                                 "ecoact.v1.EventsService",
                                                 "ecoact.v1.RewardsService",
                                                 "ecoact.v1.SurveysService",
                                                 "ecoact.v1.ReportsService"}));
  std::printf("%-48s %s\n", "method", "policy");
  for (const MethodDescriptor* method : methods) {
    absl::StatusOr<v1::Policy> policy = DeclaredPolicy(method->full_name());
    ASSERT_TRUE(policy.ok()) << policy.status();
    std::string path = absl::StrCat("/", method->service()->full_name(), "/", method->name());
    EXPECT_EQ(DeclaredPolicy(path).value_or(v1::POLICY_UNSPECIFIED), *policy) << path;
    std::printf("%-48s %s\n", method->full_name().c_str(), std::string(PolicyName(*policy)).c_str());
  }
  std::printf("%zu RPCs in %zu services, each with one policy\n", methods.size(), services.size());
}

TEST(PolicyTable, ServiceWithoutPoliciesIsRefusedNamingTheRpc) {
  grpc::health::v1::Health::Service health;  // no ecoact policy options
  auto tokens = TokenService::Create({{"k1", std::string(40, 'k')}}, "k1", "ecoact", absl::Hours(1));
  ASSERT_TRUE(tokens.ok());
  Authenticator auth(&*tokens, [] { return absl::Now(); });
  absl::Status guarded = GuardService(&health, &auth);
  EXPECT_THAT(guarded, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("grpc.health.v1.Health.Check")));
}

// A service whose handler checks nothing itself: only the gate stands
// between callers and it.
class CountingActions final : public v1::ActionsService::Service {
 public:
  grpc::Status RecordAction(grpc::ServerContext*, const v1::RecordActionRequest*,
                            v1::RecordActionResponse*) override {
    ++calls;
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
};

TEST(PolicyGate, DeniedCallsNeverReachTheHandler) {
  auto stack = test::Stack::Start();
  ASSERT_TRUE(stack.ok()) << stack.status();
  CountingActions service;
  Authenticator auth(&(*stack)->tokens(), [] { return absl::Now(); });
  ServerOptions options;
  EcoactServer server(options, &(*stack)->redis(), &auth);
  server.AddService(&service, "ecoact.v1.ActionsService");
  ASSERT_TRUE(server.Start().ok());
  auto stub = v1::ActionsService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server.port()), grpc::InsecureChannelCredentials()));
  const absl::Time now = absl::Now();
  v1::RecordActionRequest request;
  request.set_request_id("policy-gate-1");
  v1::RecordActionResponse response;

  EXPECT_THAT(stub->RecordAction(test::CallContext("").get(), request, &response),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED, HasSubstr("authorization")));
  const std::string admin = (*stack)->tokens().Issue("admin", v1::ROLE_ADMIN, now);
  EXPECT_THAT(stub->RecordAction(test::CallContext(admin).get(), request, &response),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED,
                       HasSubstr("this call is for citizen accounts")));
  EXPECT_EQ(service.calls.load(), 0);

  const std::string citizen = (*stack)->tokens().Issue("c-1", v1::ROLE_CITIZEN, now);
  EXPECT_THAT(stub->RecordAction(test::CallContext(citizen).get(), request, &response), IsOk());
  EXPECT_EQ(service.calls.load(), 1);
  server.Shutdown();
}

enum class Caller { kNoToken, kForged, kCitizen, kStaff, kAdmin };

const char* CallerName(Caller caller) {
  switch (caller) {
    case Caller::kNoToken: return "no token";
    case Caller::kForged: return "forged";
    case Caller::kCitizen: return "citizen";
    case Caller::kStaff: return "staff";
    case Caller::kAdmin: return "admin";
  }
  return "?";
}

bool Admits(v1::Policy policy, Caller caller) {
  switch (policy) {
    case v1::POLICY_PUBLIC: return true;
    case v1::POLICY_SIGNED_IN:
      return caller == Caller::kCitizen || caller == Caller::kStaff || caller == Caller::kAdmin;
    case v1::POLICY_CITIZEN: return caller == Caller::kCitizen;
    case v1::POLICY_STAFF_OR_ADMIN: return caller == Caller::kStaff || caller == Caller::kAdmin;
    case v1::POLICY_ADMIN: return caller == Caller::kAdmin;
    default: return false;
  }
}

// The role list a PERMISSION_DENIED names, as Authenticator words it.
std::string RolesNamed(v1::Policy policy) {
  switch (policy) {
    case v1::POLICY_SIGNED_IN: return "citizen/staff/admin";
    case v1::POLICY_CITIZEN: return "citizen";
    case v1::POLICY_STAFF_OR_ADMIN: return "staff/admin";
    case v1::POLICY_ADMIN: return "admin";
    default: return "?";
  }
}

// Allowed callers whose default (empty) request is itself an authentication
// failure, not the policy's: an empty SignIn is a wrong secret.
const std::map<std::string, std::string>& DomainUnauthenticated() {
  static const auto* kMessages = new std::map<std::string, std::string>{
      {"ecoact.v1.IdentityService.SignIn", "unknown account or wrong secret"},
      {"ecoact.v1.IdentityService.RefreshToken",
       "invalid refresh token: not an ecoact refresh token (\"rt1.<...>\")"}};
  return *kMessages;
}

grpc::Status CallWithDefaultRequest(grpc::GenericStub& stub, const MethodDescriptor& method,
                                    const std::string& token) {
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(method.input_type());
  grpc::Slice slice(prototype->SerializeAsString());
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  auto context = test::CallContext(token);
  absl::Notification done;
  grpc::Status result;
  stub.UnaryCall(context.get(),
                 absl::StrCat("/", method.service()->full_name(), "/", method.name()),
                 grpc::StubOptions(), &request, &response, [&](grpc::Status status) {
                   result = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  return result;
}

TEST(PolicyWalk, EveryRpcWithEveryRoleGetsWhatItsPolicySays) {
  auto started = test::Stack::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  test::Stack& stack = **started;
  auto other_key = TokenService::Create({{"k1", std::string(40, 'f')}}, "k1", "ecoact",
                                        absl::Hours(1));
  ASSERT_TRUE(other_key.ok());
  const std::map<Caller, std::string> tokens = {
      {Caller::kNoToken, ""},
      {Caller::kForged, other_key->Issue("admin", v1::ROLE_ADMIN, stack.now())},
      {Caller::kCitizen, stack.Register("Walker", "nakahara").token},
      {Caller::kStaff, stack.StaffToken("walker-staff")},
      {Caller::kAdmin, stack.AdminToken()},
  };
  grpc::GenericStub stub(stack.channel());

  int calls = 0;
  int denials = 0;
  const std::vector<const MethodDescriptor*> methods = EcoactMethods();
  for (const MethodDescriptor* method : methods) {
    absl::StatusOr<v1::Policy> policy = DeclaredPolicy(method->full_name());
    ASSERT_TRUE(policy.ok()) << policy.status();
    for (const auto& [caller, token] : tokens) {
      SCOPED_TRACE(absl::StrCat(method->full_name(), " (", PolicyName(*policy), ") as ",
                                CallerName(caller)));
      grpc::Status status = CallWithDefaultRequest(stub, *method, token);
      ++calls;
      if (Admits(*policy, caller)) {
        auto domain = DomainUnauthenticated().find(method->full_name());
        if (domain != DomainUnauthenticated().end() &&
            status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
          EXPECT_EQ(status.error_message(), domain->second);
          continue;
        }
        EXPECT_NE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
        EXPECT_NE(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << status.error_message();
      } else if (caller == Caller::kNoToken || caller == Caller::kForged) {
        ++denials;
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
      } else {
        ++denials;
        EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << status.error_message();
        EXPECT_THAT(status.error_message(),
                    HasSubstr(absl::StrCat("this call is for ", RolesNamed(*policy), " accounts")));
      }
    }
  }
  std::printf("checked %d calls (%zu RPCs x %zu callers), %d denied by policy\n", calls,
              methods.size(), tokens.size(), denials);
  EXPECT_EQ(calls, static_cast<int>(methods.size() * tokens.size()));
  EXPECT_GE(methods.size(), 40u);
}

}  // namespace
}  // namespace ecoact
