#include "services/actions/recorder.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"
#include "services/rewards/badge_display.h"
#include "services/rewards/streak.h"

namespace ecoact::actions {

ActionRecorder::ActionRecorder(const catalog::Catalog* catalog, const CityCalendar* calendar,
                               Clock clock, RecorderOptions options,
                               const rewards::BadgeRuleSet* badges, CampaignSource* campaigns)
    : catalog_(catalog),
      calendar_(calendar),
      clock_(std::move(clock)),
      options_(options),
      badges_(badges),
      campaigns_(campaigns),
      file_rules_(badges ? badges->LuaArgument() : "") {}

void ActionRecorder::SetRewards(PreparedAction* prepared) const {
  prepared->local_day = rewards::DayNumber(calendar_->LocalDay(prepared->occurred_at));
  prepared->badge_rules = file_rules_;
  if (campaigns_ == nullptr) return;
  CampaignOutcome outcome =
      ApplyCampaigns(campaigns_->Current(), prepared->conversion.type->id, prepared->occurred_at,
                     prepared->conversion.points);
  prepared->campaign_ids = std::move(outcome.ids);
  prepared->bonus_points = outcome.bonus;
  prepared->conversion.points = outcome.points;
  if (!outcome.badges.empty()) {
    std::string campaign_rules = rewards::RuleArgument(outcome.badges);
    prepared->badge_rules = prepared->badge_rules.empty()
                                ? campaign_rules
                                : absl::StrCat(prepared->badge_rules, ";", campaign_rules);
  }
}

std::optional<v1::Badge> ActionRecorder::DescribeBadge(const std::string& id) const {
  std::vector<CampaignDefinition> campaigns;
  if (campaigns_ != nullptr && absl::StartsWith(id, rewards::kCampaignBadgePrefix)) {
    campaigns = campaigns_->Current();
  }
  return rewards::DescribeBadge(id, badges_, campaigns);
}

absl::StatusOr<PreparedAction> ActionRecorder::Prepare(const ActionInput& input) const {
  RETURN_IF_ERROR(ValidateRequestId(input.request_id));
  const absl::Time now = clock_();
  PreparedAction prepared;
  prepared.input = input;
  prepared.recorded_at = now;
  prepared.occurred_at = input.occurred_at.value_or(now);
  RETURN_IF_ERROR(catalog::CheckOccurredAt(prepared.occurred_at, now, options_.max_backdate));
  catalog::ConversionRequest request;
  request.action_type = input.action_type;
  request.quantity = input.quantity;
  request.unit = input.unit;
  request.occurred_at = prepared.occurred_at;
  ASSIGN_OR_RETURN(prepared.conversion, catalog_->Convert(request));
  SetPeriods(&prepared);
  prepared.fingerprint = RequestFingerprint(input);
  SetRewards(&prepared);
  return prepared;
}

std::string ActionRecorder::RequestFingerprint(const ActionInput& input) {
  return Fingerprint({"record", input.action_type, absl::StrFormat("%.17g", input.quantity),
                      absl::StrCat(static_cast<int>(input.unit)),
                      input.occurred_at ? absl::StrCat(absl::ToUnixMillis(*input.occurred_at))
                                        : "now"});
}

void ActionRecorder::SetPeriods(PreparedAction* prepared) const {
  prepared->periods = calendar_->KeysAt(prepared->occurred_at);
  const absl::Duration keep =
      std::max(options_.period_retention, options_.max_backdate + absl::Hours(24));
  prepared->month_totals_expire_at = calendar_->MonthEnd(prepared->occurred_at) + keep;
  prepared->week_totals_expire_at = calendar_->WeekEnd(prepared->occurred_at) + keep;
  prepared->day_totals_expire_at = calendar_->DayEnd(prepared->occurred_at) + keep;
}

PreparedAction ActionRecorder::PrepareCredit(std::string account_id, std::string request_id,
                                             catalog::Conversion conversion,
                                             absl::Time occurred_at, std::string event_id,
                                             std::string logged_by) const {
  PreparedAction prepared;
  prepared.input.account_id = std::move(account_id);
  prepared.input.request_id = std::move(request_id);
  prepared.input.action_type = conversion.type->id;
  prepared.conversion = std::move(conversion);
  prepared.occurred_at = occurred_at;
  prepared.recorded_at = clock_();
  SetPeriods(&prepared);
  prepared.source = "staff";
  prepared.fingerprint = Fingerprint(
      {"credit", event_id, absl::StrCat(prepared.conversion.quantity_milli),
       absl::StrCat(prepared.conversion.co2e_grams), absl::StrCat(prepared.conversion.points)});
  prepared.event_id = std::move(event_id);
  prepared.logged_by = std::move(logged_by);
  // After the fingerprint: a credit re-run after a campaign was created must
  // still match its first attempt (the replay returns the first figures).
  SetRewards(&prepared);
  return prepared;
}

}  // namespace ecoact::actions
