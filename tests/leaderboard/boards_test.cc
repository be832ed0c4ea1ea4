// Which boards an entry feeds, and how a BoardRef names a board (pure).
#include "services/leaderboard/boards.h"

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace ecoact::leaderboard {
namespace {

using ::testing::Contains;
using ::testing::Field;

CityCalendar Tokyo() { return *CityCalendar::Create("Asia/Tokyo"); }

absl::Time Jst(int y, int m, int d, int hh, int mm, int ss) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), Tokyo().zone());
}

v1::LedgerEntry EntryAt(absl::Time t, std::string ward, std::string team) {
  v1::LedgerEntry e;
  *e.mutable_occurred_at() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
  e.set_ward(std::move(ward));
  e.set_team(std::move(team));
  return e;
}

TEST(BoardsTest, EntryFeedsCityWardTeamForEveryPeriodAndMetric) {
  auto targets = TargetsForEntry(EntryAt(Jst(2026, 11, 29, 23, 59, 59), "nakahara", "class-3b"),
                                 Tokyo(), BoardOptions{});
  EXPECT_EQ(targets.size(), 3u * 4u * 2u);
  EXPECT_THAT(targets, Contains(Field(&BoardTarget::board, "city::2026-W48:pts")));
  EXPECT_THAT(targets, Contains(Field(&BoardTarget::board, "ward:nakahara:2026-11:co2")));
  EXPECT_THAT(targets, Contains(Field(&BoardTarget::board, "team:class-3b:all:pts")));
  EXPECT_THAT(targets, Contains(Field(&BoardTarget::totals_field, "co2@w:nakahara")));
}

TEST(BoardsTest, SundayLateAndMondayMidnightAreDifferentWeeks) {
  auto sunday = TargetsForEntry(EntryAt(Jst(2026, 11, 29, 23, 59, 59), "", ""), Tokyo(), {});
  auto monday = TargetsForEntry(EntryAt(Jst(2026, 11, 30, 0, 0, 0), "", ""), Tokyo(), {});
  EXPECT_THAT(sunday, Contains(Field(&BoardTarget::board, "city::2026-W48:pts")));
  EXPECT_THAT(monday, Contains(Field(&BoardTarget::board, "city::2026-W49:pts")));
  EXPECT_EQ(sunday.size(), 8u);  // city only without ward and team
}

TEST(BoardsTest, FinishedPeriodBoardsExpireAfterRetention) {
  BoardOptions options;
  options.retention = absl::Hours(24);
  for (const BoardTarget& t :
       TargetsForEntry(EntryAt(Jst(2026, 11, 29, 12, 0, 0), "", ""), Tokyo(), options)) {
    if (t.totals_period_key == "all") {
      EXPECT_FALSE(t.expire_at.has_value());
    } else if (t.totals_period_key == "2026-11-29") {
      EXPECT_EQ(*t.expire_at, Jst(2026, 12, 1, 0, 0, 0));
    }
  }
}

TEST(BoardsTest, ResolveValidatesTheReference) {
  v1::BoardRef ref;
  ref.set_scope(v1::SCOPE_WARD);
  ref.set_period(v1::PERIOD_WEEK);
  ref.set_metric(v1::METRIC_POINTS);
  const absl::Time now = Jst(2026, 11, 29, 10, 0, 0);
  EXPECT_EQ(ResolveBoard(ref, Tokyo(), now).status().code(), absl::StatusCode::kInvalidArgument);
  auto own = ResolveBoard(ref, Tokyo(), now, "tama");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->board, "ward:tama:2026-W48:pts");
  EXPECT_EQ(*own->period_ends, Jst(2026, 11, 30, 0, 0, 0));
  ref.set_scope_id("Bad Id!");
  EXPECT_EQ(ResolveBoard(ref, Tokyo(), now).status().code(), absl::StatusCode::kInvalidArgument);
  ref.set_scope(v1::SCOPE_UNSPECIFIED);
  EXPECT_EQ(ResolveBoard(ref, Tokyo(), now).status().code(), absl::StatusCode::kInvalidArgument);
  ref.set_scope(v1::SCOPE_CITY);
  ref.set_metric(static_cast<v1::Metric>(42));
  EXPECT_EQ(ResolveBoard(ref, Tokyo(), now).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ecoact::leaderboard
