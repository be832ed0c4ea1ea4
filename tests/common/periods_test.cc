#include "services/common/periods.h"

#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using ::ecoact::test::IsOk;
using ::ecoact::test::StatusIs;
using ::testing::HasSubstr;

CityCalendar Calendar(const std::string& zone) {
  auto calendar = CityCalendar::Create(zone);
  EXPECT_THAT(calendar, IsOk()) << zone;
  return *std::move(calendar);
}

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

class TokyoCalendarTest : public ::testing::Test {
 protected:
  absl::Time Jst(int y, int mo, int d, int h, int mi, int s) const {
    return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), calendar_.zone());
  }
  CityCalendar calendar_ = Calendar("Asia/Tokyo");
};

TEST_F(TokyoCalendarTest, JstIsNineHoursAheadOfUtc) {
  EXPECT_EQ(Jst(2026, 11, 30, 0, 0, 0), Utc(2026, 11, 29, 15, 0, 0));
}

TEST_F(TokyoCalendarTest, SundayNightAndMondayMorningAreDifferentIsoWeeks) {
  PeriodKeys sunday = calendar_.KeysAt(Jst(2026, 11, 29, 23, 59, 59));
  PeriodKeys monday = calendar_.KeysAt(Jst(2026, 11, 30, 0, 0, 0));
  EXPECT_EQ(sunday.day, "2026-11-29");
  EXPECT_EQ(sunday.week, "2026-W48");
  EXPECT_EQ(sunday.month, "2026-11");
  EXPECT_EQ(monday.day, "2026-11-30");
  EXPECT_EQ(monday.week, "2026-W49");
  EXPECT_EQ(monday.month, "2026-11");
}

TEST_F(TokyoCalendarTest, WeeksFollowTokyoNotUtc) {
  // Monday 00:30 JST is still Sunday in UTC: the city's week has turned.
  absl::Time t = Utc(2026, 11, 29, 15, 30, 0);
  EXPECT_EQ(calendar_.KeysAt(t).week, "2026-W49");
  EXPECT_EQ(Calendar("UTC").KeysAt(t).week, "2026-W48");
}

TEST_F(TokyoCalendarTest, MonthTurnsAtTokyoMidnight) {
  PeriodKeys last = calendar_.KeysAt(Jst(2026, 11, 30, 23, 59, 59));
  PeriodKeys first = calendar_.KeysAt(Jst(2026, 12, 1, 0, 0, 0));
  EXPECT_EQ(last.month, "2026-11");
  EXPECT_EQ(last.day, "2026-11-30");
  EXPECT_EQ(first.month, "2026-12");
  EXPECT_EQ(first.day, "2026-12-01");

  // The same instants written in UTC.
  EXPECT_EQ(calendar_.KeysAt(Utc(2026, 11, 30, 14, 59, 59)).month, "2026-11");
  EXPECT_EQ(calendar_.KeysAt(Utc(2026, 11, 30, 15, 0, 0)).month, "2026-12");
  EXPECT_EQ(calendar_.KeysAt(Utc(2026, 11, 30, 15, 0, 0)).day, "2026-12-01");
  // In UTC that instant is still November.
  EXPECT_EQ(Calendar("UTC").KeysAt(Utc(2026, 11, 30, 15, 0, 0)).month, "2026-11");
}

TEST_F(TokyoCalendarTest, IsoWeekAcrossTheYearBoundary) {
  // 1 January 2026 is a Thursday, so ISO year 2026 has 53 weeks and its last
  // week runs from Monday 28 December 2026 to Sunday 3 January 2027.
  ASSERT_EQ(absl::GetWeekday(absl::CivilDay(2026, 1, 1)), absl::Weekday::thursday);
  EXPECT_EQ(calendar_.KeysAt(Jst(2026, 12, 28, 0, 0, 0)).week, "2026-W53");
  EXPECT_EQ(calendar_.KeysAt(Jst(2026, 12, 31, 12, 0, 0)).week, "2026-W53");
  PeriodKeys new_year = calendar_.KeysAt(Jst(2027, 1, 1, 0, 0, 0));
  EXPECT_EQ(new_year.week, "2026-W53");  // the week-year, not the calendar year
  EXPECT_EQ(new_year.month, "2027-01");
  EXPECT_EQ(new_year.day, "2027-01-01");
  EXPECT_EQ(calendar_.KeysAt(Jst(2027, 1, 3, 23, 59, 59)).week, "2026-W53");
  EXPECT_EQ(calendar_.KeysAt(Jst(2027, 1, 4, 0, 0, 0)).week, "2027-W01");
  // And the other way round: 29 December 2025 already belongs to 2026-W01.
  EXPECT_EQ(IsoWeekKey(absl::CivilDay(2025, 12, 28)), "2025-W52");
  EXPECT_EQ(IsoWeekKey(absl::CivilDay(2025, 12, 29)), "2026-W01");
  EXPECT_EQ(IsoWeekKey(absl::CivilDay(2026, 1, 1)), "2026-W01");
}

// ISO 8601 week date computed differently (ordinal-date formula), to check
// IsoWeekKey on every day of several decades.
int WeeksInIsoYear(int64_t year) {
  auto p = [](int64_t y) { return (y + y / 4 - y / 100 + y / 400) % 7; };
  return (p(year) == 4 || p(year - 1) == 3) ? 53 : 52;
}

std::string ReferenceIsoWeek(absl::CivilDay day) {
  const int weekday =
      (static_cast<int>(absl::GetWeekday(day)) - static_cast<int>(absl::Weekday::monday) + 7) %
          7 + 1;  // Monday = 1 ... Sunday = 7
  int64_t year = day.year();
  int week = (absl::GetYearDay(day) - weekday + 10) / 7;
  if (week < 1) {
    --year;
    week = WeeksInIsoYear(year);
  } else if (week > WeeksInIsoYear(year)) {
    ++year;
    week = 1;
  }
  return absl::StrFormat("%04d-W%02d", year, week);
}

TEST(IsoWeekKeyTest, MatchesTheIso8601DefinitionOnEveryDayFrom2000To2060) {
  int mismatches = 0;
  for (absl::CivilDay day(2000, 1, 1); day < absl::CivilDay(2061, 1, 1); ++day) {
    if (IsoWeekKey(day) != ReferenceIsoWeek(day) && ++mismatches <= 5) {
      ADD_FAILURE() << day << ": " << IsoWeekKey(day) << " vs " << ReferenceIsoWeek(day);
    }
  }
  EXPECT_EQ(mismatches, 0);
  // Years with 53 weeks in that range, for the record.
  EXPECT_EQ(IsoWeekKey(absl::CivilDay(2020, 12, 31)), "2020-W53");
  EXPECT_EQ(IsoWeekKey(absl::CivilDay(2032, 12, 31)), "2032-W53");
  EXPECT_EQ(IsoWeekKey(absl::CivilDay(2027, 12, 31)), "2027-W52");
}

TEST_F(TokyoCalendarTest, DayEnd) {
  EXPECT_EQ(calendar_.DayEnd(Jst(2026, 11, 29, 12, 0, 0)), Jst(2026, 11, 30, 0, 0, 0));
  EXPECT_EQ(calendar_.DayEnd(Jst(2026, 11, 29, 23, 59, 59)), Jst(2026, 11, 30, 0, 0, 0));
  // At midnight exactly, the day has just begun: it ends 24 hours later.
  EXPECT_EQ(calendar_.DayEnd(Jst(2026, 11, 30, 0, 0, 0)), Jst(2026, 12, 1, 0, 0, 0));
  EXPECT_EQ(calendar_.DayEnd(Jst(2026, 11, 29, 12, 0, 0)), Utc(2026, 11, 29, 15, 0, 0));
}

TEST_F(TokyoCalendarTest, WeekEndIsTheNextMondayMidnight) {
  EXPECT_EQ(calendar_.WeekEnd(Jst(2026, 11, 29, 23, 59, 59)), Jst(2026, 11, 30, 0, 0, 0));
  EXPECT_EQ(calendar_.WeekEnd(Jst(2026, 11, 30, 0, 0, 0)), Jst(2026, 12, 7, 0, 0, 0));
  EXPECT_EQ(calendar_.WeekEnd(Jst(2026, 12, 2, 9, 30, 0)), Jst(2026, 12, 7, 0, 0, 0));
  EXPECT_EQ(calendar_.WeekEnd(Jst(2026, 12, 31, 9, 30, 0)), Jst(2027, 1, 4, 0, 0, 0));
}

TEST_F(TokyoCalendarTest, MonthEndIsTheFirstOfNextMonth) {
  EXPECT_EQ(calendar_.MonthEnd(Jst(2026, 11, 30, 23, 59, 59)), Jst(2026, 12, 1, 0, 0, 0));
  EXPECT_EQ(calendar_.MonthEnd(Jst(2026, 12, 1, 0, 0, 0)), Jst(2027, 1, 1, 0, 0, 0));
  EXPECT_EQ(calendar_.MonthEnd(Jst(2028, 2, 10, 0, 0, 0)), Jst(2028, 3, 1, 0, 0, 0));
  EXPECT_EQ(calendar_.MonthEnd(Utc(2026, 11, 30, 14, 59, 59)), Utc(2026, 11, 30, 15, 0, 0));
  EXPECT_EQ(calendar_.MonthEnd(Utc(2026, 11, 30, 15, 0, 0)), Utc(2026, 12, 31, 15, 0, 0));
}

TEST_F(TokyoCalendarTest, PeriodEndsAreAfterTheInstantAndInTheNextPeriod) {
  for (absl::Time t = Jst(2026, 12, 20, 0, 0, 0); t < Jst(2027, 1, 10, 0, 0, 0);
       t += absl::Minutes(97)) {
    PeriodKeys now = calendar_.KeysAt(t);
    EXPECT_GT(calendar_.DayEnd(t), t);
    EXPECT_NE(calendar_.KeysAt(calendar_.DayEnd(t)).day, now.day);
    EXPECT_EQ(calendar_.KeysAt(calendar_.DayEnd(t) - absl::Seconds(1)).day, now.day);
    EXPECT_NE(calendar_.KeysAt(calendar_.WeekEnd(t)).week, now.week);
    EXPECT_EQ(calendar_.KeysAt(calendar_.WeekEnd(t) - absl::Seconds(1)).week, now.week);
    EXPECT_NE(calendar_.KeysAt(calendar_.MonthEnd(t)).month, now.month);
    EXPECT_EQ(calendar_.KeysAt(calendar_.MonthEnd(t) - absl::Seconds(1)).month, now.month);
  }
}

TEST_F(TokyoCalendarTest, StartOfAndLocalDay) {
  EXPECT_EQ(calendar_.StartOf(absl::CivilDay(2026, 12, 1)), Utc(2026, 11, 30, 15, 0, 0));
  EXPECT_EQ(calendar_.LocalDay(Utc(2026, 11, 30, 15, 0, 0)), absl::CivilDay(2026, 12, 1));
  EXPECT_EQ(calendar_.LocalDay(Utc(2026, 11, 30, 14, 59, 59)), absl::CivilDay(2026, 11, 30));
}

TEST(CityCalendarTest, DaylightSavingDaysAreNot24Hours) {
  CityCalendar new_york = Calendar("America/New_York");
  absl::CivilDay spring(2026, 3, 8);  // clocks go forward: a 23-hour day
  absl::CivilDay autumn(2026, 11, 1);  // clocks go back: a 25-hour day
  absl::Time noon_spring = new_york.StartOf(spring) + absl::Hours(12);
  absl::Time noon_autumn = new_york.StartOf(autumn) + absl::Hours(12);
  EXPECT_EQ(new_york.DayEnd(noon_spring) - new_york.StartOf(spring), absl::Hours(23));
  EXPECT_EQ(new_york.DayEnd(noon_autumn) - new_york.StartOf(autumn), absl::Hours(25));
  EXPECT_EQ(new_york.KeysAt(new_york.DayEnd(noon_spring)).day, "2026-03-09");
}

TEST(CityCalendarTest, UnknownZoneIsNotFound) {
  EXPECT_THAT(CityCalendar::Create("Mars/Olympus_Mons"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("Mars/Olympus_Mons")));
  EXPECT_THAT(CityCalendar::Create("Asia/Tokio"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("tzdata")));
  EXPECT_THAT(CityCalendar::Create("../../etc/passwd"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(CityCalendar::Create("Asia/Tokyo"), IsOk());
  EXPECT_THAT(CityCalendar::Create("UTC"), IsOk());
}

TEST(ParseCivilDayTest, AcceptsIsoDates) {
  auto day = ParseCivilDay("2026-11-29");
  ASSERT_THAT(day, IsOk());
  EXPECT_EQ(*day, absl::CivilDay(2026, 11, 29));
  EXPECT_THAT(ParseCivilDay("2028-02-29"), IsOk());  // leap year
}

TEST(ParseCivilDayTest, RejectsEverythingElse) {
  for (const char* bad : {"", "2026", "2026-11", "2026-1-29", "2026-11-9", "26-11-29",
                          "20261129", "2026/11/29", "29-11-2026", "2026-11-29T00:00",
                          " 2026-11-29", "2026-11-29 ", "2026-13-01", "2026-00-10",
                          "2026-11-31", "2026-02-29", "2026-11-00", "abcd-ef-gh",
                          "2026-11-2x", "+026-11-29", "-026-11-29", " 026-11-29",
                          "2026-11-+9", "2026-+1-29"}) {
    EXPECT_THAT(ParseCivilDay(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("YYYY-MM-DD")))
        << "'" << bad << "'";
  }
}

// Edges of every period a second either side of local midnight, in Tokyo.
TEST_F(TokyoCalendarTest, LastSecondAndMidnightFallInDifferentPeriods) {
  PeriodKeys before = calendar_.KeysAt(Jst(2026, 11, 30, 23, 59, 59));
  PeriodKeys after = calendar_.KeysAt(Jst(2026, 12, 1, 0, 0, 0));
  EXPECT_EQ(before.day, "2026-11-30");
  EXPECT_EQ(after.day, "2026-12-01");
  EXPECT_EQ(before.month, "2026-11");
  EXPECT_EQ(after.month, "2026-12");
  EXPECT_EQ(before.week, "2026-W49");  // Monday 30 Nov .. Sunday 6 Dec
  EXPECT_EQ(after.week, "2026-W49");
  EXPECT_EQ(calendar_.DayEnd(Jst(2026, 11, 30, 23, 59, 59)), Jst(2026, 12, 1, 0, 0, 0));
  EXPECT_EQ(calendar_.DayEnd(Jst(2026, 12, 1, 0, 0, 0)), Jst(2026, 12, 2, 0, 0, 0));
}

TEST_F(TokyoCalendarTest, LeapYearFebruaryEndsOnThe29th) {
  EXPECT_EQ(calendar_.KeysAt(Jst(2028, 2, 29, 23, 59, 59)).day, "2028-02-29");
  EXPECT_EQ(calendar_.KeysAt(Jst(2028, 2, 29, 23, 59, 59)).month, "2028-02");
  EXPECT_EQ(calendar_.KeysAt(Jst(2028, 3, 1, 0, 0, 0)).month, "2028-03");
  EXPECT_EQ(calendar_.MonthEnd(Jst(2028, 2, 1, 0, 0, 0)), Jst(2028, 3, 1, 0, 0, 0));
  EXPECT_EQ(calendar_.MonthEnd(Jst(2027, 2, 28, 23, 59, 59)), Jst(2027, 3, 1, 0, 0, 0));
}

TEST_F(TokyoCalendarTest, NewYearOf2027IsInIsoWeek2026W53) {
  // 31 Dec 2026 is a Thursday: 2026 has 53 ISO weeks, and 1-3 Jan 2027 still
  // belong to 2026-W53 while their day and month keys are 2027's.
  PeriodKeys eve = calendar_.KeysAt(Jst(2026, 12, 31, 23, 59, 59));
  PeriodKeys new_year = calendar_.KeysAt(Jst(2027, 1, 1, 0, 0, 0));
  EXPECT_EQ(eve.week, "2026-W53");
  EXPECT_EQ(new_year.week, "2026-W53");
  EXPECT_EQ(new_year.day, "2027-01-01");
  EXPECT_EQ(new_year.month, "2027-01");
  EXPECT_EQ(eve.month, "2026-12");
  EXPECT_EQ(calendar_.KeysAt(Jst(2027, 1, 3, 23, 59, 59)).week, "2026-W53");
  EXPECT_EQ(calendar_.KeysAt(Jst(2027, 1, 4, 0, 0, 0)).week, "2027-W01");
  EXPECT_EQ(calendar_.WeekEnd(Jst(2027, 1, 1, 0, 0, 0)), Jst(2027, 1, 4, 0, 0, 0));
}

TEST(WeekStartTest, ParsesMondayAndSundayOnly) {
  EXPECT_THAT(ParseWeekStart("monday"), IsOk());
  EXPECT_EQ(*ParseWeekStart("sunday"), WeekStart::kSunday);
  EXPECT_THAT(ParseWeekStart("Sunday"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'monday' or 'sunday'")));
  EXPECT_THAT(ParseWeekStart(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

class SundayWeekTest : public ::testing::Test {
 protected:
  absl::Time Jst(int y, int mo, int d, int h, int mi, int s) const {
    return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), calendar_.zone());
  }
  CityCalendar calendar_ = *CityCalendar::Create("Asia/Tokyo", WeekStart::kSunday);
};

TEST_F(SundayWeekTest, WeekIsKeyedByItsSundayAndTurnsAtSaturdayMidnight) {
  // Saturday 28 Nov 23:59:59 closes the week of Sunday 22 Nov; Sunday 29 Nov
  // 00:00 opens the next one.
  EXPECT_EQ(calendar_.KeysAt(Jst(2026, 11, 28, 23, 59, 59)).week, "wk-2026-11-22");
  EXPECT_EQ(calendar_.KeysAt(Jst(2026, 11, 29, 0, 0, 0)).week, "wk-2026-11-29");
  EXPECT_EQ(calendar_.KeysAt(Jst(2026, 12, 5, 23, 59, 59)).week, "wk-2026-11-29");
  EXPECT_EQ(calendar_.WeekEnd(Jst(2026, 11, 28, 23, 59, 59)), Jst(2026, 11, 29, 0, 0, 0));
  EXPECT_EQ(calendar_.WeekEnd(Jst(2026, 11, 29, 0, 0, 0)), Jst(2026, 12, 6, 0, 0, 0));
  // Days and months do not depend on the week start.
  EXPECT_EQ(calendar_.KeysAt(Jst(2026, 11, 29, 0, 0, 0)).day, "2026-11-29");
  EXPECT_EQ(calendar_.KeysAt(Jst(2026, 11, 29, 0, 0, 0)).month, "2026-11");
}

TEST_F(SundayWeekTest, WeekAcrossNewYearKeepsItsSundayKey) {
  // Sunday 27 Dec 2026 .. Saturday 2 Jan 2027 is one week.
  EXPECT_EQ(calendar_.KeysAt(Jst(2027, 1, 1, 0, 0, 0)).week, "wk-2026-12-27");
  EXPECT_EQ(calendar_.KeysAt(Jst(2027, 1, 2, 23, 59, 59)).week, "wk-2026-12-27");
  EXPECT_EQ(calendar_.KeysAt(Jst(2027, 1, 3, 0, 0, 0)).week, "wk-2027-01-03");
  EXPECT_EQ(calendar_.WeekStartOf(absl::CivilDay(2027, 1, 1)), absl::CivilDay(2026, 12, 27));
  EXPECT_EQ(calendar_.WeekStartOf(absl::CivilDay(2026, 12, 27)), absl::CivilDay(2026, 12, 27));
}

}  // namespace
}  // namespace ecoact
