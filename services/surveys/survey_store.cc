#include "services/surveys/survey_store.h"

#include <openssl/rand.h>

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/status_macros.h"
#include "surveys_lua.h"

namespace ecoact::surveys {
namespace {

using google::protobuf::util::TimeUtil;

const LuaScript& Script(int which) {
  static const LuaScript scripts[] = {
      {"create_survey", embedded::kCreateSurveyLua},
      {"publish_survey", embedded::kPublishSurveyLua},
      {"submit_response", embedded::kSubmitResponseLua},
      {"behaviour_windows", embedded::kBehaviourWindowsLua},
  };
  return scripts[which];
}
enum { kCreate, kPublish, kSubmit, kBehaviour };

// Accounts per behaviour script call, and script calls per round trip.
constexpr size_t kAccountsPerScript = 50;
constexpr size_t kScriptsPerRoundTrip = 8;

std::string Outcome(const RedisValue& reply) {
  return reply.elements.empty() ? "" : reply.elements[0].str;
}

int64_t ElementInt(const RedisValue& reply, size_t i) {
  int64_t v = 0;
  if (i < reply.elements.size()) {
    auto parsed = reply.elements[i].AsInt();
    if (parsed.ok()) v = *parsed;
  }
  return v;
}

absl::StatusOr<std::string> ToJson(const v1::Survey& survey) {
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(survey, &json);
  if (!status.ok()) return absl::InternalError(absl::StrCat("encoding survey: ", status.ToString()));
  return json;
}

std::string FormatTime(int64_t ms) {
  return TimeUtil::ToString(TimeUtil::MillisecondsToTimestamp(ms));
}

}  // namespace

std::string SurveyStore::Key(absl::string_view id, absl::string_view what) const {
  return absl::StrCat(prefix_, ":{sv:", id, "}:", what);
}

absl::Status SurveyStore::Create(const v1::Survey& survey, absl::string_view fingerprint) {
  ASSIGN_OR_RETURN(std::string json, ToJson(survey));
  std::vector<std::string> args = {std::string(fingerprint), "status", "draft", "json", json};
  for (const auto& w : survey.waves()) {
    args.push_back(WaveName(w.wave()) + "_open");
    args.push_back(absl::StrCat(TimeUtil::TimestampToMilliseconds(w.opens_at())));
    args.push_back(WaveName(w.wave()) + "_close");
    args.push_back(absl::StrCat(TimeUtil::TimestampToMilliseconds(w.closes_at())));
  }
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Eval(Script(kCreate), {Key(survey.survey_id(), "def")}, args));
  if (Outcome(reply) == "exists") {
    return absl::AlreadyExistsError(
        "request_id was already used to create a different survey; use a new request_id");
  }
  // The index is a separate slot; a retry of CreateSurvey repairs it.
  return redis_
      ->Command({"ZADD", absl::StrCat(prefix_, ":{surveys}:all"),
                 absl::StrCat(TimeUtil::TimestampToMilliseconds(survey.created_at())),
                 survey.survey_id()})
      .status();
}

namespace {

// An HMGET json sby reply; null if the survey does not exist.
absl::StatusOr<std::optional<StoredSurvey>> Decode(const RedisValue& reply) {
  if (reply.IsError()) return RedisErrorToStatus("reading survey", reply.str);
  if (reply.elements.size() != 2 || reply.elements[0].IsNil()) {
    return std::optional<StoredSurvey>();
  }
  StoredSurvey stored;
  auto status = google::protobuf::util::JsonStringToMessage(reply.elements[0].str, &stored.survey);
  if (!status.ok()) return absl::InternalError("stored survey is not valid JSON");
  stored.superseded_by = reply.elements[1].str;
  return std::optional<StoredSurvey>(std::move(stored));
}

}  // namespace

absl::StatusOr<std::optional<StoredSurvey>> SurveyStore::Get(absl::string_view id) {
  ASSIGN_OR_RETURN(RedisValue reply, redis_->Command({"HMGET", Key(id, "def"), "json", "sby"}));
  return Decode(reply);
}

absl::StatusOr<std::vector<StoredSurvey>> SurveyStore::GetMany(
    const std::vector<std::string>& ids) {
  std::vector<StoredSurvey> out;
  if (ids.empty()) return out;
  std::vector<std::vector<std::string>> commands;
  for (const std::string& id : ids) commands.push_back({"HMGET", Key(id, "def"), "json", "sby"});
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(commands));
  for (const RedisValue& reply : replies) {
    ASSIGN_OR_RETURN(std::optional<StoredSurvey> stored, Decode(reply));
    if (stored) out.push_back(*std::move(stored));
  }
  return out;
}

absl::Status SurveyStore::ClaimSupersede(absl::string_view old_id, absl::string_view new_id) {
  const std::string key = Key(old_id, "def");
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies,
                   redis_->Pipeline({{"HSETNX", key, "sby", std::string(new_id)},
                                     {"HGET", key, "sby"}}));
  for (const RedisValue& r : replies) {
    if (r.IsError()) return RedisErrorToStatus("claiming a superseded survey", r.str);
  }
  if (replies[1].str != new_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "survey '", old_id, "' is already superseded by '", replies[1].str,
        "'; supersede that one instead"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SurveyStore::Publish(const v1::Survey& published) {
  ASSIGN_OR_RETURN(std::string json, ToJson(published));
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Eval(Script(kPublish), {Key(published.survey_id(), "def")}, {json}));
  const std::string outcome = Outcome(reply);
  if (outcome == "missing") return absl::NotFoundError("unknown survey");
  return outcome == "ok";
}

absl::StatusOr<std::vector<std::string>> SurveyStore::ListIds() {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Command({"ZREVRANGE", absl::StrCat(prefix_, ":{surveys}:all"), "0",
                                    "-1"}));
  std::vector<std::string> ids;
  for (const RedisValue& e : reply.elements) ids.push_back(e.str);
  return ids;
}

absl::StatusOr<SubmitOutcome> SurveyStore::Submit(absl::string_view survey_id,
                                                  v1::SurveyWave wave, absl::string_view account,
                                                  absl::string_view request_id,
                                                  absl::string_view fingerprint,
                                                  absl::string_view answers_json, absl::Time now,
                                                  int max_revisions) {
  const std::string name = WaveName(wave);
  ASSIGN_OR_RETURN(
      RedisValue reply,
      redis_->Eval(Script(kSubmit),
                   {Key(survey_id, "def"), Key(survey_id, "resp:" + name),
                    Key(survey_id, "rev:" + name),
                    Key(survey_id, absl::StrCat("reqs:", name, ":", account))},
                   {std::string(account), std::string(request_id), std::string(fingerprint),
                    absl::StrCat(absl::ToUnixMillis(now)), name, std::string(answers_json),
                    absl::StrCat(max_revisions)}));
  const std::string outcome = Outcome(reply);
  if (outcome == "ok" || outcome == "replay") {
    SubmitOutcome out;
    out.revision = static_cast<int>(ElementInt(reply, 1));
    out.submitted_at = absl::FromUnixMillis(ElementInt(reply, 2));
    out.amended = ElementInt(reply, 3) == 1;
    out.replayed = outcome == "replay";
    return out;
  }
  if (outcome == "missing") return absl::NotFoundError(absl::StrCat("unknown survey '", survey_id, "'"));
  if (outcome == "reused") {
    return absl::AlreadyExistsError(
        "request_id was already used for different answers; use a new request_id to amend");
  }
  if (outcome == "draft") {
    return absl::FailedPreconditionError("the survey is not published yet");
  }
  if (outcome == "nowave") {
    return absl::FailedPreconditionError(absl::StrCat("the survey has no ", name, " wave"));
  }
  if (outcome == "early") {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", name, " wave opens at ", FormatTime(ElementInt(reply, 1))));
  }
  if (outcome == "closed") {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", name, " wave closed at ", FormatTime(ElementInt(reply, 1)),
        "; responses are final"));
  }
  if (outcome == "limit") {
    return absl::ResourceExhaustedError(absl::StrCat(
        "you have amended this wave ", max_revisions - 1, " times, the most allowed"));
  }
  return absl::InternalError(absl::StrCat("submit_response returned '", outcome, "'"));
}

absl::StatusOr<ResponsesByWave> SurveyStore::Responses(const v1::Survey& survey) {
  ResponsesByWave out;
  for (const auto& w : survey.waves()) {
    auto& by_account = out[w.wave()];
    const std::string key = Key(survey.survey_id(), "resp:" + WaveName(w.wave()));
    std::string cursor = "0";
    do {  // HSCAN: a large survey is read in pieces, never in one huge reply
      ASSIGN_OR_RETURN(RedisValue reply,
                       redis_->Command({"HSCAN", key, cursor, "COUNT", "500"}));
      if (reply.elements.size() != 2) return absl::InternalError("unexpected HSCAN reply");
      cursor = reply.elements[0].str;
      const auto& kv = reply.elements[1].elements;
      for (size_t i = 0; i + 1 < kv.size(); i += 2) {
        ASSIGN_OR_RETURN(StoredResponse response, DecodeResponse(kv[i + 1].str));
        by_account[kv[i].str] = std::move(response);
      }
    } while (cursor != "0");
  }
  return out;
}

absl::Status SurveyStore::ScanWave(
    const v1::Survey& survey, v1::SurveyWave wave,
    const std::function<absl::Status(std::vector<ScannedResponse>)>& visit) {
  const std::string name = WaveName(wave);
  const std::string key = Key(survey.survey_id(), "resp:" + name);
  const std::string revisions = Key(survey.survey_id(), "rev:" + name);
  std::string cursor = "0";
  do {
    ASSIGN_OR_RETURN(RedisValue reply, redis_->Command({"HSCAN", key, cursor, "COUNT", "200"}));
    if (reply.elements.size() != 2) return absl::InternalError("unexpected HSCAN reply");
    cursor = reply.elements[0].str;
    const auto& kv = reply.elements[1].elements;
    std::vector<ScannedResponse> batch;
    std::vector<std::string> hmget = {"HMGET", revisions};
    for (size_t i = 0; i + 1 < kv.size(); i += 2) {
      ScannedResponse r;
      r.account = kv[i].str;
      ASSIGN_OR_RETURN(r.response, DecodeResponse(kv[i + 1].str));
      hmget.push_back(r.account);
      batch.push_back(std::move(r));
    }
    if (batch.empty()) continue;
    ASSIGN_OR_RETURN(RedisValue revs, redis_->Command(hmget));
    for (size_t i = 0; i < batch.size() && i < revs.elements.size(); ++i) {
      int64_t rev = 0;
      if (absl::SimpleAtoi(revs.elements[i].str, &rev)) batch[i].revision = rev;
    }
    RETURN_IF_ERROR(visit(std::move(batch)));
  } while (cursor != "0");
  return absl::OkStatus();
}

absl::StatusOr<std::string> SurveyStore::PseudonymSalt(absl::string_view survey_id) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("no random bytes for the pseudonym salt");
  }
  const std::string key = Key(survey_id, "def");
  ASSIGN_OR_RETURN(
      std::vector<RedisValue> replies,
      redis_->Pipeline({{"HSETNX", key, "salt",
                         absl::BytesToHexString(absl::string_view(
                             reinterpret_cast<const char*>(bytes), sizeof(bytes)))},
                        {"HGET", key, "salt"}}));
  for (const RedisValue& r : replies) {
    if (r.IsError()) return RedisErrorToStatus("reading the pseudonym salt", r.str);
  }
  if (replies[1].str.empty()) return absl::InternalError("survey has no pseudonym salt");
  return replies[1].str;
}

absl::StatusOr<std::vector<RespondentActivity>> SurveyStore::LedgerActivity(
    const KeySpace& keys, const std::vector<std::string>& accounts, absl::Time from,
    absl::Time reference, absl::Time until, int64_t* capped) {
  std::vector<RespondentActivity> out(accounts.size());
  // Each script call covers accounts of one shard (one slot).
  std::map<int, std::vector<size_t>> by_shard;
  for (size_t i = 0; i < accounts.size(); ++i) by_shard[keys.ShardOf(accounts[i])].push_back(i);
  std::vector<RedisClient::ScriptCall> calls;
  std::vector<std::vector<size_t>> call_accounts;
  const std::vector<std::string> args = {
      absl::StrCat(absl::ToUnixMillis(from)), absl::StrCat(absl::ToUnixMillis(reference)),
      absl::StrCat(absl::ToUnixMillis(until)), absl::StrCat(kMaxEntriesPerWindow)};
  auto flush = [&]() -> absl::Status {
    if (calls.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->EvalMany(Script(kBehaviour), calls));
    for (size_t c = 0; c < replies.size() && c < call_accounts.size(); ++c) {
      if (replies[c].IsError()) return RedisErrorToStatus("reading ledger windows", replies[c].str);
      const auto& rows = replies[c].elements;
      for (size_t r = 0; r < rows.size() && r < call_accounts[c].size(); ++r) {
        RespondentActivity& a = out[call_accounts[c][r]];
        a.actions_before = ElementInt(rows[r], 0);
        a.co2_before = ElementInt(rows[r], 1);
        a.actions_after = ElementInt(rows[r], 2);
        a.co2_after = ElementInt(rows[r], 3);
        if (ElementInt(rows[r], 4) == 1) ++*capped;
      }
    }
    calls.clear();
    call_accounts.clear();
    return absl::OkStatus();
  };
  for (const auto& [shard, members] : by_shard) {
    for (size_t start = 0; start < members.size(); start += kAccountsPerScript) {
      RedisClient::ScriptCall call;
      call.keys.push_back(keys.Ledger(shard));
      std::vector<size_t> chunk;
      for (size_t i = start; i < members.size() && i < start + kAccountsPerScript; ++i) {
        call.keys.push_back(keys.History(accounts[members[i]]));
        chunk.push_back(members[i]);
      }
      call.args = args;
      calls.push_back(std::move(call));
      call_accounts.push_back(std::move(chunk));
      if (calls.size() >= kScriptsPerRoundTrip) RETURN_IF_ERROR(flush());
    }
  }
  RETURN_IF_ERROR(flush());
  return out;
}

}  // namespace ecoact::surveys
