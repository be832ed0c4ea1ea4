// Who may call each RPC. The declaration is the `(ecoact.v1.policy)` option
// that every rpc in protos/ecoact/v1 carries (read here from the generated
// descriptors, so the .proto files stay the one table app developers read);
// the enforcement is GuardService, which EcoactServer applies to every
// service it hosts, so the check runs before any handler.
//
// Handlers keep their own Authenticator checks as a second line, with the
// same messages; "staff assigned to this event" is checked by the events
// handlers, since only they load the event.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ecoact/v1/common.pb.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/server_context.h"
#include "services/common/call_context.h"
#include "services/common/rate_limit.h"

namespace grpc {
class Service;
}

namespace ecoact {

// The declared policy of a method, named by its gRPC path
// ("/ecoact.v1.ActionsService/RecordAction") or its full protobuf name
// ("ecoact.v1.ActionsService.RecordAction"). NOT_FOUND for a method the
// descriptors do not know, FAILED_PRECONDITION for one declaring no policy.
absl::StatusOr<v1::Policy> DeclaredPolicy(absl::string_view method);

// Every method of every ecoact.v1 service linked into this binary, sorted by
// full name: what the policy table must cover.
std::vector<const google::protobuf::MethodDescriptor*> EcoactMethods();

// OK if the caller of `context` may call an RPC with `policy`; otherwise the
// Authenticator's UNAUTHENTICATED (missing, forged, expired token) or
// PERMISSION_DENIED (naming the roles the RPC is for). An unknown policy
// value is PERMISSION_DENIED: the check fails closed.
absl::Status Authorize(v1::Policy policy, const Authenticator& auth,
                       const grpc::ServerContext& context);

// "POLICY_CITIZEN" -> "citizen", for logs and docs.
absl::string_view PolicyName(v1::Policy policy);

// Puts the policy check in front of every method handler of `service`, a
// synchronous generated service (unary and server-streaming methods) not
// yet registered with a server. A denied
// call gets its status without the handler running. FAILED_PRECONDITION,
// naming every method without a declared policy, leaves the service
// unchanged. After authorisation, a non-null `limiter` takes a token of the
// RPC's bucket (rate_limit.h); an empty bucket is RESOURCE_EXHAUSTED with
// the wait in the message and in the `retry-after-ms` trailing metadata.
// `auth` and `limiter` must outlive the service.
absl::Status GuardService(grpc::Service* service, const Authenticator* auth,
                          const RateLimiter* limiter = nullptr);

}  // namespace ecoact
