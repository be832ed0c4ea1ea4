// The team and organisation commands of `ecoact` (IdentityService, see
// protos/ecoact/v1/identity.proto): admins create organisations and teams
// and hand out their join codes; citizens join with a code and leave; admins
// mark test accounts, which never appear on public boards.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/cli.h"

namespace ecoact::cli {
namespace {

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

void PrintMembership(const v1::Profile& p) {
  std::printf("team %s, organisation %s\n", OrDash(p.team()).c_str(),
              OrDash(p.organisation()).c_str());
  Rows rows = {{"SINCE", "TEAM", "ORGANISATION"}};
  for (const v1::Membership& m : p.memberships()) {
    rows.push_back({ShowTime(m.since()), OrDash(m.team_id()), OrDash(m.organisation_id())});
  }
  if (rows.size() > 1) PrintTable(rows);
}

void PrintTeam(const v1::Team& t) {
  PrintTable({{"team", t.id()},
              {"name", t.name()},
              {"organisation", OrDash(t.organisation_id())},
              {"join code", OrDash(t.join_code())},
              {"members", absl::StrCat(t.member_count())},
              {"created", ShowTime(t.created_at())}});
}

void PrintOrganisation(const v1::Organisation& o) {
  PrintTable({{"organisation", o.id()},
              {"name", o.name()},
              {"join code", OrDash(o.join_code())},
              {"members", absl::StrCat(o.member_count())},
              {"created", ShowTime(o.created_at())}});
}

}  // namespace

int OrgCreate(Client& client, const Invocation& in) {
  v1::CreateOrganisationRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  request.set_organisation_id(in.Arg(0));
  request.set_name(in.Arg(1));
  return Exchange<v1::Organisation>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.identity().CreateOrganisation(c, request, out); },
      PrintOrganisation, RetryOption("request_id", request.request_id()));
}

int OrgList(Client& client, const Invocation&) {
  return Exchange<v1::ListOrganisationsResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) {
        return client.identity().ListOrganisations(c, v1::ListOrganisationsRequest(), out);
      },
      [](const v1::ListOrganisationsResponse& r) {
        if (r.organisations().empty()) {
          std::printf("No organisations yet (an admin creates them with `ecoact org create`).\n");
          return;
        }
        Rows rows = {{"ORGANISATION", "NAME", "MEMBERS", "JOIN CODE"}};
        for (const v1::Organisation& o : r.organisations()) {
          rows.push_back({o.id(), o.name(), absl::StrCat(o.member_count()), OrDash(o.join_code())});
        }
        PrintTable(rows);
      });
}

int TeamCreate(Client& client, const Invocation& in) {
  v1::CreateTeamRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  request.set_team_id(in.Arg(0));
  request.set_name(in.Arg(1));
  request.set_organisation_id(in.Str("org"));
  return Exchange<v1::Team>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.identity().CreateTeam(c, request, out); }, PrintTeam,
      RetryOption("request_id", request.request_id()));
}

int TeamList(Client& client, const Invocation& in) {
  v1::ListTeamsRequest request;
  request.set_organisation_id(in.Str("org"));
  return Exchange<v1::ListTeamsResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.identity().ListTeams(c, request, out); },
      [](const v1::ListTeamsResponse& r) {
        if (r.teams().empty()) {
          std::printf("No teams yet (an admin creates them with `ecoact team create`).\n");
          return;
        }
        Rows rows = {{"TEAM", "NAME", "ORGANISATION", "MEMBERS", "JOIN CODE"}};
        for (const v1::Team& t : r.teams()) {
          rows.push_back({t.id(), t.name(), OrDash(t.organisation_id()),
                          absl::StrCat(t.member_count()), OrDash(t.join_code())});
        }
        PrintTable(rows);
      });
}

int Join(Client& client, const Invocation& in) {
  v1::JoinWithCodeRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  request.set_join_code(in.Arg(0));
  return Exchange<v1::Profile>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.identity().JoinWithCode(c, request, out); },
      PrintMembership, RetryOption("request_id", request.request_id()));
}

int TeamLeave(Client& client, const Invocation& in) {
  v1::LeaveTeamRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  return Exchange<v1::Profile>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.identity().LeaveTeam(c, request, out); },
      PrintMembership, RetryOption("request_id", request.request_id()));
}

int OrgLeave(Client& client, const Invocation& in) {
  v1::LeaveOrganisationRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  return Exchange<v1::Profile>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.identity().LeaveOrganisation(c, request, out); },
      PrintMembership, RetryOption("request_id", request.request_id()));
}

int AdminTestAccount(Client& client, const Invocation& in) {
  v1::SetTestAccountRequest request;
  request.set_account_id(in.Arg(0));
  request.set_test(!in.Flag("off"));
  return Exchange<v1::Profile>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.identity().SetTestAccount(c, request, out); },
      [](const v1::Profile& p) {
        std::printf("Account %s is %s.\n", p.account_id().c_str(),
                    p.test_account() ? "a test account: kept off public boards"
                                     : "an ordinary account again");
      });
}

}  // namespace ecoact::cli
