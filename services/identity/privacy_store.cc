#include "services/identity/privacy_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "identity_lua.h"
#include "services/common/status_macros.h"

namespace ecoact::identity {
namespace {

// Ledger entries read per round trip (one XRANGE each, pipelined).
constexpr int64_t kEntryPage = 1000;

const LuaScript& DeleteScript() {
  static const LuaScript script("delete_account", embedded::kDeleteAccountLua);
  return script;
}

int64_t IntOr(const RedisValue& v, int64_t fallback) {
  int64_t out = 0;
  return !v.IsNil() && absl::SimpleAtoi(v.str, &out) ? out : fallback;
}

absl::Status CheckReplies(absl::string_view what, const std::vector<RedisValue>& replies) {
  for (const RedisValue& r : replies) {
    if (r.IsError()) return RedisErrorToStatus(what, r.str);
  }
  return absl::OkStatus();
}

// The events service's keys (services/events/event_store.cc): the index of
// every event and one event's check-ins (account id -> time).
std::string EventsByStart(const KeySpace& keys) {
  return absl::StrCat(keys.prefix(), ":{events}:by_start");
}
std::string EventCheckIns(const KeySpace& keys, absl::string_view event_id) {
  return absl::StrCat(keys.prefix(), ":{e:", event_id, "}:checkins");
}

// The surveys service's keys (services/surveys/survey_store.cc): the index
// of every survey and one survey's keys.
std::string SurveysIndex(const KeySpace& keys) {
  return absl::StrCat(keys.prefix(), ":{surveys}:all");
}
std::string SurveyKey(const KeySpace& keys, absl::string_view survey_id, absl::string_view what) {
  return absl::StrCat(keys.prefix(), ":{sv:", survey_id, "}:", what);
}

}  // namespace

RedisPrivacyStore::RedisPrivacyStore(RedisClient* redis, KeySpace keys)
    : redis_(redis), keys_(std::move(keys)) {}

absl::StatusOr<AccountActivity> RedisPrivacyStore::Activity(absl::string_view account_id,
                                                            int64_t max_entries) {
  const std::string id(account_id);
  AccountActivity activity;
  ASSIGN_OR_RETURN(std::vector<RedisValue> first,
                   redis_->Pipeline({{"ZCARD", keys_.History(id)},
                                     {"HGETALL", keys_.Badges(id)},
                                     {"HMGET", keys_.Streak(id), "last", "cur", "best"},
                                     {"HGETALL", keys_.Totals(id, "all")}}));
  RETURN_IF_ERROR(CheckReplies("export read", first));
  activity.entries_total = first[0].integer;
  std::vector<std::string> awards;
  for (const RedisValue& v : first[1].elements) awards.push_back(v.str);
  ASSIGN_OR_RETURN(activity.badges, rewards::DecodeAwards(awards));
  if (first[2].elements.size() == 3 && !first[2].elements[0].IsNil()) {
    activity.streak_last_day = IntOr(first[2].elements[0], -1);
    activity.streak_current = IntOr(first[2].elements[1], 0);
    activity.streak_best = IntOr(first[2].elements[2], 0);
  }
  for (size_t i = 0; i + 1 < first[3].elements.size(); i += 2) {
    activity.all_time_totals[first[3].elements[i].str] = IntOr(first[3].elements[i + 1], 0);
  }

  // The history index names the entries; each is read from the shard's
  // stream by id, a page per round trip.
  const std::string ledger = keys_.Ledger(keys_.ShardOf(id));
  const int64_t wanted = std::min(max_entries, activity.entries_total);
  for (int64_t from = 0; from < wanted; from += kEntryPage) {
    const int64_t to = std::min(wanted, from + kEntryPage) - 1;
    ASSIGN_OR_RETURN(RedisValue ids, redis_->Command({"ZRANGE", keys_.History(id),
                                                      absl::StrCat(from), absl::StrCat(to)}));
    if (ids.elements.empty()) break;
    std::vector<std::vector<std::string>> reads;
    for (const RedisValue& entry_id : ids.elements) {
      reads.push_back({"XRANGE", ledger, entry_id.str, entry_id.str});
    }
    ASSIGN_OR_RETURN(std::vector<RedisValue> entries, redis_->Pipeline(reads));
    RETURN_IF_ERROR(CheckReplies("export ledger read", entries));
    for (const RedisValue& found : entries) {
      if (found.elements.empty()) continue;  // trimmed from the stream
      ASSIGN_OR_RETURN(StoredEntry stored, DecodeStreamEntry(found.elements[0]));
      activity.entries.push_back(std::move(stored));
    }
  }
  RETURN_IF_ERROR(ReadSurveyResponses(id, &activity));
  return activity;
}

absl::Status RedisPrivacyStore::ReadSurveyResponses(absl::string_view account_id,
                                                    AccountActivity* activity) {
  // Every survey (a city runs dozens), four reads each, pipelined in pages.
  ASSIGN_OR_RETURN(RedisValue surveys,
                   redis_->Command({"ZREVRANGE", SurveysIndex(keys_), "0", "-1"}));
  const std::string id(account_id);
  constexpr size_t kSurveysPerRoundTrip = 250;
  int64_t bytes = 0;
  for (size_t from = 0; from < surveys.elements.size(); from += kSurveysPerRoundTrip) {
    std::vector<std::vector<std::string>> reads;
    std::vector<std::pair<std::string, std::string>> asked;  // survey, wave
    for (size_t i = from; i < surveys.elements.size() && i < from + kSurveysPerRoundTrip; ++i) {
      const std::string& survey = surveys.elements[i].str;
      for (const char* wave : {"before", "after"}) {
        reads.push_back({"HGET", SurveyKey(keys_, survey, absl::StrCat("resp:", wave)), id});
        reads.push_back({"HGET", SurveyKey(keys_, survey, absl::StrCat("rev:", wave)), id});
        asked.emplace_back(survey, wave);
      }
    }
    ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(reads));
    RETURN_IF_ERROR(CheckReplies("export survey read", replies));
    for (size_t k = 0; k < asked.size(); ++k) {
      const RedisValue& answers = replies[2 * k];
      if (answers.IsNil()) continue;
      bytes += static_cast<int64_t>(answers.str.size());
      if (bytes > kMaxExportedSurveyBytes) {
        activity->survey_responses_truncated = true;
        return absl::OkStatus();
      }
      SurveyResponseRecord record;
      record.survey_id = asked[k].first;
      record.wave = asked[k].second;
      record.revision = IntOr(replies[2 * k + 1], 0);
      record.answers_json = answers.str;
      activity->survey_responses.push_back(std::move(record));
    }
  }
  return absl::OkStatus();
}

absl::Status RedisPrivacyStore::LeaveMemberSets(absl::string_view account_id,
                                                absl::string_view team,
                                                absl::string_view organisation) {
  std::vector<std::vector<std::string>> commands;
  if (!team.empty()) {
    commands.push_back({"SREM", keys_.TeamMembers(team), std::string(account_id)});
  }
  if (!organisation.empty()) {
    commands.push_back({"SREM", keys_.OrganisationMembers(organisation), std::string(account_id)});
  }
  if (commands.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(commands));
  return CheckReplies("member set removal", replies);
}

absl::Status RedisPrivacyStore::RemoveCheckIns(absl::string_view account_id) {
  // Every event, not only those in the account's ledger: a check-in without
  // a weigh-in leaves no ledger entry. A city has hundreds of events, not
  // millions: one HDEL each, pipelined.
  ASSIGN_OR_RETURN(RedisValue events, redis_->Command({"ZRANGE", EventsByStart(keys_), "0", "-1"}));
  std::vector<std::vector<std::string>> commands;
  auto flush = [&]() -> absl::Status {
    if (commands.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(commands));
    commands.clear();
    return CheckReplies("check-in removal", replies);
  };
  for (const RedisValue& event : events.elements) {
    commands.push_back({"HDEL", EventCheckIns(keys_, event.str), std::string(account_id)});
    if (commands.size() >= 1000) RETURN_IF_ERROR(flush());
  }
  return flush();
}

absl::Status RedisPrivacyStore::RemoveSurveyResponses(absl::string_view account_id) {
  // Like check-ins: every survey (a city runs dozens), a few commands each,
  // pipelined. The answers go, not only the link: free text may name people.
  ASSIGN_OR_RETURN(RedisValue surveys, redis_->Command({"ZRANGE", SurveysIndex(keys_), "0", "-1"}));
  const std::string id(account_id);
  std::vector<std::vector<std::string>> commands;
  auto flush = [&]() -> absl::Status {
    if (commands.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(commands));
    commands.clear();
    return CheckReplies("survey response removal", replies);
  };
  for (const RedisValue& survey : surveys.elements) {
    for (const char* wave : {"before", "after"}) {
      commands.push_back({"HDEL", SurveyKey(keys_, survey.str, absl::StrCat("resp:", wave)), id});
      commands.push_back({"HDEL", SurveyKey(keys_, survey.str, absl::StrCat("rev:", wave)), id});
      commands.push_back({"DEL", SurveyKey(keys_, survey.str, absl::StrCat("reqs:", wave, ":", id))});
    }
    if (commands.size() >= 1000) RETURN_IF_ERROR(flush());
  }
  return flush();
}

absl::StatusOr<DeleteOutcome> RedisPrivacyStore::Delete(absl::string_view account_id,
                                                        absl::string_view request_id,
                                                        absl::Time now) {
  const std::string id(account_id);
  ASSIGN_OR_RETURN(RedisValue profile,
                   redis_->Command({"HMGET", keys_.Account(id), "role", "team", "org"}));
  // Steps outside the account's slot come first, so that once the tombstone
  // exists they are done; a retry after a failure repeats them (each is
  // idempotent). The script re-reads the membership, and a change that
  // slipped in between is undone after it.
  if (profile.elements.size() == 3 && profile.elements[0].str == "citizen") {
    RETURN_IF_ERROR(LeaveMemberSets(id, profile.elements[1].str, profile.elements[2].str));
    RETURN_IF_ERROR(RemoveCheckIns(id));
    RETURN_IF_ERROR(RemoveSurveyResponses(id));
  }
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Eval(DeleteScript(),
                                {keys_.Account(id), keys_.Badges(id), keys_.Streak(id),
                                 keys_.ActiveDays(id), keys_.RefreshFamilies(id)},
                                {std::string(request_id), absl::StrCat(absl::ToUnixMillis(now))}));
  const std::string outcome = reply.elements.empty() ? "" : reply.elements[0].str;
  if (outcome == "missing") return absl::NotFoundError("this account no longer exists");
  if (outcome == "gone") return absl::NotFoundError("this account was deleted");
  if (outcome == "not_citizen") {
    return absl::FailedPreconditionError("only citizen accounts can be deleted by their owner");
  }
  if (outcome == "deleted" && reply.elements.size() == 3) {
    const std::string& team = reply.elements[1].str;
    const std::string& org = reply.elements[2].str;
    if (team != profile.elements[1].str || org != profile.elements[2].str) {
      RETURN_IF_ERROR(LeaveMemberSets(id, team, org));
    }
  } else if (outcome != "replay") {
    return absl::InternalError(absl::StrCat("delete_account.lua answered '", outcome, "'"));
  }
  // Also on a replay: heals a first call that failed after the script. The
  // projector then removes the account from every citizen board.
  ASSIGN_OR_RETURN(RedisValue queued, redis_->Command({"SADD", keys_.ResyncQueue(), id}));
  (void)queued;
  return outcome == "replay" ? DeleteOutcome::kReplayed : DeleteOutcome::kDeleted;
}

}  // namespace ecoact::identity
