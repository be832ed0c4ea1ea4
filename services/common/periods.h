// Calendar periods in the city's time zone. Weeks start on Monday by default
// and are then ISO weeks, named by ISO week-year and number ("2026-W48"). A
// city whose weeks start on Sunday (--week_start=sunday) names a week by its
// first day ("wk-2026-11-29"): ISO numbering has no Sunday-start variant and
// a date names the week unambiguously across New Year.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace ecoact {

enum class WeekStart { kMonday, kSunday };

// "monday" | "sunday" -> WeekStart; INVALID_ARGUMENT otherwise.
absl::StatusOr<WeekStart> ParseWeekStart(absl::string_view text);

struct PeriodKeys {
  std::string day;    // "2026-11-29"
  std::string week;   // "2026-W48" (Monday start) or "wk-2026-11-29" (Sunday start)
  std::string month;  // "2026-11"
};

class CityCalendar {
 public:
  // `time_zone` is an IANA name such as "Asia/Tokyo"; NOT_FOUND if the
  // system has no such zone (install tzdata).
  static absl::StatusOr<CityCalendar> Create(absl::string_view time_zone,
                                             WeekStart week_start = WeekStart::kMonday);
  explicit CityCalendar(absl::TimeZone zone, WeekStart week_start = WeekStart::kMonday)
      : zone_(zone), week_start_(week_start) {}

  PeriodKeys KeysAt(absl::Time t) const;
  absl::CivilDay LocalDay(absl::Time t) const;

  // First instant of the next day, week and month after `t`.
  absl::Time DayEnd(absl::Time t) const;
  absl::Time WeekEnd(absl::Time t) const;
  absl::Time MonthEnd(absl::Time t) const;

  // Start of the local day `day` (00:00 city time).
  absl::Time StartOf(absl::CivilDay day) const;

  // First local day of the week containing `day`.
  absl::CivilDay WeekStartOf(absl::CivilDay day) const;

  const absl::TimeZone& zone() const { return zone_; }
  WeekStart week_start() const { return week_start_; }

 private:
  absl::TimeZone zone_;
  WeekStart week_start_;
};

// "YYYY-MM-DD" -> civil day; INVALID_ARGUMENT otherwise.
absl::StatusOr<absl::CivilDay> ParseCivilDay(absl::string_view text);

// ISO week key of a civil day, e.g. 2026-11-29 -> "2026-W48".
std::string IsoWeekKey(absl::CivilDay day);

}  // namespace ecoact
