// Every projection rebuilt from a ledger of 100,000 actions written by the
// real RecordAction script equals the incremental state: boards (citizen,
// group and audit, with hidden citizens and team moves), badges (with the
// entry that earned each), streaks, active-day bitmaps and the all-time
// totals the badge rules read. Figures are printed, never asserted.
#include <map>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/leaderboard/projector.h"
#include "services/rewards/rewards_rebuild.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using Contents = std::map<std::string, std::vector<std::string>>;

class FullRebuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  // Every key of the projections with its full contents.
  Contents Projections(const std::vector<Citizen>& citizens) {
    Contents out;
    std::string cursor = "0";
    do {
      auto page = stack_->redis().Command(
          {"SCAN", cursor, "MATCH", stack_->keys().Board("*"), "COUNT", "1000"});
      EXPECT_TRUE(page.ok());
      cursor = page->elements[0].str;
      for (const auto& key : page->elements[1].elements) {
        auto members = stack_->redis().Command({"ZRANGE", key.str, "0", "-1", "WITHSCORES"});
        EXPECT_TRUE(members.ok());
        for (const auto& v : members->elements) out[key.str].push_back(v.str);
      }
    } while (cursor != "0");
    // Collective campaign progress: the campaign fields of every shard's
    // all-time aggregate.
    for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
      const std::string key = stack_->keys().Aggregate(shard, "all");
      auto all = stack_->redis().Command({"HGETALL", key});
      EXPECT_TRUE(all.ok());
      std::map<std::string, std::string> sorted;
      for (size_t i = 0; i + 1 < all->elements.size(); i += 2) {
        if (absl::StrContains(all->elements[i].str, "@c:")) {
          sorted[all->elements[i].str] = all->elements[i + 1].str;
        }
      }
      for (const auto& [f, v] : sorted) out[key].push_back(f + "=" + v);
    }
    for (const Citizen& c : citizens) {
      for (const std::string& key : {stack_->keys().Badges(c.account_id),
                                     stack_->keys().Streak(c.account_id),
                                     stack_->keys().Totals(c.account_id, "all")}) {
        auto all = stack_->redis().Command({"HGETALL", key});
        EXPECT_TRUE(all.ok());
        std::map<std::string, std::string> sorted;
        for (size_t i = 0; i + 1 < all->elements.size(); i += 2) {
          sorted[all->elements[i].str] = all->elements[i + 1].str;
        }
        for (const auto& [f, v] : sorted) out[key].push_back(f + "=" + v);
      }
      auto days = stack_->redis().Command({"GET", stack_->keys().ActiveDays(c.account_id)});
      EXPECT_TRUE(days.ok());
      out[stack_->keys().ActiveDays(c.account_id)].push_back(days->str);
    }
    return out;
  }

  std::unique_ptr<Stack> stack_;
};

TEST_F(FullRebuildTest, EveryProjectionRebuiltFromAHundredThousandActionsEqualsTheIncrementalState) {
  constexpr int kActions = 100000;
  constexpr int kCitizens = 300;
  constexpr int kDays = 60;
  // The history ends now (boards expire on Redis's own clock).
  const absl::Time end = absl::Now();
  const absl::Time start = end - absl::Hours(24 * kDays);
  stack_->set_now(start);
  const std::string admin = stack_->AdminToken();
  stack_->CreateOrganisation("fujitsu");
  std::vector<std::string> codes = {stack_->CreateTeam("fujitsu-hr", "fujitsu"),
                                    stack_->CreateTeam("fujitsu-it", "fujitsu"),
                                    stack_->CreateTeam("class-3b"), stack_->CreateTeam("class-4a")};
  const char* wards[] = {"kawasaki", "saiwai", "nakahara", "takatsu", "miyamae", "tama", "asao"};
  std::vector<Citizen> citizens;
  for (int i = 0; i < kCitizens; ++i) {
    citizens.push_back(stack_->Register(absl::StrCat("c", i), wards[i % 7]));
    if (i % 5 != 0) ASSERT_THAT(stack_->JoinWithCode(citizens.back().token, codes[i % 4]), IsOk());
  }
  // A double-points campaign on clothes for ten days in the middle.
  v1::CreateCampaignRequest campaign;
  campaign.set_request_id("full-rebuild-campaign");
  campaign.set_id("denim");
  campaign.set_title("denim");
  campaign.add_action_types("clothing_reuse");
  campaign.add_action_types("clothing_recycling");
  *campaign.mutable_starts_at() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(
      absl::ToUnixMillis(start + absl::Hours(24 * 25)));
  *campaign.mutable_ends_at() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(
      absl::ToUnixMillis(start + absl::Hours(24 * 35)));
  campaign.set_multiplier_permille(2000);
  campaign.set_metric(v1::METRIC_CO2E_GRAMS);
  campaign.set_individual_target(20000);
  v1::Campaign created;
  ASSERT_THAT(stack_->rewards()->CreateCampaign(Stack::Context(admin).get(), campaign, &created),
              IsOk());

  const char* types[] = {"pet_bottles", "aluminium_cans", "steel_cans", "glass_bottles",
                         "paper_cardboard", "clothing_reuse", "clothing_recycling",
                         "plastic_bag_refused", "own_bottle", "train_instead_of_car"};
  std::mt19937 random(7);
  int64_t appended = 0, capped = 0;
  absl::Duration writing;
  for (int day = 0; day < kDays; ++day) {
    stack_->set_now(start + absl::Hours(24 * day) + absl::Minutes(random() % 1200));
    if (day == 30) {
      // Tokens last a day: sign in again, as the app does.
      for (int i = 1; i < kCitizens; ++i) {
        if (i % 10 != 1 && i % 25 != 2) continue;
        v1::SignInRequest sign_in;
        sign_in.set_account_id(citizens[i].account_id);
        sign_in.set_secret(citizens[i].secret);
        v1::SignInResponse signed_in;
        ASSERT_THAT(stack_->identity()->SignIn(Stack::Context().get(), sign_in, &signed_in),
                    IsOk());
        citizens[i].token = signed_in.token();
      }
      // Team moves mid-history, and some citizens hide from public boards.
      for (int i = 1; i < kCitizens; i += 10) {
        ASSERT_THAT(stack_->JoinWithCode(citizens[i].token, codes[(i + 1) % 4]), IsOk());
      }
      for (int i = 2; i < kCitizens; i += 25) {
        v1::UpdateMyProfileRequest hide;
        hide.set_request_id(absl::StrCat("hide-profile-", i));
        hide.set_visibility(v1::VISIBILITY_HIDDEN);
        v1::Profile profile;
        ASSERT_THAT(stack_->identity()->UpdateMyProfile(Stack::Context(citizens[i].token).get(),
                                                        hide, &profile),
                    IsOk());
      }
    }
    std::vector<actions::PreparedAction> batch;
    const int today = kActions / kDays + (day < kActions % kDays ? 1 : 0);
    for (int k = 0; k < today; ++k) {
      // A few very active citizens, many occasional ones.
      const int who = random() % 4 == 0 ? random() % 20 : random() % kCitizens;
      actions::ActionInput input;
      input.account_id = citizens[who].account_id;
      input.request_id = absl::StrCat("generated-", day, "-", k);
      input.action_type = types[random() % 10];
      input.quantity = input.action_type == "plastic_bag_refused" || input.action_type == "own_bottle"
                           ? 1
                           : 0.1 * (1 + random() % 10);
      if (random() % 5 == 0) input.occurred_at = stack_->now() - absl::Hours(random() % (24 * 6));
      auto prepared = stack_->recorder().Prepare(input);
      ASSERT_THAT(prepared, IsOk());
      batch.push_back(*std::move(prepared));
    }
    const absl::Time before = absl::Now();
    for (size_t from = 0; from < batch.size(); from += 500) {
      std::vector<actions::PreparedAction> chunk(
          batch.begin() + from, batch.begin() + std::min(batch.size(), from + 500));
      for (const absl::Status& status : stack_->ledger().AppendMany(chunk)) {
        if (status.ok()) {
          ++appended;
        } else {
          ASSERT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
          ++capped;
        }
      }
    }
    writing += absl::Now() - before;
  }
  stack_->set_now(end);
  std::printf("[ info ] %lld actions recorded by the script (%lld over a daily cap) at %.0f/s "
              "(pipelined, 500 per round trip)\n",
              static_cast<long long>(appended), static_cast<long long>(capped),
              appended / absl::ToDoubleSeconds(writing));
  ASSERT_GT(appended, kActions * 9 / 10);

  const absl::Time projecting = absl::Now();
  EXPECT_EQ(stack_->DrainProjector(), appended);
  std::printf("[ info ] incremental projector: %.0f entries/s\n",
              appended / absl::ToDoubleSeconds(absl::Now() - projecting));
  const Contents incremental = Projections(citizens);
  int badges = 0, group_boards = 0, campaign_fields = 0;
  for (const auto& [key, values] : incremental) {
    if (absl::StrContains(key, ":badges:")) badges += static_cast<int>(values.size());
    if (absl::StrContains(key, ":agg:all")) campaign_fields += static_cast<int>(values.size());
    if (absl::StrContains(key, "{b:teams")) ++group_boards;
  }
  EXPECT_GT(badges, kCitizens);
  EXPECT_GT(group_boards, 10);
  EXPECT_GE(campaign_fields, 3 * 2);  // co2, pts, act of denim in at least two shards
  // A hidden citizen is on no citizen board but counts for their team.
  for (const auto& [key, values] : incremental) {
    if (!absl::StrContains(key, "{b:city::")) continue;
    for (size_t i = 0; i < values.size(); i += 2) {
      EXPECT_NE(values[i], citizens[2].account_id) << key;
    }
  }

  // Damage every kind of projection, then rebuild from the ledger alone.
  const std::string& victim = citizens[0].account_id;
  // One DEL per slot: on Redis Cluster a DEL of several slots is CROSSSLOT.
  ASSERT_THAT(stack_->redis().Command({"DEL", stack_->keys().Badges(victim),
                                      stack_->keys().Streak(victim),
                                      stack_->keys().ActiveDays(victim)}),
              IsOk());
  ASSERT_THAT(stack_->redis().Command({"DEL", stack_->keys().Board("teams::all:co2")}), IsOk());
  ASSERT_THAT(stack_->redis().Command({"ZADD", stack_->keys().Board("city::all:pts"), "99999",
                                      citizens[2].account_id}),
              IsOk());
  // Collective campaign progress: one shard's figures wrong, another's lost,
  // and a campaign that has no entry at all.
  int campaign_shards = 0;
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
    const std::string key = stack_->keys().Aggregate(shard, "all");
    auto act = stack_->redis().Command({"HGET", key, "act@c:denim"});
    ASSERT_THAT(act, IsOk());
    if (act->IsNil()) continue;
    if (++campaign_shards == 1) {
      ASSERT_THAT(stack_->redis().Command({"HINCRBY", key, "co2@c:denim", "12345"}), IsOk());
      ASSERT_THAT(stack_->redis().Command({"HINCRBY", key, "act@c:denim", "3"}), IsOk());
      ASSERT_THAT(stack_->redis().Command({"HSET", key, "pts@c:ghost", "7"}), IsOk());
    } else if (campaign_shards == 2) {
      ASSERT_THAT(stack_->redis().Command({"HDEL", key, "co2@c:denim", "pts@c:denim",
                                          "act@c:denim"}),
                  IsOk());
    }
  }
  EXPECT_GE(campaign_shards, 2);
  EXPECT_NE(Projections(citizens), incremental);
  const absl::Time rebuilding = absl::Now();
  auto boards = leaderboard::RebuildBoards(&stack_->redis(), stack_->keys(), stack_->calendar(),
                                           leaderboard::BoardOptions{}, stack_->now());
  ASSERT_THAT(boards, IsOk());
  auto campaigns = stack_->campaigns().Load();
  ASSERT_THAT(campaigns, IsOk());
  auto rewards = rewards::RebuildRewards(&stack_->redis(), stack_->keys(), stack_->calendar(),
                                         stack_->badge_rules(), *campaigns);
  ASSERT_THAT(rewards, IsOk());
  std::printf("[ info ] rebuild of boards, badges and streaks from %lld entries: %.1f s "
              "(boards include a 1 s pause for an in-flight projector)\n",
              static_cast<long long>(boards->entries),
              absl::ToDoubleSeconds(absl::Now() - rebuilding));
  EXPECT_EQ(boards->entries, appended);
  EXPECT_EQ(rewards->entries, appended);

  const Contents rebuilt = Projections(citizens);
  EXPECT_EQ(rebuilt.size(), incremental.size());
  int differences = 0;
  for (const auto& [key, values] : incremental) {
    auto it = rebuilt.find(key);
    if (it == rebuilt.end() || it->second != values) {
      if (++differences <= 5) ADD_FAILURE() << "differs after rebuild: " << key;
    }
  }
  EXPECT_EQ(differences, 0);
}

}  // namespace
}  // namespace ecoact::test
