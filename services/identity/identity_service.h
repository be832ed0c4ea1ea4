// gRPC handlers of ecoact.v1.IdentityService: thin adapters over the domain
// rules in accounts.h and the AccountStore.
#pragma once

#include "ecoact/v1/identity.grpc.pb.h"
#include "services/common/call_context.h"
#include "services/identity/account_store.h"
#include "services/identity/accounts.h"
#include "services/identity/oidc.h"
#include "services/identity/privacy_store.h"
#include "services/identity/session_store.h"
#include "services/identity/team_store.h"

namespace ecoact::identity {

struct IdentityOptions {
  // Key under which citizen credentials are derived from request ids.
  std::string credential_key;
  // PBKDF2 iterations for staff/admin passwords (citizen secrets are random
  // 256-bit values and need no stretching beyond kCitizenSecretIterations).
  int password_iterations = 100000;
  // The OpenID Connect provider SignInWithOidc accepts; none: UNIMPLEMENTED.
  std::shared_ptr<OidcProvider> oidc;
};

// What a sign-in hands out (identity_sessions.cc).
struct IssuedTokens {
  std::string access_token;
  absl::Time access_expires_at;
  std::string refresh_token;
  absl::Time refresh_expires_at;
};

inline constexpr int kCitizenSecretIterations = 1000;

class IdentityServiceImpl final : public v1::IdentityService::Service {
 public:
  IdentityServiceImpl(AccountStore* store, TeamStore* teams, PrivacyStore* privacy,
                      SessionStore* sessions, const Authenticator* auth,
                      const WardDirectory* wards, IdentityOptions options);

  grpc::Status Register(grpc::ServerContext* context, const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override;
  grpc::Status SignIn(grpc::ServerContext* context, const v1::SignInRequest* request,
                      v1::SignInResponse* response) override;
  // Refresh tokens and OpenID Connect (identity_sessions.cc).
  grpc::Status RefreshToken(grpc::ServerContext* context, const v1::RefreshTokenRequest* request,
                            v1::RefreshTokenResponse* response) override;
  grpc::Status SignOut(grpc::ServerContext* context, const v1::SignOutRequest* request,
                       v1::SignOutResponse* response) override;
  grpc::Status SignInWithOidc(grpc::ServerContext* context,
                              const v1::SignInWithOidcRequest* request,
                              v1::SignInWithOidcResponse* response) override;
  grpc::Status GetMyProfile(grpc::ServerContext* context, const v1::GetMyProfileRequest* request,
                            v1::Profile* response) override;
  grpc::Status UpdateMyProfile(grpc::ServerContext* context,
                               const v1::UpdateMyProfileRequest* request,
                               v1::Profile* response) override;
  grpc::Status CreateStaff(grpc::ServerContext* context, const v1::CreateStaffRequest* request,
                           v1::Profile* response) override;
  grpc::Status ListWards(grpc::ServerContext* context, const v1::ListWardsRequest* request,
                         v1::ListWardsResponse* response) override;

  // Teams and organisations (identity_teams.cc).
  grpc::Status CreateOrganisation(grpc::ServerContext* context,
                                  const v1::CreateOrganisationRequest* request,
                                  v1::Organisation* response) override;
  grpc::Status CreateTeam(grpc::ServerContext* context, const v1::CreateTeamRequest* request,
                          v1::Team* response) override;
  grpc::Status ListTeams(grpc::ServerContext* context, const v1::ListTeamsRequest* request,
                         v1::ListTeamsResponse* response) override;
  grpc::Status ListOrganisations(grpc::ServerContext* context,
                                 const v1::ListOrganisationsRequest* request,
                                 v1::ListOrganisationsResponse* response) override;
  grpc::Status JoinWithCode(grpc::ServerContext* context, const v1::JoinWithCodeRequest* request,
                            v1::Profile* response) override;
  grpc::Status LeaveTeam(grpc::ServerContext* context, const v1::LeaveTeamRequest* request,
                         v1::Profile* response) override;
  grpc::Status LeaveOrganisation(grpc::ServerContext* context,
                                 const v1::LeaveOrganisationRequest* request,
                                 v1::Profile* response) override;
  grpc::Status SetTestAccount(grpc::ServerContext* context,
                              const v1::SetTestAccountRequest* request,
                              v1::Profile* response) override;

  // Personal data (identity_privacy.cc).
  grpc::Status ExportMyData(grpc::ServerContext* context, const v1::ExportMyDataRequest* request,
                            v1::ExportMyDataResponse* response) override;
  grpc::Status DeleteMyAccount(grpc::ServerContext* context,
                               const v1::DeleteMyAccountRequest* request,
                               v1::DeleteMyAccountResponse* response) override;

 private:
  absl::Status DoExport(const grpc::ServerContext& context, v1::ExportMyDataResponse* response);
  absl::Status DoDelete(const grpc::ServerContext& context,
                        const v1::DeleteMyAccountRequest& request,
                        v1::DeleteMyAccountResponse* response);
  // Creates a team or organisation under a fresh join code.
  absl::StatusOr<Group> DoCreateGroup(const grpc::ServerContext& context,
                                      absl::string_view request_id, Group group);
  absl::Status DoListGroups(const grpc::ServerContext& context, GroupKind kind,
                            absl::string_view organisation_id, std::vector<Group>* groups);
  // The team or organisation a typed code stands for.
  absl::StatusOr<CodeTarget> ResolveJoinCode(absl::string_view typed);
  absl::Status DoChangeMembership(const grpc::ServerContext& context, absl::string_view request_id,
                                  MembershipOp op, absl::string_view join_code,
                                  v1::Profile* response);
  absl::Status DoSetTestAccount(const grpc::ServerContext& context,
                                const v1::SetTestAccountRequest& request, v1::Profile* response);

  // An access token and a new refresh token family for the account.
  absl::StatusOr<IssuedTokens> StartSession(const std::string& account_id, v1::Role role,
                                            absl::Time now);
  absl::Status DoRefresh(const v1::RefreshTokenRequest& request,
                         v1::RefreshTokenResponse* response);
  absl::Status DoSignOut(const v1::SignOutRequest& request);
  absl::Status DoSignInWithOidc(const v1::SignInWithOidcRequest& request,
                                v1::SignInWithOidcResponse* response);

  absl::Status DoRegister(const v1::RegisterRequest& request, v1::RegisterResponse* response);
  absl::Status DoSignIn(const v1::SignInRequest& request, v1::SignInResponse* response);
  absl::Status DoUpdate(const grpc::ServerContext& context,
                        const v1::UpdateMyProfileRequest& request, v1::Profile* response);
  absl::Status DoCreateStaff(const grpc::ServerContext& context,
                             const v1::CreateStaffRequest& request, v1::Profile* response);
  absl::Status LoadProfile(absl::string_view id, v1::Profile* response);

  AccountStore* store_;
  TeamStore* teams_;
  PrivacyStore* privacy_;
  SessionStore* sessions_;
  const Authenticator* auth_;
  const WardDirectory* wards_;
  IdentityOptions options_;
  std::string dummy_hash_;
};

// Creates the first admin account if it does not exist yet; an existing
// account of that login is left as it is.
absl::Status EnsureAdmin(AccountStore* store, absl::string_view login, absl::string_view password,
                         int iterations, absl::Time now);

void ToProfileProto(const AccountRecord& record, v1::Profile* profile);

}  // namespace ecoact::identity
