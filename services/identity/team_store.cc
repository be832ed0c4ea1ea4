#include "services/identity/team_store.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "identity_lua.h"
#include "services/common/validation.h"
#include "services/identity/account_store.h"

namespace ecoact::identity {
namespace {

const LuaScript& CreateGroupScript() {
  static const LuaScript script("create_group", embedded::kCreateGroupLua);
  return script;
}
const LuaScript& MembershipScript() {
  static const LuaScript script("set_membership", embedded::kSetMembershipLua);
  return script;
}

absl::StatusOr<std::vector<std::string>> Strings(const RedisValue& array, size_t from) {
  std::vector<std::string> out;
  for (size_t i = from; i < array.elements.size(); ++i) {
    auto s = array.elements[i].AsString();
    if (!s.ok()) return s.status();
    out.push_back(*std::move(s));
  }
  return out;
}

Group GroupFromFields(GroupKind kind, absl::string_view id, int64_t members,
                      const std::vector<std::string>& fields) {
  Group group;
  group.kind = kind;
  group.id = std::string(id);
  group.member_count = members;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& f = fields[i];
    const std::string& v = fields[i + 1];
    if (f == "name") group.name = v;
    else if (f == "org") group.organisation_id = v;
    else if (f == "code") group.join_code = v;
    else if (f == "created_ms") {
      int64_t ms = 0;
      if (absl::SimpleAtoi(v, &ms)) group.created_at = absl::FromUnixMillis(ms);
    }
  }
  return group;
}

const char* OpName(MembershipOp op) {
  switch (op) {
    case MembershipOp::kJoin: return "join";
    case MembershipOp::kLeaveTeam: return "leave_team";
    case MembershipOp::kLeaveOrganisation: return "leave_org";
  }
  return "";
}

}  // namespace

RedisTeamStore::RedisTeamStore(RedisClient* redis, KeySpace keys)
    : redis_(redis), keys_(std::move(keys)) {}

std::string RedisTeamStore::GroupKey(GroupKind kind, absl::string_view id) const {
  return kind == GroupKind::kTeam ? keys_.Team(id) : keys_.Organisation(id);
}

std::string RedisTeamStore::MembersKey(GroupKind kind, absl::string_view id) const {
  return kind == GroupKind::kTeam ? keys_.TeamMembers(id) : keys_.OrganisationMembers(id);
}

absl::StatusOr<CreateGroupResult> RedisTeamStore::Create(const Group& group,
                                                         absl::string_view fingerprint) {
  const bool team = group.kind == GroupKind::kTeam;
  std::vector<std::string> keys = {GroupKey(group.kind, group.id), keys_.JoinCode(group.join_code),
                                   team ? keys_.TeamIds() : keys_.OrganisationIds(),
                                   MembersKey(group.kind, group.id)};
  if (team && !group.organisation_id.empty()) {
    keys.push_back(keys_.Organisation(group.organisation_id));
  }
  std::vector<std::string> args = {
      group.id, std::string(fingerprint), absl::StrCat(team ? "team:" : "org:", group.id),
      group.join_code, group.name, absl::StrCat(absl::ToUnixMillis(group.created_at)),
      group.organisation_id};
  auto reply = redis_->Eval(CreateGroupScript(), keys, args);
  if (!reply.ok()) return reply.status();
  const std::string outcome = reply->elements.empty() ? "" : reply->elements[0].str;
  const char* noun = team ? "team" : "organisation";
  if (outcome == "exists") {
    return absl::AlreadyExistsError(absl::StrCat(
        noun, " '", group.id, "' already exists (created by another request); pick another id"));
  }
  if (outcome == "no_org") {
    return absl::NotFoundError(absl::StrCat("organisation '", group.organisation_id,
                                            "' does not exist; create it first"));
  }
  if (outcome == "code_taken") return CreateGroupResult{CreateGroupOutcome::kCodeTaken, {}};
  if (outcome != "created" && outcome != "replay") {
    return absl::InternalError(absl::StrCat("create_group returned '", outcome, "'"));
  }
  auto members = reply->elements.at(1).AsInt();
  if (!members.ok()) return members.status();
  auto fields = Strings(*reply, 2);
  if (!fields.ok()) return fields.status();
  return CreateGroupResult{
      outcome == "created" ? CreateGroupOutcome::kCreated : CreateGroupOutcome::kReplayed,
      GroupFromFields(group.kind, group.id, *members, *fields)};
}

absl::StatusOr<std::vector<Group>> RedisTeamStore::List(GroupKind kind,
                                                        absl::string_view organisation_id) {
  auto ids_reply = redis_->Command(
      {"SMEMBERS", kind == GroupKind::kTeam ? keys_.TeamIds() : keys_.OrganisationIds()});
  if (!ids_reply.ok()) return ids_reply.status();
  auto ids = Strings(*ids_reply, 0);
  if (!ids.ok()) return ids.status();
  std::sort(ids->begin(), ids->end());
  std::vector<std::vector<std::string>> commands;
  for (const std::string& id : *ids) {
    commands.push_back({"HGETALL", GroupKey(kind, id)});
    commands.push_back({"SCARD", MembersKey(kind, id)});
  }
  auto replies = redis_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<Group> groups;
  for (size_t i = 0; i < ids->size(); ++i) {
    const RedisValue& hash = (*replies)[2 * i];
    if (hash.IsError()) return RedisErrorToStatus("HGETALL", hash.str);
    auto fields = Strings(hash, 0);
    if (!fields.ok()) return fields.status();
    auto members = (*replies)[2 * i + 1].AsInt();
    if (!members.ok()) return members.status();
    Group group = GroupFromFields(kind, (*ids)[i], *members, *fields);
    if (!organisation_id.empty() && group.organisation_id != organisation_id) continue;
    groups.push_back(std::move(group));
  }
  return groups;
}

absl::StatusOr<bool> RedisTeamStore::Exists(GroupKind kind, absl::string_view id) {
  auto reply = redis_->Command({"EXISTS", GroupKey(kind, id)});
  if (!reply.ok()) return reply.status();
  return reply->integer == 1;
}

absl::StatusOr<std::optional<CodeTarget>> RedisTeamStore::ResolveCode(absl::string_view code) {
  auto reply = redis_->Command({"GET", keys_.JoinCode(code)});
  if (!reply.ok()) return reply.status();
  if (reply->IsNil()) return std::optional<CodeTarget>();
  CodeTarget target;
  absl::string_view value = reply->str;
  if (absl::ConsumePrefix(&value, "org:")) {
    target.organisation_id = std::string(value);
    return std::optional<CodeTarget>(target);
  }
  if (!absl::ConsumePrefix(&value, "team:")) {
    return absl::InternalError(absl::StrCat("join code maps to malformed '", reply->str, "'"));
  }
  target.team_id = std::string(value);
  // A team's organisation never changes, so reading it apart from the code
  // cannot race.
  auto org = redis_->Command({"HGET", keys_.Team(target.team_id), "org"});
  if (!org.ok()) return org.status();
  target.organisation_id = org->str;
  return std::optional<CodeTarget>(target);
}

absl::StatusOr<AccountRecord> RedisTeamStore::ChangeMembership(absl::string_view account_id,
                                                               const MembershipChange& change) {
  const std::string op = OpName(change.op);
  auto reply = redis_->Eval(
      MembershipScript(), {keys_.Account(account_id)},
      {absl::StrCat(absl::ToUnixMillis(change.now)), change.request_id,
       Fingerprint({op, change.target.team_id, change.target.organisation_id}), op,
       change.target.team_id, change.target.organisation_id});
  if (!reply.ok()) return reply.status();
  const std::string outcome = reply->elements.empty() ? "" : reply->elements[0].str;
  if (outcome == "missing") return absl::NotFoundError("account no longer exists");
  if (outcome == "not_citizen") {
    return absl::PermissionDeniedError("only citizens join or leave teams and organisations");
  }
  if (outcome == "not_in_team") return absl::FailedPreconditionError("you are not in a team");
  if (outcome == "not_in_org") {
    return absl::FailedPreconditionError("you are not in an organisation");
  }
  if (outcome == "request_reused") {
    return absl::AlreadyExistsError(
        "request_id was already used for another membership change; use a new one");
  }
  if (reply->elements.size() < 3) {
    return absl::InternalError(absl::StrCat("set_membership returned '", outcome, "'"));
  }
  auto fields = Strings(*reply, 3);
  if (!fields.ok()) return fields.status();
  AccountRecord account = AccountFromFields(account_id, *fields);
  // "changed": the membership before; "replay": the one the latest change
  // left, so a retry re-applies that change and heals a failed pipeline.
  const CodeTarget before{reply->elements[1].str, reply->elements[2].str};
  absl::Status synced = SyncMemberSets(account_id, before, {account.team, account.organisation});
  if (!synced.ok()) return synced;
  return account;
}

absl::Status RedisTeamStore::AddMember(const AccountRecord& account) {
  return SyncMemberSets(account.id, {account.team, account.organisation},
                        {account.team, account.organisation});
}

absl::Status RedisTeamStore::SyncMemberSets(absl::string_view account_id, const CodeTarget& before,
                                            const CodeTarget& after) {
  const std::string id(account_id);
  std::vector<std::vector<std::string>> commands;
  if (!before.team_id.empty() && before.team_id != after.team_id) {
    commands.push_back({"SREM", keys_.TeamMembers(before.team_id), id});
  }
  if (!before.organisation_id.empty() && before.organisation_id != after.organisation_id) {
    commands.push_back({"SREM", keys_.OrganisationMembers(before.organisation_id), id});
  }
  // Also when nothing changed: a retry re-adds what a failed call missed.
  if (!after.team_id.empty()) commands.push_back({"SADD", keys_.TeamMembers(after.team_id), id});
  if (!after.organisation_id.empty()) {
    commands.push_back({"SADD", keys_.OrganisationMembers(after.organisation_id), id});
  }
  if (commands.empty()) return absl::OkStatus();
  auto replies = redis_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const RedisValue& r : *replies) {
    if (r.IsError()) return RedisErrorToStatus("member set update", r.str);
  }
  return absl::OkStatus();
}

}  // namespace ecoact::identity
