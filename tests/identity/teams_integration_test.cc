// Teams, organisations and join codes through gRPC on a real Redis: creation
// by admins, joining by code, dated membership history, member counts,
// privacy flags and the projector's resync queue.
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using ::testing::HasSubstr;

int64_t TimeUtilMillis(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1000000;
}

class TeamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    admin_ = stack_->AdminToken();
  }

  grpc::Status CreateTeam(const std::string& request_id, const std::string& id,
                          const std::string& name, const std::string& org, v1::Team* team) {
    v1::CreateTeamRequest request;
    request.set_request_id(request_id);
    request.set_team_id(id);
    request.set_name(name);
    request.set_organisation_id(org);
    return stack_->identity()->CreateTeam(Stack::Context(admin_).get(), request, team);
  }

  v1::ListTeamsResponse ListTeams(const std::string& token, const std::string& org = "") {
    v1::ListTeamsRequest request;
    request.set_organisation_id(org);
    v1::ListTeamsResponse response;
    grpc::Status status = stack_->identity()->ListTeams(Stack::Context(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  int64_t TeamMembers(const std::string& token, const std::string& team_id) {
    const v1::ListTeamsResponse teams = ListTeams(token);
    for (const v1::Team& team : teams.teams()) {
      if (team.id() == team_id) return team.member_count();
    }
    ADD_FAILURE() << "no team " << team_id;
    return -1;
  }

  std::string AccountField(const std::string& account_id, const std::string& field) {
    auto reply = stack_->redis().Command({"HGET", stack_->keys().Account(account_id), field});
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->str : "";
  }

  bool QueuedForResync(const std::string& account_id) {
    auto reply = stack_->redis().Command({"SISMEMBER", stack_->keys().ResyncQueue(), account_id});
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() && reply->integer == 1;
  }

  std::unique_ptr<Stack> stack_;
  std::string admin_;
};

TEST_F(TeamsTest, AdminCreatesOrganisationsAndTeamsIdempotently) {
  v1::CreateOrganisationRequest org_request;
  org_request.set_request_id("create-org-0001");
  org_request.set_organisation_id("fujitsu");
  org_request.set_name("  富士通 川崎工場 ");
  v1::Organisation org, org_again;
  ASSERT_TRUE(stack_->identity()->CreateOrganisation(Stack::Context(admin_).get(), org_request, &org).ok());
  EXPECT_EQ(org.id(), "fujitsu");
  EXPECT_EQ(org.name(), "富士通 川崎工場");
  EXPECT_EQ(org.join_code().size(), 8u);
  EXPECT_EQ(org.join_code(), absl::AsciiStrToUpper(org.join_code()));
  ASSERT_TRUE(
      stack_->identity()->CreateOrganisation(Stack::Context(admin_).get(), org_request, &org_again).ok());
  EXPECT_EQ(org_again.join_code(), org.join_code());
  EXPECT_EQ(org_again.created_at().seconds(), org.created_at().seconds());

  v1::Team team, retry, conflict;
  ASSERT_TRUE(CreateTeam("create-team-0001", "dept-a", "Dept A", "fujitsu", &team).ok());
  EXPECT_EQ(team.organisation_id(), "fujitsu");
  EXPECT_EQ(team.member_count(), 0);
  EXPECT_NE(team.join_code(), org.join_code());
  ASSERT_TRUE(CreateTeam("create-team-0001", "dept-a", "Dept A", "fujitsu", &retry).ok());
  EXPECT_EQ(retry.join_code(), team.join_code());
  // Same id, another payload or another request: ALREADY_EXISTS.
  EXPECT_THAT(CreateTeam("create-team-0001", "dept-a", "Dept B", "fujitsu", &conflict),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("dept-a")));
  EXPECT_THAT(CreateTeam("create-team-0002", "dept-a", "Dept A", "fujitsu", &conflict),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_THAT(CreateTeam("create-team-0003", "dept-x", "Dept X", "nobody", &conflict),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("nobody")));
  EXPECT_THAT(CreateTeam("create-team-0004", "Dept X", "Dept X", "", &conflict),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("team_id")));
  ASSERT_TRUE(CreateTeam("create-team-0005", "class-3b", "3年B組", "", &conflict).ok());

  // Stored as the contract says.
  auto code = stack_->redis().Command({"GET", stack_->keys().JoinCode(team.join_code())});
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(code->str, "team:dept-a");
  auto org_code = stack_->redis().Command({"GET", stack_->keys().JoinCode(org.join_code())});
  ASSERT_TRUE(org_code.ok());
  EXPECT_EQ(org_code->str, "org:fujitsu");
  auto team_org = stack_->redis().Command({"HGET", stack_->keys().Team("dept-a"), "org"});
  ASSERT_TRUE(team_org.ok());
  EXPECT_EQ(team_org->str, "fujitsu");

  // Lists: everyone sees ids and names; only admins see codes.
  v1::ListTeamsResponse all = ListTeams(admin_);
  ASSERT_EQ(all.teams_size(), 2);
  EXPECT_EQ(all.teams(0).id(), "class-3b");
  EXPECT_EQ(all.teams(1).id(), "dept-a");
  EXPECT_EQ(all.teams(1).join_code(), team.join_code());
  ASSERT_EQ(ListTeams(admin_, "fujitsu").teams_size(), 1);
  Citizen mika = stack_->Register("Mika", "nakahara");
  v1::ListTeamsResponse seen = ListTeams(mika.token, "fujitsu");
  ASSERT_EQ(seen.teams_size(), 1);
  EXPECT_EQ(seen.teams(0).name(), "Dept A");
  EXPECT_EQ(seen.teams(0).join_code(), "");
  v1::ListTeamsRequest unknown;
  unknown.set_organisation_id("nobody");
  v1::ListTeamsResponse none;
  EXPECT_THAT(stack_->identity()->ListTeams(Stack::Context(mika.token).get(), unknown, &none),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::ListOrganisationsResponse orgs;
  ASSERT_TRUE(stack_->identity()->ListOrganisations(Stack::Context(mika.token).get(), {}, &orgs).ok());
  ASSERT_EQ(orgs.organisations_size(), 1);
  EXPECT_EQ(orgs.organisations(0).join_code(), "");
  EXPECT_THAT(stack_->identity()->ListOrganisations(Stack::Context().get(), {}, &orgs),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(TeamsTest, OnlyAdminsCreateAndOnlyCitizensJoin) {
  Citizen mika = stack_->Register("Mika", "nakahara");
  v1::CreateTeamRequest request;
  request.set_request_id("create-team-0001");
  request.set_team_id("dept-a");
  request.set_name("Dept A");
  v1::Team team;
  EXPECT_THAT(stack_->identity()->CreateTeam(Stack::Context(mika.token).get(), request, &team),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  v1::SetTestAccountRequest test;
  test.set_account_id(mika.account_id);
  test.set_test(true);
  v1::Profile profile;
  EXPECT_THAT(stack_->identity()->SetTestAccount(Stack::Context(mika.token).get(), test, &profile),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(AccountField(mika.account_id, "test"), "");

  const std::string code = stack_->CreateTeam("dept-a");
  const std::string staff = stack_->StaffToken("sato.k");
  EXPECT_THAT(stack_->JoinWithCode(staff, code), StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(stack_->JoinWithCode(admin_, code), StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  // SetTestAccount is for citizens only.
  test.set_account_id("sato.k");
  EXPECT_THAT(stack_->identity()->SetTestAccount(Stack::Context(admin_).get(), test, &profile),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  test.set_account_id("u-nobody");
  EXPECT_THAT(stack_->identity()->SetTestAccount(Stack::Context(admin_).get(), test, &profile),
              StatusIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(TeamsTest, JoinByCodeMovesAndLeavesWithDatedHistory) {
  const std::string org_code = stack_->CreateOrganisation("school");
  const std::string code_a = stack_->CreateTeam("class-3a", "school");
  const std::string code_b = stack_->CreateTeam("class-3b", "school");
  Citizen mika = stack_->Register("Mika", "nakahara");

  // Lower case, spaces and a hyphen: the same code.
  std::string typed = absl::AsciiStrToLower(code_a);
  typed = absl::StrCat(" ", typed.substr(0, 4), "-", typed.substr(4), " ");
  v1::Profile profile;
  ASSERT_TRUE(stack_->JoinWithCode(mika.token, typed, &profile).ok());
  EXPECT_EQ(profile.team(), "class-3a");
  EXPECT_EQ(profile.organisation(), "school");
  ASSERT_EQ(profile.memberships_size(), 1);
  EXPECT_EQ(profile.memberships(0).team_id(), "class-3a");
  EXPECT_EQ(profile.memberships(0).organisation_id(), "school");
  EXPECT_EQ(TeamMembers(admin_, "class-3a"), 1);

  // Joining the team you are in adds nothing; so does a replayed request.
  ASSERT_TRUE(stack_->JoinWithCode(mika.token, code_a, &profile).ok());
  EXPECT_EQ(profile.memberships_size(), 1);
  v1::JoinWithCodeRequest join;
  join.set_request_id("join-request-0001");
  join.set_join_code(code_b);
  stack_->set_now(stack_->now() + absl::Minutes(5));
  v1::Profile moved, replayed;
  ASSERT_TRUE(stack_->identity()->JoinWithCode(Stack::Context(mika.token).get(), join, &moved).ok());
  stack_->set_now(stack_->now() + absl::Minutes(5));
  ASSERT_TRUE(stack_->identity()->JoinWithCode(Stack::Context(mika.token).get(), join, &replayed).ok());
  EXPECT_EQ(replayed.SerializeAsString(), moved.SerializeAsString());
  EXPECT_EQ(moved.team(), "class-3b");
  ASSERT_EQ(moved.memberships_size(), 2);
  EXPECT_EQ(moved.memberships(1).team_id(), "class-3b");
  EXPECT_GT(moved.memberships(1).since().seconds(), moved.memberships(0).since().seconds());
  EXPECT_EQ(TeamMembers(admin_, "class-3a"), 0);
  EXPECT_EQ(TeamMembers(admin_, "class-3b"), 1);
  // The same request id for another change.
  join.set_join_code(code_a);
  EXPECT_THAT(stack_->identity()->JoinWithCode(Stack::Context(mika.token).get(), join, &profile),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS));

  // mh in the account hash: [[from_ms, team, org], ...], newest last.
  nlohmann::json mh = nlohmann::json::parse(AccountField(mika.account_id, "mh"));
  ASSERT_EQ(mh.size(), 2u);
  EXPECT_EQ(mh[1][1], "class-3b");
  EXPECT_EQ(mh[1][2], "school");
  EXPECT_EQ(AccountField(mika.account_id, "org"), "school");

  // Leaving the team keeps the organisation; leaving that leaves all.
  v1::LeaveTeamRequest leave_team;
  leave_team.set_request_id("leave-team-0001");
  ASSERT_TRUE(stack_->identity()->LeaveTeam(Stack::Context(mika.token).get(), leave_team, &profile).ok());
  EXPECT_EQ(profile.team(), "");
  EXPECT_EQ(profile.organisation(), "school");
  ASSERT_TRUE(stack_->identity()->LeaveTeam(Stack::Context(mika.token).get(), leave_team, &profile).ok())
      << "a retried leave answers with the profile";
  EXPECT_EQ(profile.memberships_size(), 3);
  leave_team.set_request_id("leave-team-0002");
  EXPECT_THAT(stack_->identity()->LeaveTeam(Stack::Context(mika.token).get(), leave_team, &profile),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("not in a team")));
  EXPECT_EQ(TeamMembers(admin_, "class-3b"), 0);

  // Joining the organisation directly while in one of its teams keeps the team.
  ASSERT_TRUE(stack_->JoinWithCode(mika.token, code_a, &profile).ok());
  ASSERT_TRUE(stack_->JoinWithCode(mika.token, org_code, &profile).ok());
  EXPECT_EQ(profile.team(), "class-3a");
  EXPECT_EQ(profile.memberships_size(), 4);

  v1::LeaveOrganisationRequest leave_org;
  leave_org.set_request_id("leave-org-0001");
  ASSERT_TRUE(
      stack_->identity()->LeaveOrganisation(Stack::Context(mika.token).get(), leave_org, &profile).ok());
  EXPECT_EQ(profile.team(), "");
  EXPECT_EQ(profile.organisation(), "");
  ASSERT_EQ(profile.memberships_size(), 5);
  EXPECT_EQ(profile.memberships(4).team_id(), "");
  EXPECT_EQ(profile.memberships(4).organisation_id(), "");
  EXPECT_EQ(TeamMembers(admin_, "class-3a"), 0);
  v1::ListOrganisationsResponse orgs;
  ASSERT_TRUE(stack_->identity()->ListOrganisations(Stack::Context(admin_).get(), {}, &orgs).ok());
  EXPECT_EQ(orgs.organisations(0).member_count(), 0);
  leave_org.set_request_id("leave-org-0002");
  EXPECT_THAT(
      stack_->identity()->LeaveOrganisation(Stack::Context(mika.token).get(), leave_org, &profile),
      StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("not in an organisation")));

  v1::Profile me;
  ASSERT_TRUE(stack_->identity()->GetMyProfile(Stack::Context(mika.token).get(), {}, &me).ok());
  EXPECT_EQ(me.memberships_size(), 5);
  for (int i = 1; i < me.memberships_size(); ++i) {
    EXPECT_LT(TimeUtilMillis(me.memberships(i - 1).since()), TimeUtilMillis(me.memberships(i).since()));
  }
}

TEST_F(TeamsTest, LateRetryOfAnEarlierMembershipRequestChangesNothing) {
  const std::string code_x = stack_->CreateTeam("class-x");
  Citizen mika = stack_->Register("Mika", "nakahara");
  v1::JoinWithCodeRequest join;
  join.set_request_id("join-x-0001");
  join.set_join_code(code_x);
  v1::Profile joined, left, retried;
  ASSERT_TRUE(stack_->identity()->JoinWithCode(Stack::Context(mika.token).get(), join, &joined).ok());
  stack_->set_now(stack_->now() + absl::Minutes(1));
  v1::LeaveTeamRequest leave;
  leave.set_request_id("leave-x-0001");
  ASSERT_TRUE(stack_->identity()->LeaveTeam(Stack::Context(mika.token).get(), leave, &left).ok());
  ASSERT_EQ(left.team(), "");
  ASSERT_EQ(left.memberships_size(), 2);

  // The join arrives again (a client retry delayed past the leave): it is
  // the same request, so it answers with the current profile and must not
  // rejoin class-x.
  stack_->set_now(stack_->now() + absl::Minutes(1));
  ASSERT_TRUE(stack_->identity()->JoinWithCode(Stack::Context(mika.token).get(), join, &retried).ok());
  EXPECT_EQ(retried.team(), "");
  EXPECT_EQ(retried.memberships_size(), 2);
  EXPECT_EQ(AccountField(mika.account_id, "team"), "");
  EXPECT_EQ(TeamMembers(admin_, "class-x"), 0);
  // Its id still cannot be reused for another change.
  join.set_join_code(stack_->CreateTeam("class-y"));
  EXPECT_THAT(stack_->identity()->JoinWithCode(Stack::Context(mika.token).get(), join, &retried),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS));

  // Only the latest 16 requests are remembered.
  nlohmann::json remembered = nlohmann::json::parse(AccountField(mika.account_id, "mreqs"));
  ASSERT_EQ(remembered.size(), 2u);
  EXPECT_EQ(remembered[0][0], "join-x-0001");
  for (int i = 0; i < 20; ++i) {
    v1::JoinWithCodeRequest again;
    again.set_request_id(absl::StrCat("join-again-", 1000 + i));
    again.set_join_code(code_x);
    ASSERT_TRUE(stack_->identity()->JoinWithCode(Stack::Context(mika.token).get(), again, &retried).ok());
  }
  remembered = nlohmann::json::parse(AccountField(mika.account_id, "mreqs"));
  ASSERT_EQ(remembered.size(), 16u);
  EXPECT_EQ(remembered[15][0], "join-again-1019");
}

TEST_F(TeamsTest, RetryRepairsMemberSetsAfterAFailedUpdate) {
  stack_->CreateOrganisation("school");
  const std::string code_a = stack_->CreateTeam("class-a", "school");
  const std::string code_b = stack_->CreateTeam("class-b", "school");
  Citizen mika = stack_->Register("Mika", "nakahara");
  ASSERT_TRUE(stack_->JoinWithCode(mika.token, code_a).ok());
  stack_->set_now(stack_->now() + absl::Minutes(1));
  v1::JoinWithCodeRequest move;
  move.set_request_id("move-to-b-0001");
  move.set_join_code(code_b);
  v1::Profile moved, retried;
  ASSERT_TRUE(stack_->identity()->JoinWithCode(Stack::Context(mika.token).get(), move, &moved).ok());
  ASSERT_EQ(moved.team(), "class-b");

  // As if the SREM/SADD pipeline after the script had failed: the sets still
  // show the old team.
  ASSERT_TRUE(stack_->redis().Command({"SREM", stack_->keys().TeamMembers("class-b"), mika.account_id}).ok());
  ASSERT_TRUE(stack_->redis().Command({"SADD", stack_->keys().TeamMembers("class-a"), mika.account_id}).ok());
  ASSERT_TRUE(stack_->redis().Command({"SREM", stack_->keys().OrganisationMembers("school"), mika.account_id}).ok());
  ASSERT_EQ(TeamMembers(admin_, "class-a"), 1);

  // The client retries: same profile, no new history, sets repaired.
  ASSERT_TRUE(stack_->identity()->JoinWithCode(Stack::Context(mika.token).get(), move, &retried).ok());
  EXPECT_EQ(retried.SerializeAsString(), moved.SerializeAsString());
  EXPECT_EQ(TeamMembers(admin_, "class-a"), 0);
  EXPECT_EQ(TeamMembers(admin_, "class-b"), 1);
  v1::ListOrganisationsResponse orgs;
  ASSERT_TRUE(stack_->identity()->ListOrganisations(Stack::Context(admin_).get(), {}, &orgs).ok());
  ASSERT_EQ(orgs.organisations_size(), 1);
  EXPECT_EQ(orgs.organisations(0).member_count(), 1);

  // The same for a leave whose SREM was lost.
  v1::LeaveOrganisationRequest leave;
  leave.set_request_id("leave-school-0001");
  stack_->set_now(stack_->now() + absl::Minutes(1));
  ASSERT_TRUE(stack_->identity()->LeaveOrganisation(Stack::Context(mika.token).get(), leave, &moved).ok());
  ASSERT_TRUE(stack_->redis().Command({"SADD", stack_->keys().TeamMembers("class-b"), mika.account_id}).ok());
  ASSERT_TRUE(stack_->redis().Command({"SADD", stack_->keys().OrganisationMembers("school"), mika.account_id}).ok());
  ASSERT_TRUE(stack_->identity()->LeaveOrganisation(Stack::Context(mika.token).get(), leave, &retried).ok());
  EXPECT_EQ(retried.organisation(), "");
  EXPECT_EQ(TeamMembers(admin_, "class-b"), 0);
  ASSERT_TRUE(stack_->identity()->ListOrganisations(Stack::Context(admin_).get(), {}, &orgs).ok());
  EXPECT_EQ(orgs.organisations(0).member_count(), 0);
}

TEST_F(TeamsTest, CodesThatDoNotWork) {
  Citizen mika = stack_->Register("Mika", "nakahara");
  EXPECT_THAT(stack_->JoinWithCode(mika.token, "ZZZZ-ZZZZ"),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("ZZZZZZZZ")));
  EXPECT_THAT(stack_->JoinWithCode(mika.token, "ZZZZ"),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("8 characters")));
  EXPECT_THAT(stack_->JoinWithCode(mika.token, "ZZZZ!ZZZ"),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("join_code")));
  EXPECT_THAT(stack_->JoinWithCode(mika.token, ""), StatusIs(grpc::StatusCode::INVALID_ARGUMENT));

  v1::RegisterRequest request;
  request.set_request_id("0b7c9e2a-1f3d-4c5e-9a8b-7c6d5e4f3a2b");
  request.set_nickname("Ken");
  request.set_ward("tama");
  request.set_join_code("ZZZZZZZZ");
  v1::RegisterResponse response;
  EXPECT_THAT(stack_->identity()->Register(Stack::Context().get(), request, &response),
              StatusIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(TeamsTest, RegisterWithCodeJoinsAndStaysIdempotent) {
  const std::string org_code = stack_->CreateOrganisation("nec");
  v1::RegisterRequest request;
  request.set_request_id("0b7c9e2a-1f3d-4c5e-9a8b-7c6d5e4f3a2b");
  request.set_nickname("Ken");
  request.set_ward("tama");
  request.set_join_code(absl::AsciiStrToLower(org_code));
  v1::RegisterResponse first, retry;
  ASSERT_TRUE(stack_->identity()->Register(Stack::Context().get(), request, &first).ok());
  EXPECT_EQ(first.profile().organisation(), "nec");
  EXPECT_EQ(first.profile().team(), "");
  ASSERT_EQ(first.profile().memberships_size(), 1);
  ASSERT_TRUE(stack_->identity()->Register(Stack::Context().get(), request, &retry).ok());
  EXPECT_EQ(retry.account_id(), first.account_id());
  EXPECT_EQ(retry.profile().memberships_size(), 1);
  v1::ListOrganisationsResponse orgs;
  ASSERT_TRUE(stack_->identity()->ListOrganisations(Stack::Context(admin_).get(), {}, &orgs).ok());
  EXPECT_EQ(orgs.organisations(0).member_count(), 1);

  // The shim of older tests: Register(nickname, ward, team) creates the
  // team once and joins it.
  Citizen a = stack_->Register("A", "tama", "class-1a");
  Citizen b = stack_->Register("B", "tama", "class-1a");
  EXPECT_EQ(AccountField(b.account_id, "team"), "class-1a");
  EXPECT_EQ(TeamMembers(admin_, "class-1a"), 2);
}

TEST_F(TeamsTest, VisibilityAndTestFlagsQueueAResync) {
  Citizen mika = stack_->Register("Mika", "nakahara");
  EXPECT_FALSE(QueuedForResync(mika.account_id));
  v1::UpdateMyProfileRequest update;
  update.set_request_id("update-profile-1");
  update.set_visibility(v1::VISIBILITY_HIDDEN);
  v1::Profile profile;
  ASSERT_TRUE(stack_->identity()->UpdateMyProfile(Stack::Context(mika.token).get(), update, &profile).ok());
  EXPECT_TRUE(profile.hidden_from_public_boards());
  EXPECT_EQ(AccountField(mika.account_id, "hidden"), "1");
  EXPECT_TRUE(QueuedForResync(mika.account_id));

  ASSERT_TRUE(stack_->redis().Command({"DEL", stack_->keys().ResyncQueue()}).ok());
  update.set_visibility(v1::VISIBILITY_PUBLIC);
  ASSERT_TRUE(stack_->identity()->UpdateMyProfile(Stack::Context(mika.token).get(), update, &profile).ok());
  EXPECT_FALSE(profile.hidden_from_public_boards());
  EXPECT_EQ(AccountField(mika.account_id, "hidden"), "");
  EXPECT_TRUE(QueuedForResync(mika.account_id));

  // A nickname change alone queues nothing.
  ASSERT_TRUE(stack_->redis().Command({"DEL", stack_->keys().ResyncQueue()}).ok());
  update.set_visibility(v1::VISIBILITY_UNCHANGED);
  update.set_nickname("Mika2");
  ASSERT_TRUE(stack_->identity()->UpdateMyProfile(Stack::Context(mika.token).get(), update, &profile).ok());
  EXPECT_FALSE(QueuedForResync(mika.account_id));
  update.set_visibility(static_cast<v1::Visibility>(7));
  EXPECT_THAT(stack_->identity()->UpdateMyProfile(Stack::Context(mika.token).get(), update, &profile),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("visibility")));

  v1::SetTestAccountRequest test;
  test.set_account_id(mika.account_id);
  test.set_test(true);
  ASSERT_TRUE(stack_->identity()->SetTestAccount(Stack::Context(admin_).get(), test, &profile).ok());
  EXPECT_TRUE(profile.test_account());
  EXPECT_EQ(AccountField(mika.account_id, "test"), "1");
  EXPECT_TRUE(QueuedForResync(mika.account_id));
  test.set_test(false);
  ASSERT_TRUE(stack_->identity()->SetTestAccount(Stack::Context(admin_).get(), test, &profile).ok());
  EXPECT_FALSE(profile.test_account());
  EXPECT_EQ(AccountField(mika.account_id, "test"), "");
}

}  // namespace
}  // namespace ecoact::test
