// Badge rules file, the C++ rule evaluator, streak arithmetic and campaign
// matching: pure code, no Redis.
#include <limits>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/arith.h"
#include "services/actions/campaigns.h"
#include "services/rewards/badge_display.h"
#include "services/rewards/badge_rules.h"
#include "services/rewards/campaign_definition.h"
#include "services/rewards/streak.h"

namespace ecoact::rewards {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(BadgeRulesTest, EmbeddedFileLoadsWithTheRequiredBadges) {
  auto rules = BadgeRuleSet::Parse(EmbeddedBadgesText());
  ASSERT_TRUE(rules.ok()) << rules.status();
  for (const char* id : {"first_action", "actions_10", "clothes_10kg", "every_recycling_type",
                         "streak_7", "joined_drive", "co2_100kg", "points_1000"}) {
    const BadgeRule* rule = rules->Find(id);
    ASSERT_NE(rule, nullptr) << id;
    EXPECT_FALSE(rule->title_ja.empty()) << id;
    EXPECT_FALSE(rule->description_en.empty()) << id;
  }
  EXPECT_THAT(rules->LuaArgument(),
              HasSubstr("clothes_10kg=q:clothing_reuse+q:clothing_recycling>=10000;"));
}

TEST(BadgeRulesTest, SyntaxErrorNamesTheLine) {
  auto rules = BadgeRuleSet::Parse("badges {\n  id: \"a_b\"\n  nonsense: 3\n}\n");
  ASSERT_FALSE(rules.ok());
  EXPECT_THAT(std::string(rules.status().message()), HasSubstr("line 3"));
}

TEST(BadgeRulesTest, BadConditionNamesItsLine) {
  const char* text =
      "badges {\n"
      "  id: \"ok_one\" title_ja: \"t\" title_en: \"t\" description_en: \"d\"\n"
      "  conditions: \"n>=1\"\n"
      "}\n"
      "badges {\n"
      "  id: \"bad_one\" title_ja: \"t\" title_en: \"t\" description_en: \"d\"\n"
      "  conditions: \"n>=1\"\n"
      "  conditions: \"weight>=3\"\n"
      "}\n";
  auto rules = BadgeRuleSet::Parse(text);
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rules.status().message()), HasSubstr("line 8"));
  EXPECT_THAT(std::string(rules.status().message()), HasSubstr("unknown field 'weight'"));
}

TEST(BadgeRulesTest, DuplicateIdsAndZeroThresholdsAreRefused) {
  const char* dup =
      "badges { id: \"same\" title_ja: \"t\" title_en: \"t\" description_en: \"d\" "
      "conditions: \"n>=1\" }\n"
      "badges { id: \"same\" title_ja: \"t\" title_en: \"t\" description_en: \"d\" "
      "conditions: \"n>=2\" }\n";
  auto rules = BadgeRuleSet::Parse(dup);
  ASSERT_FALSE(rules.ok());
  EXPECT_THAT(std::string(rules.status().message()), HasSubstr("line 2"));
  EXPECT_THAT(std::string(rules.status().message()), HasSubstr("duplicate"));
  EXPECT_FALSE(ParseCondition("n>=0").ok());
  EXPECT_FALSE(ParseCondition("n>=-3").ok());
  EXPECT_FALSE(ParseCondition("n>3").ok());
  EXPECT_FALSE(ParseCondition("streak_best+n>=3").ok());
  EXPECT_FALSE(ParseCondition("q:a;b>=3").ok());
  EXPECT_TRUE(ParseCondition("co2@c:denim-nov>=10").ok());
}

TEST(BadgeRulesTest, EvaluatorSumsFieldsAndNeedsEveryCondition) {
  auto rules = BadgeRuleSet::Parse(EmbeddedBadgesText());
  ASSERT_TRUE(rules.ok());
  std::map<std::string, int64_t> totals = {{"n", 1}, {"q:clothing_reuse", 6000},
                                           {"q:clothing_recycling", 3999}};
  EXPECT_THAT(rules->Earned(totals, 0), ElementsAre("first_action"));
  totals["q:clothing_recycling"] = 4000;
  EXPECT_THAT(rules->Earned(totals, 0), ElementsAre("first_action", "clothes_10kg"));
  for (const char* t : {"pet_bottles", "aluminium_cans", "steel_cans", "glass_bottles"}) {
    totals[std::string("n:t:") + t] = 1;
  }
  EXPECT_THAT(rules->Earned(totals, 7),
              ElementsAre("first_action", "clothes_10kg", "streak_7"));
  totals["n:t:paper_cardboard"] = 1;
  EXPECT_THAT(rules->Earned(totals, 6),
              ElementsAre("first_action", "clothes_10kg", "every_recycling_type"));
}

// Found by fuzz/badge_rules_fuzzer: the sum of two totals near 2^63 was a
// signed overflow (undefined behaviour) instead of a sum above the threshold.
TEST(BadgeRulesTest, SumsOfHugeTotalsDoNotOverflow) {
  auto condition = ParseCondition("q:a+q:b>=5");
  ASSERT_TRUE(condition.ok());
  BadgeRule rule;
  rule.id = "huge";
  rule.conditions = {*condition};
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_TRUE(Holds(rule, {{"q:a", kMax}, {"q:b", kMax}}, 0));
  EXPECT_FALSE(Holds(rule, {{"q:a", kMin}, {"q:b", kMin}}, 0));
  EXPECT_TRUE(Holds(rule, {{"q:a", kMax}, {"q:b", kMin + 6}}, 0));
}

TEST(BadgeRulesTest, CampaignBadgeCountsTheCampaignMetric) {
  CampaignDefinition campaign;
  campaign.id = "denim-nov";
  campaign.title = "デニム回収";
  campaign.metric = "pts";
  campaign.individual_target = 300;
  campaign.badge_title = "デニム";
  BadgeRule rule = CampaignBadge(campaign);
  EXPECT_EQ(rule.id, "campaign:denim-nov");
  EXPECT_EQ(RuleArgument({rule}), "campaign:denim-nov=pts@c:denim-nov>=300");
  EXPECT_FALSE(Holds(rule, {{"pts@c:denim-nov", 299}, {"co2@c:denim-nov", 1000}}, 0));
  EXPECT_TRUE(Holds(rule, {{"pts@c:denim-nov", 300}}, 0));
}

TEST(StreakTest, ConsecutiveDaysGrowAndAGapRestarts) {
  StreakTracker t;
  EXPECT_TRUE(t.Add(100));
  EXPECT_TRUE(t.Add(101));
  EXPECT_FALSE(t.Add(101));
  EXPECT_EQ(t.state(), (StreakState{101, 2, 2}));
  t.Add(103);
  EXPECT_EQ(t.state(), (StreakState{103, 1, 2}));
}

TEST(StreakTest, BackdatedDayFillingAGapJoinsBothRuns) {
  StreakTracker t;
  for (int64_t d : {10, 11, 12, 14, 15}) t.Add(d);
  EXPECT_EQ(t.state(), (StreakState{15, 2, 3}));
  t.Add(13);
  EXPECT_EQ(t.state(), (StreakState{15, 6, 6}));
  // A backdated day far from the current run changes only best if longer.
  t.Add(5);
  EXPECT_EQ(t.state(), (StreakState{15, 6, 6}));
  for (int64_t d : {4, 3, 2, 1, 0}) t.Add(d);
  t.Add(6);  // 0..6 = 7 days, not joined to the run ending at 15
  EXPECT_EQ(t.state(), (StreakState{15, 6, 7}));
}

TEST(StreakTest, ViewBreaksAfterTheDayAfterLastActive) {
  auto calendar = CityCalendar::Create("Asia/Tokyo");
  ASSERT_TRUE(calendar.ok());
  const absl::CivilDay last(2026, 11, 29);
  StreakState s{DayNumber(last), 3, 5};
  v1::Streak view = StreakView(s, calendar->StartOf(last + 1) + absl::Hours(23), *calendar);
  EXPECT_EQ(view.current_days(), 3);
  EXPECT_EQ(view.best_days(), 5);
  EXPECT_EQ(view.last_active_day(), "2026-11-29");
  EXPECT_EQ(view.breaks_at().seconds(), absl::ToUnixSeconds(calendar->StartOf(last + 2)));
  v1::Streak broken = StreakView(s, calendar->StartOf(last + 2), *calendar);
  EXPECT_EQ(broken.current_days(), 0);
  EXPECT_FALSE(broken.has_breaks_at());
  EXPECT_EQ(DayFromNumber(DayNumber(last)), last);
  EXPECT_EQ(DayNumber(absl::CivilDay(2000, 1, 1)), 0);
}

TEST(CampaignsTest, ParsesTheContractLayoutAndMatchesWindowAndTypes) {
  auto c = CampaignFromJson(
      R"({"id":"denim-nov","title":"Denim","types":["clothing_reuse"],"start_ms":1000,)"
      R"("end_ms":2000,"multiplier_permille":1500,"metric":"pts","collective_target":0,)"
      R"("individual_target":30,"badge_title":"デニム","created_ms":1,"fp":"x"})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(actions::Matches(*c, "clothing_reuse", absl::FromUnixMillis(1000)));
  EXPECT_FALSE(actions::Matches(*c, "clothing_reuse", absl::FromUnixMillis(2000)));
  EXPECT_FALSE(actions::Matches(*c, "pet_bottles", absl::FromUnixMillis(1500)));
  auto outcome = actions::ApplyCampaigns({*c}, "clothing_reuse", absl::FromUnixMillis(1500), 15);
  EXPECT_THAT(outcome.ids, ElementsAre("denim-nov"));
  EXPECT_EQ(outcome.points, 22);  // floor(15 * 1.5)
  EXPECT_EQ(outcome.bonus, 7);
  ASSERT_EQ(outcome.badges.size(), 1u);
  EXPECT_EQ(FloorDiv(-15 * 1500, 1000), -23);
}

// The stored form the rewards service writes is the form the actions cache
// reads: a pure multiplier (no target, metric "") is kept, and the cache
// refuses exactly what the API refuses.
TEST(CampaignsTest, TheStoredFormHasOneSetOfRules) {
  auto json = [](const std::string& id, int multiplier, const std::string& metric,
                 int64_t target) {
    return absl::StrCat(R"({"id":")", id, R"(","title":"t","types":[],"start_ms":1000,)",
                        R"("end_ms":2000,"multiplier_permille":)", multiplier,
                        R"(,"metric":")", metric, R"(","individual_target":)", target, "}");
  };
  auto multiplier_only = CampaignFromJson(json("double-week", 2000, "", 0));
  ASSERT_TRUE(multiplier_only.ok()) << multiplier_only.status();
  auto outcome =
      actions::ApplyCampaigns({*multiplier_only}, "pet_bottles", absl::FromUnixMillis(1500), 15);
  EXPECT_THAT(outcome.ids, ElementsAre("double-week"));
  EXPECT_EQ(outcome.points, 30);
  EXPECT_TRUE(outcome.badges.empty());

  EXPECT_TRUE(CampaignFromJson(json("co2-week", 1000, "co2", 10)).ok());
  EXPECT_FALSE(CampaignFromJson(json("a,b", 2000, "", 0)).ok());
  EXPECT_FALSE(CampaignFromJson(json("Upper", 2000, "", 0)).ok());
  EXPECT_FALSE(CampaignFromJson(json("x", 2000, "", 0)).ok());
  EXPECT_FALSE(CampaignFromJson(json(std::string(33, 'a'), 2000, "", 0)).ok());
  EXPECT_FALSE(CampaignFromJson(json("week", 999, "", 0)).ok());
  EXPECT_FALSE(CampaignFromJson(json("week", 5001, "", 0)).ok());
  EXPECT_FALSE(CampaignFromJson(json("week", 2000, "", 10)).ok());   // target needs a metric
  EXPECT_FALSE(CampaignFromJson(json("week", 2000, "kg", 0)).ok());
  EXPECT_FALSE(CampaignFromJson(
                   R"({"id":"week","title":"t","types":[],"start_ms":3,"end_ms":2,)"
                   R"("multiplier_permille":1000})")
                   .ok());
}

// Found by fuzz/campaign_json_fuzzer: a float too large for int64 (1e30)
// was converted with undefined behaviour, and a multiplier beyond int32
// could wrap into the accepted range. Both are refused as malformed.
TEST(CampaignsTest, StoredNumbersMustBeIntegersInRange) {
  for (const char* json : {R"({"id":"ab","start_ms":1e30,"end_ms":1})",
                           R"({"id":"ab","start_ms":0,"end_ms":1.5})",
                           R"({"id":"ab","start_ms":0,"end_ms":1,"multiplier_permille":4294968296})",
                           R"({"id":"ab","start_ms":0,"end_ms":1,"individual_target":"5"})"}) {
    EXPECT_EQ(CampaignFromJson(json).status().code(), absl::StatusCode::kInternal) << json;
  }
  EXPECT_TRUE(CampaignFromJson(R"({"id":"ab","start_ms":0,"end_ms":1})").ok());
}

TEST(BadgeDisplayTest, OneFunctionGivesEveryBadgeItsTexts) {
  auto rules = BadgeRuleSet::Parse(R"(
    badges { id: "first_action" title_ja: "はじめの一歩" title_en: "First step"
             description_en: "Record an action" conditions: "n>=1" })");
  ASSERT_TRUE(rules.ok()) << rules.status();
  auto file = DescribeBadge("first_action", &*rules, {});
  ASSERT_TRUE(file.has_value());
  EXPECT_EQ(file->title(), "はじめの一歩");
  EXPECT_EQ(file->description(), "Record an action");  // no Japanese: English
  EXPECT_EQ(file->title_en(), "First step");

  CampaignDefinition campaign;
  campaign.id = "denim";
  campaign.title = "デニム回収";
  campaign.metric = "co2";
  campaign.individual_target = 20000;
  campaign.badge_title = "デニム名人";
  auto reward = DescribeBadge("campaign:denim", &*rules, {campaign});
  ASSERT_TRUE(reward.has_value());
  EXPECT_EQ(reward->title(), "デニム名人");
  EXPECT_EQ(reward->description(), "「デニム回収」で20000 g CO2eを達成");
  EXPECT_EQ(reward->description_en(), "Reach 20000 g CO2e in \"デニム回収\"");
  EXPECT_FALSE(DescribeBadge("campaign:gone", &*rules, {campaign}).has_value());
  EXPECT_FALSE(DescribeBadge("removed_rule", nullptr, {}).has_value());
}

}  // namespace
}  // namespace ecoact::rewards
