#include "services/rewards/streak.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace ecoact::rewards {
namespace {
const absl::CivilDay kEpoch(2000, 1, 1);
}  // namespace

int64_t DayNumber(absl::CivilDay day) { return day - kEpoch; }
absl::CivilDay DayFromNumber(int64_t number) { return kEpoch + number; }

bool StreakTracker::Add(int64_t day) {
  if (!days_.insert(day).second) return false;
  if (state_.last < 0 || day > state_.last) {
    state_.cur = (state_.last >= 0 && day == state_.last + 1) ? state_.cur + 1 : 1;
    state_.last = day;
    state_.best = std::max(state_.best, state_.cur);
    return true;
  }
  // A backdated day filling a gap joins the runs on both sides.
  int64_t left = 0, right = 0;
  while (days_.count(day - left - 1)) ++left;
  while (day + right + 1 <= state_.last && days_.count(day + right + 1)) ++right;
  const int64_t run = left + 1 + right;
  if (day + right == state_.last) state_.cur = run;
  state_.best = std::max(state_.best, run);
  return true;
}

v1::Streak StreakView(const StreakState& state, absl::Time now, const CityCalendar& calendar) {
  v1::Streak out;
  out.set_best_days(static_cast<int32_t>(state.best));
  if (state.last < 0) return out;
  const absl::CivilDay last = DayFromNumber(state.last);
  out.set_last_active_day(absl::StrFormat("%04d-%02d-%02d", last.year(), last.month(), last.day()));
  const int64_t today = DayNumber(calendar.LocalDay(now));
  if (state.last < today - 1) return out;  // broken: no action yesterday or today
  out.set_current_days(static_cast<int32_t>(state.cur));
  const absl::Time breaks = calendar.StartOf(last + 2);
  out.mutable_breaks_at()->set_seconds(absl::ToUnixSeconds(breaks));
  return out;
}

}  // namespace ecoact::rewards
