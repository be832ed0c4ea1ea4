// RewardsService on a real redis-server through gRPC: campaigns (who may
// create them, idempotency, listing by state, progress), badges and streaks.
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

google::protobuf::Timestamp At(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

class CampaignServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    // Monday 2026-11-30 10:00 JST.
    stack_->set_now(absl::FromCivil(absl::CivilSecond(2026, 11, 30, 10, 0, 0),
                                    stack_->calendar().zone()));
    admin_ = stack_->AdminToken();
  }

  v1::CreateCampaignRequest Denim(absl::Time start, absl::Time end) {
    v1::CreateCampaignRequest r;
    r.set_request_id("create-denim-0001");
    r.set_id("denim");
    r.set_title("デニム回収チャレンジ");
    r.add_action_types("clothing_reuse");
    *r.mutable_starts_at() = At(start);
    *r.mutable_ends_at() = At(end);
    r.set_multiplier_permille(2000);
    r.set_metric(v1::METRIC_CO2E_GRAMS);
    r.set_collective_target(100000);
    r.set_individual_target(20000);
    r.set_badge_title("デニム名人");
    return r;
  }

  grpc::Status Create(const std::string& token, const v1::CreateCampaignRequest& r,
                      v1::Campaign* out) {
    return stack_->rewards()->CreateCampaign(Stack::Context(token).get(), r, out);
  }

  std::unique_ptr<Stack> stack_;
  std::string admin_;
};

TEST_F(CampaignServiceTest, OnlyAdminsCreateCampaignsAndARetryReturnsTheFirstResult) {
  const absl::Time now = stack_->now();
  v1::CreateCampaignRequest r = Denim(now, now + absl::Hours(24 * 7));
  Citizen citizen = stack_->Register("hana", "nakahara");
  v1::Campaign campaign;
  EXPECT_THAT(Create("", r, &campaign), StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(Create(citizen.token, r, &campaign), StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(Create(stack_->StaffToken("staff-one"), r, &campaign),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));

  ASSERT_THAT(Create(admin_, r, &campaign), IsOk());
  EXPECT_EQ(campaign.state(), v1::CAMPAIGN_STATE_RUNNING);
  EXPECT_EQ(campaign.reward_badge_id(), "campaign:denim");
  v1::Campaign again;
  ASSERT_THAT(Create(admin_, r, &again), IsOk());
  EXPECT_EQ(again.SerializeAsString(), campaign.SerializeAsString());

  // The same id under another request, or the same request id with another
  // payload: the id is taken.
  v1::CreateCampaignRequest other = r;
  other.set_request_id("create-denim-0002");
  EXPECT_THAT(Create(admin_, other, &again),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("\"denim\" already exists")));
  other = r;
  other.set_multiplier_permille(3000);
  EXPECT_THAT(Create(admin_, other, &again), StatusIs(grpc::StatusCode::ALREADY_EXISTS));

  other = r;
  other.set_id("bad");
  other.set_request_id("create-bad-0001");
  other.add_action_types("unknown_type");
  EXPECT_THAT(Create(admin_, other, &again),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("unknown_type")));
}

TEST_F(CampaignServiceTest, CampaignsAreListedByStateAndTheirBadgeIsListed) {
  const absl::Time now = stack_->now();
  v1::Campaign out;
  ASSERT_THAT(Create(admin_, Denim(now, now + absl::Hours(24)), &out), IsOk());
  v1::CreateCampaignRequest later = Denim(now + absl::Hours(48), now + absl::Hours(96));
  later.set_id("bottles");
  later.set_request_id("create-bottles-0001");
  later.clear_action_types();
  later.set_individual_target(0);
  ASSERT_THAT(Create(admin_, later, &out), IsOk());
  EXPECT_EQ(out.state(), v1::CAMPAIGN_STATE_UPCOMING);
  EXPECT_EQ(out.reward_badge_id(), "");

  Citizen citizen = stack_->Register("kenta", "kawasaki");
  v1::ListCampaignsRequest request;
  v1::ListCampaignsResponse all;
  ASSERT_THAT(stack_->rewards()->ListCampaigns(Stack::Context(citizen.token).get(), request, &all),
              IsOk());
  ASSERT_EQ(all.campaigns_size(), 2);
  EXPECT_EQ(all.campaigns(0).id(), "bottles");  // newest start first
  request.set_state(v1::CAMPAIGN_STATE_RUNNING);
  v1::ListCampaignsResponse running;
  ASSERT_THAT(
      stack_->rewards()->ListCampaigns(Stack::Context(citizen.token).get(), request, &running),
      IsOk());
  ASSERT_EQ(running.campaigns_size(), 1);
  EXPECT_EQ(running.campaigns(0).id(), "denim");

  v1::ListBadgesResponse badges;
  ASSERT_THAT(stack_->rewards()->ListBadges(Stack::Context(citizen.token).get(), {}, &badges),
              IsOk());
  bool found = false;
  for (const auto& b : badges.badges()) found |= b.id() == "campaign:denim" && b.title() == "デニム名人";
  EXPECT_TRUE(found);
}

TEST_F(CampaignServiceTest, ACampaignCreatedThroughTheApiAppliesAtOnceAndTracksProgress) {
  const absl::Time now = stack_->now();
  v1::Campaign campaign;
  ASSERT_THAT(Create(admin_, Denim(now, now + absl::Hours(24)), &campaign),
              IsOk());
  Citizen hana = stack_->Register("hana", "nakahara");
  Citizen ken = stack_->Register("ken", "tama");
  // 2 kg of reused clothes: 26468 g CO2e, 20 points, doubled to 40 by the
  // campaign; a type outside the campaign gets no bonus and no progress.
  v1::RecordActionResponse first;
  ASSERT_THAT(stack_->Record(hana.token, "clothing_reuse", 2, &first), IsOk());
  EXPECT_EQ(first.entry().bonus_points(), first.entry().points() / 2);
  EXPECT_THAT(first.entry().campaign_ids(), ::testing::ElementsAre("denim"));
  v1::RecordActionResponse bottles;
  ASSERT_THAT(stack_->Record(hana.token, "pet_bottles", 1, &bottles), IsOk());
  EXPECT_EQ(bottles.entry().bonus_points(), 0);
  EXPECT_EQ(bottles.entry().campaign_ids_size(), 0);
  v1::RecordActionResponse kens;
  ASSERT_THAT(stack_->Record(ken.token, "clothing_reuse", 0.5, &kens), IsOk());

  v1::GetCampaignProgressRequest request;
  request.set_campaign_id("denim");
  v1::CampaignProgress progress;
  ASSERT_THAT(stack_->rewards()->GetCampaignProgress(Stack::Context(hana.token).get(), request,
                                                     &progress),
              IsOk());
  const int64_t everyone = first.entry().co2e_grams() + kens.entry().co2e_grams();
  EXPECT_EQ(progress.collective_co2e_grams(), everyone);
  EXPECT_EQ(progress.collective_points(), first.entry().points() + kens.entry().points());
  EXPECT_EQ(progress.participants(), 2);
  EXPECT_EQ(progress.collective_permille(), std::min<int64_t>(1000, everyone * 1000 / 100000));
  EXPECT_EQ(progress.my_co2e_grams(), first.entry().co2e_grams());
  // 26468 g of a 20000 g individual target: the reward badge, once.
  EXPECT_EQ(progress.my_permille(), 1000);
  EXPECT_TRUE(progress.my_badge_earned());
  bool awarded = false;
  for (const auto& b : first.new_badges()) awarded |= b.badge_id() == "campaign:denim";
  EXPECT_TRUE(awarded);
  v1::ListMyBadgesResponse mine;
  ASSERT_THAT(stack_->rewards()->ListMyBadges(Stack::Context(hana.token).get(), {}, &mine), IsOk());
  int denim_awards = 0;
  for (const auto& b : mine.badges()) {
    if (b.badge_id() != "campaign:denim") continue;
    ++denim_awards;
    EXPECT_EQ(b.title(), "デニム名人");
    EXPECT_EQ(b.entry_id(), first.entry().entry_id());
  }
  EXPECT_EQ(denim_awards, 1);

  // Ken is short of the target; an admin sees the collective figures only.
  ASSERT_THAT(stack_->rewards()->GetCampaignProgress(Stack::Context(ken.token).get(), request,
                                                     &progress),
              IsOk());
  EXPECT_EQ(progress.my_permille(), kens.entry().co2e_grams() * 1000 / 20000);
  EXPECT_FALSE(progress.my_badge_earned());
  ASSERT_THAT(stack_->rewards()->GetCampaignProgress(Stack::Context(admin_).get(), request,
                                                     &progress),
              IsOk());
  EXPECT_EQ(progress.collective_co2e_grams(), everyone);
  EXPECT_EQ(progress.my_co2e_grams(), 0);
}

// A pure points multiplier (no target, so no metric) is stored with metric
// "" and must still reach the actions service's campaign cache.
TEST_F(CampaignServiceTest, AMultiplierWithoutTargetsGivesTheBonusAndCountsInProgress) {
  const absl::Time now = stack_->now();
  v1::CreateCampaignRequest r = Denim(now, now + absl::Hours(24));
  r.set_id("double-week");
  r.set_request_id("create-double-0001");
  r.clear_action_types();
  r.set_metric(v1::METRIC_UNSPECIFIED);
  r.set_collective_target(0);
  r.set_individual_target(0);
  r.set_multiplier_permille(2000);
  v1::Campaign campaign;
  ASSERT_THAT(Create(admin_, r, &campaign), IsOk());
  EXPECT_EQ(campaign.metric(), v1::METRIC_UNSPECIFIED);
  EXPECT_EQ(campaign.reward_badge_id(), "");

  Citizen hana = stack_->Register("hana", "nakahara");
  v1::RecordActionResponse recorded;
  ASSERT_THAT(stack_->Record(hana.token, "pet_bottles", 1, &recorded), IsOk());
  EXPECT_THAT(recorded.entry().campaign_ids(), ::testing::ElementsAre("double-week"));
  EXPECT_GT(recorded.entry().bonus_points(), 0);
  EXPECT_EQ(recorded.entry().bonus_points() * 2, recorded.entry().points());

  v1::GetCampaignProgressRequest request;
  request.set_campaign_id("double-week");
  v1::CampaignProgress progress;
  ASSERT_THAT(stack_->rewards()->GetCampaignProgress(Stack::Context(hana.token).get(), request,
                                                     &progress),
              IsOk());
  EXPECT_EQ(progress.participants(), 1);
  EXPECT_EQ(progress.collective_points(), recorded.entry().points());
  EXPECT_EQ(progress.collective_co2e_grams(), recorded.entry().co2e_grams());
  EXPECT_EQ(progress.my_points(), recorded.entry().points());
  EXPECT_EQ(progress.collective_permille(), 0);  // no target
}

TEST_F(CampaignServiceTest, ACampaignCannotStartInThePast) {
  const absl::Time now = stack_->now();
  v1::Campaign campaign;
  EXPECT_THAT(Create(admin_, Denim(now - absl::Hours(1), now + absl::Hours(24)), &campaign),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("starts_at is in the past: a campaign applies to actions "
                                 "recorded after it is created and never rewrites history")));
}

// RecordAction's new badges and ListMyBadges show the same texts.
TEST_F(CampaignServiceTest, ANewBadgeReadsTheSameEverywhere) {
  const absl::Time now = stack_->now();
  v1::Campaign campaign;
  ASSERT_THAT(Create(admin_, Denim(now, now + absl::Hours(24)), &campaign), IsOk());
  Citizen hana = stack_->Register("hana", "nakahara");
  v1::RecordActionResponse recorded;
  ASSERT_THAT(stack_->Record(hana.token, "clothing_reuse", 2, &recorded), IsOk());
  v1::ListMyBadgesResponse mine;
  ASSERT_THAT(stack_->rewards()->ListMyBadges(Stack::Context(hana.token).get(), {}, &mine), IsOk());
  ASSERT_GE(recorded.new_badges_size(), 2);  // first_action and campaign:denim at least
  for (const v1::BadgeAward& fresh : recorded.new_badges()) {
    bool found = false;
    for (const v1::BadgeAward& listed : mine.badges()) {
      if (listed.badge_id() != fresh.badge_id()) continue;
      found = true;
      EXPECT_EQ(listed.title(), fresh.title()) << fresh.badge_id();
      EXPECT_EQ(listed.description(), fresh.description()) << fresh.badge_id();
      EXPECT_FALSE(fresh.description().empty()) << fresh.badge_id();
    }
    EXPECT_TRUE(found) << fresh.badge_id();
  }
}

TEST_F(CampaignServiceTest, ProgressOfAnUnknownCampaignIsNotFound) {
  Citizen citizen = stack_->Register("mio", "saiwai");
  v1::GetCampaignProgressRequest request;
  request.set_campaign_id("nope");
  v1::CampaignProgress progress;
  EXPECT_THAT(stack_->rewards()->GetCampaignProgress(Stack::Context(citizen.token).get(), request,
                                                     &progress),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("ListCampaigns")));
  request.set_campaign_id("Not A Slug!");
  EXPECT_THAT(stack_->rewards()->GetCampaignProgress(Stack::Context(citizen.token).get(), request,
                                                     &progress),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(CampaignServiceTest, ANewCitizenHasNoBadgesAndNoStreak) {
  Citizen citizen = stack_->Register("sora", "takatsu");
  v1::ListMyBadgesResponse badges;
  ASSERT_THAT(stack_->rewards()->ListMyBadges(Stack::Context(citizen.token).get(), {}, &badges),
              IsOk());
  EXPECT_EQ(badges.badges_size(), 0);
  v1::Streak streak;
  ASSERT_THAT(stack_->rewards()->GetMyStreak(Stack::Context(citizen.token).get(), {}, &streak),
              IsOk());
  EXPECT_EQ(streak.current_days(), 0);
  EXPECT_EQ(streak.last_active_day(), "");
  EXPECT_FALSE(streak.has_breaks_at());
  EXPECT_THAT(stack_->rewards()->GetMyStreak(Stack::Context(admin_).get(), {}, &streak),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
}

}  // namespace
}  // namespace ecoact::test
