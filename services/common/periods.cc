#include "services/common/periods.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/validation.h"

namespace ecoact {
namespace {

absl::CivilDay MondayOf(absl::CivilDay day) {
  // GetWeekday: Monday..Sunday; days since Monday in [0, 6].
  int since_monday = (static_cast<int>(absl::GetWeekday(day)) -
                      static_cast<int>(absl::Weekday::monday) + 7) % 7;
  return day - since_monday;
}

}  // namespace

absl::StatusOr<WeekStart> ParseWeekStart(absl::string_view text) {
  if (text == "monday") return WeekStart::kMonday;
  if (text == "sunday") return WeekStart::kSunday;
  return absl::InvalidArgumentError(
      absl::StrCat("week start must be 'monday' or 'sunday', got '", text, "'"));
}

absl::StatusOr<CityCalendar> CityCalendar::Create(absl::string_view time_zone,
                                                  WeekStart week_start) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(std::string(time_zone), &zone)) {
    return absl::NotFoundError(absl::StrCat(
        "unknown time zone '", time_zone, "' (is the tzdata package installed?)"));
  }
  return CityCalendar(zone, week_start);
}

absl::CivilDay CityCalendar::LocalDay(absl::Time t) const {
  return absl::ToCivilDay(t, zone_);
}

std::string IsoWeekKey(absl::CivilDay day) {
  // The ISO week belongs to the year of its Thursday.
  absl::CivilDay thursday = MondayOf(day) + 3;
  int week = static_cast<int>(absl::GetYearDay(thursday) - 1) / 7 + 1;
  return absl::StrFormat("%04d-W%02d", thursday.year(), week);
}

PeriodKeys CityCalendar::KeysAt(absl::Time t) const {
  absl::CivilDay day = LocalDay(t);
  PeriodKeys keys;
  keys.day = absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
  if (week_start_ == WeekStart::kMonday) {
    keys.week = IsoWeekKey(day);
  } else {
    absl::CivilDay first = WeekStartOf(day);
    keys.week = absl::StrFormat("wk-%04d-%02d-%02d", first.year(), first.month(), first.day());
  }
  keys.month = absl::StrFormat("%04d-%02d", day.year(), day.month());
  return keys;
}

absl::Time CityCalendar::StartOf(absl::CivilDay day) const {
  return absl::FromCivil(day, zone_);
}

absl::Time CityCalendar::DayEnd(absl::Time t) const { return StartOf(LocalDay(t) + 1); }

absl::CivilDay CityCalendar::WeekStartOf(absl::CivilDay day) const {
  return week_start_ == WeekStart::kMonday ? MondayOf(day) : MondayOf(day + 1) - 1;
}

absl::Time CityCalendar::WeekEnd(absl::Time t) const {
  return StartOf(WeekStartOf(LocalDay(t)) + 7);
}

absl::Time CityCalendar::MonthEnd(absl::Time t) const {
  absl::CivilMonth month(LocalDay(t));
  return StartOf(absl::CivilDay(month + 1));
}

absl::StatusOr<absl::CivilDay> ParseCivilDay(absl::string_view text) {
  // absl::ParseCivilTime reads the year with strtoll, which also takes a
  // sign or leading blanks ("+026-11-29" would be year 26): check the shape.
  bool shaped = text.size() == 10;
  for (size_t i = 0; shaped && i < text.size(); ++i) {
    shaped = (i == 4 || i == 7) ? text[i] == '-' : absl::ascii_isdigit(text[i]);
  }
  absl::CivilDay day;
  if (!shaped || !absl::ParseCivilTime(text, &day)) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a date as YYYY-MM-DD, got ", QuoteForMessage(text)));
  }
  return day;
}

}  // namespace ecoact
