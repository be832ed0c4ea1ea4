// The projector and the boards on a real redis-server: exact scores,
// competition ranks, exactly-once across a crash between apply and
// acknowledge, and a rebuild from the ledger equal to the incremental path.
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using Snapshot = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

class LeaderboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  v1::GetLeaderboardResponse Board(const std::string& token, v1::Scope scope,
                                   const std::string& id, v1::Period period, v1::Metric metric,
                                   int size = 20) {
    v1::GetLeaderboardRequest request;
    request.mutable_board()->set_scope(scope);
    request.mutable_board()->set_scope_id(id);
    request.mutable_board()->set_period(period);
    request.mutable_board()->set_metric(metric);
    request.set_page_size(size);
    v1::GetLeaderboardResponse response;
    grpc::Status status = stack_->boards()->GetLeaderboard(Stack::Context(token).get(), request,
                                                           &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Every board key with its members and scores, group boards included.
  Snapshot Boards() {
    Snapshot snapshot;
    std::string cursor = "0";
    do {
      auto page = stack_->redis().Command(
          {"SCAN", cursor, "MATCH", stack_->keys().Board("*"), "COUNT", "1000"});
      EXPECT_TRUE(page.ok());
      cursor = page->elements[0].str;
      for (const auto& key : page->elements[1].elements) {
        auto members = stack_->redis().Command({"ZRANGE", key.str, "0", "-1", "WITHSCORES"});
        EXPECT_TRUE(members.ok());
        auto& out = snapshot[key.str];
        for (size_t i = 0; i + 1 < members->elements.size(); i += 2) {
          out.emplace_back(members->elements[i].str, members->elements[i + 1].str);
        }
      }
    } while (cursor != "0");
    return snapshot;
  }

  std::unique_ptr<Stack> stack_;
};

TEST_F(LeaderboardTest, BoardsShowExactTotalsWithCompetitionRanks) {
  Citizen a = stack_->Register("Aoi", "nakahara", "team-x");
  Citizen b = stack_->Register("Ben", "nakahara");
  Citizen c = stack_->Register("Chie", "tama", "team-x");
  ASSERT_TRUE(stack_->Record(a.token, "plastic_bag_refused", 4).ok());
  ASSERT_TRUE(stack_->Record(b.token, "plastic_bag_refused", 2).ok());
  ASSERT_TRUE(stack_->Record(b.token, "plastic_bag_refused", 2).ok());
  ASSERT_TRUE(stack_->Record(c.token, "plastic_bag_refused", 1).ok());
  EXPECT_EQ(stack_->DrainProjector(), 4);

  const int64_t per_bag = stack_->catalog().Find("plastic_bag_refused")->points_per_unit;
  auto city = Board(a.token, v1::SCOPE_CITY, "", v1::PERIOD_WEEK, v1::METRIC_POINTS);
  ASSERT_EQ(city.entries_size(), 3);
  EXPECT_EQ(city.total_ranked(), 3);
  // Aoi and Ben tie on 4 bags: both rank 1, Chie ranks 3.
  EXPECT_EQ(city.entries(0).score(), 4 * per_bag);
  EXPECT_EQ(city.entries(0).rank(), 1);
  EXPECT_EQ(city.entries(1).score(), 4 * per_bag);
  EXPECT_EQ(city.entries(1).rank(), 1);
  EXPECT_EQ(city.entries(2).nickname(), "Chie");
  EXPECT_EQ(city.entries(2).rank(), 3);
  EXPECT_FALSE(city.period_key().empty());
  EXPECT_TRUE(city.has_period_ends_at());

  // Ward and team boards with fewer than --board_min_members (5) ranked
  // members show their total only.
  auto ward = Board(a.token, v1::SCOPE_WARD, "nakahara", v1::PERIOD_MONTH, v1::METRIC_CO2E_GRAMS);
  EXPECT_TRUE(ward.totals_only());
  EXPECT_EQ(ward.entries_size(), 0);
  EXPECT_EQ(ward.total_ranked(), 2);
  auto team = Board(a.token, v1::SCOPE_TEAM, "team-x", v1::PERIOD_ALL_TIME, v1::METRIC_POINTS);
  EXPECT_TRUE(team.totals_only());
  EXPECT_EQ(team.entries_size(), 0);
  EXPECT_EQ(team.total_ranked(), 2);

  // Paging: one entry per page walks the whole board.
  auto first = Board(a.token, v1::SCOPE_CITY, "", v1::PERIOD_WEEK, v1::METRIC_POINTS, 1);
  EXPECT_EQ(first.next_page_token(), "1");

  v1::GetMyRankRequest rank;
  rank.mutable_board()->set_scope(v1::SCOPE_WARD);  // own ward from the profile
  rank.mutable_board()->set_period(v1::PERIOD_WEEK);
  rank.mutable_board()->set_metric(v1::METRIC_POINTS);
  rank.set_neighbours(1);
  v1::GetMyRankResponse mine;
  ASSERT_TRUE(stack_->boards()->GetMyRank(Stack::Context(c.token).get(), rank, &mine).ok());
  // Alone in tama: below --board_min_members, so only the caller's own rank
  // and the ward's total.
  EXPECT_TRUE(mine.ranked());
  EXPECT_TRUE(mine.totals_only());
  EXPECT_EQ(mine.me().rank(), 1);
  EXPECT_EQ(mine.me().score(), per_bag);
  EXPECT_EQ(mine.board_total(), per_bag);
  EXPECT_EQ(mine.total_ranked(), 1);
  EXPECT_EQ(mine.above_size() + mine.below_size(), 0);
  rank.mutable_board()->set_scope(v1::SCOPE_CITY);
  mine.Clear();
  ASSERT_TRUE(stack_->boards()->GetMyRank(Stack::Context(c.token).get(), rank, &mine).ok());
  EXPECT_FALSE(mine.totals_only());
  EXPECT_EQ(mine.board_total(), 0);
  EXPECT_EQ(mine.me().rank(), 3);
  ASSERT_EQ(mine.above_size(), 1);
  EXPECT_EQ(mine.above(0).rank(), 1);
  EXPECT_EQ(mine.below_size(), 0);
}

TEST_F(LeaderboardTest, GetMyRankOnASmallGroupBoardShowsNoNeighbours) {
  // Four ranked members of team-s (one short of --board_min_members = 5).
  std::vector<Citizen> team;
  for (int i = 0; i < 4; ++i) {
    team.push_back(stack_->Register(absl::StrCat("Member", i), "nakahara", "team-s"));
    ASSERT_TRUE(stack_->Record(team.back().token, "plastic_bag_refused", i + 1).ok());
  }
  stack_->DrainProjector();
  const int64_t per_bag = stack_->catalog().Find("plastic_bag_refused")->points_per_unit;
  v1::GetMyRankRequest rank;
  rank.mutable_board()->set_scope(v1::SCOPE_TEAM);
  rank.mutable_board()->set_period(v1::PERIOD_ALL_TIME);
  rank.mutable_board()->set_metric(v1::METRIC_POINTS);
  rank.set_neighbours(3);
  v1::GetMyRankResponse mine;
  ASSERT_TRUE(stack_->boards()->GetMyRank(Stack::Context(team[1].token).get(), rank, &mine).ok());
  EXPECT_TRUE(mine.totals_only());
  EXPECT_TRUE(mine.ranked());
  EXPECT_EQ(mine.me().rank(), 3);
  EXPECT_EQ(mine.me().score(), 2 * per_bag);
  EXPECT_TRUE(mine.me().is_me());
  EXPECT_EQ(mine.above_size(), 0);
  EXPECT_EQ(mine.below_size(), 0);
  EXPECT_EQ(mine.total_ranked(), 4);
  EXPECT_EQ(mine.board_total(), 10 * per_bag);

  // GetMyRanks: the caller's own figures only, marked totals_only.
  v1::GetMyRanksResponse all;
  ASSERT_TRUE(stack_->boards()->GetMyRanks(Stack::Context(team[1].token).get(), {}, &all).ok());
  int team_boards = 0;
  for (const v1::MyBoardRank& r : all.ranks()) {
    const bool small = r.board().level() == v1::LEVEL_UNSPECIFIED &&
                       (r.board().scope() == v1::SCOPE_TEAM || r.board().scope() == v1::SCOPE_WARD);
    EXPECT_EQ(r.totals_only(), small) << r.board().ShortDebugString();
    if (r.board().scope() == v1::SCOPE_TEAM && r.board().period() == v1::PERIOD_ALL_TIME &&
        r.board().metric() == v1::METRIC_POINTS) {
      ++team_boards;
      EXPECT_EQ(r.rank(), 3);
      EXPECT_EQ(r.score(), 2 * per_bag);
    }
  }
  EXPECT_EQ(team_boards, 1);

  // A fifth member lifts the rule: neighbours again.
  Citizen fifth = stack_->Register("Member4", "nakahara", "team-s");
  ASSERT_TRUE(stack_->Record(fifth.token, "plastic_bag_refused", 9).ok());
  stack_->DrainProjector();
  mine.Clear();
  ASSERT_TRUE(stack_->boards()->GetMyRank(Stack::Context(team[1].token).get(), rank, &mine).ok());
  EXPECT_FALSE(mine.totals_only());
  EXPECT_EQ(mine.me().rank(), 4);
  EXPECT_EQ(mine.above_size(), 3);
  EXPECT_EQ(mine.below_size(), 1);
  EXPECT_EQ(mine.board_total(), 19 * per_bag);
}

TEST_F(LeaderboardTest, CrashBetweenApplyAndAcknowledgeCountsEveryEntryOnce) {
  Citizen a = stack_->Register("Aoi", "kawasaki");
  Citizen b = stack_->Register("Ben", "kawasaki");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(stack_->Record(a.token, "train_instead_of_car", 2).ok());
  ASSERT_TRUE(stack_->Record(b.token, "train_instead_of_car", 3).ok());
  // The first projector applies the batch and dies before XACK.
  auto applied = stack_->projector().RunOnceWithoutAck();
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(*applied, 6);
  // More entries arrive while it is down.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stack_->Record(b.token, "train_instead_of_car", 4).ok());

  // A restarted projector (same consumer name) re-reads its pending entries
  // first, then the new ones.
  leaderboard::ProjectorOptions options;
  options.consumer = "test-projector";
  options.block = absl::Milliseconds(20);
  leaderboard::Projector restarted(&stack_->redis(), &stack_->keys(), &stack_->calendar(), options);
  int total = 0;
  for (int i = 0; i < 10; ++i) {
    auto n = restarted.RunOnce();
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    total += *n;
  }
  EXPECT_EQ(total, 9);  // 6 redelivered + 3 new

  const auto* train = stack_->catalog().Find("train_instead_of_car");
  auto expected = [&](int64_t km) { return km * train->points_per_unit; };
  auto board = Board(a.token, v1::SCOPE_CITY, "", v1::PERIOD_ALL_TIME, v1::METRIC_POINTS);
  ASSERT_EQ(board.entries_size(), 2);
  EXPECT_EQ(board.entries(0).nickname(), "Ben");
  EXPECT_EQ(board.entries(0).score(), expected(3 + 3 * 4));
  EXPECT_EQ(board.entries(1).score(), expected(5 * 2));
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
    auto pending = stack_->redis().Command({"XPENDING", stack_->keys().Ledger(shard), "boards"});
    ASSERT_TRUE(pending.ok());
    EXPECT_EQ(pending->elements[0].integer, 0) << "shard " << shard;
  }
}

TEST_F(LeaderboardTest, ABatchWhoseBoardWriteFailedStaysPendingUntilItsBoardsLand) {
  Citizen a = stack_->Register("Aoi", "kawasaki");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stack_->Record(a.token, "bus_instead_of_car", 5).ok());
  // One board write of the batch fails (WRONGTYPE), the others succeed: as
  // when the node of one board key fails mid-pipeline in cluster mode.
  const std::string co2_board = stack_->keys().Board("city::all:co2");
  ASSERT_TRUE(stack_->redis().Command({"SET", co2_board, "not a board"}).ok());
  auto failed = stack_->projector().RunOnce();
  EXPECT_THAT(failed, StatusIs(absl::StatusCode::kInternal, testing::HasSubstr("WRONGTYPE")));
  // The batch was not acknowledged: its entries are still pending.
  int64_t pending = 0;
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
    auto reply = stack_->redis().Command({"XPENDING", stack_->keys().Ledger(shard), "boards"});
    ASSERT_TRUE(reply.ok());
    pending += reply->elements[0].integer;
  }
  EXPECT_EQ(pending, 3);

  // Once the write can land, the projector applies the same entries again.
  ASSERT_TRUE(stack_->redis().Command({"DEL", co2_board}).ok());
  EXPECT_EQ(stack_->DrainProjector(), 3);
  auto board = Board(a.token, v1::SCOPE_CITY, "", v1::PERIOD_ALL_TIME, v1::METRIC_CO2E_GRAMS);
  ASSERT_EQ(board.entries_size(), 1);
  auto totals = stack_->redis().Command({"HGET", stack_->keys().Totals(a.account_id, "all"), "co2"});
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(absl::StrCat(board.entries(0).score()), totals->str);
  EXPECT_GT(board.entries(0).score(), 0);
}

TEST_F(LeaderboardTest, OneProjectorWritesAtATimeAndTheNextTakesOverItsEntries) {
  Citizen a = stack_->Register("Aoi", "kawasaki");
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(stack_->Record(a.token, "bus_instead_of_car", 5).ok());
  auto make = [&](const std::string& consumer) {
    leaderboard::ProjectorOptions options;
    options.consumer = consumer;
    options.block = absl::Milliseconds(20);
    return std::make_unique<leaderboard::Projector>(&stack_->redis(), &stack_->keys(),
                                                    &stack_->calendar(), options);
  };
  auto first = make("replica-a");
  auto second = make("replica-b");
  auto applied = first->RunOnceWithoutAck();  // takes the lease, then "dies"
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(*applied, 4);
  auto waiting = second->RunOnce();  // the lease is replica-a's
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(*waiting, 0);
  // replica-a's lease lapses; replica-b takes over its unacknowledged entries.
  ASSERT_TRUE(stack_->redis().Command({"DEL", leaderboard::ProjectorLeaseKey(stack_->keys())}).ok());
  auto taken = second->RunOnce();
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(*taken, 4);
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
    auto pending = stack_->redis().Command({"XPENDING", stack_->keys().Ledger(shard), "boards"});
    ASSERT_TRUE(pending.ok());
    EXPECT_EQ(pending->elements[0].integer, 0);
  }
  auto board = Board(a.token, v1::SCOPE_CITY, "", v1::PERIOD_ALL_TIME, v1::METRIC_POINTS);
  ASSERT_EQ(board.entries_size(), 1);
  EXPECT_EQ(board.entries(0).score(),
            20 * stack_->catalog().Find("bus_instead_of_car")->points_per_unit);
}

TEST_F(LeaderboardTest, RebuildFromTheLedgerEqualsTheIncrementalBoards) {
  std::vector<Citizen> citizens;
  const char* wards[] = {"kawasaki", "saiwai", "nakahara", "tama"};
  for (int i = 0; i < 12; ++i) {
    citizens.push_back(stack_->Register(absl::StrCat("c", i), wards[i % 4],
                                        i % 3 == 0 ? "team-a" : (i % 3 == 1 ? "team-b" : "")));
  }
  const char* types[] = {"clothing_reuse", "glass_bottles", "plastic_bag_refused",
                         "bus_instead_of_car"};
  for (int i = 0; i < 60; ++i) {
    grpc::Status s = stack_->Record(citizens[(i * 7) % 12].token, types[i % 4], 1 + (i % 3));
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
  }
  stack_->DrainProjector();
  Snapshot incremental = Boards();
  ASSERT_FALSE(incremental.empty());

  // Damage the projections: a wrong score, a stray member, a stale board.
  ASSERT_TRUE(stack_->redis().Command({"ZINCRBY", stack_->keys().Board("city::all:pts"), "999",
                                       citizens[0].account_id}).ok());
  ASSERT_TRUE(stack_->redis().Command({"ZADD", stack_->keys().Board("city::all:co2"), "5",
                                       "ghost"}).ok());
  ASSERT_TRUE(stack_->redis().Command({"ZADD", stack_->keys().Board("ward:nowhere:all:pts"),
                                       "5", "ghost"}).ok());
  auto report = leaderboard::RebuildBoards(&stack_->redis(), stack_->keys(), stack_->calendar(),
                                           leaderboard::BoardOptions{}, stack_->now());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, 60);
  EXPECT_EQ(report->stale_boards_removed, 1);
  EXPECT_EQ(Boards(), incremental);
}

TEST_F(LeaderboardTest, BadBoardRequestsAreRejected) {
  Citizen a = stack_->Register("Aoi", "kawasaki");
  v1::GetLeaderboardRequest request;
  v1::GetLeaderboardResponse response;
  EXPECT_THAT(stack_->boards()->GetLeaderboard(Stack::Context(a.token).get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  request.mutable_board()->set_scope(v1::SCOPE_TEAM);
  request.mutable_board()->set_period(v1::PERIOD_WEEK);
  request.mutable_board()->set_metric(v1::METRIC_POINTS);
  EXPECT_THAT(stack_->boards()->GetLeaderboard(Stack::Context(a.token).get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, ::testing::HasSubstr("scope_id")));
  request.mutable_board()->set_scope(v1::SCOPE_CITY);
  request.set_page_size(1000);
  EXPECT_THAT(stack_->boards()->GetLeaderboard(Stack::Context(a.token).get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  request.set_page_size(10);
  EXPECT_THAT(stack_->boards()->GetLeaderboard(Stack::Context("").get(), request, &response),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  v1::GetMyRankRequest rank;
  *rank.mutable_board() = request.board();
  v1::GetMyRankResponse mine;
  ASSERT_TRUE(stack_->boards()->GetMyRank(Stack::Context(a.token).get(), rank, &mine).ok());
  EXPECT_FALSE(mine.ranked());
  EXPECT_THAT(stack_->boards()->GetMyRank(Stack::Context(stack_->AdminToken()).get(), rank, &mine),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
}

}  // namespace
}  // namespace ecoact::test
