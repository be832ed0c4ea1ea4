// Redis Cluster under load: the real ecoact_server (--redis_cluster) over a
// Redis Cluster of 3 primaries on loopback, citizens recording actions
// through gRPC (tests/support/action_load.h), and the cluster changing
// underneath: slots resharded with `redis-cli --cluster reshard`, or a
// primary killed so that its replica takes over. Each test prints what was
// acknowledged and what the ledger holds ("cluster fault: ..." lines).
#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "tests/support/action_load.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace ecoact::test {
namespace {

constexpr absl::Duration kCallDeadline = absl::Seconds(3);
constexpr absl::Duration kProgressTimeout = absl::Seconds(30);
constexpr int kShards = 16;

void Report(const std::string& test, const std::string& line) {
  std::printf("cluster fault: %s: %s\n", test.c_str(), line.c_str());
  std::fflush(stdout);
}

std::unique_ptr<RedisClient> DirectClient(RedisServerProcess* node) {
  RedisOptions options;
  options.host = node->host();
  options.port = node->port();
  return std::make_unique<RedisClient>(options);
}

class ClusterFaultTest : public ::testing::Test {
 protected:
  void StartAll(int replicas) {
    RedisServerOptions redis_options;
    redis_options.appendonly = true;
    redis_options.cluster_primaries = 3;
    redis_options.cluster_replicas = replicas;
    redis_options.cluster_node_timeout = absl::Seconds(1);
    auto cluster = RedisServerProcess::Start(redis_options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    server_options_.binary = ECOACT_SERVER_BINARY;
    server_options_.extra_args = {"--redis_cluster=true", "--shutdown_grace=5s",
                                  absl::StrCat("--ledger_shards=", kShards)};
    auto server = EcoactServerProcess::Start(*cluster_, server_options_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    server_options_ = server_->options();
    keys_ = std::make_unique<KeySpace>(server_options_.key_prefix, kShards);
    checker_ = std::make_unique<RedisClient>(cluster_->client_options());
  }

  std::unique_ptr<ActionLoad> StartLoad(int threads) {
    LoadOptions options;
    options.target = absl::StrCat("127.0.0.1:", server_options_.port);
    options.threads = threads;
    // Enough citizens that a fast machine stays under the daily caps: 16
    // reached the train cap (200 km a day) on an idle machine, and capped
    // calls look like give-ups.
    options.citizens = 64;
    options.call_deadline = kCallDeadline;
    auto load = ActionLoad::Create(options);
    EXPECT_TRUE(load.ok()) << load.status();
    if (!load.ok()) return nullptr;
    (*load)->Start();
    return *std::move(load);
  }

  void ExpectProgress(ActionLoad& load, int64_t more, const std::string& when) {
    const int64_t target = load.acked_count() + more;
    EXPECT_TRUE(load.WaitForAcked(target, kProgressTimeout))
        << "no progress " << when << ": " << load.stats().ToString();
  }

  // The ledger shards whose slot `node` serves now.
  std::set<int> ShardsOn(RedisServerProcess* node) {
    std::set<int> shards;
    auto direct = DirectClient(node);
    for (int shard = 0; shard < kShards; ++shard) {
      auto exists = direct->Command({"EXISTS", keys_->Ledger(shard)});
      // A node that does not serve the slot answers MOVED (an error).
      if (exists.ok()) shards.insert(shard);
    }
    return shards;
  }

  std::unique_ptr<RedisServerProcess> cluster_;
  EcoactServerOptions server_options_;
  std::unique_ptr<EcoactServerProcess> server_;
  std::unique_ptr<KeySpace> keys_;
  std::unique_ptr<RedisClient> checker_;
};

TEST_F(ClusterFaultTest, ReshardingWhileActionsAreRecordedLosesAndDoublesNothing) {
  const std::string test = "reshard";
  ASSERT_NO_FATAL_FAILURE(StartAll(/*replicas=*/0));
  auto load = StartLoad(/*threads=*/1);
  ASSERT_NE(load, nullptr);
  ExpectProgress(*load, 200, "before resharding");

  RedisServerProcess* from = cluster_->nodes()[0];
  RedisServerProcess* to = cluster_->nodes()[1];
  const std::set<int> moving = ShardsOn(from);
  ASSERT_FALSE(moving.empty());
  auto from_id = DirectClient(from)->Command({"CLUSTER", "MYID"});
  auto to_id = DirectClient(to)->Command({"CLUSTER", "MYID"});
  ASSERT_TRUE(from_id.ok() && to_id.ok());
  // Every slot of the first primary, its ledger shards' keys included, moves
  // to the second while the load runs (MIGRATING/IMPORTING, MIGRATE per key:
  // the client sees ASK, then MOVED).
  const int64_t acked_before = load->acked_count();
  const absl::Time start = absl::Now();
  ProcessOptions reshard;
  reshard.binary = "redis-cli";
  reshard.args = {"--cluster", "reshard", absl::StrCat(from->host(), ":", from->port()),
                  "--cluster-from", from_id->str, "--cluster-to", to_id->str,
                  "--cluster-slots", "5461", "--cluster-yes"};
  auto process = ProcessHandle::Start(reshard);
  ASSERT_TRUE(process.ok()) << process.status();
  auto ended = (*process)->Wait(absl::Seconds(120));
  ASSERT_TRUE(ended.ok()) << ended.status();
  ASSERT_TRUE(ended->Success()) << (*process)->LogTail();
  const absl::Duration took = absl::Now() - start;
  const int64_t acked_during = load->acked_count() - acked_before;
  EXPECT_TRUE(ShardsOn(from).empty());
  Report(test, absl::StrCat("moved 5461 slots (", moving.size(), " ledger shards) in ",
                            absl::FormatDuration(took), " while ", acked_during,
                            " actions were acknowledged"));
  ExpectProgress(*load, 200, "after resharding");

  load->Stop();
  const LoadStats stats = load->stats();
  Report(test, absl::StrCat("load: ", stats.ToString()));
  EXPECT_EQ(stats.rejected, 0) << stats.first_rejection;
  EXPECT_EQ(stats.gave_up, 0);
  EXPECT_EQ(stats.acked, stats.sent);
  auto ledger = CheckLedger(*checker_, *keys_, *load);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  Report(test, absl::StrCat("ledger: ", ledger->ToString()));
  EXPECT_GT(ledger->acked, 0);
  EXPECT_EQ(ledger->found, ledger->acked);
  EXPECT_EQ(ledger->lost, 0);
  EXPECT_EQ(ledger->doubled, 0);
  ProjectionCheck projections =
      CheckProjections(*checker_, *keys_, *load, *ledger, kProgressTimeout);
  Report(test, absl::StrCat("totals and boards: ", projections.ToString()));
  EXPECT_EQ(projections.totals_match, projections.citizens) << projections.first_mismatch;
  EXPECT_EQ(projections.boards_match, projections.citizens) << projections.first_mismatch;
}

// A primary SIGKILLed under load, its replica takes over. Besides the
// ledger (nothing doubled; what is lost is the loss window of asynchronous
// replication, reported), the boards must catch up with the totals and the
// projector must leave nothing pending: entries it was delivered by a read or
// batch that failed half-way are read again (they once stayed pending and
// the boards of citizens whose last entries they were stayed behind), and
// it acknowledges a batch only once its board writes have all landed.
TEST_F(ClusterFaultTest, PrimaryKilledUnderLoadFailsOverAndReportsTheLossWindow) {
  const std::string test = "primary kill -9";
  ASSERT_NO_FATAL_FAILURE(StartAll(/*replicas=*/1));
  // A replica can only take over once it has synchronised with its primary.
  ASSERT_TRUE(cluster_->WaitForReplicasSynced().ok()) << "the replicas never synchronised";
  auto load = StartLoad(/*threads=*/4);
  ASSERT_NE(load, nullptr);
  ExpectProgress(*load, 200, "before the kill");

  // A primary other than the first node (killing the first would kill all).
  RedisServerProcess* victim = nullptr;
  for (RedisServerProcess* node : cluster_->nodes()) {
    if (node == cluster_->nodes()[0]) continue;
    auto role = DirectClient(node)->Command({"ROLE"});
    if (role.ok() && role->elements[0].str == "master" && !ShardsOn(node).empty()) {
      victim = node;
      break;
    }
  }
  ASSERT_NE(victim, nullptr);
  const std::set<int> shards = ShardsOn(victim);
  // Entries in the victim's shards, read from the victim just before the
  // kill: writes to those shards have resumed once the promoted replica
  // holds more (it may hold fewer at first: the loss window).
  auto direct = DirectClient(victim);
  auto count_entries = [&](RedisClient& redis) -> absl::StatusOr<int64_t> {
    int64_t entries = 0;
    for (int shard : shards) {
      auto length = redis.Command({"XLEN", keys_->Ledger(shard)});
      if (!length.ok()) return length.status();
      entries += length->integer;
    }
    return entries;
  };
  const int64_t acked_before = load->acked_count();
  auto entries_before = count_entries(*direct);
  ASSERT_TRUE(entries_before.ok()) << entries_before.status();
  victim->Kill();
  const absl::Time killed = absl::Now();
  absl::Duration resumed_after = absl::InfiniteDuration();
  while (absl::Now() - killed < kProgressTimeout) {
    auto entries = count_entries(*checker_);
    if (entries.ok() && *entries > *entries_before) {
      resumed_after = absl::Now() - killed;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_LT(resumed_after, kProgressTimeout) << "no write reached the killed primary's shards";
  ExpectProgress(*load, 300, "after the failover");
  Report(test, absl::StrCat("SIGKILL of a primary serving ", shards.size(),
                            " ledger shards at ", acked_before,
                            " acknowledged; writes to its shards resumed ",
                            absl::FormatDuration(resumed_after), " after the kill; 300 more "
                            "acknowledged ", absl::FormatDuration(absl::Now() - killed), " after it"));
  ASSERT_TRUE(cluster_->WaitForClusterReady().ok());

  load->Stop();
  const absl::Time stopped = absl::Now();
  const LoadStats stats = load->stats();
  Report(test, absl::StrCat("load: ", stats.ToString()));
  EXPECT_EQ(stats.rejected, 0) << stats.first_rejection;
  EXPECT_EQ(stats.gave_up, 0);
  auto ledger = CheckLedger(*checker_, *keys_, *load);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  // Replication is asynchronous: what the old primary acknowledged but had
  // not yet sent to its replica is lost (docs/operations.md "Redis
  // Cluster"). Measured and reported, not asserted; nothing is doubled.
  Report(test, absl::StrCat("ledger: ", ledger->ToString(), " (lost = the failover's loss window)"));
  EXPECT_GT(ledger->acked, 0);
  EXPECT_EQ(ledger->doubled, 0);
  EXPECT_EQ(ledger->found + ledger->lost, ledger->acked);
  ProjectionCheck projections =
      CheckProjections(*checker_, *keys_, *load, *ledger, kProgressTimeout);
  const absl::Duration caught_up = absl::Now() - stopped;
  Report(test, absl::StrCat("totals and boards: ", projections.ToString(), " (boards checked ",
                            absl::FormatDuration(caught_up), " after the load stopped)"));
  EXPECT_EQ(projections.totals_match, projections.citizens) << projections.first_mismatch;
  EXPECT_EQ(projections.boards_match, projections.citizens) << projections.first_mismatch;
  // Every entry applied and acknowledged: none left pending in the board
  // projector's group (an acknowledgement lost in the loss window leaves an
  // entry pending on the promoted replica; it is read again and acknowledged).
  int64_t pending = -1;
  const absl::Time settle_by = absl::Now() + kProgressTimeout;
  while (pending != 0 && absl::Now() < settle_by) {
    pending = 0;
    for (int shard = 0; shard < kShards; ++shard) {
      auto reply = checker_->Command({"XPENDING", keys_->Ledger(shard), "boards"});
      if (!reply.ok()) {
        pending = -1;
        break;
      }
      pending += reply->elements[0].integer;
    }
    if (pending != 0) absl::SleepFor(absl::Milliseconds(50));
  }
  Report(test, absl::StrCat("board projector: ", pending, " entries pending"));
  EXPECT_EQ(pending, 0);
}

}  // namespace
}  // namespace ecoact::test
