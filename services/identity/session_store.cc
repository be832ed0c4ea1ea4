#include "services/identity/session_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "identity_lua.h"
#include "services/common/tokens.h"

namespace ecoact::identity {
namespace {

const LuaScript& IssueScript() {
  static const LuaScript script("issue_refresh", embedded::kIssueRefreshLua);
  return script;
}
const LuaScript& RotateScript() {
  static const LuaScript script("rotate_refresh", embedded::kRotateRefreshLua);
  return script;
}
const LuaScript& LinkScript() {
  static const LuaScript script("link_oidc", embedded::kLinkOidcLua);
  return script;
}

std::string Millis(absl::Time t) { return absl::StrCat(absl::ToUnixMillis(t)); }
std::string Millis(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d)); }

absl::Time FromMillis(const RedisValue& value) {
  int64_t ms = 0;
  absl::SimpleAtoi(value.str, &ms);
  return absl::FromUnixMillis(ms);
}

const LuaScript& UnlinkScript() {
  static const LuaScript script("unlink_oidc", embedded::kUnlinkOidcLua);
  return script;
}

const LuaScript& SignOutScript() {
  static const LuaScript script("sign_out", embedded::kSignOutLua);
  return script;
}

}  // namespace

SessionStore::SessionStore(RedisClient* redis, KeySpace keys, RefreshPolicy policy)
    : redis_(redis), keys_(std::move(keys)), policy_(policy) {}

absl::StatusOr<absl::Time> SessionStore::StartFamily(absl::string_view account_id,
                                                     absl::string_view family,
                                                     absl::string_view secret_hash,
                                                     absl::Time now) {
  auto reply = redis_->Eval(
      IssueScript(), {keys_.RefreshFamilies(account_id), keys_.Account(account_id)},
      {std::string(family), std::string(secret_hash), Millis(now), Millis(policy_.lifetime),
       absl::StrCat(policy_.max_families), Millis(policy_.max_age), Millis(policy_.max_age_staff)});
  if (!reply.ok()) return reply.status();
  if (reply->elements.size() != 2 || reply->elements[0].str != "issued") {
    return absl::NotFoundError("this account no longer exists");
  }
  return FromMillis(reply->elements[1]);
}

absl::StatusOr<RotateResult> SessionStore::Rotate(absl::string_view account_id,
                                                  absl::string_view family,
                                                  absl::string_view presented_hash,
                                                  absl::string_view next_hash, absl::Time now) {
  auto reply = redis_->Eval(
      RotateScript(), {keys_.RefreshFamilies(account_id), keys_.Account(account_id)},
      {std::string(family), std::string(presented_hash), std::string(next_hash), Millis(now),
       Millis(policy_.lifetime), Millis(policy_.retry_grace), Millis(policy_.max_age),
       Millis(policy_.max_age_staff)});
  if (!reply.ok()) return reply.status();
  RotateResult result;
  const std::string outcome = reply->elements.empty() ? "" : reply->elements[0].str;
  if (reply->elements.size() >= 2) {
    for (v1::Role role : {v1::ROLE_CITIZEN, v1::ROLE_STAFF, v1::ROLE_ADMIN}) {
      if (RoleName(role) == reply->elements[1].str) result.role = role;
    }
  }
  if ((outcome == "rotated" || outcome == "replayed") && reply->elements.size() == 3) {
    result.outcome = outcome == "rotated" ? RotateOutcome::kRotated : RotateOutcome::kReplayed;
    result.expires_at = FromMillis(reply->elements[2]);
  } else if (outcome == "too_old") {
    result.outcome = RotateOutcome::kTooOld;
  } else if (outcome == "reused") {
    result.outcome = RotateOutcome::kReused;
  } else if (outcome == "expired") {
    result.outcome = RotateOutcome::kExpired;
  } else if (outcome == "gone") {
    result.outcome = RotateOutcome::kGone;
  } else {
    result.outcome = RotateOutcome::kUnknown;
  }
  return result;
}

absl::Status SessionStore::SignOut(absl::string_view account_id, absl::string_view family,
                                   absl::string_view presented_hash, absl::Time now) {
  auto reply = redis_->Eval(SignOutScript(), {keys_.RefreshFamilies(account_id)},
                            {std::string(family), std::string(presented_hash), Millis(now),
                             Millis(policy_.retry_grace)});
  if (!reply.ok()) return reply.status();
  if (reply->str == "mismatch") {
    return absl::UnauthenticatedError(
        "invalid refresh token: it is not the current token of this sign-in (an older one was "
        "presented); nothing was signed out");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SessionStore::LinkOidc(absl::string_view identity_hash,
                                                   absl::string_view candidate,
                                                   absl::string_view replace_deleted) {
  auto reply = redis_->Eval(LinkScript(), {keys_.OidcLink(identity_hash)},
                            {std::string(candidate), std::string(replace_deleted)});
  if (!reply.ok()) return reply.status();
  return reply->str;
}

absl::StatusOr<std::string> SessionStore::FindOidc(absl::string_view identity_hash) {
  auto reply = redis_->Command({"GET", keys_.OidcLink(identity_hash)});
  if (!reply.ok()) return reply.status();
  return reply->str;  // empty when not linked
}

absl::Status SessionStore::UnlinkOidc(absl::string_view identity_hash,
                                      absl::string_view account_id) {
  return redis_->Eval(UnlinkScript(), {keys_.OidcLink(identity_hash)}, {std::string(account_id)})
      .status();
}

}  // namespace ecoact::identity
