// Calendar periods in the city's time zone. Weeks are ISO weeks (Monday to
// Sunday) and are named by ISO week-year and number ("2026-W48").
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace ecoact {

struct PeriodKeys {
  std::string day;    // "2026-11-29"
  std::string week;   // "2026-W48"
  std::string month;  // "2026-11"
};

class CityCalendar {
 public:
  // `time_zone` is an IANA name such as "Asia/Tokyo"; NOT_FOUND if the
  // system has no such zone (install tzdata).
  static absl::StatusOr<CityCalendar> Create(absl::string_view time_zone);
  explicit CityCalendar(absl::TimeZone zone) : zone_(zone) {}

  PeriodKeys KeysAt(absl::Time t) const;
  absl::CivilDay LocalDay(absl::Time t) const;

  // First instant of the next day, week and month after `t`.
  absl::Time DayEnd(absl::Time t) const;
  absl::Time WeekEnd(absl::Time t) const;
  absl::Time MonthEnd(absl::Time t) const;

  // Start of the local day `day` (00:00 city time).
  absl::Time StartOf(absl::CivilDay day) const;

  const absl::TimeZone& zone() const { return zone_; }

 private:
  absl::TimeZone zone_;
};

// "YYYY-MM-DD" -> civil day; INVALID_ARGUMENT otherwise.
absl::StatusOr<absl::CivilDay> ParseCivilDay(absl::string_view text);

// ISO week key of a civil day, e.g. 2026-11-29 -> "2026-W48".
std::string IsoWeekKey(absl::CivilDay day);

}  // namespace ecoact
