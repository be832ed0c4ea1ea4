// IdentityService: refresh tokens, sign-out and OpenID Connect sign-in
// (docs/security.md, "Tokens").
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/clock.h"
#include "services/common/grpc_status.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"
#include "services/identity/identity_service.h"
#include "services/identity/refresh_tokens.h"

namespace ecoact::identity {
namespace {

using google::protobuf::util::TimeUtil;

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  *out = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

template <typename Response>
void SetTokens(const IssuedTokens& tokens, Response* response) {
  response->set_token(tokens.access_token);
  SetTimestamp(tokens.access_expires_at, response->mutable_token_expires_at());
  response->set_refresh_token(tokens.refresh_token);
  SetTimestamp(tokens.refresh_expires_at, response->mutable_refresh_token_expires_at());
}

absl::Status RefreshRejected(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid refresh token: ", why));
}

}  // namespace

absl::StatusOr<IssuedTokens> IdentityServiceImpl::StartSession(const std::string& account_id,
                                                               v1::Role role, absl::Time now) {
  RefreshCredential refresh = NewRefreshToken(account_id, RandomBytes(48));
  ASSIGN_OR_RETURN(absl::Time refresh_expires,
                   sessions_->StartFamily(account_id, refresh.family,
                                          SecretHash(refresh.secret), now));
  IssuedTokens tokens;
  tokens.access_token = auth_->tokens().Issue(account_id, role, now);
  tokens.access_expires_at = now + auth_->tokens().lifetime();
  tokens.refresh_token = refresh.Format();
  tokens.refresh_expires_at = refresh_expires;
  return tokens;
}

absl::Status IdentityServiceImpl::DoRefresh(const v1::RefreshTokenRequest& request,
                                            v1::RefreshTokenResponse* response) {
  std::optional<RefreshCredential> presented = RefreshCredential::Parse(request.refresh_token());
  if (!presented) return RefreshRejected("not an ecoact refresh token (\"rt1.<...>\")");
  RefreshCredential next = NextRefreshToken(options_.credential_key, *presented);
  const absl::Time now = auth_->Now();
  ASSIGN_OR_RETURN(RotateResult result,
                   sessions_->Rotate(presented->account_id, presented->family,
                                     SecretHash(presented->secret), SecretHash(next.secret), now));
  switch (result.outcome) {
    case RotateOutcome::kRotated:
    case RotateOutcome::kReplayed:
      break;
    case RotateOutcome::kReused:
      return RefreshRejected(
          "it was already used; as a precaution every refresh token of this sign-in is now "
          "revoked: sign in again");
    case RotateOutcome::kExpired:
      return RefreshRejected("expired; sign in again");
    case RotateOutcome::kTooOld:
      return absl::UnauthenticatedError(absl::StrCat(
          "this sign-in is older than ",
          absl::FormatDuration(sessions_->policy().MaxAge(result.role)), "; sign in again"));
    case RotateOutcome::kGone:
      return RefreshRejected("its account was deleted");
    case RotateOutcome::kUnknown:
      return RefreshRejected("unknown or revoked (signed out, or replaced after a reuse); sign "
                             "in again");
  }
  if (result.role == v1::ROLE_UNSPECIFIED) return RefreshRejected("its account has no role");
  IssuedTokens tokens;
  tokens.access_token = auth_->tokens().Issue(presented->account_id, result.role, now);
  tokens.access_expires_at = now + auth_->tokens().lifetime();
  tokens.refresh_token = next.Format();
  tokens.refresh_expires_at = result.expires_at;
  SetTokens(tokens, response);
  return absl::OkStatus();
}

absl::Status IdentityServiceImpl::DoSignOut(const v1::SignOutRequest& request) {
  std::optional<RefreshCredential> token = RefreshCredential::Parse(request.refresh_token());
  if (!token) {
    return absl::InvalidArgumentError(
        "refresh_token is not an ecoact refresh token (\"rt1.<...>\")");
  }
  return sessions_->SignOut(token->account_id, token->family, SecretHash(token->secret),
                            auth_->Now());
}

absl::Status IdentityServiceImpl::DoSignInWithOidc(const v1::SignInWithOidcRequest& request,
                                                   v1::SignInWithOidcResponse* response) {
  if (!options_.oidc) {
    return absl::UnimplementedError(
        "this deployment accepts no OpenID Connect sign-in (the operator sets --oidc_issuer, "
        "--oidc_audience and --oidc_jwks_file); use Register and SignIn");
  }
  const absl::Time now = auth_->Now();
  ASSIGN_OR_RETURN(OidcIdentity identity, options_.oidc->Verify(request.id_token(), now));
  const std::string link = identity.LinkKey(options_.credential_key);
  ASSIGN_OR_RETURN(std::string linked, sessions_->FindOidc(link));
  std::string deleted;
  if (!linked.empty()) {
    ASSIGN_OR_RETURN(std::optional<AccountRecord> record, store_->Get(linked));
    if (record && !record->deleted) {
      ASSIGN_OR_RETURN(IssuedTokens tokens, StartSession(record->id, record->role, now));
      SetTokens(tokens, response);
      ToProfileProto(*record, response->mutable_profile());
      return absl::OkStatus();
    }
    if (record) deleted = linked;  // deleted: a new account replaces it
  }
  // First sign-in with this identity: an account like Register's.
  std::vector<std::string> missing;
  if (request.nickname().empty()) missing.push_back("nickname");
  if (request.ward().empty()) missing.push_back("ward");
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "first sign-in with this identity creates an ecoact account: give ",
        absl::StrJoin(missing, " and "), " (see ListWards)"));
  }
  AccountRecord record;
  RETURN_IF_ERROR(ValidateProfile(*wards_, request.nickname(), request.ward(), &record.nickname));
  CodeTarget membership;
  if (!request.join_code().empty()) {
    ASSIGN_OR_RETURN(membership, ResolveJoinCode(request.join_code()));
  }
  const std::string candidate = "u" + Base32(RandomBytes(16)).substr(0, 20);
  ASSIGN_OR_RETURN(record.id, sessions_->LinkOidc(link, candidate, deleted));
  record.role = v1::ROLE_CITIZEN;
  record.ward = request.ward();
  record.team = membership.team_id;
  record.organisation = membership.organisation_id;
  if (!request.join_code().empty()) {
    record.memberships.push_back({now, record.team, record.organisation});
  }
  record.created_at = now;
  record.oidc = link;
  // No secret: this account signs in through its provider only. The same
  // fingerprint for every first sign-in of the identity makes concurrent
  // first sign-ins meet in one account.
  record.fingerprint = Fingerprint({"oidc", link});
  ASSIGN_OR_RETURN(CreateOutcome outcome, store_->Create(record));
  if (outcome == CreateOutcome::kReplayed) {
    ASSIGN_OR_RETURN(std::optional<AccountRecord> stored, store_->Get(record.id));
    if (!stored) return absl::UnavailableError("the account vanished while signing in; retry");
    record = *std::move(stored);
  }
  RETURN_IF_ERROR(teams_->AddMember(record));
  ASSIGN_OR_RETURN(IssuedTokens tokens, StartSession(record.id, v1::ROLE_CITIZEN, now));
  SetTokens(tokens, response);
  RETURN_IF_ERROR(LoadProfile(record.id, response->mutable_profile()));
  response->set_created(outcome == CreateOutcome::kCreated);
  return absl::OkStatus();
}

grpc::Status IdentityServiceImpl::RefreshToken(grpc::ServerContext*,
                                               const v1::RefreshTokenRequest* request,
                                               v1::RefreshTokenResponse* response) {
  return ToGrpcStatus(DoRefresh(*request, response));
}

grpc::Status IdentityServiceImpl::SignOut(grpc::ServerContext*, const v1::SignOutRequest* request,
                                          v1::SignOutResponse*) {
  return ToGrpcStatus(DoSignOut(*request));
}

grpc::Status IdentityServiceImpl::SignInWithOidc(grpc::ServerContext*,
                                                 const v1::SignInWithOidcRequest* request,
                                                 v1::SignInWithOidcResponse* response) {
  return ToGrpcStatus(DoSignInWithOidc(*request, response));
}

}  // namespace ecoact::identity
