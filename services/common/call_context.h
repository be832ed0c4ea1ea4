// Authentication and role checks for gRPC handlers: the one place that reads
// the `authorization` metadata.
#pragma once

#include <initializer_list>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "services/common/clock.h"
#include "services/common/tokens.h"

namespace ecoact {

class Authenticator {
 public:
  Authenticator(const TokenService* tokens, Clock clock)
      : tokens_(tokens), clock_(std::move(clock)) {}

  // Verifies the bearer token and that its role is one of `allowed`.
  // UNAUTHENTICATED without a valid token, PERMISSION_DENIED for another role.
  absl::StatusOr<TokenClaims> Require(const grpc::ServerContext& context,
                                      std::initializer_list<v1::Role> allowed) const;

  // Any valid token.
  absl::StatusOr<TokenClaims> RequireAny(const grpc::ServerContext& context) const {
    return Require(context, {v1::ROLE_CITIZEN, v1::ROLE_STAFF, v1::ROLE_ADMIN});
  }

  const TokenService& tokens() const { return *tokens_; }
  absl::Time Now() const { return clock_(); }

 private:
  const TokenService* tokens_;
  Clock clock_;
};

}  // namespace ecoact
