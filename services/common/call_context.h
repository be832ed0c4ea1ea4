// Authentication and role checks for gRPC handlers: the one place that reads
// the `authorization` metadata.
#pragma once

#include <initializer_list>
#include <optional>

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

  // Remembers the outcome of verifying one call's token while the call runs
  // on this thread, so that the policy gate, the rate limiter and the
  // handler verify the signature once (an ES256 verification costs about
  // 60 us of CPU). Set by the policy gate around each synchronous handler;
  // scopes do not nest across calls, and nothing outlives the call.
  class CallScope {
   public:
    CallScope(const Authenticator* auth, const grpc::ServerContext* context);
    ~CallScope();
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;
  };

 private:
  // The bearer token's claims, verified (or read from the call's scope).
  absl::StatusOr<TokenClaims> Verified(const grpc::ServerContext& context) const;
  absl::StatusOr<TokenClaims> VerifyMetadata(const grpc::ServerContext& context) const;

  const TokenService* tokens_;
  Clock clock_;
};

}  // namespace ecoact
