// Organisation, campaign, group and audit boards, privacy on public boards,
// around-me paging, GetMyRanks, ListOutliers, and a rebuild equal to the
// incremental projector on a large generated history, on a real
// redis-server.
//
// The RecordAction script of this branch does not yet write the ledger
// fields `org`/`camp`, the `@o:`/`@c:` totals or the shard aggregates
// `agg:<period>` (docs/gamification.md). ContractWriter writes exactly what
// the contract says that script writes, so these tests exercise the
// leaderboard against the contract; city/ward/team boards, ties, paging and
// privacy also run end to end through the real API.
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Snapshot = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

// What RecordAction writes per the contract: the ledger entry (with `org`
// and `camp`), the account's totals (all/month/week/day, with `@w:`, `@t:`,
// `@o:` and in all time `@c:` fields) and the shard aggregates, whose `act`
// fields count an account once per group and period (the first time its own
// totals hash gets that group's field).
// ARGV[10] is the entry's action count (`cnt`, -1 for a void), 1 by default.
constexpr char kWriterLua[] = R"lua(
local fields = {'acct', ARGV[1], 'req', ARGV[9],
  'type', 'clothing_reuse', 'cat', 'clothing', 'qty', '1000', 'unit', '1',
  'co2', ARGV[2], 'pts', ARGV[3], 'fv', 'clothing_reuse@v1', 'occ', ARGV[4], 'rec', ARGV[4],
  'ward', ARGV[5], 'team', ARGV[6], 'org', ARGV[7], 'camp', ARGV[8], 'src', 'self'}
local count = tonumber(ARGV[10])
if count ~= 1 then
  fields[#fields + 1] = 'cnt'
  fields[#fields + 1] = ARGV[10]
end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
local co2 = tonumber(ARGV[2])
local pts = tonumber(ARGV[3])
local suffixes = {''}
if ARGV[5] ~= '' then suffixes[#suffixes + 1] = '@w:' .. ARGV[5] end
if ARGV[6] ~= '' then suffixes[#suffixes + 1] = '@t:' .. ARGV[6] end
if ARGV[7] ~= '' then suffixes[#suffixes + 1] = '@o:' .. ARGV[7] end
for i = 2, 5 do
  local tot = KEYS[i]
  local agg = KEYS[i + 4]
  local mine = {}
  for _, s in ipairs(suffixes) do mine[#mine + 1] = s end
  if i == 2 and ARGV[8] ~= '' then
    for c in string.gmatch(ARGV[8], '[^,]+') do mine[#mine + 1] = '@c:' .. c end
  end
  for _, s in ipairs(mine) do
    local first = redis.call('HEXISTS', tot, 'pts' .. s) == 0
    redis.call('HINCRBY', tot, 'co2' .. s, co2)
    redis.call('HINCRBY', tot, 'pts' .. s, pts)
    redis.call('HINCRBY', agg, 'co2' .. s, co2)
    redis.call('HINCRBY', agg, 'pts' .. s, pts)
    if first then redis.call('HINCRBY', agg, 'act' .. s, 1) end
  end
  redis.call('HINCRBY', tot, 'n', count)
  redis.call('HINCRBY', agg, 'n', count)
end
return id
)lua";

struct Write {
  std::string account;
  int64_t co2 = 0;
  int64_t pts = 0;
  absl::Time occurred;
  std::string ward, team, org, campaigns;
  int64_t count = 1;  // -1: a void
};

class GroupBoardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  RedisClient& redis() { return stack_->redis(); }
  const KeySpace& keys() { return stack_->keys(); }

  RedisClient::ScriptCall Call(const Write& w) {
    const PeriodKeys p = stack_->calendar().KeysAt(w.occurred);
    const int shard = keys().ShardOf(w.account);
    auto agg = [&](const std::string& period) {
      return absl::StrCat(keys().ShardPrefix(shard), "agg:", period);
    };
    return {{keys().Ledger(shard), keys().Totals(w.account, "all"), keys().Totals(w.account, p.month),
             keys().Totals(w.account, p.week), keys().Totals(w.account, p.day), agg("all"),
             agg(p.month), agg(p.week), agg(p.day)},
            {w.account, absl::StrCat(w.co2), absl::StrCat(w.pts),
             absl::StrCat(absl::ToUnixMillis(w.occurred)), w.ward, w.team, w.org, w.campaigns,
             absl::StrCat("req-", ++requests_), absl::StrCat(w.count)}};
  }

  void WriteAll(const std::vector<Write>& writes) {
    static const LuaScript script("contract_writer", kWriterLua);
    for (size_t from = 0; from < writes.size(); from += 2000) {
      std::vector<RedisClient::ScriptCall> calls;
      for (size_t i = from; i < std::min(writes.size(), from + 2000); ++i) {
        calls.push_back(Call(writes[i]));
      }
      auto replies = redis().EvalMany(script, calls);
      ASSERT_TRUE(replies.ok()) << replies.status();
      for (const auto& r : *replies) ASSERT_FALSE(r.IsError()) << r.str;
    }
  }
  void WriteOne(const std::string& account, int64_t pts, const std::string& ward = "",
                const std::string& team = "", const std::string& org = "",
                const std::string& campaigns = "", absl::Time at = absl::InfinitePast()) {
    WriteAll({{account, pts * 10, pts, at == absl::InfinitePast() ? stack_->now() : at, ward,
               team, org, campaigns}});
  }

  void Set(const std::string& account, const std::string& field, const std::string& value) {
    ASSERT_TRUE(redis().Command({"HSET", keys().Account(account), field, value}).ok());
  }
  void Resync(const std::string& account) {
    ASSERT_TRUE(redis().Command({"SADD", keys().ResyncQueue(), account}).ok());
  }

  // Members of one board, best first, with scores.
  std::vector<std::pair<std::string, int64_t>> Members(const std::string& board) {
    auto reply = redis().Command({"ZREVRANGE", keys().Board(board), "0", "-1", "WITHSCORES"});
    EXPECT_TRUE(reply.ok());
    std::vector<std::pair<std::string, int64_t>> out;
    for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
      out.emplace_back(reply->elements[i].str, std::stoll(reply->elements[i + 1].str));
    }
    return out;
  }
  bool On(const std::string& board, const std::string& account) {
    auto reply = redis().Command({"ZSCORE", keys().Board(board), account});
    return reply.ok() && !reply->IsNil();
  }

  v1::GetLeaderboardResponse Board(const std::string& token, const v1::BoardRef& ref,
                                   int size = 20, const std::string& page_token = "",
                                   bool around_me = false) {
    v1::GetLeaderboardRequest request;
    *request.mutable_board() = ref;
    request.set_page_size(size);
    request.set_page_token(page_token);
    request.set_around_me(around_me);
    v1::GetLeaderboardResponse response;
    grpc::Status status =
        stack_->boards()->GetLeaderboard(Stack::Context(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
  static v1::BoardRef Ref(v1::Scope scope, const std::string& id, v1::Period period,
                          v1::Metric metric = v1::METRIC_POINTS,
                          v1::Level level = v1::LEVEL_UNSPECIFIED, bool per_member = false) {
    v1::BoardRef ref;
    ref.set_scope(scope);
    ref.set_scope_id(id);
    ref.set_period(period);
    ref.set_metric(metric);
    ref.set_level(level);
    ref.set_per_active_member(per_member);
    return ref;
  }

  Snapshot Boards() {
    Snapshot snapshot;
    std::string cursor = "0";
    do {
      auto page = redis().Command({"SCAN", cursor, "MATCH", keys().Board("*"), "COUNT", "1000"});
      EXPECT_TRUE(page.ok());
      cursor = page->elements[0].str;
      for (const auto& key : page->elements[1].elements) {
        auto members = redis().Command({"ZRANGE", key.str, "0", "-1", "WITHSCORES"});
        EXPECT_TRUE(members.ok());
        auto& out = snapshot[key.str];
        for (size_t i = 0; i + 1 < members->elements.size(); i += 2) {
          out.emplace_back(members->elements[i].str, members->elements[i + 1].str);
        }
      }
    } while (cursor != "0");
    return snapshot;
  }

  std::string Day(absl::Time t) { return stack_->calendar().KeysAt(t).day; }

  std::unique_ptr<Stack> stack_;
  int requests_ = 0;
};

TEST_F(GroupBoardsTest, TiesAndAroundMePagingKeepCompetitionRanksAcrossPageEdges) {
  // Through the real API: bags 5, 4, 4, 4, 3, 2, 1 -> ranks 1, 2, 2, 2, 5, 6, 7.
  const int bags[] = {5, 4, 4, 4, 3, 2, 1};
  std::vector<Citizen> citizens;
  std::map<std::string, std::string> id_of;  // nickname -> account id
  for (int i = 0; i < 7; ++i) {
    citizens.push_back(stack_->Register(absl::StrCat("p", i), "tama"));
    id_of[absl::StrCat("p", i)] = citizens.back().account_id;
    ASSERT_TRUE(stack_->Record(citizens.back().token, "plastic_bag_refused", bags[i]).ok());
  }
  EXPECT_EQ(stack_->DrainProjector(), 7);
  const auto ref = Ref(v1::SCOPE_CITY, "", v1::PERIOD_DAY);
  std::vector<int64_t> ranks;
  std::vector<std::string> order;
  std::string token;
  int pages = 0;
  do {
    auto page = Board(citizens[0].token, ref, 2, token);
    ++pages;
    EXPECT_EQ(page.prev_page_token(), pages == 1 ? "" : absl::StrCat((pages - 2) * 2));
    for (const auto& e : page.entries()) {
      ranks.push_back(e.rank());
      order.push_back(id_of[e.nickname()]);
    }
    token = page.next_page_token();
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 4);
  EXPECT_THAT(ranks, ElementsAre(1, 2, 2, 2, 5, 6, 7));
  // Inside the tie: account ids in descending byte order, across the edge
  // between pages 1 and 2.
  EXPECT_GT(order[1], order[2]);
  EXPECT_GT(order[2], order[3]);

  // Around me: p4 (rank 5, index 4) is centred in a page of 3.
  auto around = Board(citizens[4].token, ref, 3, "", true);
  ASSERT_EQ(around.entries_size(), 3);
  EXPECT_EQ(around.entries(0).rank(), 2);
  EXPECT_EQ(around.entries(1).rank(), 5);
  EXPECT_TRUE(around.entries(1).is_me());
  EXPECT_FALSE(around.entries(0).is_me());
  EXPECT_EQ(around.entries(2).rank(), 6);
  EXPECT_EQ(around.prev_page_token(), "0");
  EXPECT_EQ(around.next_page_token(), "6");
  auto up = Board(citizens[4].token, ref, 3, around.prev_page_token());
  ASSERT_EQ(up.entries_size(), 3);
  EXPECT_EQ(up.entries(0).rank(), 1);
  EXPECT_EQ(up.entries(2).rank(), 2);
  EXPECT_EQ(up.prev_page_token(), "");
  auto down = Board(citizens[4].token, ref, 3, around.next_page_token());
  ASSERT_EQ(down.entries_size(), 1);
  EXPECT_EQ(down.entries(0).rank(), 7);
  EXPECT_EQ(down.next_page_token(), "");
  // The top of the board is centred on the leader without a prev token.
  auto top = Board(citizens[0].token, ref, 3, "", true);
  EXPECT_TRUE(top.entries(0).is_me());
  EXPECT_EQ(top.prev_page_token(), "");

  v1::GetLeaderboardRequest bad;
  *bad.mutable_board() = ref;
  bad.set_around_me(true);
  bad.set_page_token("3");
  v1::GetLeaderboardResponse ignored;
  EXPECT_THAT(stack_->boards()->GetLeaderboard(Stack::Context(citizens[0].token).get(), bad,
                                               &ignored),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("around_me and page_token")));
  bad.clear_page_token();
  EXPECT_THAT(stack_->boards()->GetLeaderboard(Stack::Context(stack_->AdminToken()).get(), bad,
                                               &ignored),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("citizen")));
}

TEST_F(GroupBoardsTest, HiddenCitizenLeavesPublicBoardsButStillCountsForTheirGroup) {
  Citizen a = stack_->Register("Aoi", "tama", "team-h");
  Citizen b = stack_->Register("Ben", "tama", "team-h");
  // End to end first: a real action puts Aoi on the city board.
  ASSERT_TRUE(stack_->Record(a.token, "plastic_bag_refused", 1).ok());
  ASSERT_EQ(stack_->DrainProjector(), 1);
  ASSERT_TRUE(On("city::all:pts", a.account_id));
  const std::string day = Day(stack_->now());
  WriteOne(a.account_id, 100, "tama", "team-h");
  WriteOne(b.account_id, 50, "tama", "team-h");
  stack_->DrainProjector();
  ASSERT_TRUE(On("city::all:pts", a.account_id));
  ASSERT_TRUE(On(absl::StrCat("ward:tama:", day, ":pts"), a.account_id));

  // Identity sets `hidden` and queues the account; the projector removes it.
  Set(a.account_id, "hidden", "1");
  Resync(a.account_id);
  EXPECT_EQ(stack_->DrainProjector(), 0);
  for (const std::string& board :
       {std::string("city::all:pts"), std::string("city::all:co2"),
        absl::StrCat("city::", day, ":pts"), absl::StrCat("ward:tama:", day, ":co2"),
        std::string("team:team-h:all:pts")}) {
    EXPECT_FALSE(On(board, a.account_id)) << board;
    EXPECT_TRUE(On(board, b.account_id)) << board;
  }
  // A later action (real API and contract writer) does not bring Aoi back.
  ASSERT_TRUE(stack_->Record(a.token, "plastic_bag_refused", 1).ok());
  WriteOne(a.account_id, 10, "tama", "team-h");
  stack_->DrainProjector();
  EXPECT_FALSE(On("city::all:pts", a.account_id));
  EXPECT_FALSE(On(absl::StrCat("team:team-h:", day, ":pts"), a.account_id));
  // Group totals still count Aoi: 100 + 10 + 50 from the contract writer,
  // plus the 1 point of each of Aoi's two real actions.
  EXPECT_THAT(Members("wards::all:pts"), ElementsAre(std::make_pair("tama", 162)));
  EXPECT_THAT(Members("teams::all:pts"), ElementsAre(std::make_pair("team-h", 162)));
  // The admins' audit board is unfiltered.
  EXPECT_TRUE(On(absl::StrCat("audit:", day, ":co2"), a.account_id));
  // The small team's board shows its total only, hidden member included.
  auto team = Board(b.token, Ref(v1::SCOPE_TEAM, "", v1::PERIOD_ALL_TIME));
  EXPECT_TRUE(team.totals_only());
  EXPECT_EQ(team.entries_size(), 0);
  EXPECT_EQ(team.total_ranked(), 1);
  EXPECT_EQ(team.board_total(), 162);

  // Visible again: the resync puts back every board from the totals.
  ASSERT_TRUE(redis().Command({"HDEL", keys().Account(a.account_id), "hidden"}).ok());
  Resync(a.account_id);
  stack_->DrainProjector();
  auto totals = redis().Command({"HGET", keys().Totals(a.account_id, "all"), "pts"});
  ASSERT_TRUE(totals.ok());
  EXPECT_THAT(Members("city::all:pts"),
              ::testing::Contains(std::make_pair(a.account_id, std::stoll(totals->str))));
  EXPECT_TRUE(On(absl::StrCat("ward:tama:", day, ":co2"), a.account_id));
  EXPECT_TRUE(On("team:team-h:all:pts", a.account_id));
}

// The projector claims queued accounts (SMOVE to a claimed set) and
// releases them only once re-derived, so a projector that failed or died
// half-way leaves them to the next cycle instead of losing them.
TEST_F(GroupBoardsTest, AccountsClaimedByAProjectorThatDiedAreStillReDerived) {
  Citizen a = stack_->Register("Aoi", "tama", "team-h");
  Citizen b = stack_->Register("Ben", "tama", "team-h");
  ASSERT_TRUE(stack_->Record(a.token, "plastic_bag_refused", 1).ok());
  ASSERT_TRUE(stack_->Record(b.token, "plastic_bag_refused", 1).ok());
  ASSERT_EQ(stack_->DrainProjector(), 2);
  ASSERT_TRUE(On("city::all:pts", a.account_id));

  // Aoi's claim survives from a projector that died after claiming; Ben is
  // queued as usual.
  Set(a.account_id, "hidden", "1");
  Set(b.account_id, "hidden", "1");
  ASSERT_TRUE(redis().Command({"SADD", keys().ResyncClaimed(), a.account_id}).ok());
  Resync(b.account_id);
  EXPECT_EQ(stack_->DrainProjector(), 0);
  EXPECT_FALSE(On("city::all:pts", a.account_id));
  EXPECT_FALSE(On("city::all:pts", b.account_id));
  auto left = redis().Command({"SCARD", keys().ResyncClaimed()});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->integer, 0);
  auto queued = redis().Command({"SCARD", keys().ResyncQueue()});
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(queued->integer, 0);
}

TEST_F(GroupBoardsTest, TestAccountsAreNeverOnPublicBoards) {
  Citizen t = stack_->Register("Tester", "tama", "team-q");
  Set(t.account_id, "test", "1");
  ASSERT_TRUE(stack_->Record(t.token, "plastic_bag_refused", 2).ok());
  WriteOne(t.account_id, 30, "tama", "team-q", "org-q", "camp-q");
  stack_->DrainProjector();
  for (const auto& [key, members] : Boards()) {
    const bool unfiltered = absl::StrContains(key, "{b:audit:") ||
                            absl::StrContains(key, "{b:teams") ||
                            absl::StrContains(key, "{b:wards") || absl::StrContains(key, "{b:orgs");
    for (const auto& [member, score] : members) {
      if (!unfiltered) {
        EXPECT_NE(member, t.account_id) << key;
      }
    }
  }
  EXPECT_TRUE(On(absl::StrCat("audit:", Day(stack_->now()), ":co2"), t.account_id));
  EXPECT_THAT(Members("orgs::all:pts"), ElementsAre(std::make_pair("org-q", 30)));
}

TEST_F(GroupBoardsTest, CitizensAppearAfterTheMinimumActionsOnEarlierBoardsToo) {
  leaderboard::ProjectorOptions options;
  options.consumer = "test-projector";
  options.block = absl::Milliseconds(20);
  options.min_actions = 3;
  leaderboard::Projector projector(&redis(), &keys(), &stack_->calendar(), options);
  auto drain = [&] {
    for (int i = 0; i < 100; ++i) {
      auto n = projector.RunOnce();
      ASSERT_TRUE(n.ok()) << n.status();
      if (*n == 0) break;
    }
  };
  Citizen a = stack_->Register("Aoi", "tama");
  Citizen b = stack_->Register("Ben", "tama");
  const absl::Time two_days_ago = stack_->now() - absl::Hours(48);
  WriteOne(a.account_id, 5, "tama", "", "", "", two_days_ago);
  WriteOne(a.account_id, 5, "tama");
  for (int i = 0; i < 3; ++i) WriteOne(b.account_id, 1, "tama");
  drain();
  const std::string early = absl::StrCat("city::", Day(two_days_ago), ":pts");
  EXPECT_FALSE(On("city::all:pts", a.account_id));
  EXPECT_FALSE(On(early, a.account_id));
  EXPECT_TRUE(On("city::all:pts", b.account_id));
  // The third action crosses the minimum: every board gets Aoi, including
  // the day two days ago that the new entry does not touch.
  WriteOne(a.account_id, 5, "tama");
  drain();
  EXPECT_TRUE(On("city::all:pts", a.account_id));
  EXPECT_THAT(Members(early), ElementsAre(std::make_pair(a.account_id, 5)));
  EXPECT_THAT(Members("city::all:pts"),
              ElementsAre(std::make_pair(a.account_id, 15), std::make_pair(b.account_id, 3)));
}

TEST_F(GroupBoardsTest, AVoidBelowTheMinimumActionsRemovesTheCitizenFromEveryBoard) {
  leaderboard::ProjectorOptions options;
  options.consumer = "test-projector";
  options.block = absl::Milliseconds(20);
  options.min_actions = 3;
  leaderboard::Projector projector(&redis(), &keys(), &stack_->calendar(), options);
  auto drain = [&] {
    for (int i = 0; i < 100; ++i) {
      auto n = projector.RunOnce();
      ASSERT_TRUE(n.ok()) << n.status();
      if (*n == 0) break;
    }
  };
  Citizen a = stack_->Register("Aoi", "tama");
  Citizen b = stack_->Register("Ben", "tama");
  const absl::Time two_days_ago = stack_->now() - absl::Hours(48);
  WriteOne(a.account_id, 5, "tama", "", "", "", two_days_ago);
  WriteOne(a.account_id, 5, "tama");
  WriteOne(a.account_id, 5, "tama");
  for (int i = 0; i < 3; ++i) WriteOne(b.account_id, 1, "tama");
  drain();
  const std::string early = absl::StrCat("city::", Day(two_days_ago), ":pts");
  ASSERT_TRUE(On(early, a.account_id));
  ASSERT_TRUE(On("city::all:pts", a.account_id));

  // An event correction voids one of today's entries: `n` drops to 2. The
  // void touches today's boards only, yet Aoi must leave the day two days
  // ago as well, as a rebuild would.
  WriteAll({{a.account_id, -50, -5, stack_->now(), "tama", "", "", "", -1}});
  drain();
  EXPECT_FALSE(On("city::all:pts", a.account_id));
  EXPECT_FALSE(On(absl::StrCat("ward:tama:", Day(two_days_ago), ":pts"), a.account_id));
  EXPECT_THAT(Members(early), ElementsAre());
  EXPECT_THAT(Members("city::all:pts"), ElementsAre(std::make_pair(b.account_id, 3)));
  // Still counted in the ward's total.
  EXPECT_TRUE(On("wards::all:pts", "tama"));

  auto rebuilt = leaderboard::RebuildBoards(&redis(), keys(), stack_->calendar(),
                                            leaderboard::BoardOptions{}, stack_->now(), 3);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_FALSE(On(early, a.account_id));
  EXPECT_THAT(Members("city::all:pts"), ElementsAre(std::make_pair(b.account_id, 3)));
}

TEST_F(GroupBoardsTest, GroupBoardsRankTotalsAndPerActiveMemberAverages) {
  std::vector<Citizen> big;
  for (int i = 0; i < 4; ++i) big.push_back(stack_->Register(absl::StrCat("b", i), "tama", "big"));
  Citizen solo = stack_->Register("Solo", "asao", "small");
  ASSERT_TRUE(redis().Command({"HSET", absl::StrCat(keys().prefix(), ":{org}:team:big"), "name",
                               "Class 3-B"}).ok());
  for (int i = 0; i < 4; ++i) WriteOne(big[i].account_id, 10 + i, "tama", "big");  // 46
  WriteOne(solo.account_id, 25, "asao", "small");
  WriteOne(solo.account_id, 5, "asao", "small");  // 30, one active member
  stack_->DrainProjector();
  auto totals = Board(solo.token, Ref(v1::SCOPE_CITY, "", v1::PERIOD_WEEK, v1::METRIC_POINTS,
                                      v1::LEVEL_TEAMS));
  ASSERT_EQ(totals.entries_size(), 2);
  EXPECT_EQ(totals.total_ranked(), 2);
  EXPECT_EQ(totals.entries(0).group_id(), "big");
  EXPECT_EQ(totals.entries(0).nickname(), "Class 3-B");
  EXPECT_EQ(totals.entries(0).score(), 46);
  EXPECT_EQ(totals.entries(0).total(), 46);
  EXPECT_EQ(totals.entries(0).active_members(), 4);
  EXPECT_FALSE(totals.entries(0).is_me());
  EXPECT_EQ(totals.entries(1).group_id(), "small");
  EXPECT_EQ(totals.entries(1).nickname(), "small");  // no team hash: the id
  EXPECT_TRUE(totals.entries(1).is_me());
  EXPECT_EQ(totals.entries(1).rank(), 2);

  auto avg = Board(solo.token, Ref(v1::SCOPE_CITY, "", v1::PERIOD_WEEK, v1::METRIC_POINTS,
                                   v1::LEVEL_TEAMS, true));
  ASSERT_EQ(avg.entries_size(), 2);
  EXPECT_EQ(avg.entries(0).group_id(), "small");
  EXPECT_EQ(avg.entries(0).score(), 30);
  EXPECT_EQ(avg.entries(0).total(), 30);
  EXPECT_EQ(avg.entries(0).active_members(), 1);
  EXPECT_EQ(avg.entries(1).score(), 11);  // floor(46 / 4)
  EXPECT_EQ(avg.entries(1).active_members(), 4);

  auto wards = Board(big[0].token, Ref(v1::SCOPE_CITY, "", v1::PERIOD_ALL_TIME,
                                       v1::METRIC_CO2E_GRAMS, v1::LEVEL_WARDS), 20, "", true);
  ASSERT_EQ(wards.entries_size(), 2);
  EXPECT_EQ(wards.entries(0).group_id(), "tama");
  EXPECT_EQ(wards.entries(0).score(), 460);
  EXPECT_TRUE(wards.entries(0).is_me());

  v1::GetLeaderboardRequest bad;
  *bad.mutable_board() = Ref(v1::SCOPE_WARD, "tama", v1::PERIOD_WEEK, v1::METRIC_POINTS,
                             v1::LEVEL_TEAMS);
  v1::GetLeaderboardResponse ignored;
  EXPECT_THAT(stack_->boards()->GetLeaderboard(Stack::Context(solo.token).get(), bad, &ignored),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("board.scope must be CITY")));
}

TEST_F(GroupBoardsTest, OrganisationAndCampaignBoards) {
  std::vector<Citizen> staff;
  for (int i = 0; i < 5; ++i) {
    staff.push_back(stack_->Register(absl::StrCat("f", i), "nakahara"));
    Set(staff[i].account_id, "org", "fujitsu");
    WriteOne(staff[i].account_id, 10 * (i + 1), "nakahara", "", "fujitsu",
             i < 2 ? "denim-nov,eco-week" : "");
  }
  stack_->DrainProjector();
  // Own organisation from the profile; 5 members: entries are shown.
  auto org = Board(staff[0].token, Ref(v1::SCOPE_ORGANISATION, "", v1::PERIOD_MONTH));
  EXPECT_FALSE(org.totals_only());
  ASSERT_EQ(org.entries_size(), 5);
  EXPECT_EQ(org.entries(0).nickname(), "f4");
  EXPECT_EQ(org.entries(0).score(), 50);
  EXPECT_EQ(org.board_total(), 150);
  auto campaign = Board(staff[0].token, Ref(v1::SCOPE_CAMPAIGN, "denim-nov", v1::PERIOD_ALL_TIME,
                                             v1::METRIC_CO2E_GRAMS));
  ASSERT_EQ(campaign.entries_size(), 2);
  EXPECT_EQ(campaign.entries(0).nickname(), "f1");
  EXPECT_EQ(campaign.entries(0).score(), 200);
  EXPECT_EQ(campaign.entries(1).score(), 100);
  EXPECT_TRUE(campaign.entries(1).is_me());
  v1::GetLeaderboardRequest bad;
  *bad.mutable_board() = Ref(v1::SCOPE_CAMPAIGN, "denim-nov", v1::PERIOD_MONTH);
  v1::GetLeaderboardResponse ignored;
  EXPECT_THAT(stack_->boards()->GetLeaderboard(Stack::Context(staff[0].token).get(), bad,
                                               &ignored),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("ALL_TIME period only")));
}

TEST_F(GroupBoardsTest, GetMyRanksListsEveryBoardTheCitizenBelongsTo) {
  Citizen me = stack_->Register("Me", "tama", "class-1");
  Citizen other = stack_->Register("Other", "tama", "class-2");
  Set(me.account_id, "org", "school");
  WriteOne(me.account_id, 20, "tama", "class-1", "school", "denim-nov");
  WriteOne(other.account_id, 50, "tama", "class-2", "", "denim-nov");
  stack_->DrainProjector();
  v1::GetMyRanksResponse ranks;
  ASSERT_TRUE(stack_->boards()->GetMyRanks(Stack::Context(me.token).get(), {}, &ranks).ok());
  // city, ward, team, org x 4 periods x 2 metrics; campaign x 2; teams, orgs,
  // wards x total/avg x 4 x 2.
  EXPECT_EQ(ranks.ranks_size(), 32 + 2 + 48);
  std::map<std::string, const v1::MyBoardRank*> by;
  for (const auto& r : ranks.ranks()) {
    EXPECT_TRUE(r.ranked()) << r.ShortDebugString();
    by[absl::StrCat(r.board().scope(), "/", r.board().scope_id(), "/", r.board().period(), "/",
                    r.board().metric(), "/", r.board().level(), "/",
                    r.board().per_active_member())] = &r;
  }
  const auto* city = by["1//1/1/0/0"];
  ASSERT_NE(city, nullptr);
  EXPECT_EQ(city->rank(), 2);
  EXPECT_EQ(city->score(), 20);
  EXPECT_EQ(city->total_ranked(), 2);
  const auto* campaign = by["6/denim-nov/1/2/0/0"];
  ASSERT_NE(campaign, nullptr);
  EXPECT_EQ(campaign->rank(), 2);
  EXPECT_EQ(campaign->score(), 200);
  const auto* teams = by["1//4/1/1/1"];  // teams per member, day, points
  ASSERT_NE(teams, nullptr);
  EXPECT_EQ(teams->group_id(), "class-1");
  EXPECT_EQ(teams->rank(), 2);
  const auto* org = by["5/school/3/1/0/0"];
  ASSERT_NE(org, nullptr);
  EXPECT_EQ(org->rank(), 1);
  v1::GetMyRanksResponse denied;
  EXPECT_THAT(stack_->boards()->GetMyRanks(Stack::Context(stack_->AdminToken()).get(), {},
                                           &denied),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
}

TEST_F(GroupBoardsTest, OutliersAreFarAboveTheDayMedian) {
  std::vector<Citizen> c;
  const int64_t co2[] = {100, 200, 300, 400, 5000};
  for (int i = 0; i < 5; ++i) {
    c.push_back(stack_->Register(absl::StrCat("o", i), "tama"));
    WriteAll({{c[i].account_id, co2[i], 1, stack_->now(), "tama", "", "", ""}});
  }
  stack_->DrainProjector();
  v1::ListOutliersRequest request;
  v1::ListOutliersResponse response;
  const std::string admin = stack_->AdminToken();
  ASSERT_TRUE(stack_->boards()->ListOutliers(Stack::Context(admin).get(), request, &response).ok());
  EXPECT_EQ(response.day(), Day(stack_->now()));
  EXPECT_EQ(response.active_citizens(), 5);
  EXPECT_EQ(response.median_co2e_grams(), 300);
  EXPECT_EQ(response.threshold_co2e_grams(), 1500);
  ASSERT_EQ(response.outliers_size(), 1);
  EXPECT_EQ(response.outliers(0).account_id(), c[4].account_id);
  EXPECT_EQ(response.outliers(0).nickname(), "o4");
  EXPECT_EQ(response.outliers(0).co2e_grams(), 5000);
  EXPECT_NEAR(response.outliers(0).ratio(), 5000.0 / 300.0, 1e-9);
  // A lower factor lists more; a high floor lists none.
  request.set_factor(1.2);
  ASSERT_TRUE(stack_->boards()->ListOutliers(Stack::Context(admin).get(), request, &response).ok());
  EXPECT_EQ(response.threshold_co2e_grams(), 1000);  // the default floor wins over 360
  request.set_floor_co2e_grams(100);
  ASSERT_TRUE(stack_->boards()->ListOutliers(Stack::Context(admin).get(), request, &response).ok());
  EXPECT_EQ(response.threshold_co2e_grams(), 360);
  EXPECT_EQ(response.outliers_size(), 2);
  request.set_day("2026-13-01");
  EXPECT_THAT(stack_->boards()->ListOutliers(Stack::Context(admin).get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("day:")));
  request.set_day("");
  request.set_factor(0.5);
  EXPECT_THAT(stack_->boards()->ListOutliers(Stack::Context(admin).get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("factor")));
  request.set_factor(0);
  EXPECT_THAT(stack_->boards()->ListOutliers(Stack::Context(c[0].token).get(), request, &response),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
}

TEST_F(GroupBoardsTest, RebuildEqualsIncrementalOnContractShapedEntries) {
  // tests/rewards/full_rebuild_test.cc does 100,000 through the real script.
  constexpr int kEntries = 20000;
  constexpr int kAccounts = 1500;
  std::mt19937 random(42);
  const char* wards[] = {"kawasaki", "saiwai", "nakahara", "takatsu", "tama"};
  std::vector<Write> accounts(kAccounts);
  for (int i = 0; i < kAccounts; ++i) {
    Write& a = accounts[i];
    a.account = absl::StrCat("acct-", i);
    a.ward = wards[i % 5];
    a.team = i % 3 == 0 ? "" : absl::StrCat("team-", i % 37);
    a.org = i % 4 == 0 ? "" : absl::StrCat("org-", i % 11);
    std::vector<std::string> fields = {"role", "citizen", "nickname", absl::StrCat("n", i)};
    if (i % 50 == 7) fields.insert(fields.end(), {"hidden", "1"});
    if (i % 70 == 3) fields.insert(fields.end(), {"test", "1"});
    std::vector<std::string> command = {"HSET", keys().Account(a.account)};
    command.insert(command.end(), fields.begin(), fields.end());
    ASSERT_TRUE(redis().Command(command).ok());
  }
  // Spread over 50 days: the oldest periods' boards are past retention.
  std::vector<Write> writes;
  writes.reserve(kEntries);
  for (int i = 0; i < kEntries; ++i) {
    Write w = accounts[random() % kAccounts];
    w.pts = static_cast<int64_t>(random() % 40) + 1;
    w.co2 = static_cast<int64_t>(random() % 5000) - 200;  // corrections can be negative
    w.occurred = stack_->now() - absl::Seconds(random() % (50 * 86400));
    const int c = static_cast<int>(random() % 10);
    w.campaigns = c == 0 ? "denim-nov" : (c == 1 ? "denim-nov,eco-week" : "");
    writes.push_back(std::move(w));
  }
  const absl::Time wrote = absl::Now();
  WriteAll(writes);
  std::printf("[ info ] wrote %d contract-shaped entries in %.2f s\n", kEntries,
              absl::ToDoubleSeconds(absl::Now() - wrote));
  const absl::Time projected = absl::Now();
  EXPECT_EQ(stack_->DrainProjector(), kEntries);
  std::printf("[ info ] incremental projector: %.0f entries/s\n",
              kEntries / absl::ToDoubleSeconds(absl::Now() - projected));
  Snapshot incremental = Boards();
  ASSERT_GT(incremental.size(), 100u);
  int group_boards = 0;
  for (const auto& [key, members] : incremental) {
    if (absl::StrContains(key, "{b:teams-avg::")) ++group_boards;
  }
  EXPECT_GT(group_boards, 10);
  // Hidden and test accounts are on no citizen board.
  for (const auto& [member, score] : incremental[keys().Board("city::all:pts")]) {
    EXPECT_NE(member, "acct-7");   // hidden
    EXPECT_NE(member, "acct-3");   // test
  }

  // Damage the projections, then rebuild from the ledger alone.
  ASSERT_TRUE(redis().Command({"ZADD", keys().Board("teams::all:pts"), "1", "team-1"}).ok());
  ASSERT_TRUE(redis().Command({"ZADD", keys().Board("city::all:co2"), "5", "acct-7"}).ok());
  ASSERT_TRUE(redis().Command({"DEL", keys().Board("orgs-avg::all:co2")}).ok());
  const absl::Time started = absl::Now();
  auto report = leaderboard::RebuildBoards(&redis(), keys(), stack_->calendar(),
                                           leaderboard::BoardOptions{}, stack_->now());
  ASSERT_TRUE(report.ok()) << report.status();
  // The rebuild sleeps 1 s for an in-flight projector cycle; not counted.
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started) - 1.0;
  std::printf("[ info ] rebuild: %lld entries, %lld boards (%lld group, %lld audit), "
              "%lld scores, %lld accounts left off; %.0f entries/s\n",
              static_cast<long long>(report->entries), static_cast<long long>(report->boards),
              static_cast<long long>(report->group_boards),
              static_cast<long long>(report->audit_boards),
              static_cast<long long>(report->scores),
              static_cast<long long>(report->hidden_accounts),
              seconds > 0 ? report->entries / seconds : 0.0);
  EXPECT_EQ(report->entries, kEntries);
  EXPECT_EQ(report->hidden_accounts, 52);  // i % 50 == 7 or i % 70 == 3
  Snapshot rebuilt = Boards();
  EXPECT_EQ(rebuilt.size(), incremental.size());
  for (const auto& [key, members] : incremental) {
    auto it = rebuilt.find(key);
    ASSERT_NE(it, rebuilt.end()) << key;
    EXPECT_EQ(it->second, members) << key;
  }
  EXPECT_TRUE(rebuilt == incremental);
}

}  // namespace
}  // namespace ecoact::test
