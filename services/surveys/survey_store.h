// Surveys in Redis (docs/keys.md). Everything about one survey shares the
// hash tag {sv:<id>}: its definition, and per wave the responses, the
// revision counters and the request ids seen, so a response write is one
// script in one slot. The list of surveys is a zset in its own slot.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ecoact/v1/surveys.pb.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "services/surveys/surveys.h"

namespace ecoact::surveys {

struct StoredSurvey {
  v1::Survey survey;
  // The id of the survey that declared itself a new version of this one.
  std::string superseded_by;
};

struct SubmitOutcome {
  int revision = 0;
  bool amended = false;
  bool replayed = false;
  absl::Time submitted_at;
};

class SurveyStore {
 public:
  SurveyStore(RedisClient* redis, std::string prefix) : redis_(redis), prefix_(std::move(prefix)) {}

  // Stores a new survey. OK also for a retry with the same fingerprint
  // (nothing written); ALREADY_EXISTS for other content under the same id.
  absl::Status Create(const v1::Survey& survey, absl::string_view fingerprint);
  absl::StatusOr<std::optional<StoredSurvey>> Get(absl::string_view id);
  // The surveys of `ids` that exist, in one round trip.
  absl::StatusOr<std::vector<StoredSurvey>> GetMany(const std::vector<std::string>& ids);
  // Marks `old_id` as superseded by `new_id`; FAILED_PRECONDITION if
  // another survey already supersedes it.
  absl::Status ClaimSupersede(absl::string_view old_id, absl::string_view new_id);
  // Sets status PUBLISHED (the proto given is stored); returns false if it
  // already was (nothing written). NOT_FOUND unknown id.
  absl::StatusOr<bool> Publish(const v1::Survey& published);
  // Survey ids, newest first.
  absl::StatusOr<std::vector<std::string>> ListIds();
  // See lua/submit_response.lua. NOT_FOUND, FAILED_PRECONDITION (draft, no
  // such wave, not open yet, closed), ALREADY_EXISTS (request id reused),
  // RESOURCE_EXHAUSTED (amendment limit).
  absl::StatusOr<SubmitOutcome> Submit(absl::string_view survey_id, v1::SurveyWave wave,
                                       absl::string_view account, absl::string_view request_id,
                                       absl::string_view fingerprint,
                                       absl::string_view answers_json, absl::Time now,
                                       int max_revisions);
  // Every response of the survey's waves.
  absl::StatusOr<ResponsesByWave> Responses(const v1::Survey& survey);

  // One wave's responses, a HSCAN batch at a time (a batch's accounts are
  // distinct; across batches an account may repeat if the hash is resized
  // during the scan).
  struct ScannedResponse {
    std::string account;
    int64_t revision = 0;
    StoredResponse response;
  };
  absl::Status ScanWave(const v1::Survey& survey, v1::SurveyWave wave,
                        const std::function<absl::Status(std::vector<ScannedResponse>)>& visit);

  // The survey's pseudonym salt (32 random bytes, hex), created on first use
  // with HSETNX in the survey hash, so every export of a survey agrees.
  absl::StatusOr<std::string> PseudonymSalt(absl::string_view survey_id);

  // Ledger activity of `accounts` (the actions service's history zsets and
  // ledger streams, see lua/behaviour_windows.lua) in [from, reference) and
  // [reference, until), at most kMaxEntriesPerWindow entries per window;
  // `capped` gets the number of accounts that hit that bound. Results are
  // in the order of `accounts`.
  absl::StatusOr<std::vector<RespondentActivity>> LedgerActivity(
      const KeySpace& keys, const std::vector<std::string>& accounts, absl::Time from,
      absl::Time reference, absl::Time until, int64_t* capped);

  std::string Key(absl::string_view id, absl::string_view what) const;

 private:
  RedisClient* redis_;
  std::string prefix_;
};

}  // namespace ecoact::surveys
