// Streak arithmetic on local day numbers (days since 2000-01-01 in the
// city's time zone), the same as record_action.lua: used by the rebuild and
// by the RecordAction response. Pure domain code.
#pragma once

#include <cstdint>
#include <set>

#include "absl/time/civil_time.h"
#include "ecoact/v1/common.pb.h"
#include "services/common/periods.h"

namespace ecoact::rewards {

int64_t DayNumber(absl::CivilDay day);
absl::CivilDay DayFromNumber(int64_t number);

// The streak hash: `last` active day (-1 before the first), `cur` the run
// ending at `last`, `best` the longest run.
struct StreakState {
  int64_t last = -1;
  int64_t cur = 0;
  int64_t best = 0;
  bool operator==(const StreakState& o) const {
    return last == o.last && cur == o.cur && best == o.best;
  }
};

// Active days plus the state derived from them, updated one day at a time.
class StreakTracker {
 public:
  // Marks `day` active; returns false if it already was (nothing changes).
  bool Add(int64_t day);
  const StreakState& state() const { return state_; }
  const std::set<int64_t>& days() const { return days_; }

 private:
  std::set<int64_t> days_;
  StreakState state_;
};

// What the app shows at `now`: current_days 0 when the last active day is
// before yesterday; breaks_at the start of the second local day after it.
v1::Streak StreakView(const StreakState& state, absl::Time now, const CityCalendar& calendar);

}  // namespace ecoact::rewards
