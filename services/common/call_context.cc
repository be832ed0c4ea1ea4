#include "services/common/call_context.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ecoact {

absl::StatusOr<TokenClaims> Authenticator::Require(const grpc::ServerContext& context,
                                                   std::initializer_list<v1::Role> allowed) const {
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
  auto claims = tokens_->Verify(value.substr(7), clock_());
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
