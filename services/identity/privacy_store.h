// Personal data of one citizen (DESIGN invariant 7): collecting everything
// kept about an account for ExportMyData, and deleting the account for
// DeleteMyAccount (docs/security.md, "Deleting an account").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/keys.h"
#include "services/common/ledger_format.h"
#include "services/common/redis.h"
#include "services/rewards/badge_rules.h"

namespace ecoact::identity {

// Ledger entries an export carries at most; the response says when the
// account has more.
inline constexpr int64_t kMaxExportedEntries = 100000;
// Bytes of stored survey answers an export carries at most (a response can
// hold 50 free-text answers of 1000 characters): keeps what surveys add to
// ExportMyData under gRPC's default 4 MiB message limit.
inline constexpr int64_t kMaxExportedSurveyBytes = 1 << 20;

// One wave's stored response of the citizen.
struct SurveyResponseRecord {
  std::string survey_id;
  std::string wave;  // "before" / "after"
  int64_t revision = 0;
  std::string answers_json;  // as stored (services/surveys/surveys.h)
};

struct AccountActivity {
  std::vector<StoredEntry> entries;  // oldest first
  int64_t entries_total = 0;
  std::vector<rewards::StoredAward> badges;    // oldest first
  int64_t streak_last_day = -1;      // days since 2000-01-01 (local); -1 none
  int64_t streak_current = 0;
  int64_t streak_best = 0;
  std::map<std::string, int64_t> all_time_totals;
  std::vector<SurveyResponseRecord> survey_responses;  // newest survey first
  bool survey_responses_truncated = false;
};

enum class DeleteOutcome { kDeleted, kReplayed };

class PrivacyStore {
 public:
  virtual ~PrivacyStore() = default;
  // The account's ledger entries (at most `max_entries`), badges, streak,
  // all-time totals and survey responses (at most kMaxExportedSurveyBytes).
  virtual absl::StatusOr<AccountActivity> Activity(absl::string_view account_id,
                                                   int64_t max_entries) = 0;
  // Erases the citizen's profile to a tombstone, removes it from its member
  // sets, event check-ins and (through the projector's resync) every
  // citizen board, and deletes its badges, streak and active days.
  // Idempotent by `request_id`: a retry finishes the steps in other slots
  // and returns kReplayed. NOT_FOUND: no such account, or deleted by another
  // request; FAILED_PRECONDITION: not a citizen.
  virtual absl::StatusOr<DeleteOutcome> Delete(absl::string_view account_id,
                                               absl::string_view request_id, absl::Time now) = 0;
};

class RedisPrivacyStore : public PrivacyStore {
 public:
  RedisPrivacyStore(RedisClient* redis, KeySpace keys);
  absl::StatusOr<AccountActivity> Activity(absl::string_view account_id,
                                           int64_t max_entries) override;
  absl::StatusOr<DeleteOutcome> Delete(absl::string_view account_id,
                                       absl::string_view request_id, absl::Time now) override;

 private:
  absl::Status LeaveMemberSets(absl::string_view account_id, absl::string_view team,
                               absl::string_view organisation);
  absl::Status RemoveCheckIns(absl::string_view account_id);
  absl::Status RemoveSurveyResponses(absl::string_view account_id);
  absl::Status ReadSurveyResponses(absl::string_view account_id, AccountActivity* activity);

  RedisClient* redis_;
  KeySpace keys_;
};

}  // namespace ecoact::identity
