#include "services/common/policy.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/message_lite.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpc/byte_buffer.h"
#include "grpc/byte_buffer_reader.h"
#include "grpc/slice.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/impl/service_type.h"
#include "services/common/grpc_status.h"
#include "services/common/redis.h"
#include "services/common/validation.h"

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

// The bytes of a request buffer (decompressed), or nullopt if unreadable.
std::optional<std::string> ReadAll(grpc_byte_buffer* buffer) {
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, buffer)) return std::nullopt;
  grpc_slice slice = grpc_byte_buffer_reader_readall(&reader);
  std::string bytes(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
                    GRPC_SLICE_LENGTH(slice));
  grpc_slice_unref(slice);
  grpc_byte_buffer_reader_destroy(&reader);
  return bytes;
}

// The path ("entries[2].action_type") of the first string field, in wire
// order, whose bytes are not UTF-8; empty if there is none or the bytes are
// not protobuf wire data. Read without the message's own parser, which
// stops at the bad field without saying which it was.
std::string FindInvalidUtf8(const google::protobuf::Descriptor* type, absl::string_view bytes,
                            const std::string& prefix, int depth) {
  google::protobuf::UnknownFieldSet fields;
  if (depth > 32 || !fields.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return "";
  }
  std::map<int, int> seen;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& field = fields.field(i);
    const int index = seen[field.number()]++;
    if (field.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const google::protobuf::FieldDescriptor* descriptor = type->FindFieldByNumber(field.number());
    if (descriptor == nullptr) continue;
    std::string path = absl::StrCat(prefix, descriptor->name());
    if (descriptor->is_repeated()) absl::StrAppend(&path, "[", index, "]");
    if (descriptor->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      if (!IsValidUtf8(field.length_delimited())) return path;
    } else if (descriptor->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      std::string inner = FindInvalidUtf8(descriptor->message_type(), field.length_delimited(),
                                          path + ".", depth + 1);
      if (!inner.empty()) return inner;
    }
  }
  return "";
}

// What a client can act on when its request did not parse. gRPC's own
// answer is INTERNAL with an empty message, which blames the server.
grpc::Status ParseFailure(const google::protobuf::Descriptor* type, grpc_byte_buffer* bytes) {
  std::optional<std::string> read = ReadAll(bytes);
  std::string field = read ? FindInvalidUtf8(type, *read, "", 0) : "";
  if (!field.empty()) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat(field, " is not valid UTF-8: every string field of ", type->full_name(),
                     " must be UTF-8 text (send raw bytes base64-encoded); nothing was done"));
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("the request is not a valid ", type->full_name(),
                                   " message (malformed protobuf wire data); nothing was done"));
}

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
        limit_(limiter ? limiter->table().For(full_name_) : RateLimit()) {
    const google::protobuf::MethodDescriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full_name_);
    input_type_ = descriptor != nullptr ? descriptor->input_type() : nullptr;
  }

  void RunHandler(const HandlerParameter& param) override {
    grpc::internal::MethodHandler* handler = method_->handler();
    if (!param.status.ok()) return handler->RunHandler(param);
    auto* context = static_cast<grpc::ServerContext*>(param.server_context);
    Authenticator::CallScope verify_once(auth_, context);
    // Redis waits of this call (the rate limit's included) end by the call's
    // deadline: a reply the client no longer waits for is not worth a thread,
    // and a queued command past it is not sent at all.
    RedisDeadlineScope redis_deadline(absl::FromChrono(context->deadline()));
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

  // Bad wire data (most often a string field that is not UTF-8, which
  // protobuf refuses before any handler runs) becomes INVALID_ARGUMENT
  // naming the field. The generated deserializer consumes the buffer, so a
  // copy (references to the same slices, no bytes copied) is kept for that.
  void* Deserialize(grpc_call* call, grpc_byte_buffer* request, grpc::Status* status,
                    void** handler_data) override {
    grpc_byte_buffer* kept =
        request != nullptr && input_type_ != nullptr ? grpc_byte_buffer_copy(request) : nullptr;
    void* parsed = method_->handler()->Deserialize(call, request, status, handler_data);
    if (!status->ok() && status->error_code() == grpc::StatusCode::INTERNAL && kept != nullptr) {
      *status = ParseFailure(input_type_, kept);
    }
    if (kept != nullptr) grpc_byte_buffer_destroy(kept);
    return parsed;
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
  const google::protobuf::Descriptor* input_type_ = nullptr;
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
        (method->method_type() != grpc::internal::RpcMethod::NORMAL_RPC &&
         method->method_type() != grpc::internal::RpcMethod::SERVER_STREAMING)) {
      // The gate hands a refused call to the generated handler with a failed
      // status, which unary and server-streaming handlers both answer without
      // calling the service (the CSV exports stream).
      problems.push_back(absl::StrCat(method ? method->name() : "a generic method",
                                      " is not a synchronous unary or server-streaming method"));
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
