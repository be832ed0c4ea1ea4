// The pure part of impact reports: what an entry adds, how stored fields add
// up, month ranges, CSV rows and the equivalents' integer arithmetic, and the
// built-in equivalents file.
#include <limits>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/catalog/equivalents.h"
#include "services/reports/report_model.h"
#include "tests/support/status_matchers.h"

namespace ecoact::reports {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using test::StatusIs;

CityCalendar Tokyo() { return *CityCalendar::Create("Asia/Tokyo"); }

StoredEntry Entry(const std::string& account, const std::string& type, const std::string& cat,
                  int64_t co2, int64_t qty_milli, v1::Unit unit, absl::Time at) {
  StoredEntry s;
  s.account_id = account;
  s.entry.set_entry_id("1-0");
  s.entry.set_action_type(type);
  s.entry.set_category(cat);
  s.entry.set_co2e_grams(co2);
  s.entry.set_quantity_milli(qty_milli);
  s.entry.set_unit(unit);
  s.entry.set_factor_version(type + "@v1");
  s.entry.set_ward("nakahara");
  s.entry.set_team("t-frontale");
  *s.entry.mutable_occurred_at() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
  return s;
}

TEST(ReportModel, EntryCountsInTheCityLocalMonthOfEveryScope) {
  const CityCalendar calendar = Tokyo();
  // 2026-11-30 23:30 JST is still November in Tokyo (14:30 UTC).
  const absl::Time at = absl::FromCivil(absl::CivilSecond(2026, 11, 30, 14, 30, 0), absl::UTCTimeZone());
  StoredEntry e = Entry("a1", "clothing_reuse", "clothing", 13234, 1000, v1::UNIT_KILOGRAM, at);
  e.entry.set_event_id("ev-1");
  e.entry.add_campaign_ids("denim-nov");
  ReportDelta delta;
  AddEntry(e, calendar, &delta);
  for (const char* scope : {"city", "ward:nakahara", "team:t-frontale", "event:ev-1",
                            "camp:denim-nov"}) {
    SCOPED_TRACE(scope);
    const auto& fields = delta.increments.at(std::string("rpt:2026-11:") + scope);
    EXPECT_EQ(fields.at("co2|clothing"), 13234);
    EXPECT_EQ(fields.at("wt|clothing"), 1000);  // 1 kg in grams
    EXPECT_EQ(fields.at("n|clothing"), 1);
    EXPECT_EQ(fields.at("fv|clothing|clothing_reuse@v1"), 13234);
    EXPECT_EQ(fields.at("fvn|clothing|clothing_reuse@v1"), 1);
    EXPECT_THAT(delta.hll_adds.at(std::string("rpt-hll:2026-11:") + scope), ElementsAre("a1"));
    EXPECT_THAT(delta.hll_adds.at(std::string("rpt-hll:2026-11:") + scope + "|clothing"),
                ElementsAre("a1"));
  }
  EXPECT_EQ(delta.increments.count("rpt:2026-11:org:"), 0u);  // no organisation
  EXPECT_EQ(delta.increments.at("rpt-grp:2026-11").at("co2|team:t-frontale"), 13234);
  EXPECT_EQ(delta.increments.at("rpt-grp:2026-11").count("co2|event:ev-1"), 0u);
  EXPECT_EQ(delta.set_adds.at("rpt-idx:2026-11").count("camp:denim-nov"), 1u);
}

TEST(ReportModel, ItemsHaveNoWeightAndVoidsAddNoParticipant) {
  const CityCalendar calendar = Tokyo();
  const absl::Time at = absl::FromUnixSeconds(1790000000);
  ReportDelta delta;
  AddEntry(Entry("a1", "plastic_bag_refused", "plastic", 61, 3000, v1::UNIT_ITEM, at), calendar,
           &delta);
  StoredEntry voided = Entry("a2", "plastic_bag_refused", "plastic", -61, -1000, v1::UNIT_ITEM, at);
  voided.count_delta = -1;
  AddEntry(voided, calendar, &delta);
  const std::string month = calendar.KeysAt(at).month;
  const auto& city = delta.increments.at("rpt:" + month + ":city");
  EXPECT_EQ(city.at("co2|plastic"), 0);
  EXPECT_EQ(city.at("n|plastic"), 0);
  EXPECT_EQ(city.count("wt|plastic"), 0u);
  EXPECT_THAT(delta.hll_adds.at("rpt-hll:" + month + ":city"), ElementsAre("a1"));
}

TEST(ReportModel, ScriptArgsNameEachKeyOnceAndSkipZeroIncrements) {
  ReportDelta delta;
  delta.increments["rpt:2026-11:city"] = {{"co2|x", 5}, {"n|x", 0}};
  delta.hll_adds["rpt-hll:2026-11:city"] = {"a", "b"};
  std::vector<std::string> keys = {"ledger", "applied", "owner"};
  std::vector<std::string> args;
  DeltaToScriptArgs(delta, "ea:{s1}:", 4, &keys, &args);
  EXPECT_THAT(keys, ElementsAre("ledger", "applied", "owner", "ea:{s1}:rpt:2026-11:city",
                                "ea:{s1}:rpt-hll:2026-11:city"));
  EXPECT_THAT(args, ElementsAre("h", "4", "co2|x", "5", "p", "5", "a", "", "p", "5", "b", ""));
}

TEST(ReportModel, HashFieldsAddUpAcrossShards) {
  ScopeFigures figures;
  AddHashFields({{"co2|clothing", "100"}, {"wt|clothing", "2000"}, {"n|clothing", "2"},
                 {"fv|clothing|clothing_reuse@v1", "100"}, {"fvn|clothing|clothing_reuse@v1", "2"},
                 {"junk", "1"}, {"co2|plastic", "not a number"}},
                &figures);
  AddHashFields({{"co2|clothing", "50"}, {"n|clothing", "1"}, {"co2|plastic", "61"},
                 {"n|plastic", "1"}},
                &figures);
  EXPECT_EQ(figures.by_category.at("clothing").co2e_grams, 150);
  EXPECT_EQ(figures.by_category.at("clothing").weight_grams, 2000);
  EXPECT_EQ(figures.by_category.at("clothing").actions, 3);
  EXPECT_EQ(figures.Total().co2e_grams, 211);
  EXPECT_EQ(figures.Total().actions, 4);
  EXPECT_EQ(figures.by_factor.at("clothing_reuse@v1"), std::make_pair(int64_t{100}, int64_t{2}));
  EXPECT_EQ(figures.factor_category.at("clothing_reuse@v1"), "clothing");
}

TEST(ReportModel, MonthRanges) {
  const CityCalendar calendar = Tokyo();
  // 2026-12-31 16:00 UTC is 2027-01-01 01:00 in Tokyo.
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2026, 12, 31, 16, 0, 0), absl::UTCTimeZone());
  auto defaults = ResolveMonthRange("", "", now, calendar, false);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(MonthKey(defaults->from), "2026-02");
  EXPECT_EQ(MonthKey(defaults->to), "2027-01");
  EXPECT_EQ(defaults->Keys().size(), 12u);
  EXPECT_EQ(ResolveMonthRange("2017-01", "2026-12", now, calendar, true)->Keys().size(), 120u);
  EXPECT_THAT(ResolveMonthRange("2016-12", "2026-12", now, calendar, true).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("121 months; at most 120")));
  EXPECT_THAT(ResolveMonthRange("2026-12", "2026-01", now, calendar, true).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("from_month 2026-12 is after to_month 2026-01")));
  for (const char* bad : {"2026-13", "2026-1", "26-01", "2026/01", "1999-12", "2026-00", "+026-01"}) {
    EXPECT_THAT(ResolveMonthRange(bad, "2026-12", now, calendar, true).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from_month must be a month")))
        << bad;
  }
  EXPECT_THAT(ResolveMonthRange("", "2026-12", now, calendar, true).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from_month is required")));
}

TEST(ReportModel, ScopeKeysRoundTrip) {
  for (auto [scope, id] : std::vector<std::pair<v1::Scope, std::string>>{
           {v1::SCOPE_CITY, ""}, {v1::SCOPE_WARD, "nakahara"}, {v1::SCOPE_TEAM, "t-1"},
           {v1::SCOPE_ORGANISATION, "o:x"}, {v1::SCOPE_EVENT, "ev-1"},
           {v1::SCOPE_CAMPAIGN, "denim"}}) {
    v1::Scope parsed;
    std::string parsed_id;
    ASSERT_TRUE(ParseScopeKey(ScopeKey(scope, id), &parsed, &parsed_id)) << id;
    EXPECT_EQ(parsed, scope);
    EXPECT_EQ(parsed_id, id);
  }
  v1::Scope s;
  std::string id;
  EXPECT_FALSE(ParseScopeKey("nowhere:x", &s, &id));
  EXPECT_FALSE(ParseScopeKey("ward:", &s, &id));
}

TEST(ReportModel, EquivalentArithmeticIsExactInteger) {
  EXPECT_EQ(EquivalentQuantityMilli(8800, 8800), 1000);      // one cedar-year
  EXPECT_EQ(EquivalentQuantityMilli(13234, 8800), 1503);     // 1.50386... floors
  EXPECT_EQ(EquivalentQuantityMilli(13234, 125), 105872);    // 105.872 car-km
  EXPECT_EQ(EquivalentQuantityMilli(-1, 125), -8);           // floor, not truncation
  EXPECT_EQ(EquivalentQuantityMilli(5, 0), 0);
  EXPECT_EQ(EquivalentQuantityMilli(std::numeric_limits<int64_t>::max(), 1),
            std::numeric_limits<int64_t>::max());            // saturates
}

TEST(ReportModel, CsvRowsAreRfc4180AndSafeInSpreadsheets) {
  CsvRow row;
  row.scope = v1::SCOPE_TEAM;
  row.scope_id = "t-1";
  row.scope_name = "Frontale, \"blue\"";
  row.month = "2026-11";
  row.category = "clothing";
  row.figures = {13234, 1000, 1, 1};
  row.factor_versions = {"z_type@v2", "clothing_reuse@v1"};
  EXPECT_EQ(FormatCsvRow(row),
            "team,t-1,\"Frontale, \"\"blue\"\"\",2026-11,clothing,13234,1000,1,1,"
            "clothing_reuse@v1;z_type@v2\r\n");
  row.scope_name = "=HYPERLINK(\"x\")";
  EXPECT_THAT(FormatCsvRow(row), HasSubstr(",\"'=HYPERLINK(\"\"x\"\")\","));
  // A leading TAB or CR is guarded too, as in the survey export (one
  // shared cell helper): a spreadsheet strips it and would run the rest.
  row.scope_name = "\t=1+1";
  EXPECT_THAT(FormatCsvRow(row), HasSubstr(",'\t=1+1,"));
  row.scope_name = "\r=1+1";
  EXPECT_THAT(FormatCsvRow(row), HasSubstr(",\"'\r=1+1\","));
  row.scope_name = "中原区";
  EXPECT_THAT(FormatCsvRow(row), HasSubstr(",中原区,"));
}

TEST(Equivalents, BuiltInFileHasSourcedFigures) {
  auto equivalents = catalog::ParseEquivalents(catalog::EmbeddedEquivalentsText());
  ASSERT_TRUE(equivalents.ok()) << equivalents.status();
  ASSERT_EQ(equivalents->size(), 2u);
  EXPECT_EQ((*equivalents)[0].equivalent_id(), "cedar_tree_year");
  EXPECT_EQ((*equivalents)[0].co2e_grams_per_unit(), 8800);
  EXPECT_THAT((*equivalents)[0].sources(0).url(), HasSubstr("rinya.maff.go.jp"));
  EXPECT_EQ((*equivalents)[1].equivalent_id(), "car_km");
  EXPECT_EQ((*equivalents)[1].co2e_grams_per_unit(), 125);
  EXPECT_THAT((*equivalents)[1].sources(0).url(), HasSubstr("mlit.go.jp"));
}

TEST(Equivalents, BadFilesAreRefusedNamingTheEntry) {
  const std::string base =
      "equivalents { id: \"car_km\" label_ja: \"a\" label_en: \"a\" unit_ja: \"km\" "
      "unit_en: \"km\" sources { title: \"t\" publisher: \"p\" } confidence: CONFIDENCE_LOW ";
  EXPECT_TRUE(catalog::ParseEquivalents(base + "kg_co2_per_unit: \"0.125\" }").ok());
  EXPECT_THAT(catalog::ParseEquivalents(base + "kg_co2_per_unit: \"0.1255\" }").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("equivalents[0] 'car_km': kg_co2_per_unit must be a positive")));
  EXPECT_THAT(catalog::ParseEquivalents(base + "kg_co2_per_unit: \"0\" }").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("positive")));
  EXPECT_THAT(catalog::ParseEquivalents(
                  "equivalents { id: \"x1\" label_ja: \"a\" label_en: \"a\" unit_ja: \"k\" "
                  "unit_en: \"k\" kg_co2_per_unit: \"1\" confidence: CONFIDENCE_LOW }")
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one source")));
  EXPECT_THAT(catalog::ParseEquivalents(base + "kg_co2_per_unit: \"1\" } " + base +
                                        "kg_co2_per_unit: \"1\" }")
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate id")));
}

}  // namespace
}  // namespace ecoact::reports
