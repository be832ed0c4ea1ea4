#include "services/identity/identity_service.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/grpc_status.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"

namespace ecoact::identity {
namespace {

using google::protobuf::util::TimeUtil;

constexpr size_t kMinPasswordLength = 12;
constexpr size_t kMaxSecretLength = 128;

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  *out = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

}  // namespace

void ToProfileProto(const AccountRecord& record, v1::Profile* profile) {
  profile->set_account_id(record.id);
  profile->set_role(record.role);
  profile->set_nickname(record.nickname);
  profile->set_ward(record.ward);
  profile->set_team(record.team);
  SetTimestamp(record.created_at, profile->mutable_created_at());
  profile->set_organisation(record.organisation);
  profile->set_hidden_from_public_boards(record.hidden);
  profile->set_test_account(record.test);
  for (const Membership& m : record.memberships) {
    v1::Membership* out = profile->add_memberships();
    out->set_team_id(m.team_id);
    out->set_organisation_id(m.organisation_id);
    SetTimestamp(m.since, out->mutable_since());
  }
}

IdentityServiceImpl::IdentityServiceImpl(AccountStore* store, TeamStore* teams,
                                         PrivacyStore* privacy, SessionStore* sessions,
                                         const Authenticator* auth, const WardDirectory* wards,
                                         IdentityOptions options)
    : store_(store), teams_(teams), privacy_(privacy), sessions_(sessions), auth_(auth),
      wards_(wards), options_(std::move(options)),
      dummy_hash_(HashSecret("no such account", options_.password_iterations)) {}

absl::Status IdentityServiceImpl::LoadProfile(absl::string_view id, v1::Profile* response) {
  ASSIGN_OR_RETURN(std::optional<AccountRecord> record, store_->Get(id));
  if (!record) return absl::NotFoundError("this account no longer exists");
  if (record->deleted) return absl::NotFoundError("this account was deleted");
  ToProfileProto(*record, response);
  return absl::OkStatus();
}

absl::Status IdentityServiceImpl::DoRegister(const v1::RegisterRequest& request,
                                             v1::RegisterResponse* response) {
  // 16+ characters: the request id alone decides the credentials, so it
  // must be as unguessable as a UUID.
  RETURN_IF_ERROR(ValidateRequestId(request.request_id(), 16));
  AccountRecord record;
  RETURN_IF_ERROR(ValidateProfile(*wards_, request.nickname(), request.ward(), &record.nickname));
  CodeTarget membership;
  if (!request.join_code().empty()) {
    ASSIGN_OR_RETURN(membership, ResolveJoinCode(request.join_code()));
  }
  CitizenCredentials credentials =
      DeriveCitizenCredentials(options_.credential_key, request.request_id());
  const absl::Time now = auth_->Now();
  record.id = credentials.account_id;
  record.role = v1::ROLE_CITIZEN;
  record.ward = request.ward();
  record.team = membership.team_id;
  record.organisation = membership.organisation_id;
  if (!request.join_code().empty()) {
    record.memberships.push_back({now, record.team, record.organisation});
  }
  record.secret_hash = HashSecret(credentials.secret, kCitizenSecretIterations);
  record.created_at = now;
  record.fingerprint = Fingerprint({"register", record.nickname, record.ward, record.team,
                                    record.organisation});
  ASSIGN_OR_RETURN(CreateOutcome outcome, store_->Create(record));
  if (outcome == CreateOutcome::kReplayed) {
    // A retry gets the same credentials again, derived anew, but only while
    // a retry is plausible: later, the request id alone must not hand out
    // the account's secret.
    ASSIGN_OR_RETURN(std::optional<AccountRecord> stored, store_->Get(record.id));
    if (!stored || now - stored->created_at > absl::Hours(24)) {
      return absl::AlreadyExistsError(
          "this request_id created an account more than 24 hours ago; sign in with SignIn");
    }
    record = *std::move(stored);
  }
  // Also on a replay: heals a first attempt that failed before this step.
  RETURN_IF_ERROR(teams_->AddMember(record));
  RETURN_IF_ERROR(LoadProfile(record.id, response->mutable_profile()));
  ASSIGN_OR_RETURN(IssuedTokens tokens, StartSession(record.id, v1::ROLE_CITIZEN, now));
  response->set_account_id(credentials.account_id);
  response->set_account_secret(credentials.secret);
  response->set_token(tokens.access_token);
  SetTimestamp(tokens.access_expires_at, response->mutable_token_expires_at());
  response->set_refresh_token(tokens.refresh_token);
  SetTimestamp(tokens.refresh_expires_at, response->mutable_refresh_token_expires_at());
  return absl::OkStatus();
}

absl::Status IdentityServiceImpl::DoSignIn(const v1::SignInRequest& request,
                                           v1::SignInResponse* response) {
  const absl::Status rejected =
      absl::UnauthenticatedError("unknown account or wrong secret");
  if (request.account_id().empty() || request.account_id().size() > 64 ||
      request.secret().empty() || request.secret().size() > kMaxSecretLength) {
    return rejected;
  }
  ASSIGN_OR_RETURN(std::optional<AccountRecord> record, store_->Get(request.account_id()));
  if (!record || record->deleted) {
    // Spend the same time as for a staff login, so response times do not
    // tell which logins exist.
    VerifySecret(request.secret(), dummy_hash_);
    return rejected;
  }
  if (!VerifySecret(request.secret(), record->secret_hash)) return rejected;
  ASSIGN_OR_RETURN(IssuedTokens tokens, StartSession(record->id, record->role, auth_->Now()));
  response->set_token(tokens.access_token);
  SetTimestamp(tokens.access_expires_at, response->mutable_token_expires_at());
  response->set_refresh_token(tokens.refresh_token);
  SetTimestamp(tokens.refresh_expires_at, response->mutable_refresh_token_expires_at());
  ToProfileProto(*record, response->mutable_profile());
  return absl::OkStatus();
}

absl::Status IdentityServiceImpl::DoUpdate(const grpc::ServerContext& context,
                                           const v1::UpdateMyProfileRequest& request,
                                           v1::Profile* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  ProfileChange change;
  if (!request.nickname().empty()) {
    std::string nickname;
    RETURN_IF_ERROR(ValidateDisplayText("nickname", request.nickname(), 24, &nickname));
    change.nickname = nickname;
  }
  if (!request.ward().empty()) {
    RETURN_IF_ERROR(ValidateSlug("ward", request.ward(), 2, 32));
    if (!wards_->Contains(request.ward())) {
      return absl::NotFoundError(absl::StrCat("unknown ward '", request.ward(), "'; see ListWards"));
    }
    change.ward = request.ward();
  }
  if (!v1::Visibility_IsValid(request.visibility())) {
    return absl::InvalidArgumentError("visibility must be UNCHANGED, HIDDEN or PUBLIC");
  }
  if (request.visibility() != v1::VISIBILITY_UNCHANGED) {
    change.hidden = request.visibility() == v1::VISIBILITY_HIDDEN;
  }
  ASSIGN_OR_RETURN(AccountRecord record, store_->UpdateProfile(claims.subject, change));
  ToProfileProto(record, response);
  return absl::OkStatus();
}

absl::Status IdentityServiceImpl::DoCreateStaff(const grpc::ServerContext& context,
                                                const v1::CreateStaffRequest& request,
                                                v1::Profile* response) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  RETURN_IF_ERROR(ValidateSlug("login", request.login(), 3, 32));
  if (request.password().size() < kMinPasswordLength ||
      request.password().size() > kMaxSecretLength) {
    return absl::InvalidArgumentError(absl::StrCat("password must be ", kMinPasswordLength,
                                                   " to ", kMaxSecretLength, " characters"));
  }
  AccountRecord record;
  RETURN_IF_ERROR(ValidateDisplayText(
      "display_name", request.display_name().empty() ? request.login() : request.display_name(),
      40, &record.nickname));
  record.id = request.login();
  record.role = v1::ROLE_STAFF;
  record.secret_hash = HashSecret(request.password(), options_.password_iterations);
  record.created_at = auth_->Now();
  record.fingerprint = Fingerprint({"staff", request.request_id(), record.id, record.nickname});
  ASSIGN_OR_RETURN(CreateOutcome outcome, store_->Create(record));
  if (outcome == CreateOutcome::kReplayed) {
    // The password is not in the fingerprint (it would be an unsalted hash
    // of it): check it against the stored one instead.
    ASSIGN_OR_RETURN(std::optional<AccountRecord> stored, store_->Get(record.id));
    if (!stored || !VerifySecret(request.password(), stored->secret_hash)) {
      return absl::AlreadyExistsError(
          "request_id was already used to create this staff account with another password");
    }
  }
  return LoadProfile(record.id, response);
}

grpc::Status IdentityServiceImpl::Register(grpc::ServerContext*, const v1::RegisterRequest* request,
                                           v1::RegisterResponse* response) {
  return ToGrpcStatus(DoRegister(*request, response));
}

grpc::Status IdentityServiceImpl::SignIn(grpc::ServerContext*, const v1::SignInRequest* request,
                                         v1::SignInResponse* response) {
  return ToGrpcStatus(DoSignIn(*request, response));
}

grpc::Status IdentityServiceImpl::GetMyProfile(grpc::ServerContext* context,
                                               const v1::GetMyProfileRequest*,
                                               v1::Profile* response) {
  auto claims = auth_->RequireAny(*context);
  if (!claims.ok()) return ToGrpcStatus(claims.status());
  return ToGrpcStatus(LoadProfile(claims->subject, response));
}

grpc::Status IdentityServiceImpl::UpdateMyProfile(grpc::ServerContext* context,
                                                  const v1::UpdateMyProfileRequest* request,
                                                  v1::Profile* response) {
  return ToGrpcStatus(DoUpdate(*context, *request, response));
}

grpc::Status IdentityServiceImpl::CreateStaff(grpc::ServerContext* context,
                                              const v1::CreateStaffRequest* request,
                                              v1::Profile* response) {
  return ToGrpcStatus(DoCreateStaff(*context, *request, response));
}

grpc::Status IdentityServiceImpl::ListWards(grpc::ServerContext*, const v1::ListWardsRequest*,
                                            v1::ListWardsResponse* response) {
  for (const WardInfo& ward : wards_->wards()) {
    v1::Ward* out = response->add_wards();
    out->set_id(ward.id);
    out->set_name(ward.name);
  }
  return grpc::Status::OK;
}

absl::Status EnsureAdmin(AccountStore* store, absl::string_view login, absl::string_view password,
                         int iterations, absl::Time now) {
  RETURN_IF_ERROR(ValidateSlug("--admin_login", login, 3, 32));
  if (password.size() < kMinPasswordLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--admin_password (ECOACT_ADMIN_PASSWORD) must be at least ", kMinPasswordLength,
        " characters"));
  }
  ASSIGN_OR_RETURN(std::optional<AccountRecord> existing, store->Get(login));
  if (existing) return absl::OkStatus();
  AccountRecord record;
  record.id = std::string(login);
  record.role = v1::ROLE_ADMIN;
  record.nickname = std::string(login);
  record.secret_hash = HashSecret(password, iterations);
  record.created_at = now;
  record.fingerprint = Fingerprint({"bootstrap-admin", login});
  return store->Create(record).status();
}

}  // namespace ecoact::identity
