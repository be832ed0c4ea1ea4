// Which boards an entry feeds, and how a BoardRef names a board (pure).
#include "services/leaderboard/boards.h"

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/common/arith.h"

namespace ecoact::leaderboard {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

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
  // Citizen boards 3 scopes x 4 periods x 2 metrics, group boards (wards and
  // teams, total and per member) 2 x 2 x 4 x 2, and the day's audit board.
  EXPECT_EQ(targets.size(), 3u * 4u * 2u + 2u * 2u * 4u * 2u + 1u);
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
  EXPECT_EQ(sunday.size(), 9u);  // city only without ward and team, plus audit
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
  EXPECT_EQ(ResolveBoard(ref, Tokyo(), now, OwnGroups{}).status().code(), absl::StatusCode::kInvalidArgument);
  auto own = ResolveBoard(ref, Tokyo(), now, OwnGroups{"tama", "", ""});
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->board, "ward:tama:2026-W48:pts");
  EXPECT_EQ(*own->period_ends, Jst(2026, 11, 30, 0, 0, 0));
  ref.set_scope_id("Bad Id!");
  EXPECT_EQ(ResolveBoard(ref, Tokyo(), now, OwnGroups{}).status().code(), absl::StatusCode::kInvalidArgument);
  ref.set_scope(v1::SCOPE_UNSPECIFIED);
  EXPECT_EQ(ResolveBoard(ref, Tokyo(), now, OwnGroups{}).status().code(), absl::StatusCode::kInvalidArgument);
  ref.set_scope(v1::SCOPE_CITY);
  ref.set_metric(static_cast<v1::Metric>(42));
  EXPECT_EQ(ResolveBoard(ref, Tokyo(), now, OwnGroups{}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BoardsTest, OrganisationAndCampaignBoardsReadTheirOwnFields) {
  v1::LedgerEntry e = EntryAt(Jst(2026, 11, 29, 12, 0, 0), "", "");
  e.set_organisation("fujitsu");
  e.add_campaign_ids("denim-nov");
  e.add_campaign_ids("eco-week");
  auto targets = TargetsForEntry(e, Tokyo(), {});
  EXPECT_THAT(targets, Contains(AllOf(Field(&BoardTarget::board, "org:fujitsu:2026-11:co2"),
                                      Field(&BoardTarget::totals_field, "co2@o:fujitsu"),
                                      Field(&BoardTarget::totals_period_key, "2026-11"),
                                      Field(&BoardTarget::kind, BoardKind::kCitizen))));
  EXPECT_THAT(targets, Contains(AllOf(Field(&BoardTarget::board, "campaign:denim-nov:all:pts"),
                                      Field(&BoardTarget::totals_field, "pts@c:denim-nov"),
                                      Field(&BoardTarget::totals_period_key, "all"))));
  EXPECT_THAT(targets, Contains(Field(&BoardTarget::board, "campaign:eco-week:all:co2")));
  // Campaigns have their own dates: no period boards for them.
  EXPECT_THAT(targets, Not(Contains(Field(&BoardTarget::board, "campaign:denim-nov:2026-11:pts"))));
}

TEST(BoardsTest, GroupBoardsSumTheShardAggregatesPerGroup) {
  v1::LedgerEntry e = EntryAt(Jst(2026, 11, 29, 12, 0, 0), "tama", "class-3b");
  e.set_organisation("fujitsu");
  auto targets = TargetsForEntry(e, Tokyo(), {});
  EXPECT_THAT(targets, Contains(AllOf(Field(&BoardTarget::board, "teams::2026-W48:pts"),
                                      Field(&BoardTarget::kind, BoardKind::kGroup),
                                      Field(&BoardTarget::group_id, "class-3b"),
                                      Field(&BoardTarget::totals_field, "pts@t:class-3b"),
                                      Field(&BoardTarget::active_field, ""))));
  EXPECT_THAT(targets, Contains(AllOf(Field(&BoardTarget::board, "orgs-avg::all:co2"),
                                      Field(&BoardTarget::group_id, "fujitsu"),
                                      Field(&BoardTarget::totals_field, "co2@o:fujitsu"),
                                      Field(&BoardTarget::active_field, "act@o:fujitsu"))));
  EXPECT_THAT(targets, Contains(AllOf(Field(&BoardTarget::board, "wards::2026-11-29:pts"),
                                      Field(&BoardTarget::group_id, "tama"))));
  EXPECT_THAT(targets, Contains(AllOf(Field(&BoardTarget::board, "audit:2026-11-29:co2"),
                                      Field(&BoardTarget::kind, BoardKind::kAudit),
                                      Field(&BoardTarget::totals_field, "co2"),
                                      Field(&BoardTarget::expire_at,
                                            Jst(2026, 11, 30, 0, 0, 0) + absl::Hours(24 * 35)))));
}

TEST(BoardsTest, CitizenBoardsFromTotalsIgnoreCategoriesCountsAndPeriodCampaigns) {
  std::vector<std::pair<std::string, std::string>> all = {
      {"pts", "10"}, {"co2", "500"}, {"n", "3"}, {"pts:c:clothing", "10"},
      {"pts@w:tama", "10"}, {"co2@t:class-3b", "500"}, {"pts@o:fujitsu", "7"},
      {"pts@c:denim-nov", "4"}, {"n@c:denim-nov", "1"}, {"co2@e:drive-1", "300"},
      {"q:clothing_reuse", "2000"}, {"n:t:clothing_reuse", "2"}};
  EXPECT_THAT(CitizenBoardsFromTotals("all", all),
              UnorderedElementsAre(Pair("city::all:pts", 10), Pair("city::all:co2", 500),
                                   Pair("ward:tama:all:pts", 10),
                                   Pair("team:class-3b:all:co2", 500),
                                   Pair("org:fujitsu:all:pts", 7),
                                   Pair("campaign:denim-nov:all:pts", 4),
                                   Pair("event:drive-1:all:co2", 300)));
  // A month hash never feeds campaign or event boards.
  EXPECT_THAT(CitizenBoardsFromTotals("2026-11", {{"pts", "3"}, {"pts@c:denim-nov", "3"}}),
              ElementsAre(Pair("city::2026-11:pts", 3)));
}

TEST(BoardsTest, ResolveNamesGroupBoardsAndRejectsMisuse) {
  const absl::Time now = Jst(2026, 11, 29, 10, 0, 0);
  v1::BoardRef ref;
  ref.set_scope(v1::SCOPE_CITY);
  ref.set_period(v1::PERIOD_MONTH);
  ref.set_metric(v1::METRIC_CO2E_GRAMS);
  ref.set_level(v1::LEVEL_TEAMS);
  ref.set_per_active_member(true);
  auto teams = ResolveBoard(ref, Tokyo(), now, OwnGroups{});
  ASSERT_TRUE(teams.ok()) << teams.status();
  EXPECT_EQ(teams->board, "teams-avg::2026-11:co2");
  EXPECT_EQ(teams->kind, BoardKind::kGroup);
  EXPECT_STREQ(teams->group.tag, "t");
  ref.set_scope(v1::SCOPE_WARD);
  EXPECT_EQ(ResolveBoard(ref, Tokyo(), now, OwnGroups{}).status().message(),
            "board.level TEAMS, ORGANISATIONS and WARDS rank groups city-wide: board.scope "
            "must be CITY");
  ref.set_level(v1::LEVEL_UNSPECIFIED);
  EXPECT_THAT(std::string(ResolveBoard(ref, Tokyo(), now, OwnGroups{}).status().message()),
              ::testing::HasSubstr("per_active_member applies to group boards only"));
  ref.set_per_active_member(false);
  ref.set_scope(v1::SCOPE_ORGANISATION);
  auto org = ResolveBoard(ref, Tokyo(), now, OwnGroups{"tama", "", "fujitsu"});
  ASSERT_TRUE(org.ok());
  EXPECT_EQ(org->board, "org:fujitsu:2026-11:co2");
  EXPECT_EQ(org->group_total_field, "co2@o:fujitsu");
  ref.set_scope(v1::SCOPE_CAMPAIGN);
  ref.set_scope_id("denim-nov");
  EXPECT_EQ(ResolveBoard(ref, Tokyo(), now, OwnGroups{}).status().message(),
            "a campaign board has the ALL_TIME period only");
  ref.set_period(v1::PERIOD_ALL_TIME);
  auto campaign = ResolveBoard(ref, Tokyo(), now, OwnGroups{});
  ASSERT_TRUE(campaign.ok());
  EXPECT_EQ(campaign->board, "campaign:denim-nov:all:co2");
  EXPECT_TRUE(campaign->group_total_field.empty());
  ref.set_level(static_cast<v1::Level>(9));
  EXPECT_EQ(ResolveBoard(ref, Tokyo(), now, OwnGroups{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BoardsTest, ACitizenBelongsToEveryBoardOfTheirGroupsCampaignsAndEvents) {
  auto boards = BoardsOfCitizen(OwnGroups{"tama", "class-3b", ""},
                                {{"pts", "5"}, {"pts@c:denim-nov", "5"}, {"co2@c:denim-nov", "9"},
                                 {"pts@e:drive-1", "2"}},
                                Tokyo(), Jst(2026, 11, 29, 10, 0, 0));
  // city, ward, team x 4 x 2; campaign and event x 2; wards and teams groups
  // x total/avg x 4 x 2.
  EXPECT_EQ(boards.size(), 24u + 4u + 32u);
  std::vector<std::string> names;
  for (const MyBoard& b : boards) names.push_back(b.resolved.board);
  EXPECT_THAT(names, Contains("team:class-3b:2026-W48:co2"));
  EXPECT_THAT(names, Contains("campaign:denim-nov:all:pts"));
  EXPECT_THAT(names, Contains("event:drive-1:all:co2"));
  EXPECT_THAT(names, Contains("wards-avg::2026-11-29:pts"));
  EXPECT_THAT(names, Not(Contains(::testing::StartsWith("org:"))));
  for (const MyBoard& b : boards) {
    if (b.resolved.kind == BoardKind::kGroup) {
      EXPECT_FALSE(b.group_id.empty()) << b.resolved.board;
    } else {
      EXPECT_TRUE(b.group_id.empty()) << b.resolved.board;
    }
  }
}

TEST(BoardsTest, PerMemberAveragesRoundDown) {
  EXPECT_EQ(FloorDiv(10, 3), 3);
  EXPECT_EQ(FloorDiv(9, 3), 3);
  EXPECT_EQ(FloorDiv(-10, 3), -4);
  EXPECT_EQ(FloorDiv(0, 5), 0);
}

}  // namespace
}  // namespace ecoact::leaderboard
