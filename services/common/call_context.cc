#include "services/common/call_context.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ecoact {
namespace {

// The call that the policy gate is running on this thread, and its token's
// verification once done.
struct CallMemo {
  const Authenticator* auth = nullptr;
  const grpc::ServerContext* context = nullptr;
  std::optional<absl::StatusOr<TokenClaims>> verified;
};
thread_local CallMemo call_memo;

}  // namespace

Authenticator::CallScope::CallScope(const Authenticator* auth,
                                    const grpc::ServerContext* context) {
  call_memo = CallMemo{auth, context, std::nullopt};
}

Authenticator::CallScope::~CallScope() { call_memo = CallMemo{}; }

absl::StatusOr<TokenClaims> Authenticator::Verified(const grpc::ServerContext& context) const {
  if (call_memo.auth != this || call_memo.context != &context) return VerifyMetadata(context);
  if (!call_memo.verified.has_value()) call_memo.verified = VerifyMetadata(context);
  return *call_memo.verified;
}

absl::StatusOr<TokenClaims> Authenticator::VerifyMetadata(
    const grpc::ServerContext& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        "missing 'authorization: Bearer <token>' metadata; sign in with IdentityService");
  }
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::StartsWithIgnoreCase(value, "bearer ")) {
    return absl::UnauthenticatedError("authorization metadata must be 'Bearer <token>'");
  }
  return tokens_->Verify(value.substr(7), clock_());
}

absl::StatusOr<TokenClaims> Authenticator::Require(const grpc::ServerContext& context,
                                                   std::initializer_list<v1::Role> allowed) const {
  absl::StatusOr<TokenClaims> claims = Verified(context);
  if (!claims.ok()) return claims.status();
  for (v1::Role role : allowed) {
    if (claims->role == role) return claims;
  }
  std::vector<std::string> names;
  for (v1::Role role : allowed) names.emplace_back(RoleName(role));
  return absl::PermissionDeniedError(absl::StrCat("this call is for ", absl::StrJoin(names, "/"),
                                                  " accounts; the caller's role is ",
                                                  RoleName(claims->role)));
}

}  // namespace ecoact
