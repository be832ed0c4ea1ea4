#include "services/identity/account_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "identity_lua.h"
#include "services/common/tokens.h"

namespace ecoact::identity {
namespace {

const LuaScript& CreateScript() {
  static const LuaScript script("create_account", embedded::kCreateAccountLua);
  return script;
}
const LuaScript& UpdateScript() {
  static const LuaScript script("update_profile", embedded::kUpdateProfileLua);
  return script;
}

v1::Role RoleFromString(absl::string_view name) {
  for (v1::Role role : {v1::ROLE_CITIZEN, v1::ROLE_STAFF, v1::ROLE_ADMIN}) {
    if (RoleName(role) == name) return role;
  }
  return v1::ROLE_UNSPECIFIED;
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

}  // namespace

AccountRecord AccountFromFields(absl::string_view id, const std::vector<std::string>& fields) {
  AccountRecord record;
  record.id = std::string(id);
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& f = fields[i];
    const std::string& v = fields[i + 1];
    if (f == "role") {
      record.role = RoleFromString(v);
      record.deleted = v == "deleted";
    }
    else if (f == "nickname") record.nickname = v;
    else if (f == "ward") record.ward = v;
    else if (f == "team") record.team = v;
    else if (f == "org") record.organisation = v;
    else if (f == "hidden") record.hidden = v == "1";
    else if (f == "test") record.test = v == "1";
    else if (f == "mh") record.memberships = ParseMembershipHistory(v);
    else if (f == "secret") record.secret_hash = v;
    else if (f == "fingerprint") record.fingerprint = v;
    else if (f == "oidc") record.oidc = v;
    else if (f == "created_ms") {
      int64_t ms = 0;
      if (absl::SimpleAtoi(v, &ms)) record.created_at = absl::FromUnixMillis(ms);
    }
  }
  return record;
}

RedisAccountStore::RedisAccountStore(RedisClient* redis, KeySpace keys)
    : redis_(redis), keys_(std::move(keys)) {}

absl::StatusOr<CreateOutcome> RedisAccountStore::Create(const AccountRecord& record) {
  std::vector<std::string> args = {
      record.fingerprint,
      "role", std::string(RoleName(record.role)),
      "nickname", record.nickname,
      "ward", record.ward,
      "team", record.team,
      "secret", record.secret_hash,
      "created_ms", absl::StrCat(absl::ToUnixMillis(record.created_at)),
  };
  if (!record.organisation.empty()) args.insert(args.end(), {"org", record.organisation});
  if (!record.oidc.empty()) args.insert(args.end(), {"oidc", record.oidc});
  if (!record.memberships.empty()) {
    args.insert(args.end(), {"mh", MembershipHistoryJson(record.memberships)});
  }
  auto reply = redis_->Eval(CreateScript(), {keys_.Account(record.id)}, args);
  if (!reply.ok()) return reply.status();
  const std::string outcome = reply->elements.empty() ? "" : reply->elements[0].str;
  if (outcome == "created") return CreateOutcome::kCreated;
  if (outcome == "replay") return CreateOutcome::kReplayed;
  return absl::AlreadyExistsError(
      absl::StrCat("account '", record.id, "' already exists (created by another request)"));
}

absl::StatusOr<std::optional<AccountRecord>> RedisAccountStore::Get(absl::string_view id) {
  auto reply = redis_->Command({"HGETALL", keys_.Account(id)});
  if (!reply.ok()) return reply.status();
  if (reply->elements.empty()) return std::optional<AccountRecord>();
  auto fields = Strings(*reply, 0);
  if (!fields.ok()) return fields.status();
  return std::optional<AccountRecord>(AccountFromFields(id, *fields));
}

absl::StatusOr<AccountRecord> RedisAccountStore::UpdateProfile(absl::string_view id,
                                                               const ProfileChange& change) {
  std::vector<std::string> args;
  if (change.nickname) args.insert(args.end(), {"nickname", *change.nickname});
  if (change.ward) args.insert(args.end(), {"ward", *change.ward});
  // "" deletes the field: a public, real account has neither.
  if (change.hidden) args.insert(args.end(), {"hidden", *change.hidden ? "1" : ""});
  if (change.test) args.insert(args.end(), {"test", *change.test ? "1" : ""});
  auto reply = redis_->Eval(UpdateScript(), {keys_.Account(id)}, args);
  if (!reply.ok()) return reply.status();
  const std::string outcome = reply->elements.empty() ? "" : reply->elements[0].str;
  if (outcome == "missing") return absl::NotFoundError("account no longer exists");
  if (outcome == "not_citizen") {
    return absl::FailedPreconditionError(
        "only citizen accounts have a nickname, ward, visibility and test flag");
  }
  auto fields = Strings(*reply, 1);
  if (!fields.ok()) return fields.status();
  if (change.hidden || change.test) {
    // Queued on every request that sets a flag, changed or not: a retry
    // after a failure here queues it then (the projector's work is
    // idempotent).
    auto queued = redis_->Command({"SADD", keys_.ResyncQueue(), std::string(id)});
    if (!queued.ok()) return queued.status();
  }
  return AccountFromFields(id, *fields);
}

}  // namespace ecoact::identity
