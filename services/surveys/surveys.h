// Survey domain rules (no gRPC, no Redis): what a valid survey is, how a
// citizen's answers are checked against the questions and stored, and how
// responses are aggregated into results.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ecoact/v1/surveys.pb.h"

namespace ecoact::surveys {

inline constexpr int kMaxQuestions = 50;
inline constexpr int kMaxOptions = 20;
inline constexpr int kMaxTextChars = 1000;

// "sv-" + 12 base32 characters of SHA-256(request id): a retried
// CreateSurvey names the same survey.
std::string SurveyIdFor(absl::string_view request_id);

// Validates a CreateSurveyRequest (shape only: whether the campaign, event
// or superseded survey exist is the caller's business) and returns the
// DRAFT survey, version 1, created at `now`. INVALID_ARGUMENT names the
// field, e.g. "questions[1].options[0].option_id: ...".
absl::StatusOr<v1::Survey> NewSurvey(const v1::CreateSurveyRequest& request, absl::Time now);

// Digest of a CreateSurveyRequest's content (everything but request_id).
std::string CreateFingerprint(const v1::CreateSurveyRequest& request);

// "before" / "after" / "" (unspecified), as used in keys and messages.
std::string WaveName(v1::SurveyWave wave);

// The window of `wave`, or null if the survey has none.
const v1::SurveyWaveWindow* FindWave(const v1::Survey& survey, v1::SurveyWave wave);

// One stored answer.
struct StoredAnswer {
  std::vector<std::string> options;  // choice questions
  int scale = 0;                     // SCALE
  double number = 0;                 // NUMBER
  std::string text;                  // FREE_TEXT
};
// question id -> answer
using StoredResponse = std::map<std::string, StoredAnswer>;

// Checks `answers` against the survey's questions and returns them in the
// stored form (JSON, questions sorted by id, so equal answers encode
// equally). INVALID_ARGUMENT naming the question: unknown question or
// option, an answer twice, wrong kind of value, scale outside 1-5, number
// outside the range, text empty or too long, a required question missing.
absl::StatusOr<std::string> EncodeResponse(
    const v1::Survey& survey,
    const google::protobuf::RepeatedPtrField<v1::SurveyAnswer>& answers);

// The stored form back (INTERNAL if it is not one EncodeResponse made).
absl::StatusOr<StoredResponse> DecodeResponse(absl::string_view json);

// All responses of a survey: wave -> account -> answers.
using ResponsesByWave = std::map<v1::SurveyWave, std::map<std::string, StoredResponse>>;

// Aggregates responses. `checked_in`, for event surveys, is the set of
// participants checked in at the event (response rates); null otherwise.
// Answers to questions the survey no longer has are ignored.
v1::SurveyResults Aggregate(const v1::Survey& survey, const ResponsesByWave& responses,
                            const std::set<std::string>* checked_in);

// The stored answers as SurveyAnswer messages, ordered by question id
// (for ExportMyData).
std::vector<v1::SurveyAnswer> ToAnswers(const StoredResponse& response);

// ------------------------------------------------------- behaviour link

inline constexpr int kMaxBehaviourWeeks = 26;
inline constexpr int kMaxBehaviourRespondents = 20000;
inline constexpr int kMaxEntriesPerWindow = 500;

// One respondent's ledger activity in the two windows, and which waves they
// answered.
struct RespondentActivity {
  bool answered_before = false;
  bool answered_after = false;
  int64_t actions_before = 0;
  int64_t co2_before = 0;
  int64_t actions_after = 0;
  int64_t co2_after = 0;
};

// Fills `out`'s groups (ALL, and with `two_waves` BOTH_WAVES, BEFORE_ONLY,
// AFTER_ONLY) from the respondents' activity: sums, means per respondent,
// the paired after - before mean and sample standard deviation, and how
// many increased, decreased or kept their number of actions.
void AggregateBehaviour(const std::vector<RespondentActivity>& respondents, bool two_waves,
                        v1::BehaviourChange* out);

// ---------------------------------------------------------------- CSV

// "r-" + 16 hex digits of HMAC-SHA256(salt, account id).
std::string Pseudonym(absl::string_view salt, absl::string_view account_id);

// The RESPONSES header row: respondent, wave, revision, one column per
// question id (CRLF-terminated).
std::string ResponsesCsvHeader(const v1::Survey& survey);
// One RESPONSES row (CRLF-terminated).
std::string ResponsesCsvRow(const v1::Survey& survey, absl::string_view pseudonym,
                            v1::SurveyWave wave, int64_t revision,
                            const StoredResponse& response, bool include_free_text);
// The AGGREGATES file: header row, then GetSurveyResults as rows.
std::vector<std::string> AggregatesCsvRows(const v1::SurveyResults& results);

}  // namespace ecoact::surveys
