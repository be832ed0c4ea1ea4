// The ledger archiver on a real Redis (docs/operations.md, "Ledger
// archive"): archive, trim and rebuild give the same boards, rewards and
// reports; what a consumer group has not acknowledged stays in Redis, and
// nothing is trimmed while a projector's group is missing; a crash between
// writing a segment and trimming neither loses nor doubles an entry; a
// trimmed ledger is never rebuilt without its archive; a run that loses its
// lease mid-trim stops.
#include "services/archive/archiver.h"

#include <stdlib.h>

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/leaderboard/projector.h"
#include "services/reports/report_projector.h"
#include "services/rewards/rewards_rebuild.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::archive {
namespace {

using ::ecoact::test::Citizen;
using ::ecoact::test::IsOk;
using ::ecoact::test::Stack;
using ::ecoact::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

std::string MakeTempDir() {
  std::string pattern = absl::StrCat(::testing::TempDir(), "/archiver_test_XXXXXX");
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

// Everything is older than the retention at this `now`.
absl::Time Later() { return absl::Now() + absl::Hours(1); }

ArchiverOptions Options() {
  ArchiverOptions options;
  options.retention = absl::Minutes(1);
  options.segment_entries = 4;  // several segments from a few entries
  options.trim_batch = 3;
  options.owner = "test-archiver";
  return options;
}

class ArchiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = Stack::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    stack_ = *std::move(started);
    auto store = FileArchiveStore::Open(MakeTempDir());
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  int64_t LedgerLength() {
    int64_t total = 0;
    for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
      auto n = stack_->redis().Command({"XLEN", stack_->keys().Ledger(shard)});
      EXPECT_THAT(n, IsOk());
      if (n.ok()) total += n->integer;
    }
    return total;
  }

  // Both projectors (the archiver requires both groups) until caught up.
  void Drain() {
    stack_->DrainProjector();
    stack_->DrainReports();
  }

  // Every report key (but the shards' writer) with its content: hashes as
  // sorted field/value lists, sets as sorted members, HyperLogLogs as counts.
  std::map<std::string, std::vector<std::string>> ReportKeys() {
    std::map<std::string, std::vector<std::string>> out;
    for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
      auto keys = stack_->redis().Command(
          {"KEYS", absl::StrCat(stack_->keys().ShardPrefix(shard), "rpt*")});
      EXPECT_THAT(keys, IsOk());
      if (!keys.ok()) continue;
      for (const RedisValue& key : keys->elements) {
        if (absl::EndsWith(key.str, "rpt-owner")) continue;
        auto type = stack_->redis().Command({"TYPE", key.str});
        EXPECT_THAT(type, IsOk());
        std::vector<std::string>& values = out[key.str];
        if (type->str == "hash") {
          auto all = stack_->redis().Command({"HGETALL", key.str});
          for (size_t i = 0; i + 1 < all->elements.size(); i += 2) {
            values.push_back(all->elements[i].str + "=" + all->elements[i + 1].str);
          }
        } else if (type->str == "set") {
          auto all = stack_->redis().Command({"SMEMBERS", key.str});
          for (const RedisValue& v : all->elements) values.push_back(v.str);
        } else if (type->str == "string" && !absl::EndsWith(key.str, "rpt-applied")) {
          auto count = stack_->redis().Command({"PFCOUNT", key.str});
          EXPECT_THAT(count, IsOk());
          values.push_back(absl::StrCat(count->integer));
        } else {
          auto value = stack_->redis().Command({"GET", key.str});
          values.push_back(type->str + ":" + value->str);
        }
        std::sort(values.begin(), values.end());
      }
    }
    return out;
  }

  absl::StatusOr<reports::ReportsRebuild> RebuildReports(ArchiveStore* archive) {
    reports::RebuildOptions options;
    options.archive = archive;
    return reports::RebuildReports(&stack_->redis(), stack_->keys(), stack_->calendar(),
                                   options);
  }

  int64_t ArchivedSegments() {
    int64_t total = 0;
    for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
      auto segments = store_->List(shard);
      EXPECT_THAT(segments, IsOk());
      if (segments.ok()) total += static_cast<int64_t>(segments->size());
    }
    return total;
  }

  // Every board's members and scores.
  std::map<std::string, std::vector<std::string>> Boards() {
    std::map<std::string, std::vector<std::string>> boards;
    std::string cursor = "0";
    do {
      auto page = stack_->redis().Command({"SCAN", cursor, "MATCH",
                                           absl::StrCat(stack_->keys().prefix(), ":{b:*"),
                                           "COUNT", "1000"});
      EXPECT_THAT(page, IsOk());
      if (!page.ok()) break;
      cursor = page->elements[0].str;
      for (const RedisValue& key : page->elements[1].elements) {
        auto members = stack_->redis().Command({"ZRANGE", key.str, "0", "-1", "WITHSCORES"});
        EXPECT_THAT(members, IsOk());
        for (const RedisValue& m : members->elements) boards[key.str].push_back(m.str);
      }
    } while (cursor != "0");
    return boards;
  }

  // Streak and badges of `account`, as flat field/value lists.
  std::vector<std::string> Rewards(const std::string& account) {
    std::vector<std::string> out;
    for (const std::string& key :
         {stack_->keys().Streak(account), stack_->keys().Badges(account)}) {
      auto hash = stack_->redis().Command({"HGETALL", key});
      EXPECT_THAT(hash, IsOk());
      for (const RedisValue& v : hash->elements) out.push_back(v.str);
    }
    return out;
  }

  absl::StatusOr<leaderboard::RebuildReport> RebuildBoards(ArchiveStore* archive) {
    return leaderboard::RebuildBoards(&stack_->redis(), stack_->keys(), stack_->calendar(),
                                      leaderboard::BoardOptions(), stack_->now(), 1, archive);
  }

  absl::StatusOr<rewards::RewardsRebuildReport> RebuildRewards(ArchiveStore* archive) {
    auto campaigns = stack_->campaigns().Load();
    if (!campaigns.ok()) return campaigns.status();
    return rewards::RebuildRewards(&stack_->redis(), stack_->keys(), stack_->calendar(),
                                   stack_->badge_rules(), *campaigns, archive);
  }

  std::unique_ptr<Stack> stack_;
  std::unique_ptr<ArchiveStore> store_;
};

TEST_F(ArchiverTest, ArchiveTrimAndRebuildGiveTheSameBoardsAndRewards) {
  const Citizen a = stack_->Register("archived-a", "saiwai");
  const Citizen b = stack_->Register("archived-b", "nakahara");
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(stack_->Record(a.token, "own_bottle", 1).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(stack_->Record(b.token, "train_instead_of_car", 2 + i).ok());
  }
  Drain();
  ASSERT_EQ(LedgerLength(), 11);
  // The reports as the projector counted them.
  const auto reports_before = ReportKeys();
  ASSERT_FALSE(reports_before.empty());

  auto before = RebuildBoards(nullptr);
  ASSERT_THAT(before, IsOk());
  ASSERT_EQ(before->entries, 11);
  auto rewards_before = RebuildRewards(nullptr);
  ASSERT_THAT(rewards_before, IsOk());
  const auto boards_before = Boards();
  ASSERT_FALSE(boards_before.empty());
  const auto rewards_a = Rewards(a.account_id);
  const auto rewards_b = Rewards(b.account_id);
  ASSERT_FALSE(rewards_a.empty());

  auto report = RunArchive(&stack_->redis(), stack_->keys(), store_.get(), Options(), Later());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->archived, 11);
  EXPECT_EQ(report->trimmed, 11);
  EXPECT_GE(report->segments, 2);  // 6 entries or fewer per shard, 4 per segment
  EXPECT_EQ(LedgerLength(), 0);

  // Without the archive the trimmed streams are not the ledger: every
  // rebuild refuses, before it changes anything.
  EXPECT_THAT(RebuildBoards(nullptr), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(RebuildRewards(nullptr), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(RebuildReports(nullptr), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Boards(), boards_before);
  EXPECT_EQ(ReportKeys(), reports_before);

  auto after = RebuildBoards(store_.get());
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->entries, 11);
  EXPECT_EQ(after->scores, before->scores);
  EXPECT_EQ(Boards(), boards_before);
  auto rewards_after = RebuildRewards(store_.get());
  ASSERT_THAT(rewards_after, IsOk());
  EXPECT_EQ(rewards_after->entries, 11);
  EXPECT_EQ(rewards_after->badges, rewards_before->badges);
  EXPECT_EQ(Rewards(a.account_id), rewards_a);
  EXPECT_EQ(Rewards(b.account_id), rewards_b);
  // The reports rebuild reads the archive, then the streams: the same
  // figures as the projector counted before the trim.
  auto reports_after = RebuildReports(store_.get());
  ASSERT_THAT(reports_after, IsOk());
  EXPECT_EQ(reports_after->entries, 11);
  EXPECT_EQ(ReportKeys(), reports_before);

  // New entries after the archive: the rebuild reads both parts once.
  ASSERT_TRUE(stack_->Record(a.token, "own_bottle", 1).ok());
  auto mixed = RebuildBoards(store_.get());
  ASSERT_THAT(mixed, IsOk());
  EXPECT_EQ(mixed->entries, 12);
  stack_->DrainReports();
  const auto reports_live = ReportKeys();
  auto reports_mixed = RebuildReports(store_.get());
  ASSERT_THAT(reports_mixed, IsOk());
  EXPECT_EQ(reports_mixed->entries, 12);
  EXPECT_EQ(ReportKeys(), reports_live);

  // ListMyActions names the archived entries instead of dropping them.
  v1::ListMyActionsRequest request;
  request.set_page_size(100);
  v1::ListMyActionsResponse response;
  auto context = Stack::Context(a.token);
  ASSERT_TRUE(stack_->actions()->ListMyActions(context.get(), request, &response).ok());
  EXPECT_THAT(response.entries(), SizeIs(1));
  EXPECT_THAT(response.archived_entry_ids(), SizeIs(6));
}

TEST_F(ArchiverTest, WhatAConsumerGroupHasNotAcknowledgedIsNeverTrimmed) {
  const Citizen a = stack_->Register("unacked", "saiwai");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stack_->Record(a.token, "own_bottle", 1).ok());
  Drain();
  const int shard = stack_->keys().ShardOf(a.account_id);
  const std::string stream = stack_->keys().Ledger(shard);
  // A second reader that has taken the first entry and not acknowledged it.
  ASSERT_THAT(stack_->redis().Command({"XGROUP", "CREATE", stream, "audit", "0"}), IsOk());
  auto taken = stack_->redis().Command(
      {"XREADGROUP", "GROUP", "audit", "auditor", "COUNT", "1", "STREAMS", stream, ">"});
  ASSERT_THAT(taken, IsOk());
  const std::string first_id = taken->elements[0].elements[1].elements[0].elements[0].str;

  ShardArchiveReport held;
  ASSERT_THAT(WriteSegments(&stack_->redis(), stack_->keys(), store_.get(), shard, Options(),
                            Later(), &held),
              IsOk());
  EXPECT_EQ(held.archived, 0);
  EXPECT_EQ(held.held_back_by, "group audit");
  auto report = RunArchive(&stack_->redis(), stack_->keys(), store_.get(), Options(), Later());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->trimmed, 0);
  EXPECT_EQ(LedgerLength(), 3);

  // Acknowledged: the first entry may go, the two never delivered to
  // `audit` stay.
  ASSERT_THAT(stack_->redis().Command({"XACK", stream, "audit", first_id}), IsOk());
  report = RunArchive(&stack_->redis(), stack_->keys(), store_.get(), Options(), Later());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->archived, 1);
  EXPECT_EQ(report->trimmed, 1);
  EXPECT_EQ(LedgerLength(), 2);

  // A new entry; `audit` reads and acknowledges everything, the boards
  // projector has not read the new one yet: it stays.
  ASSERT_TRUE(stack_->Record(a.token, "own_bottle", 1).ok());
  auto rest = stack_->redis().Command(
      {"XREADGROUP", "GROUP", "audit", "auditor", "STREAMS", stream, ">"});
  ASSERT_THAT(rest, IsOk());
  ASSERT_THAT(rest->elements[0].elements[1].elements, SizeIs(3));
  for (const RedisValue& e : rest->elements[0].elements[1].elements) {
    ASSERT_THAT(stack_->redis().Command({"XACK", stream, "audit", e.elements[0].str}), IsOk());
  }
  report = RunArchive(&stack_->redis(), stack_->keys(), store_.get(), Options(), Later());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->archived, 2);
  EXPECT_EQ(LedgerLength(), 1);
  EXPECT_EQ(report->shards[shard].held_back_by, "group boards");

  // Nothing is older than a 1-hour retention yet.
  ArchiverOptions patient = Options();
  patient.retention = absl::Hours(2);
  Drain();
  report = RunArchive(&stack_->redis(), stack_->keys(), store_.get(), patient, Later());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->archived, 0);
  EXPECT_EQ(LedgerLength(), 1);
}

TEST_F(ArchiverTest, CrashBetweenSegmentAndTrimNeitherLosesNorDoubles) {
  const Citizen a = stack_->Register("crashy", "saiwai");
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(stack_->Record(a.token, "own_bottle", 1).ok());
  Drain();
  const int shard = stack_->keys().ShardOf(a.account_id);

  // Step 1 only, as if the process died before trimming.
  ShardArchiveReport first;
  ASSERT_THAT(WriteSegments(&stack_->redis(), stack_->keys(), store_.get(), shard, Options(),
                            Later(), &first),
              IsOk());
  EXPECT_EQ(first.archived, 7);
  EXPECT_EQ(first.segments, 2);
  EXPECT_EQ(LedgerLength(), 7);
  // Entries both archived and in Redis are read once.
  auto read_once = RebuildBoards(store_.get());
  ASSERT_THAT(read_once, IsOk());
  EXPECT_EQ(read_once->entries, 7);

  auto rerun = RunArchive(&stack_->redis(), stack_->keys(), store_.get(), Options(), Later());
  ASSERT_THAT(rerun, IsOk());
  EXPECT_EQ(rerun->archived, 0);  // nothing written twice
  EXPECT_EQ(rerun->segments, 0);
  EXPECT_EQ(rerun->trimmed, 7);
  EXPECT_EQ(ArchivedSegments(), 2);
  EXPECT_EQ(LedgerLength(), 0);
  auto after = RebuildBoards(store_.get());
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->entries, 7);

  // And a run with nothing to do changes nothing.
  rerun = RunArchive(&stack_->redis(), stack_->keys(), store_.get(), Options(), Later());
  ASSERT_THAT(rerun, IsOk());
  EXPECT_EQ(rerun->archived + rerun->trimmed + rerun->segments, 0);
}

TEST_F(ArchiverTest, OneArchiverAtATime) {
  ASSERT_THAT(stack_->redis().Command({"SET", ArchiveLeaseKey(stack_->keys()), "other-host:1",
                                       "PX", "60000"}),
              IsOk());
  EXPECT_THAT(RunArchive(&stack_->redis(), stack_->keys(), store_.get(), Options(), Later()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(stack_->redis().Command({"DEL", ArchiveLeaseKey(stack_->keys())}), IsOk());
  EXPECT_THAT(RunArchive(&stack_->redis(), stack_->keys(), store_.get(), Options(), Later()),
              IsOk());
  auto lease = stack_->redis().Command({"EXISTS", ArchiveLeaseKey(stack_->keys())});
  ASSERT_THAT(lease, IsOk());
  EXPECT_EQ(lease->integer, 0);  // released at the end of the run
}

TEST_F(ArchiverTest, RequiredGroupsAreEveryProjectorsGroup) {
  EXPECT_THAT(ArchiverOptions().required_groups,
              UnorderedElementsAre(leaderboard::ProjectorOptions().group,
                                   reports::ReportProjectorOptions().group));
}

TEST_F(ArchiverTest, NothingIsTrimmedWhileAProjectorsGroupIsMissing) {
  const Citizen a = stack_->Register("early", "saiwai");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(stack_->Record(a.token, "own_bottle", 1).ok());
  // The reports service is not deployed yet: only the boards group exists.
  stack_->DrainProjector();
  const int shard = stack_->keys().ShardOf(a.account_id);

  auto refused = RunArchive(&stack_->redis(), stack_->keys(), store_.get(), Options(), Later());
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("\"reports\""));
  EXPECT_EQ(LedgerLength(), 5);
  EXPECT_EQ(ArchivedSegments(), 0);
  ShardArchiveReport held;
  ASSERT_THAT(WriteSegments(&stack_->redis(), stack_->keys(), store_.get(), shard, Options(),
                            Later(), &held),
              IsOk());
  EXPECT_EQ(held.archived, 0);
  EXPECT_EQ(held.held_back_by, "missing group reports");

  // An operator who never deploys the reports service says so: then the
  // boards group alone decides, and the trim is recorded.
  ArchiverOptions boards_only = Options();
  boards_only.required_groups = {"boards"};
  auto report = RunArchive(&stack_->redis(), stack_->keys(), store_.get(), boards_only, Later());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->trimmed, 5);
  auto segments = store_->List(shard);
  ASSERT_THAT(segments, IsOk());
  ASSERT_FALSE(segments->empty());
  auto marker = LedgerTrimmedUpTo(&stack_->redis(), stack_->keys(), shard);
  ASSERT_THAT(marker, IsOk());
  ASSERT_TRUE(marker->has_value());
  EXPECT_EQ(**marker, segments->back().last);

  // The reports projector deployed now starts on a trimmed ledger: its group
  // creation reports that shard (and logs it as an error), once.
  auto created = CreateConsumerGroups(&stack_->redis(), stack_->keys(),
                                      reports::ReportProjectorOptions().group, "impact reports");
  ASSERT_THAT(created, IsOk());
  EXPECT_THAT(*created, ElementsAre(shard));
  auto again = CreateConsumerGroups(&stack_->redis(), stack_->keys(),
                                    reports::ReportProjectorOptions().group, "impact reports");
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT(*again, IsEmpty());
  // ... and a rebuild with the archive gives it the archived entries.
  stack_->DrainReports();
  auto rebuilt = RebuildReports(store_.get());
  ASSERT_THAT(rebuilt, IsOk());
  EXPECT_EQ(rebuilt->entries, 5);
}

TEST_F(ArchiverTest, ARebuildRefusesAnArchiveThatLacksTrimmedEntries) {
  const Citizen a = stack_->Register("elsewhere", "saiwai");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stack_->Record(a.token, "own_bottle", 1).ok());
  Drain();
  ASSERT_THAT(RunArchive(&stack_->redis(), stack_->keys(), store_.get(), Options(), Later()),
              IsOk());
  EXPECT_THAT(CheckLedgerComplete(&stack_->redis(), store_.get(), stack_->keys()), IsOk());
  EXPECT_THAT(CheckLedgerComplete(&stack_->redis(), nullptr, stack_->keys()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Another (empty) directory: --archive_dir pointing at the wrong place.
  auto wrong = FileArchiveStore::Open(MakeTempDir());
  ASSERT_THAT(wrong, IsOk());
  EXPECT_THAT(CheckLedgerComplete(&stack_->redis(), wrong->get(), stack_->keys()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(RebuildBoards(wrong->get()), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// A rebuild that reads a shard while ecoact_archive trims it could miss the
// entries trimmed after it listed the segments: it notices and aborts.
TEST_F(ArchiverTest, AReadOverlappingATrimAborts) {
  const Citizen a = stack_->Register("overlap", "saiwai");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stack_->Record(a.token, "own_bottle", 1).ok());
  Drain();
  const int shard = stack_->keys().ShardOf(a.account_id);
  int visited = 0;
  absl::Status read = ForEachLedgerEntryWithArchive(
      &stack_->redis(), store_.get(), stack_->keys(), shard,
      [&](const StoredEntry& entry) -> absl::Status {
        // The archiver's trim script lands while the first page is read.
        if (visited++ == 0) {
          auto set = stack_->redis().Command(
              {"SET", LedgerTrimmedKey(stack_->keys(), shard), entry.entry.entry_id()});
          if (!set.ok()) return set.status();
        }
        return absl::OkStatus();
      });
  EXPECT_EQ(visited, 3);
  EXPECT_THAT(read, StatusIs(absl::StatusCode::kAborted, HasSubstr("run the rebuild again")));
  // Read again, the marker says more was trimmed than this (empty) archive
  // holds: refused before anything is read.
  EXPECT_THAT(ForEachLedgerEntryWithArchive(&stack_->redis(), store_.get(), stack_->keys(), shard,
                                            [](const StoredEntry&) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(ArchiverTest, ARunThatLosesItsLeaseMidTrimStops) {
  const Citizen a = stack_->Register("long-trim", "saiwai");
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(stack_->Record(a.token, "own_bottle", 1).ok());
  Drain();
  const int shard = stack_->keys().ShardOf(a.account_id);
  ArchiverOptions options = Options();  // trim_batch 3: three batches
  int batches = 0;
  options.after_trim_batch = [&] {
    // Another run takes over after the first batch (this one stalled past
    // its lease's time to live).
    if (++batches == 1) {
      ASSERT_THAT(stack_->redis().Command({"SET", ArchiveLeaseKey(stack_->keys()),
                                           "other-host:1", "PX", "60000"}),
                  IsOk());
    }
  };
  auto report = RunArchive(&stack_->redis(), stack_->keys(), store_.get(), options, Later());
  EXPECT_THAT(report, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(batches, 1);
  EXPECT_EQ(LedgerLength(), 4);  // only the first batch went
  // The other run's lease is left alone.
  auto lease = stack_->redis().Command({"GET", ArchiveLeaseKey(stack_->keys())});
  ASSERT_THAT(lease, IsOk());
  EXPECT_EQ(lease->str, "other-host:1");
  // What was trimmed is recorded, and the archive still covers it.
  auto marker = LedgerTrimmedUpTo(&stack_->redis(), stack_->keys(), shard);
  ASSERT_THAT(marker, IsOk());
  EXPECT_TRUE(marker->has_value());
  EXPECT_THAT(CheckLedgerComplete(&stack_->redis(), store_.get(), stack_->keys()), IsOk());
  auto rebuilt = RebuildBoards(store_.get());
  ASSERT_THAT(rebuilt, IsOk());
  EXPECT_EQ(rebuilt->entries, 7);
}

}  // namespace
}  // namespace ecoact::archive
