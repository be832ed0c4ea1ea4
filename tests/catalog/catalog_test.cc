#include "services/catalog/catalog.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/catalog/catalog_flags.h"
#include "tests/support/status_matchers.h"

namespace ecoact::catalog {
namespace {

using ::ecoact::test::IsOk;
using ::ecoact::test::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

CityCalendar Tokyo() {
  auto calendar = CityCalendar::Create("Asia/Tokyo");
  EXPECT_THAT(calendar, IsOk());
  return *calendar;
}

absl::Time TokyoTime(int y, int m, int d, int hh = 12, int mm = 0, int ss = 0) {
  return Tokyo().StartOf(absl::CivilDay(y, m, d)) + absl::Hours(hh) + absl::Minutes(mm) +
         absl::Seconds(ss);
}

class EmbeddedCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = Catalog::Parse(EmbeddedCatalogText(), Tokyo());
    ASSERT_THAT(parsed, IsOk());
    catalog_ = *std::move(parsed);
  }

  absl::StatusOr<Conversion> Convert(const std::string& type, double quantity,
                                     v1::Unit unit = v1::UNIT_UNSPECIFIED,
                                     absl::Time at = TokyoTime(2026, 11, 29)) const {
    return catalog_.Convert({type, quantity, unit, at});
  }

  Catalog catalog_;
};

// ------------------------------------------------------- embedded catalogue --

TEST_F(EmbeddedCatalogTest, HasEveryRequiredActionTypeWithItsUnitAndCategory) {
  struct Expected {
    const char* id;
    v1::Unit unit;
    const char* category;
  };
  const std::vector<Expected> expected = {
      {"clothing_reuse", v1::UNIT_KILOGRAM, "clothing"},
      {"clothing_recycling", v1::UNIT_KILOGRAM, "clothing"},
      {"pet_bottles", v1::UNIT_KILOGRAM, "recycling"},
      {"aluminium_cans", v1::UNIT_KILOGRAM, "recycling"},
      {"steel_cans", v1::UNIT_KILOGRAM, "recycling"},
      {"glass_bottles", v1::UNIT_KILOGRAM, "recycling"},
      {"paper_cardboard", v1::UNIT_KILOGRAM, "recycling"},
      {"plastic_bag_refused", v1::UNIT_ITEM, "plastic"},
      {"own_bottle", v1::UNIT_ITEM, "plastic"},
      {"train_instead_of_car", v1::UNIT_KILOMETRE, "mobility"},
      {"bus_instead_of_car", v1::UNIT_KILOMETRE, "mobility"},
  };
  EXPECT_FALSE(catalog_.edition().empty());
  for (const Expected& e : expected) {
    SCOPED_TRACE(e.id);
    const ActionTypeInfo* type = catalog_.Find(e.id);
    ASSERT_NE(type, nullptr);
    EXPECT_EQ(type->unit, e.unit);
    EXPECT_EQ(type->category, e.category);
    EXPECT_EQ(type->proto.id(), e.id);
    EXPECT_FALSE(type->proto.name_ja().empty());
    EXPECT_FALSE(type->proto.name_en().empty());
    EXPECT_GT(type->daily_cap_milli, 0);
    ASSERT_FALSE(type->factors.empty());
    const v1::Factor& current = type->proto.current_factor();
    EXPECT_EQ(current.version(), type->factors.back().version);
    EXPECT_NE(current.confidence(), v1::CONFIDENCE_UNSPECIFIED);
    ASSERT_GE(current.sources_size(), 1);
    EXPECT_THAT(current.sources(0).url(), HasSubstr("http"));
    EXPECT_FALSE(current.derivation().empty());
  }
  EXPECT_EQ(catalog_.Find("no_such_type"), nullptr);
}

TEST_F(EmbeddedCatalogTest, FactorsAndLimitsAreTheDocumentedOnes) {
  const ActionTypeInfo* reuse = catalog_.Find("clothing_reuse");
  ASSERT_NE(reuse, nullptr);
  EXPECT_EQ(reuse->factors.back().co2e_mg_per_unit, 13'234'000);
  EXPECT_EQ(reuse->proto.current_factor().display(), "13.234 kg CO2e/kg");
  EXPECT_EQ(reuse->min_quantity_milli, 100);
  EXPECT_EQ(reuse->max_quantity_milli, 200'000);
  EXPECT_EQ(reuse->daily_cap_milli, 30'000);
  EXPECT_EQ(reuse->points_per_unit, 10);

  const ActionTypeInfo* bag = catalog_.Find("plastic_bag_refused");
  ASSERT_NE(bag, nullptr);
  EXPECT_EQ(bag->factors.back().co2e_mg_per_unit, 61'000);
  EXPECT_EQ(bag->proto.current_factor().display(), "0.061 kg CO2e/item");
  EXPECT_EQ(bag->daily_cap_milli, 20'000);

  const ActionTypeInfo* train = catalog_.Find("train_instead_of_car");
  ASSERT_NE(train, nullptr);
  ASSERT_EQ(train->factors.size(), 2u);
  EXPECT_EQ(train->factors[0].proto.display(), "0.11 kg CO2e/km");
  EXPECT_EQ(train->factors[1].proto.display(), "0.108 kg CO2e/km");
  EXPECT_EQ(train->daily_cap_milli, 200'000);
}

TEST_F(EmbeddedCatalogTest, ValidityDatesAreLocalMidnightsAndContiguous) {
  const ActionTypeInfo* train = catalog_.Find("train_instead_of_car");
  ASSERT_NE(train, nullptr);
  const FactorVersion& v1 = train->factors[0];
  const FactorVersion& v2 = train->factors[1];
  // 2026-04-01 00:00 in Tokyo is 2026-03-31 15:00 UTC.
  const absl::Time change = absl::FromCivil(absl::CivilSecond(2026, 3, 31, 15, 0, 0),
                                            absl::UTCTimeZone());
  ASSERT_TRUE(v1.valid_until.has_value());
  EXPECT_EQ(*v1.valid_until, change);
  EXPECT_EQ(v2.valid_from, change);
  EXPECT_FALSE(v2.valid_until.has_value());
  EXPECT_EQ(v1.proto.valid_until().seconds(), absl::ToUnixSeconds(change));
  EXPECT_EQ(v2.proto.valid_from().seconds(), absl::ToUnixSeconds(change));
  EXPECT_FALSE(v2.proto.has_valid_until());
}

// ---------------------------------------------------------- conversion math --

TEST_F(EmbeddedCatalogTest, ThreeKilogramsOfClothingForReuse) {
  auto c = Convert("clothing_reuse", 3.0);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->quantity_milli, 3000);
  EXPECT_EQ(c->co2e_grams, 39'702);  // 3 x 13.234 kg
  EXPECT_EQ(c->points, 30);
  EXPECT_EQ(c->factor_tag, "clothing_reuse@v1");
  EXPECT_EQ(c->type, catalog_.Find("clothing_reuse"));
  EXPECT_EQ(c->factor, &c->type->factors[0]);
}

TEST_F(EmbeddedCatalogTest, GramsAreRoundedHalfUp) {
  // 0.25 kg x 13.234 kg/kg = 3308.5 g -> 3309 g; points 2.5 -> 2 (floor).
  auto c = Convert("clothing_reuse", 0.25);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->co2e_grams, 3309);
  EXPECT_EQ(c->points, 2);
  // 0.249 kg -> 3295.266 g -> 3295 g.
  c = Convert("clothing_reuse", 0.249);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->co2e_grams, 3295);
  // 12.3 km by train (v2, 0.108 kg/km) = 1328.4 g -> 1328 g; 12.3 points -> 12.
  c = Convert("train_instead_of_car", 12.3);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->co2e_grams, 1328);
  EXPECT_EQ(c->points, 12);
  EXPECT_EQ(c->factor_tag, "train_instead_of_car@v2");
}

TEST_F(EmbeddedCatalogTest, QuantityIsRoundedHalfUpToThousandthsOfWhatTheClientSent) {
  // 2.0005 is 2.000499999... in binary; the decimal the client sent wins.
  auto c = Convert("clothing_reuse", 2.0005);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->quantity_milli, 2001);
  c = Convert("clothing_reuse", 2.0004999);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->quantity_milli, 2000);
  c = Convert("clothing_reuse", 1.2345);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->quantity_milli, 1235);
  // Rounding happens before the range check: 0.0995 kg is 0.1 kg.
  c = Convert("clothing_reuse", 0.0995);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->quantity_milli, 100);
  EXPECT_THAT(Convert("clothing_reuse", 0.0994),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got 0.0994")));
}

TEST_F(EmbeddedCatalogTest, ItemsConvertExactly) {
  auto c = Convert("plastic_bag_refused", 1, v1::UNIT_ITEM);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->quantity_milli, 1000);
  EXPECT_EQ(c->co2e_grams, 61);
  EXPECT_EQ(c->points, 1);
  c = Convert("plastic_bag_refused", 7);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->co2e_grams, 427);
  c = Convert("own_bottle", 3);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->co2e_grams, 255);  // 3 x 85 g
}

TEST_F(EmbeddedCatalogTest, PointsAreFloored) {
  // 0.05 kg of PET x 10 points/kg = 0.5 -> 0 points; 0.19 kg -> 1.9 -> 1.
  auto c = Convert("pet_bottles", 0.05);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->points, 0);
  EXPECT_EQ(c->co2e_grams, 83);  // 0.05 x 1.65 kg = 82.5 g -> 83
  c = Convert("pet_bottles", 0.19);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->points, 1);
}

TEST_F(EmbeddedCatalogTest, LimitsAreInclusive) {
  EXPECT_THAT(Convert("clothing_reuse", 0.1), IsOk());
  auto c = Convert("clothing_reuse", 200);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->co2e_grams, 2'646'800);  // 200 x 13.234 kg
  EXPECT_THAT(Convert("plastic_bag_refused", 100), IsOk());
  EXPECT_THAT(Convert("bus_instead_of_car", 500), IsOk());
}

// ----------------------------------------------------------------- bad input --

TEST_F(EmbeddedCatalogTest, UnknownOrMissingActionType) {
  EXPECT_THAT(Convert("clothing_reuze", 1),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("unknown action type 'clothing_reuze'"),
                             HasSubstr("CatalogService.ListActionTypes"))));
  EXPECT_THAT(Convert("", 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("action_type is required")));
  EXPECT_THAT(catalog_.Lookup("nope"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(EmbeddedCatalogTest, WrongUnitNamesBothUnits) {
  EXPECT_THAT(Convert("clothing_reuse", 1, v1::UNIT_ITEM),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("UNIT_KILOGRAM"), HasSubstr("UNIT_ITEM"))));
  EXPECT_THAT(Convert("train_instead_of_car", 1, v1::UNIT_KILOGRAM),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("UNIT_KILOMETRE"), HasSubstr("UNIT_KILOGRAM"))));
  EXPECT_THAT(Convert("clothing_reuse", 1, v1::UNIT_KILOGRAM), IsOk());
}

TEST_F(EmbeddedCatalogTest, OutOfRangeQuantitiesStateTheAllowedRange) {
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(Convert("clothing_reuse", 0),
              StatusIs(kInvalid, HasSubstr("quantity must be between 0.1 and 200 kg, got 0")));
  EXPECT_THAT(Convert("clothing_reuse", -1),
              StatusIs(kInvalid, HasSubstr("quantity must be between 0.1 and 200 kg, got -1")));
  EXPECT_THAT(Convert("clothing_reuse", 250),
              StatusIs(kInvalid, HasSubstr("quantity must be between 0.1 and 200 kg, got 250")));
  EXPECT_THAT(Convert("clothing_reuse", 200.001),
              StatusIs(kInvalid, HasSubstr("got 200.001")));
  EXPECT_THAT(Convert("clothing_reuse", 1e300), StatusIs(kInvalid, HasSubstr("got 1e+300")));
  EXPECT_THAT(Convert("clothing_reuse", 1e-300), StatusIs(kInvalid, HasSubstr("between 0.1")));
  EXPECT_THAT(Convert("clothing_reuse", std::nan("")),
              StatusIs(kInvalid, AllOf(HasSubstr("finite"), HasSubstr("0.1 and 200 kg"))));
  EXPECT_THAT(Convert("clothing_reuse", std::numeric_limits<double>::infinity()),
              StatusIs(kInvalid, AllOf(HasSubstr("finite"), HasSubstr("got inf"))));
  EXPECT_THAT(Convert("clothing_reuse", -std::numeric_limits<double>::infinity()),
              StatusIs(kInvalid, HasSubstr("finite")));
  EXPECT_THAT(Convert("plastic_bag_refused", 0),
              StatusIs(kInvalid, HasSubstr("between 1 and 100 items, got 0")));
  EXPECT_THAT(Convert("plastic_bag_refused", 101),
              StatusIs(kInvalid, HasSubstr("between 1 and 100 items, got 101")));
  EXPECT_THAT(Convert("train_instead_of_car", 0.04),
              StatusIs(kInvalid, HasSubstr("between 0.1 and 500 km")));
}

TEST_F(EmbeddedCatalogTest, FractionalItemsAreRejected) {
  EXPECT_THAT(Convert("plastic_bag_refused", 1.5),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("whole"), HasSubstr("got 1.5"))));
  EXPECT_THAT(Convert("own_bottle", 2.0001), StatusIs(absl::StatusCode::kInvalidArgument,
                                                     HasSubstr("whole")));
}

// ------------------------------------------------------- version selection --

TEST_F(EmbeddedCatalogTest, FactorVersionChangesAtLocalMidnightOfTheChangeDate) {
  // v1 (FY2023 data, 0.110 kg/km) ends and v2 (FY2024, 0.108) starts on
  // 2026-04-01 in Asia/Tokyo.
  auto before = Convert("train_instead_of_car", 100, v1::UNIT_KILOMETRE,
                        TokyoTime(2026, 3, 31, 23, 59, 59));
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ(before->factor->version, 1);
  EXPECT_EQ(before->factor_tag, "train_instead_of_car@v1");
  EXPECT_EQ(before->co2e_grams, 11'000);

  auto after = Convert("train_instead_of_car", 100, v1::UNIT_KILOMETRE,
                       TokyoTime(2026, 4, 1, 0, 0, 0));
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->factor->version, 2);
  EXPECT_EQ(after->co2e_grams, 10'800);

  // 2026-03-31 20:00 UTC is already 2026-04-01 in Tokyo.
  auto utc_evening = Convert("bus_instead_of_car", 10, v1::UNIT_UNSPECIFIED,
                             absl::FromCivil(absl::CivilSecond(2026, 3, 31, 20, 0, 0),
                                             absl::UTCTimeZone()));
  ASSERT_THAT(utc_evening, IsOk());
  EXPECT_EQ(utc_evening->factor_tag, "bus_instead_of_car@v2");
  EXPECT_EQ(utc_evening->co2e_grams, 680);
}

TEST_F(EmbeddedCatalogTest, NoFactorBeforeTheFirstVersion) {
  EXPECT_THAT(Convert("train_instead_of_car", 1, v1::UNIT_UNSPECIFIED,
                      TokyoTime(2025, 3, 31, 23, 59, 59)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("no factor of 'train_instead_of_car'"),
                             HasSubstr("valid from 2025-04-01"))));
  EXPECT_THAT(Convert("train_instead_of_car", 1, v1::UNIT_UNSPECIFIED,
                      TokyoTime(2025, 4, 1, 0, 0, 0)),
              IsOk());
}

TEST_F(EmbeddedCatalogTest, FactorValidAt) {
  const ActionTypeInfo& bus = *catalog_.Find("bus_instead_of_car");
  EXPECT_EQ(FactorValidAt(bus, TokyoTime(2025, 3, 31)), nullptr);
  EXPECT_EQ(FactorValidAt(bus, TokyoTime(2025, 6, 1))->version, 1);
  EXPECT_EQ(FactorValidAt(bus, TokyoTime(2030, 1, 1))->version, 2);
}

// ---------------------------------------------------------- occurred_at window --

TEST(CheckOccurredAtTest, AcceptsTheWindowInclusiveAndRejectsOutside) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const absl::Duration week = absl::Hours(24 * 7);
  EXPECT_THAT(CheckOccurredAt(now, now, week), IsOk());
  EXPECT_THAT(CheckOccurredAt(now - week, now, week), IsOk());
  EXPECT_THAT(CheckOccurredAt(now + absl::Minutes(5), now, week), IsOk());
  EXPECT_THAT(CheckOccurredAt(now - week - absl::Seconds(1), now, week),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("too far back"), HasSubstr("168h"),
                             HasSubstr("2027-01-08T08:00:00Z"))));
  EXPECT_THAT(CheckOccurredAt(now + absl::Minutes(5) + absl::Seconds(1), now, week),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("in the future"), HasSubstr("2027-01-15T08:05:00Z"))));
  EXPECT_THAT(CheckOccurredAt(now - absl::Hours(2), now, absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1h before")));
}

// --------------------------------------------------------- malformed files --

// A small valid catalogue; each case below breaks one rule in it.
constexpr char kValidFile[] = R"pb(edition: "test.1"
action_types {
  id: "clothing_reuse"
  category: "clothing"
  name_ja: "衣類"
  name_en: "Clothing"
  unit: UNIT_KILOGRAM
  min_quantity: "0.1"
  max_quantity: "200"
  points_per_unit: 10
  daily_cap: "30"
  factors {
    version: 1
    kg_co2e_per_unit: "1.5"
    basis: "vs incineration"
    sources { title: "Source A" publisher: "P" year: 2024 url: "https://example.org/a" }
    confidence: CONFIDENCE_MEDIUM
    derivation: "d"
    valid_from: "2025-04-01"
    valid_until: "2026-04-01"
  }
  factors {
    version: 2
    kg_co2e_per_unit: "1.25"
    basis: "vs incineration"
    sources { title: "Source B" url: "https://example.org/b" }
    confidence: CONFIDENCE_HIGH
    valid_from: "2026-04-01"
  }
}
action_types {
  id: "bag_refused"
  category: "plastic"
  name_ja: "レジ袋"
  name_en: "Bag"
  unit: UNIT_ITEM
  min_quantity: "1"
  max_quantity: "100"
  points_per_unit: 1
  factors {
    version: 1
    kg_co2e_per_unit: "0.061"
    basis: "bag not made"
    sources { title: "Source C" url: "https://example.org/c" }
    confidence: CONFIDENCE_LOW
    valid_from: "2025-04-01"
  }
}
)pb";

TEST(CatalogParseTest, TheTestFileIsValid) {
  auto catalog = Catalog::Parse(kValidFile, Tokyo());
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ(catalog->edition(), "test.1");
  ASSERT_EQ(catalog->types().size(), 2u);
  EXPECT_EQ(catalog->types()[0].factors[1].co2e_mg_per_unit, 1'250'000);
  EXPECT_EQ(catalog->types()[1].daily_cap_milli, 0);  // no cap
  EXPECT_EQ(catalog->types()[0].proto.current_factor().version(), 2);
  EXPECT_EQ(catalog->types()[0].factors[0].proto.sources(0).year(), 2024);
}

struct BadFileCase {
  std::string name;
  std::string from;  // replaced once in kValidFile
  std::string to;
  std::string message;  // expected in the error
};

class MalformedFileTest : public ::testing::TestWithParam<BadFileCase> {};

TEST_P(MalformedFileTest, IsRejectedWithAPreciseMessage) {
  const BadFileCase& c = GetParam();
  std::string text = kValidFile;
  size_t at = text.find(c.from);
  ASSERT_NE(at, std::string::npos) << c.from;
  text.replace(at, c.from.size(), c.to);
  EXPECT_THAT(Catalog::Parse(text, Tokyo()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
}

INSTANTIATE_TEST_SUITE_P(
    Rules, MalformedFileTest,
    ::testing::Values(
        BadFileCase{"SyntaxErrorHasLineNumber", "  points_per_unit: 10\n",
                    "  points_per_unit: ten\n", "line 10 column"},
        BadFileCase{"UnknownField", "  daily_cap: \"30\"\n", "  daily_limit: \"30\"\n",
                    "line 11 column"},
        BadFileCase{"MissingEdition", "edition: \"test.1\"", "", "edition is required"},
        BadFileCase{"DuplicateId", "id: \"bag_refused\"", "id: \"clothing_reuse\"",
                    "duplicate id 'clothing_reuse'"},
        BadFileCase{"BadIdCharacters", "id: \"bag_refused\"", "id: \"Bag-Refused\"",
                    "id must match [a-z][a-z0-9_]{1,39}, got 'Bag-Refused'"},
        BadFileCase{"IdTooShort", "id: \"bag_refused\"", "id: \"b\"", "id must match"},
        BadFileCase{"UnknownCategory", "category: \"plastic\"", "category: \"food\"",
                    "'bag_refused': category must be one of"},
        BadFileCase{"EmptyCategory", "category: \"plastic\"", "", "category must be one of"},
        BadFileCase{"MissingName", "name_en: \"Bag\"", "", "name_ja and name_en are required"},
        BadFileCase{"UnitUnset", "unit: UNIT_ITEM", "", "unit must be"},
        BadFileCase{"BadDecimal", "kg_co2e_per_unit: \"1.5\"", "kg_co2e_per_unit: \"1.2.3\"",
                    "factor v1: kg_co2e_per_unit: not a decimal number"},
        BadFileCase{"NegativeFactor", "kg_co2e_per_unit: \"1.5\"",
                    "kg_co2e_per_unit: \"-1.5\"", "not a decimal number"},
        BadFileCase{"ExponentFactor", "kg_co2e_per_unit: \"1.5\"", "kg_co2e_per_unit: \"1e3\"",
                    "not a decimal number"},
        BadFileCase{"EmptyFactor", "kg_co2e_per_unit: \"1.5\"", "",
                    "kg_co2e_per_unit: missing digits"},
        BadFileCase{"TooManyFactorDecimals", "kg_co2e_per_unit: \"1.5\"",
                    "kg_co2e_per_unit: \"0.0000001\"", "too many decimals"},
        BadFileCase{"TooManyQuantityDecimals", "min_quantity: \"0.1\"",
                    "min_quantity: \"0.0001\"", "min_quantity: too many decimals"},
        BadFileCase{"TrailingDot", "max_quantity: \"200\"", "max_quantity: \"200.\"",
                    "missing digits after the decimal point"},
        BadFileCase{"ZeroMinimum", "min_quantity: \"0.1\"", "min_quantity: \"0\"",
                    "min_quantity must be greater than 0"},
        BadFileCase{"MinAboveMax", "max_quantity: \"200\"", "max_quantity: \"0.05\"",
                    "must not exceed max_quantity"},
        BadFileCase{"FractionalItemLimit", "min_quantity: \"1\"", "min_quantity: \"1.5\"",
                    "items are counted in whole numbers"},
        BadFileCase{"CapBelowMinimum", "daily_cap: \"30\"", "daily_cap: \"0.05\"",
                    "daily_cap '0.05' is below min_quantity"},
        BadFileCase{"NegativePoints", "points_per_unit: 1\n", "points_per_unit: -1\n",
                    "points_per_unit must be in"},
        BadFileCase{"VersionsOutOfOrder", "version: 2", "version: 3",
                    "versions must be numbered 1, 2, 3... in file order; expected 2, got 3"},
        BadFileCase{"GapBetweenVersions", "valid_until: \"2026-04-01\"",
                    "valid_until: \"2026-03-01\"",
                    "valid_until: '2026-03-01' must equal v2's valid_from '2026-04-01' (gap"},
        BadFileCase{"OverlapBetweenVersions", "valid_until: \"2026-04-01\"",
                    "valid_until: \"2026-05-01\"", "(overlap between versions)"},
        BadFileCase{"MissingValidUntil", "valid_until: \"2026-04-01\"", "",
                    "factor v1: valid_until: required because v2 follows"},
        BadFileCase{"UntilBeforeFrom", "valid_until: \"2026-04-01\"",
                    "valid_until: \"2025-03-01\"", "must be after valid_from"},
        BadFileCase{"LastVersionNotOpenEnded", "valid_from: \"2026-04-01\"",
                    "valid_from: \"2026-04-01\" valid_until: \"2027-04-01\"",
                    "the last version must be open-ended"},
        BadFileCase{"BadDate", "valid_from: \"2025-04-01\"\n  }\n}",
                    "valid_from: \"2025-02-30\"\n  }\n}",
                    "'bag_refused': factor v1: valid_from: expected a date as YYYY-MM-DD"},
        BadFileCase{"MissingSource",
                    "sources { title: \"Source C\" url: \"https://example.org/c\" }", "",
                    "'bag_refused': factor v1: sources: at least one source"},
        BadFileCase{"SourceWithoutUrl", "url: \"https://example.org/c\"", "",
                    "sources[0]: url must be an http(s) address"},
        BadFileCase{"SourceWithoutTitle", "title: \"Source C\"", "",
                    "sources[0]: title is required"},
        BadFileCase{"ConfidenceUnset", "confidence: CONFIDENCE_LOW", "",
                    "confidence must be"},
        BadFileCase{"BasisEmpty", "basis: \"bag not made\"", "basis: \"  \"",
                    "basis is required"}),
    [](const ::testing::TestParamInfo<BadFileCase>& info) { return info.param.name; });

TEST(CatalogParseTest, AllSyntaxErrorsAreReportedWithOneBasedPositions) {
  auto catalog = Catalog::Parse("edition: \"x\"\naction_types { id: }\n", Tokyo());
  EXPECT_THAT(catalog, StatusIs(absl::StatusCode::kInvalidArgument,
                                AllOf(HasSubstr("does not parse"), HasSubstr("line 2 column"))));
}

TEST(CatalogParseTest, RejectsATypeWithoutFactors) {
  constexpr char kNoFactors[] = R"pb(edition: "x"
    action_types {
      id: "bag_refused"
      category: "plastic"
      name_ja: "レジ袋"
      name_en: "Bag"
      unit: UNIT_ITEM
      min_quantity: "1"
      max_quantity: "100"
    })pb";
  EXPECT_THAT(Catalog::Parse(kNoFactors, Tokyo()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'bag_refused': factors: at least one factor version")));
}

TEST(CatalogParseTest, RejectsAnEmptyCatalogue) {
  EXPECT_THAT(Catalog::Parse("edition: \"x\"", Tokyo()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no action_types")));
}

TEST(CatalogParseTest, ValidityFollowsTheCityTimeZone) {
  auto utc = CityCalendar::Create("UTC");
  ASSERT_THAT(utc, IsOk());
  auto catalog = Catalog::Parse(kValidFile, *utc);
  ASSERT_THAT(catalog, IsOk());
  // 2026-03-31 20:00 UTC is still v1 in a UTC city (v2 in Tokyo).
  const absl::Time t =
      absl::FromCivil(absl::CivilSecond(2026, 3, 31, 20, 0, 0), absl::UTCTimeZone());
  auto c = catalog->Convert({"clothing_reuse", 1, v1::UNIT_UNSPECIFIED, t});
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->factor->version, 1);
  auto tokyo = Catalog::Parse(kValidFile, Tokyo());
  ASSERT_THAT(tokyo, IsOk());
  c = tokyo->Convert({"clothing_reuse", 1, v1::UNIT_UNSPECIFIED, t});
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->factor->version, 2);
}

// ------------------------------------------------------------ configuration --

class LoadCatalogTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& text) {
    std::string path = absl::StrCat(::testing::TempDir(), "/catalog_test_",
                                    ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                                    ".textproto");
    std::ofstream(path, std::ios::binary) << text;
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& path : paths_) std::remove(path.c_str());
  }
  std::vector<std::string> paths_;
};

TEST_F(LoadCatalogTest, EmbeddedByDefault) {
  auto catalog = LoadCatalog({"", absl::Hours(1)}, Tokyo());
  ASSERT_THAT(catalog, IsOk());
  EXPECT_NE(catalog->Find("clothing_reuse"), nullptr);
}

TEST_F(LoadCatalogTest, ReadsTheConfiguredFile) {
  auto catalog = LoadCatalog({WriteFile(kValidFile), absl::Hours(1)}, Tokyo());
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ(catalog->edition(), "test.1");
}

TEST_F(LoadCatalogTest, ErrorsNameTheFile) {
  std::string bad = absl::StrReplaceAll(kValidFile, {{"\"1.25\"", "\"1.2.5\""}});
  std::string path = WriteFile(bad);
  EXPECT_THAT(LoadCatalog({path, absl::Hours(1)}, Tokyo()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("factor v2: kg_co2e_per_unit"))));
  EXPECT_THAT(LoadCatalog({"/nonexistent/catalog.textproto", absl::Hours(1)}, Tokyo()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/catalog.textproto")));
}

TEST(CatalogConfigTest, ReadsAndValidatesFlags) {
  auto config = CatalogConfigFromFlags();
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->catalog_file, "");
  EXPECT_EQ(config->max_backdate, absl::Hours(24 * 7));

  absl::SetFlag(&FLAGS_max_backdate, absl::ZeroDuration());
  EXPECT_THAT(CatalogConfigFromFlags(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--max_backdate")));
  absl::SetFlag(&FLAGS_max_backdate, absl::Hours(24 * 7));
}

}  // namespace
}  // namespace ecoact::catalog
