// IdentityService handlers of teams, organisations, join codes and the
// admins' test-account flag (docs/gamification.md).
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/clock.h"
#include "services/common/grpc_status.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"
#include "services/identity/identity_service.h"

namespace ecoact::identity {
namespace {

using google::protobuf::util::TimeUtil;

// Collisions are rare (2^40 codes): a few fresh draws always suffice unless
// something is wrong.
constexpr int kCodeAttempts = 5;

template <typename Proto>
void FillCommon(const Group& group, bool show_code, Proto* out) {
  out->set_id(group.id);
  out->set_name(group.name);
  if (show_code) out->set_join_code(group.join_code);
  out->set_member_count(group.member_count);
  *out->mutable_created_at() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(group.created_at));
}

void ToTeamProto(const Group& group, bool show_code, v1::Team* out) {
  FillCommon(group, show_code, out);
  out->set_organisation_id(group.organisation_id);
}

}  // namespace

absl::StatusOr<Group> IdentityServiceImpl::DoCreateGroup(const grpc::ServerContext& context,
                                                        absl::string_view request_id,
                                                        Group group) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  RETURN_IF_ERROR(ValidateRequestId(request_id));
  std::string name;
  RETURN_IF_ERROR(ValidateGroup(group.kind, group.id, group.name, &name));
  group.name = name;
  if (!group.organisation_id.empty()) {
    RETURN_IF_ERROR(ValidateSlug("organisation_id", group.organisation_id, 2, 32));
  }
  group.created_at = auth_->Now();
  const std::string fingerprint = Fingerprint(
      {group.kind == GroupKind::kTeam ? "team" : "org", request_id, group.name,
       group.organisation_id});
  for (int attempt = 0; attempt < kCodeAttempts; ++attempt) {
    group.join_code = JoinCodeFromBytes(RandomBytes(5));
    ASSIGN_OR_RETURN(CreateGroupResult result, teams_->Create(group, fingerprint));
    if (result.outcome != CreateGroupOutcome::kCodeTaken) return result.group;
  }
  return absl::UnavailableError("could not draw an unused join code; try again");
}

absl::Status IdentityServiceImpl::DoListGroups(const grpc::ServerContext& context, GroupKind kind,
                                               absl::string_view organisation_id,
                                               std::vector<Group>* groups) {
  RETURN_IF_ERROR(auth_->RequireAny(context).status());
  if (!organisation_id.empty()) {
    RETURN_IF_ERROR(ValidateSlug("organisation_id", organisation_id, 2, 32));
    ASSIGN_OR_RETURN(bool exists, teams_->Exists(GroupKind::kOrganisation, organisation_id));
    if (!exists) {
      return absl::NotFoundError(
          absl::StrCat("organisation '", organisation_id, "' does not exist; see ListOrganisations"));
    }
  }
  ASSIGN_OR_RETURN(*groups, teams_->List(kind, organisation_id));
  return absl::OkStatus();
}

absl::StatusOr<CodeTarget> IdentityServiceImpl::ResolveJoinCode(absl::string_view typed) {
  ASSIGN_OR_RETURN(std::string code, NormaliseJoinCode(typed));
  ASSIGN_OR_RETURN(std::optional<CodeTarget> target, teams_->ResolveCode(code));
  if (!target) {
    return absl::NotFoundError(absl::StrCat(
        "no team or organisation has join code '", code, "'; check the code with its organiser"));
  }
  return *target;
}

absl::Status IdentityServiceImpl::DoChangeMembership(const grpc::ServerContext& context,
                                                     absl::string_view request_id,
                                                     MembershipOp op, absl::string_view join_code,
                                                     v1::Profile* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  RETURN_IF_ERROR(ValidateRequestId(request_id));
  MembershipChange change;
  change.op = op;
  change.request_id = std::string(request_id);
  change.now = auth_->Now();
  if (op == MembershipOp::kJoin) {
    if (join_code.empty()) return absl::InvalidArgumentError("join_code is required");
    ASSIGN_OR_RETURN(change.target, ResolveJoinCode(join_code));
  }
  ASSIGN_OR_RETURN(AccountRecord record, teams_->ChangeMembership(claims.subject, change));
  ToProfileProto(record, response);
  return absl::OkStatus();
}

absl::Status IdentityServiceImpl::DoSetTestAccount(const grpc::ServerContext& context,
                                                   const v1::SetTestAccountRequest& request,
                                                   v1::Profile* response) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  if (request.account_id().empty() || request.account_id().size() > 64) {
    return absl::InvalidArgumentError("account_id must be a citizen's account id");
  }
  ProfileChange change;
  change.test = request.test();
  ASSIGN_OR_RETURN(AccountRecord record, store_->UpdateProfile(request.account_id(), change));
  ToProfileProto(record, response);
  return absl::OkStatus();
}

grpc::Status IdentityServiceImpl::CreateOrganisation(grpc::ServerContext* context,
                                                     const v1::CreateOrganisationRequest* request,
                                                     v1::Organisation* response) {
  Group group;
  group.kind = GroupKind::kOrganisation;
  group.id = request->organisation_id();
  group.name = request->name();
  auto created = DoCreateGroup(*context, request->request_id(), std::move(group));
  if (created.ok()) FillCommon(*created, /*show_code=*/true, response);
  return ToGrpcStatus(created.status());
}

grpc::Status IdentityServiceImpl::CreateTeam(grpc::ServerContext* context,
                                             const v1::CreateTeamRequest* request,
                                             v1::Team* response) {
  Group group;
  group.kind = GroupKind::kTeam;
  group.id = request->team_id();
  group.name = request->name();
  group.organisation_id = request->organisation_id();
  auto created = DoCreateGroup(*context, request->request_id(), std::move(group));
  if (created.ok()) ToTeamProto(*created, /*show_code=*/true, response);
  return ToGrpcStatus(created.status());
}

grpc::Status IdentityServiceImpl::ListTeams(grpc::ServerContext* context,
                                            const v1::ListTeamsRequest* request,
                                            v1::ListTeamsResponse* response) {
  std::vector<Group> teams;
  absl::Status listed = DoListGroups(*context, GroupKind::kTeam, request->organisation_id(), &teams);
  // Join codes let anyone in: only admins hand them out.
  const bool admin = auth_->Require(*context, {v1::ROLE_ADMIN}).ok();
  for (const Group& team : teams) ToTeamProto(team, admin, response->add_teams());
  return ToGrpcStatus(listed);
}

grpc::Status IdentityServiceImpl::ListOrganisations(grpc::ServerContext* context,
                                                    const v1::ListOrganisationsRequest*,
                                                    v1::ListOrganisationsResponse* response) {
  std::vector<Group> organisations;
  absl::Status listed = DoListGroups(*context, GroupKind::kOrganisation, "", &organisations);
  const bool admin = auth_->Require(*context, {v1::ROLE_ADMIN}).ok();
  for (const Group& org : organisations) FillCommon(org, admin, response->add_organisations());
  return ToGrpcStatus(listed);
}

grpc::Status IdentityServiceImpl::JoinWithCode(grpc::ServerContext* context,
                                               const v1::JoinWithCodeRequest* request,
                                               v1::Profile* response) {
  return ToGrpcStatus(DoChangeMembership(*context, request->request_id(), MembershipOp::kJoin,
                                         request->join_code(), response));
}

grpc::Status IdentityServiceImpl::LeaveTeam(grpc::ServerContext* context,
                                            const v1::LeaveTeamRequest* request,
                                            v1::Profile* response) {
  return ToGrpcStatus(DoChangeMembership(*context, request->request_id(), MembershipOp::kLeaveTeam,
                                         "", response));
}

grpc::Status IdentityServiceImpl::LeaveOrganisation(grpc::ServerContext* context,
                                                    const v1::LeaveOrganisationRequest* request,
                                                    v1::Profile* response) {
  return ToGrpcStatus(DoChangeMembership(*context, request->request_id(),
                                         MembershipOp::kLeaveOrganisation, "", response));
}

grpc::Status IdentityServiceImpl::SetTestAccount(grpc::ServerContext* context,
                                                 const v1::SetTestAccountRequest* request,
                                                 v1::Profile* response) {
  return ToGrpcStatus(DoSetTestAccount(*context, *request, response));
}

}  // namespace ecoact::identity
