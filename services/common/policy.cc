#include "services/common/policy.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/message_lite.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/impl/service_type.h"
#include "services/common/grpc_status.h"

namespace ecoact {
namespace {

using MethodList = std::vector<std::unique_ptr<grpc::internal::RpcServiceMethod>>;

// Why not a server interceptor: in gRPC 1.51 (Debian 12) a server
// interceptor cannot fail a synchronous call before the handler (Hijack()
// is client-only; the handler runs whatever the interceptor does). So the
// gate sits where gRPC itself puts request errors: between the method and
// its generated handler. grpc::Service keeps its method table private and
// offers no way to wrap a handler; an explicit instantiation may name a
// private member ([temp.spec.general]/6), which lets this one function
// reach the table without changing gRPC's headers.
MethodList grpc::Service::*ServiceMethodsMember();

template <MethodList grpc::Service::*Member>
struct ServiceMethodsAccess {
  friend MethodList grpc::Service::*ServiceMethodsMember() { return Member; }
};
template struct ServiceMethodsAccess<&grpc::Service::methods_>;

// The original method (name, generated handler) behind the policy check.
class PolicyGate final : public grpc::internal::MethodHandler {
 public:
  PolicyGate(std::unique_ptr<grpc::internal::RpcServiceMethod> method, v1::Policy policy,
             const Authenticator* auth, const RateLimiter* limiter)
      : method_(std::move(method)),
        policy_(policy),
        auth_(auth),
        limiter_(limiter),
        full_name_(absl::StrReplaceAll(absl::StripPrefix(method_->name(), "/"), {{"/", "."}})),
        limit_(limiter ? limiter->table().For(full_name_) : RateLimit()) {}

  void RunHandler(const HandlerParameter& param) override {
    grpc::internal::MethodHandler* handler = method_->handler();
    if (!param.status.ok()) return handler->RunHandler(param);
    auto* context = static_cast<grpc::ServerContext*>(param.server_context);
    absl::Status allowed = Authorize(policy_, *auth_, *context);
    if (allowed.ok()) allowed = CheckRate(*context);
    if (allowed.ok()) return handler->RunHandler(param);
    // A generated unary handler given a failed request status replies with
    // that status and never calls the service, as for a request that did not
    // parse; like the deserializer then, destroy the request it will not.
    if (param.request != nullptr) {
      static_cast<google::protobuf::MessageLite*>(param.request)->~MessageLite();
    }
    handler->RunHandler(HandlerParameter(param.call, param.server_context, nullptr,
                                         ToGrpcStatus(allowed), param.internal_data,
                                         param.call_requester));
  }

  void* Deserialize(grpc_call* call, grpc_byte_buffer* request, grpc::Status* status,
                    void** handler_data) override {
    return method_->handler()->Deserialize(call, request, status, handler_data);
  }

 private:
  // After authorisation: one token of this RPC's bucket for the account of
  // a signed-in call, or the client address of a public one.
  absl::Status CheckRate(grpc::ServerContext& context) const {
    if (!limit_.enabled()) return absl::OkStatus();
    std::string subject;
    if (policy_ == v1::POLICY_PUBLIC) {
      subject = absl::StrCat("ip:", PeerHost(context.peer()));
    } else {
      absl::StatusOr<TokenClaims> claims = auth_->RequireAny(context);
      if (!claims.ok()) return claims.status();
      subject = absl::StrCat("a:", claims->subject);
    }
    absl::StatusOr<RateDecision> decision = limiter_->Take(full_name_, subject);
    if (!decision.ok()) {
      // Fail open: the handler meets the same Redis and answers UNAVAILABLE.
      limiter_->CountFailOpen(decision.status());
      return absl::OkStatus();
    }
    if (decision->allowed) return absl::OkStatus();
    context.AddTrailingMetadata("retry-after-ms", absl::StrCat(decision->retry_after_ms));
    return absl::ResourceExhaustedError(absl::StrCat(
        "rate limit of ", limit_.per_minute, " calls per minute for ", full_name_,
        " exceeded; retry in ", decision->retry_after_ms, " ms"));
  }

  std::unique_ptr<grpc::internal::RpcServiceMethod> method_;
  v1::Policy policy_;
  const Authenticator* auth_;
  const RateLimiter* limiter_;
  std::string full_name_;
  RateLimit limit_;
};

}  // namespace

absl::StatusOr<v1::Policy> DeclaredPolicy(absl::string_view method) {
  std::string full_name(absl::StripPrefix(method, "/"));
  std::replace(full_name.begin(), full_name.end(), '/', '.');
  const google::protobuf::MethodDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full_name);
  if (descriptor == nullptr) {
    return absl::NotFoundError(absl::StrCat("no descriptor for RPC ", full_name));
  }
  v1::Policy policy = descriptor->options().GetExtension(v1::policy);
  if (policy == v1::POLICY_UNSPECIFIED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "RPC ", full_name, " declares no access policy; add `option (ecoact.v1.policy) = ...;` "
        "to it in ", descriptor->file()->name()));
  }
  return policy;
}

std::vector<const google::protobuf::MethodDescriptor*> EcoactMethods() {
  std::vector<std::string> files;
  google::protobuf::DescriptorPool::internal_generated_database()->FindAllFileNames(&files);
  std::vector<const google::protobuf::MethodDescriptor*> methods;
  for (const std::string& name : files) {
    if (!absl::StartsWith(name, "ecoact/v1/")) continue;
    const google::protobuf::FileDescriptor* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(name);
    if (file == nullptr) continue;
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        methods.push_back(file->service(s)->method(m));
      }
    }
  }
  std::sort(methods.begin(), methods.end(),
            [](const auto* a, const auto* b) { return a->full_name() < b->full_name(); });
  return methods;
}

absl::Status Authorize(v1::Policy policy, const Authenticator& auth,
                       const grpc::ServerContext& context) {
  switch (policy) {
    case v1::POLICY_PUBLIC:
      return absl::OkStatus();
    case v1::POLICY_SIGNED_IN:
      return auth.RequireAny(context).status();
    case v1::POLICY_CITIZEN:
      return auth.Require(context, {v1::ROLE_CITIZEN}).status();
    case v1::POLICY_STAFF_OR_ADMIN:
      return auth.Require(context, {v1::ROLE_STAFF, v1::ROLE_ADMIN}).status();
    case v1::POLICY_ADMIN:
      return auth.Require(context, {v1::ROLE_ADMIN}).status();
    default:
      return absl::PermissionDeniedError("this call has no access policy");
  }
}

absl::string_view PolicyName(v1::Policy policy) {
  switch (policy) {
    case v1::POLICY_PUBLIC: return "public";
    case v1::POLICY_SIGNED_IN: return "signed-in";
    case v1::POLICY_CITIZEN: return "citizen";
    case v1::POLICY_STAFF_OR_ADMIN: return "staff-or-admin";
    case v1::POLICY_ADMIN: return "admin";
    default: return "unspecified";
  }
}

absl::Status GuardService(grpc::Service* service, const Authenticator* auth,
                          const RateLimiter* limiter) {
  MethodList& methods = service->*ServiceMethodsMember();
  std::vector<v1::Policy> policies;
  std::vector<std::string> problems;
  for (const auto& method : methods) {
    if (method == nullptr || method->handler() == nullptr ||
        method->api_type() != grpc::internal::RpcServiceMethod::ApiType::SYNC ||
        method->method_type() != grpc::internal::RpcMethod::NORMAL_RPC) {
      problems.push_back(absl::StrCat(method ? method->name() : "a generic method",
                                      " is not a synchronous unary method"));
      continue;
    }
    absl::StatusOr<v1::Policy> policy = DeclaredPolicy(method->name());
    if (!policy.ok()) {
      problems.emplace_back(policy.status().message());
      continue;
    }
    policies.push_back(*policy);
  }
  if (!problems.empty()) {
    return absl::FailedPreconditionError(absl::StrJoin(problems, "; "));
  }
  for (size_t i = 0; i < methods.size(); ++i) {
    std::unique_ptr<grpc::internal::RpcServiceMethod> original = std::move(methods[i]);
    const char* name = original->name();
    auto type = original->method_type();
    methods[i] = std::make_unique<grpc::internal::RpcServiceMethod>(
        name, type, new PolicyGate(std::move(original), policies[i], auth, limiter));
  }
  return absl::OkStatus();
}

}  // namespace ecoact
