// Campaign validation and its stored form (pure domain code).
#include "services/rewards/campaigns.h"

#include "google/protobuf/util/time_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace ecoact::rewards {
namespace {

using ::ecoact::test::IsOk;
using ::ecoact::test::StatusIs;
using ::testing::HasSubstr;
using google::protobuf::util::TimeUtil;

const absl::Time kNow = absl::FromUnixSeconds(1796000000);  // 2026-11-30

v1::CreateCampaignRequest Valid() {
  v1::CreateCampaignRequest r;
  r.set_request_id("campaign-req-0001");
  r.set_id("denim-dec");
  r.set_title("12月はデニムを回収へ");
  r.add_action_types("clothing_reuse");
  *r.mutable_starts_at() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow));
  *r.mutable_ends_at() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow + absl::Hours(24 * 31)));
  r.set_multiplier_permille(1500);
  r.set_metric(v1::METRIC_CO2E_GRAMS);
  r.set_collective_target(5000000);
  r.set_individual_target(10000);
  return r;
}

const std::set<std::string> kTypes = {"clothing_reuse", "pet_bottles"};

TEST(CampaignsTest, AValidRequestRoundTripsThroughItsStoredForm) {
  auto c = ValidateCampaign(Valid(), kTypes, kNow);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->RewardBadgeId(), "campaign:denim-dec");
  EXPECT_EQ(c->badge_title, "12月はデニムを回収へ");
  auto back = CampaignFromJson(CampaignToJson(*c, "fp"));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->id, "denim-dec");
  EXPECT_EQ(back->action_types, std::vector<std::string>{"clothing_reuse"});
  EXPECT_EQ(back->starts_at, c->starts_at);
  EXPECT_EQ(back->ends_at, c->ends_at);
  EXPECT_EQ(back->multiplier_permille, 1500);
  EXPECT_EQ(back->metric, "co2");
  EXPECT_EQ(back->individual_target, 10000);
  EXPECT_EQ(CampaignStateAt(*back, kNow - absl::Seconds(1)), v1::CAMPAIGN_STATE_UPCOMING);
  EXPECT_EQ(CampaignStateAt(*back, kNow), v1::CAMPAIGN_STATE_RUNNING);
  EXPECT_EQ(CampaignStateAt(*back, back->ends_at), v1::CAMPAIGN_STATE_ENDED);
}

TEST(CampaignsTest, EachMistakeNamesItsField) {
  struct Case {
    std::function<void(v1::CreateCampaignRequest*)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto* r) { r->set_id("X"); }, "id"},
      {[](auto* r) { r->set_title(""); }, "title"},
      {[](auto* r) { r->add_action_types("teleport"); }, "\"teleport\" is not an action type"},
      {[](auto* r) { r->clear_ends_at(); }, "ends_at are required"},
      {[](auto* r) { *r->mutable_ends_at() = r->starts_at(); }, "starts_at must be before"},
      {[](auto* r) { r->set_multiplier_permille(999); }, "multiplier_permille"},
      {[](auto* r) { r->set_multiplier_permille(5001); }, "multiplier_permille"},
      {[](auto* r) { r->set_individual_target(-1); }, "individual_target"},
      {[](auto* r) { r->set_metric(v1::METRIC_UNSPECIFIED); }, "metric is required"},
      {[](auto* r) {
         *r->mutable_starts_at() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow) - 50);
         *r->mutable_ends_at() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow) - 10);
       },
       "ends_at is in the past"},
      {[](auto* r) {
         *r->mutable_starts_at() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow) - 61);
       },
       "starts_at is in the past: a campaign applies to actions recorded after it is created "
       "and never rewrites history"},
      {[](auto* r) {
         *r->mutable_ends_at() =
             TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow + absl::Hours(24 * 367)));
       },
       "at most 366 days"},
      {[](auto* r) { r->set_badge_title(std::string(41, 'b')); }, "badge_title"},
      {[](auto* r) { r->set_id("denim.dec,x"); }, "id must be 2 to 32"},
  };
  for (const Case& c : cases) {
    v1::CreateCampaignRequest r = Valid();
    c.change(&r);
    EXPECT_THAT(ValidateCampaign(r, kTypes, kNow),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.message;
  }
}

TEST(CampaignsTest, StartingAMinuteAgoAbsorbsClockSkew) {
  v1::CreateCampaignRequest r = Valid();
  *r.mutable_starts_at() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow) - 60);
  EXPECT_THAT(ValidateCampaign(r, kTypes, kNow), IsOk());
}

TEST(CampaignsTest, NoTargetNeedsNoMetricAndZeroMultiplierMeansNoBonus) {
  v1::CreateCampaignRequest r = Valid();
  r.set_metric(v1::METRIC_UNSPECIFIED);
  r.set_collective_target(0);
  r.set_individual_target(0);
  r.set_multiplier_permille(0);
  auto c = ValidateCampaign(r, kTypes, kNow);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->multiplier_permille, 1000);
  EXPECT_EQ(c->RewardBadgeId(), "");
}

TEST(CampaignsTest, PermilleIsCappedAndExact) {
  EXPECT_EQ(Permille(0, 100), 0);
  EXPECT_EQ(Permille(1, 3), 333);
  EXPECT_EQ(Permille(250, 100), 1000);
  EXPECT_EQ(Permille(5, 0), 0);
  EXPECT_EQ(Permille(int64_t{1} << 49, int64_t{1} << 50), 500);
}

}  // namespace
}  // namespace ecoact::rewards
