// The actions domain (no gRPC, no Redis): validates a citizen's action,
// converts it with the catalogue, and describes the exact ledger write that
// the store performs atomically.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ecoact/v1/rewards.pb.h"
#include "services/actions/campaigns.h"
#include "services/catalog/catalog.h"
#include "services/common/clock.h"
#include "services/common/periods.h"
#include "services/rewards/badge_rules.h"

namespace ecoact::actions {

struct ActionInput {
  std::string account_id;
  std::string request_id;
  std::string action_type;
  double quantity = 0;
  v1::Unit unit = v1::UNIT_UNSPECIFIED;
  std::optional<absl::Time> occurred_at;  // nullopt = now
};

// Everything the ledger write needs, computed before the one round trip.
struct PreparedAction {
  ActionInput input;
  catalog::Conversion conversion;
  absl::Time occurred_at;
  absl::Time recorded_at;
  PeriodKeys periods;
  // Totals of a period expire after the period ended and backdating into it
  // is no longer possible.
  absl::Time month_totals_expire_at;
  absl::Time week_totals_expire_at;
  absl::Time day_totals_expire_at;
  // "self" for a citizen's own report, "staff" for a weigh-in credited by
  // event staff (no daily cap, may be negative for a correction).
  std::string source = "self";
  std::string event_id;
  std::string logged_by;
  // For a correction: the request id of the credit it corrects, whose ward
  // and team it is booked under.
  std::string corrects_request_id;
  // +1 for an action, 0 for an adjustment, -1 for a void.
  int count_delta = 1;
  // Digest of what the client sent (not of server-chosen values), for
  // "same request id, different payload".
  std::string fingerprint;
  // Campaigns the action matched (sorted) and the bonus already added to
  // conversion.points by the highest multiplier.
  std::vector<std::string> campaign_ids;
  int64_t bonus_points = 0;
  // Local day of occurred_at, days since 2000-01-01 (the streak bitmap bit).
  int64_t local_day = 0;
  // Badge rules for the script: the file's rules, then the reward badges of
  // the matched campaigns.
  std::string badge_rules;
};

struct RecorderOptions {
  absl::Duration max_backdate = absl::Hours(24 * 7);
  // Period totals expire this long after their period ended, and never
  // before the boards they feed (--period_retention) nor before backdating
  // into the period stops (max_backdate + 1 day).
  absl::Duration period_retention = absl::Hours(24 * 35);
};

class ActionRecorder {
 public:
  // `badges` and `campaigns` may be null (no badges, no campaigns).
  ActionRecorder(const catalog::Catalog* catalog, const CityCalendar* calendar, Clock clock,
                 RecorderOptions options, const rewards::BadgeRuleSet* badges = nullptr,
                 CampaignSource* campaigns = nullptr);

  // INVALID_ARGUMENT / NOT_FOUND with a precise message; nothing is written.
  absl::StatusOr<PreparedAction> Prepare(const ActionInput& input) const;

  // Digest of the fields the client sent (never of server-chosen values), so
  // a retry matches its first attempt even if validation would now fail
  // (the accepted time window moved on, the catalogue changed).
  static std::string RequestFingerprint(const ActionInput& input);

  // A staff-verified credit for `account_id` with figures computed by the
  // caller (a weigh-in, or a correction's signed difference): no cap, no
  // backdating limit (the event checked the time), source "staff".
  PreparedAction PrepareCredit(std::string account_id, std::string request_id,
                               catalog::Conversion conversion, absl::Time occurred_at,
                               std::string event_id, std::string logged_by) const;

  // Display texts of an awarded badge id (file rule or campaign reward
  // badge; rewards::DescribeBadge, as RewardsService shows them); nullopt if
  // no badge of that id is known any more.
  std::optional<v1::Badge> DescribeBadge(const std::string& id) const;

  const CityCalendar& calendar() const { return *calendar_; }
  absl::Time Now() const { return clock_(); }

 private:
  void SetPeriods(PreparedAction* prepared) const;
  // Campaign multiplier, streak day and badge rules (after the fingerprint,
  // which covers only what the caller sent).
  void SetRewards(PreparedAction* prepared) const;
  const catalog::Catalog* catalog_;
  const CityCalendar* calendar_;
  Clock clock_;
  RecorderOptions options_;
  const rewards::BadgeRuleSet* badges_;
  CampaignSource* campaigns_;
  std::string file_rules_;  // badges_->LuaArgument(), computed once
};

}  // namespace ecoact::actions
