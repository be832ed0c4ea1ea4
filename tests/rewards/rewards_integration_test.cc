// Badges, streaks, team/organisation booking, shard aggregates, campaigns
// and the rewards rebuild, through real gRPC stubs on a real redis-server.
#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/ledger_format.h"
#include "services/rewards/rewards_rebuild.h"
#include "services/rewards/streak.h"
#include "tests/support/stack.h"

namespace ecoact::test {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class RewardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  // A token valid at the stack's current time (tokens live one hour).
  std::string Token(const Citizen& c) {
    return stack_->tokens().Issue(c.account_id, v1::ROLE_CITIZEN, stack_->now());
  }

  grpc::Status Send(const Citizen& c, const std::string& type, double quantity,
                    std::optional<absl::Time> occurred, v1::RecordActionResponse* response,
                    std::string request_id = "") {
    v1::RecordActionRequest request;
    request.set_request_id(request_id.empty() ? absl::StrCat("rw-", ++counter_, "-abcdefgh")
                                              : request_id);
    request.set_action_type(type);
    request.set_quantity(quantity);
    if (occurred) *request.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(*occurred));
    return stack_->actions()->RecordAction(Stack::Context(Token(c)).get(), request, response);
  }

  v1::RecordActionResponse MustSend(const Citizen& c, const std::string& type, double quantity,
                                    std::optional<absl::Time> occurred = std::nullopt) {
    v1::RecordActionResponse response;
    grpc::Status status = Send(c, type, quantity, occurred, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::map<std::string, std::string> HashAll(const std::string& key) {
    auto reply = stack_->redis().Command({"HGETALL", key});
    EXPECT_TRUE(reply.ok());
    std::map<std::string, std::string> out;
    for (size_t i = 0; reply.ok() && i + 1 < reply->elements.size(); i += 2) {
      out[reply->elements[i].str] = reply->elements[i + 1].str;
    }
    return out;
  }

  std::map<std::string, int64_t> IntHash(const std::string& key) {
    std::map<std::string, int64_t> out;
    for (const auto& [f, v] : HashAll(key)) out[f] = std::stoll(v);
    return out;
  }

  absl::Time Tokyo(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
    return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), stack_->calendar().zone());
  }

  std::unique_ptr<Stack> stack_;
  int counter_ = 0;
};

std::vector<std::string> BadgeIds(const v1::RecordActionResponse& r) {
  std::vector<std::string> ids;
  for (const auto& b : r.new_badges()) ids.push_back(b.badge_id());
  return ids;
}

TEST_F(RewardsTest, EachBadgeIsAwardedOnceUnderConcurrentWriters) {
  Citizen mika = stack_->Register("Mika", "nakahara");
  constexpr int kThreads = 8, kEach = 2;
  std::vector<v1::RecordActionResponse> responses(kThreads * kEach);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        v1::RecordActionRequest request;
        request.set_request_id(absl::StrCat("conc-", t, "-", i, "-abcdef"));
        request.set_action_type("pet_bottles");
        request.set_quantity(0.5);
        grpc::Status status = stack_->actions()->RecordAction(
            Stack::Context(mika.token).get(), request, &responses[t * kEach + i]);
        EXPECT_TRUE(status.ok()) << status.error_message();
      }
    });
  }
  for (auto& th : threads) th.join();
  std::map<std::string, std::vector<const v1::RecordActionResponse*>> earned_by;
  for (const auto& r : responses) {
    for (const auto& b : r.new_badges()) earned_by[b.badge_id()].push_back(&r);
  }
  ASSERT_EQ(earned_by["first_action"].size(), 1u);
  ASSERT_EQ(earned_by["actions_10"].size(), 1u);
  EXPECT_EQ(earned_by["actions_10"][0]->totals(0).actions(), 10);
  EXPECT_EQ(earned_by["first_action"][0]->totals(0).actions(), 1);
  auto stored = HashAll(stack_->keys().Badges(mika.account_id));
  EXPECT_EQ(stored.size(), 2u);
  for (const char* id : {"first_action", "actions_10"}) {
    const v1::RecordActionResponse& r = *earned_by[id][0];
    auto award = nlohmann::json::parse(stored[id]);
    EXPECT_EQ(award["entry"], r.entry().entry_id()) << id;
    EXPECT_EQ(award["at"].get<int64_t>(), TimeUtil::TimestampToMilliseconds(r.entry().recorded_at()));
    const auto& b = r.new_badges(0).badge_id() == id ? r.new_badges(0) : r.new_badges(1);
    EXPECT_FALSE(b.title().empty());
    EXPECT_EQ(b.entry_id(), r.entry().entry_id());
  }
}

TEST_F(RewardsTest, ReplayReturnsTheSameBadgesAndAwardsNothing) {
  Citizen mika = stack_->Register("Mika", "nakahara");
  v1::RecordActionResponse first, again;
  ASSERT_TRUE(Send(mika, "clothing_reuse", 1.0, std::nullopt, &first, "same-request-1").ok());
  EXPECT_THAT(BadgeIds(first), ElementsAre("first_action"));
  EXPECT_EQ(first.new_badges(0).title(), "はじめの一歩");
  auto before = HashAll(stack_->keys().Badges(mika.account_id));
  ASSERT_TRUE(Send(mika, "clothing_reuse", 1.0, std::nullopt, &again, "same-request-1").ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_THAT(BadgeIds(again), ElementsAre("first_action"));
  EXPECT_EQ(again.new_badges(0).entry_id(), first.entry().entry_id());
  EXPECT_EQ(HashAll(stack_->keys().Badges(mika.account_id)), before);
  v1::RecordActionResponse second = MustSend(mika, "clothing_reuse", 1.0);
  EXPECT_THAT(BadgeIds(second), IsEmpty());
}

TEST_F(RewardsTest, StreakCountsLocalDaysInTokyo) {
  stack_->set_now(Tokyo(2026, 11, 29, 23, 59, 59));
  Citizen mika = stack_->Register("Mika", "nakahara");
  v1::RecordActionResponse r = MustSend(mika, "plastic_bag_refused", 1);
  EXPECT_EQ(r.streak().current_days(), 1);
  EXPECT_EQ(r.streak().last_active_day(), "2026-11-29");
  stack_->set_now(Tokyo(2026, 11, 30, 0, 0, 0));
  r = MustSend(mika, "plastic_bag_refused", 1);
  EXPECT_EQ(r.streak().current_days(), 2);
  EXPECT_EQ(r.streak().best_days(), 2);
  EXPECT_EQ(r.streak().last_active_day(), "2026-11-30");
  EXPECT_EQ(r.streak().breaks_at().seconds(), absl::ToUnixSeconds(Tokyo(2026, 12, 2)));
  // Skip 12-01: the run restarts.
  stack_->set_now(Tokyo(2026, 12, 2, 8, 0, 0));
  r = MustSend(mika, "plastic_bag_refused", 1);
  EXPECT_EQ(r.streak().current_days(), 1);
  EXPECT_EQ(r.streak().best_days(), 2);
  // Backdating into the gap joins both runs: 11-29 .. 12-02.
  r = MustSend(mika, "plastic_bag_refused", 1, Tokyo(2026, 12, 1, 12, 0, 0));
  EXPECT_EQ(r.streak().current_days(), 4);
  EXPECT_EQ(r.streak().best_days(), 4);
  EXPECT_EQ(r.streak().last_active_day(), "2026-12-02");
  const std::string days = stack_->keys().ActiveDays(mika.account_id);
  for (int d = 29; d <= 33; ++d) {
    absl::CivilDay day = absl::CivilDay(2026, 11, 1) + (d - 1);
    auto bit = stack_->redis().Command(
        {"GETBIT", days, absl::StrCat(rewards::DayNumber(day))});
    ASSERT_TRUE(bit.ok());
    EXPECT_EQ(bit->integer, d <= 32 ? 1 : 0) << d;
  }
  EXPECT_EQ(IntHash(stack_->keys().Streak(mika.account_id)),
            (std::map<std::string, int64_t>{{"best", 4},
                                            {"cur", 4},
                                            {"last", rewards::DayNumber(absl::CivilDay(2026, 12, 2))}}));
  // Two days without an action: broken.
  stack_->set_now(Tokyo(2026, 12, 4, 0, 0, 1));
  r = MustSend(mika, "plastic_bag_refused", 1, Tokyo(2026, 11, 28, 12));
  EXPECT_EQ(r.streak().current_days(), 0);
  EXPECT_EQ(r.streak().best_days(), 5);
  EXPECT_FALSE(r.streak().has_breaks_at());
}

TEST_F(RewardsTest, TeamMoveBooksByWhenTheActionOccurred) {
  const absl::Time now = stack_->now();
  Citizen mika = stack_->Register("Mika", "nakahara");
  const absl::Time moved = now - absl::Hours(48);
  ASSERT_TRUE(stack_->redis()
                  .Command({"HSET", stack_->keys().Account(mika.account_id), "team", "team-b",
                            "org", "org-b", "mh",
                            absl::StrCat("[[0,\"team-a\",\"org-a\"],[", absl::ToUnixMillis(moved),
                                         ",\"team-b\",\"org-b\"]]")})
                  .ok());
  v1::RecordActionResponse before = MustSend(mika, "clothing_reuse", 1.0, now - absl::Hours(72));
  v1::RecordActionResponse after = MustSend(mika, "clothing_reuse", 2.0);
  v1::RecordActionResponse late = MustSend(mika, "clothing_reuse", 3.0, moved - absl::Minutes(1));
  EXPECT_EQ(before.entry().team(), "team-a");
  EXPECT_EQ(before.entry().organisation(), "org-a");
  EXPECT_EQ(after.entry().team(), "team-b");
  EXPECT_EQ(after.entry().organisation(), "org-b");
  EXPECT_EQ(late.entry().team(), "team-a");
  EXPECT_EQ(late.entry().organisation(), "org-a");
  auto all = IntHash(stack_->keys().Totals(mika.account_id, "all"));
  EXPECT_EQ(all["co2@t:team-a"], before.entry().co2e_grams() + late.entry().co2e_grams());
  EXPECT_EQ(all["co2@t:team-b"], after.entry().co2e_grams());
  EXPECT_EQ(all["pts@o:org-a"], before.entry().points() + late.entry().points());
  EXPECT_EQ(all["pts@o:org-b"], after.entry().points());
  auto agg = IntHash(stack_->keys().Aggregate(stack_->keys().ShardOf(mika.account_id), "all"));
  EXPECT_EQ(agg["act@t:team-a"], 1);
  EXPECT_EQ(agg["act@t:team-b"], 1);
  EXPECT_EQ(agg["act@o:org-a"], 1);
  EXPECT_EQ(agg["act"], 1);
  // The ledger entry carries the organisation for the projector and rebuild.
  auto raw = stack_->redis().Command({"XRANGE", stack_->keys().Ledger(stack_->keys().ShardOf(mika.account_id)),
                                      late.entry().entry_id(), late.entry().entry_id()});
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->elements.size(), 1u);
  auto stored = DecodeStreamEntry(raw->elements[0]);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->entry.organisation(), "org-a");
}

TEST_F(RewardsTest, ShardAggregatesEqualTheSumOfAccountTotals) {
  std::vector<Citizen> citizens;
  const char* wards[] = {"nakahara", "kawasaki", "saiwai"};
  const char* teams[] = {"", "class-3b", "dept-x"};
  for (int i = 0; i < 12; ++i) {
    citizens.push_back(stack_->Register(absl::StrCat("C", i), wards[i % 3], teams[i % 3 == 1 ? 1 : (i % 2 ? 2 : 0)]));
  }
  for (size_t i = 0; i < citizens.size(); ++i) {
    for (size_t k = 0; k <= i % 4; ++k) {
      MustSend(citizens[i], k % 2 ? "pet_bottles" : "clothing_reuse", 0.5 + k,
               stack_->now() - absl::Hours(30 * k));
    }
  }
  static const std::regex kAggField("^(co2|pts|n|act)(@[wto]:.*)?$");
  std::set<std::string> periods;
  for (const auto& c : citizens) {
    auto keys = stack_->redis().Command({"KEYS", absl::StrCat(stack_->keys().prefix(), ":*tot:", c.account_id, ":*")});
    ASSERT_TRUE(keys.ok());
    for (const auto& k : keys->elements) periods.insert(k.str.substr(k.str.rfind(':') + 1));
  }
  ASSERT_GE(periods.size(), 4u);
  for (const std::string& period : periods) {
    std::map<std::string, int64_t> expected, actual;
    for (const auto& c : citizens) {
      auto totals = IntHash(stack_->keys().Totals(c.account_id, period));
      if (totals.empty()) continue;
      for (const auto& [f, v] : totals) {
        if (f == "co2" || f == "pts" || f == "n") expected[f] += v;
        for (const char* g : {"@w:", "@t:", "@o:"}) {
          if (absl::StartsWith(f, absl::StrCat("co2", g))) {
            expected[f] += v;
            expected["act" + f.substr(3)] += 1;
          } else if (absl::StartsWith(f, absl::StrCat("pts", g))) {
            expected[f] += v;
          }
        }
      }
      expected["act"] += 1;
    }
    for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
      for (const auto& [f, v] : IntHash(stack_->keys().Aggregate(shard, period))) {
        if (std::regex_match(f, kAggField)) actual[f] += v;
      }
    }
    EXPECT_EQ(actual, expected) << period;
  }
}

TEST_F(RewardsTest, CampaignMultiplierAppliesInsideTheWindowToListedTypes) {
  const absl::Time now = stack_->now();
  Citizen mika = stack_->Register("Mika", "nakahara");
  nlohmann::json def = {{"id", "denim"}, {"title", "Denim"}, {"types", {"clothing_reuse"}},
                        {"start_ms", absl::ToUnixMillis(now - absl::Hours(1))},
                        {"end_ms", absl::ToUnixMillis(now + absl::Hours(1))},
                        {"multiplier_permille", 1500}, {"metric", "pts"},
                        {"collective_target", 0}, {"individual_target", 30},
                        {"badge_title", "デニム回収"}};
  ASSERT_TRUE(stack_->redis().Command({"HSET", stack_->keys().Campaigns(), "denim", def.dump()}).ok());
  ASSERT_TRUE(stack_->campaigns().Invalidate().ok());
  auto base = stack_->catalog().Convert({"clothing_reuse", 1.0, v1::UNIT_KILOGRAM, now});
  ASSERT_TRUE(base.ok());
  ASSERT_EQ(base->points, 10);
  v1::RecordActionResponse in = MustSend(mika, "clothing_reuse", 1.0);
  EXPECT_EQ(in.entry().points(), 15);
  EXPECT_EQ(in.entry().bonus_points(), 5);
  EXPECT_THAT(in.entry().campaign_ids(), ElementsAre("denim"));
  v1::RecordActionResponse outside = MustSend(mika, "clothing_reuse", 1.0, now - absl::Hours(2));
  EXPECT_EQ(outside.entry().points(), 10);
  EXPECT_EQ(outside.entry().bonus_points(), 0);
  EXPECT_THAT(outside.entry().campaign_ids(), IsEmpty());
  v1::RecordActionResponse other = MustSend(mika, "pet_bottles", 1.0);
  EXPECT_THAT(other.entry().campaign_ids(), IsEmpty());
  EXPECT_EQ(other.entry().bonus_points(), 0);
  v1::RecordActionResponse second = MustSend(mika, "clothing_reuse", 1.0);
  ASSERT_THAT(BadgeIds(second), ElementsAre("campaign:denim"));
  EXPECT_EQ(second.new_badges(0).title(), "デニム回収");
  auto all = IntHash(stack_->keys().Totals(mika.account_id, "all"));
  EXPECT_EQ(all["pts@c:denim"], 30);
  EXPECT_EQ(all["n@c:denim"], 2);
  EXPECT_EQ(all["pts"], 15 + 10 + other.entry().points() + 15);
  auto agg = IntHash(stack_->keys().Aggregate(stack_->keys().ShardOf(mika.account_id), "all"));
  EXPECT_EQ(agg["act@c:denim"], 1);
  EXPECT_EQ(agg["pts@c:denim"], 30);
  // The stream entry carries the campaign and the bonus.
  auto raw = stack_->redis().Command({"XRANGE", stack_->keys().Ledger(stack_->keys().ShardOf(mika.account_id)),
                                      in.entry().entry_id(), in.entry().entry_id()});
  ASSERT_TRUE(raw.ok());
  auto stored = DecodeStreamEntry(raw->elements.at(0));
  ASSERT_TRUE(stored.ok());
  EXPECT_THAT(stored->entry.campaign_ids(), ElementsAre("denim"));
  EXPECT_EQ(stored->entry.bonus_points(), 5);
}

TEST_F(RewardsTest, RebuildFromTheLedgerEqualsTheIncrementalState) {
  const absl::Time start = Tokyo(2026, 9, 1, 9);
  stack_->set_now(start);
  std::vector<Citizen> citizens;
  for (int i = 0; i < 25; ++i) citizens.push_back(stack_->Register(absl::StrCat("R", i), "nakahara"));
  nlohmann::json def = {{"id", "sept-cans"}, {"types", {"aluminium_cans", "steel_cans"}},
                        {"start_ms", absl::ToUnixMillis(start + absl::Hours(24 * 10))},
                        {"end_ms", absl::ToUnixMillis(start + absl::Hours(24 * 30))},
                        {"multiplier_permille", 2000}, {"metric", "co2"},
                        {"individual_target", 500}};
  ASSERT_TRUE(stack_->redis().Command({"HSET", stack_->keys().Campaigns(), "sept-cans", def.dump()}).ok());
  ASSERT_TRUE(stack_->campaigns().Invalidate().ok());
  const char* types[] = {"pet_bottles", "aluminium_cans", "steel_cans", "glass_bottles",
                         "paper_cardboard", "clothing_reuse", "clothing_recycling",
                         "plastic_bag_refused"};
  std::mt19937 rng(42);
  int recorded = 0;
  for (int day = 0; day < 60; ++day) {
    stack_->set_now(start + absl::Hours(24 * day) + absl::Minutes(rng() % 600));
    for (int k = 0; k < 34; ++k) {
      const Citizen& c = citizens[(rng() % 5 == 0) ? rng() % 3 : rng() % citizens.size()];
      const char* type = types[rng() % 8];
      const bool items = std::string(type) == "plastic_bag_refused";
      std::optional<absl::Time> occurred;
      if (rng() % 4 == 0) occurred = stack_->now() - absl::Hours(rng() % (24 * 6));
      v1::RecordActionResponse response;
      grpc::Status status = Send(c, type, items ? 1.0 : 0.3 + (rng() % 5), occurred, &response);
      if (status.ok()) ++recorded;
      else EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
    }
  }
  EXPECT_GE(recorded, 1900);
  struct Snapshot {
    std::map<std::string, std::string> badges, streak, totals;
    std::string days;
    bool operator==(const Snapshot& o) const {
      return badges == o.badges && streak == o.streak && totals == o.totals && days == o.days;
    }
  };
  auto snapshot = [&] {
    std::map<std::string, Snapshot> out;
    for (const auto& c : citizens) {
      Snapshot s;
      s.badges = HashAll(stack_->keys().Badges(c.account_id));
      s.streak = HashAll(stack_->keys().Streak(c.account_id));
      s.totals = HashAll(stack_->keys().Totals(c.account_id, "all"));
      auto days = stack_->redis().Command({"GET", stack_->keys().ActiveDays(c.account_id)});
      s.days = days.ok() ? days->str : "?";
      out[c.account_id] = s;
    }
    return out;
  };
  auto incremental = snapshot();
  int64_t awarded = 0;
  for (const auto& [id, s] : incremental) awarded += s.badges.size();
  EXPECT_GT(awarded, 3 * 25);
  EXPECT_TRUE(std::any_of(incremental.begin(), incremental.end(), [](const auto& kv) {
    return kv.second.badges.count("campaign:sept-cans") > 0;
  }));
  // Damage the projections so the rebuild has to write them.
  for (size_t i = 0; i < citizens.size(); i += 2) {
    const std::string& id = citizens[i].account_id;
    ASSERT_TRUE(stack_->redis().Command({"DEL", stack_->keys().Badges(id), stack_->keys().Streak(id),
                                         stack_->keys().ActiveDays(id)}).ok());
    ASSERT_TRUE(stack_->redis().Command({"HSET", stack_->keys().Totals(id, "all"), "n:t:pet_bottles", "999"}).ok());
  }
  ASSERT_TRUE(stack_->redis().Command({"HSET", stack_->keys().Badges(citizens[1].account_id), "bogus", "{}"}).ok());
  auto campaigns = stack_->campaigns().Load();
  ASSERT_TRUE(campaigns.ok());
  auto report = rewards::RebuildRewards(&stack_->redis(), stack_->keys(), stack_->calendar(),
                                        stack_->badge_rules(), *campaigns);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, recorded);
  EXPECT_EQ(report->badges, awarded);
  auto rebuilt = snapshot();
  for (const auto& c : citizens) {
    const Snapshot& a = incremental[c.account_id];
    const Snapshot& b = rebuilt[c.account_id];
    EXPECT_EQ(a.badges, b.badges) << c.account_id;
    EXPECT_EQ(a.streak, b.streak) << c.account_id;
    EXPECT_EQ(a.totals, b.totals) << c.account_id;
    EXPECT_EQ(a.days, b.days) << c.account_id;
  }
}

}  // namespace
}  // namespace ecoact::test
