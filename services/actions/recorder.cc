#include "services/actions/recorder.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"

namespace ecoact::actions {

ActionRecorder::ActionRecorder(const catalog::Catalog* catalog, const CityCalendar* calendar,
                               Clock clock, RecorderOptions options)
    : catalog_(catalog), calendar_(calendar), clock_(std::move(clock)), options_(options) {}

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
  return prepared;
}

}  // namespace ecoact::actions
