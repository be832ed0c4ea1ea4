#include "services/surveys/survey_store.h"

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
  };
  return scripts[which];
}
enum { kCreate, kPublish, kSubmit };

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

}  // namespace ecoact::surveys
