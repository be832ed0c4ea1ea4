// The ledger archiver (docs/operations.md, "Ledger archive"): moves ledger
// entries older than the retention window, and acknowledged by every
// consumer group, from the shard streams into an ArchiveStore, then trims
// them from Redis. Run by `ecoact_archive` (cron); one run at a time, by a
// lease in Redis.
//
// Order of the steps, per shard, and why a crash anywhere is safe:
//   1. segments: entries after the last archived id, up to the bound, are
//      appended as segments; each Append is durable before it returns.
//   2. trim: entries up to the last archived id (of any run) are trimmed
//      from the stream, in bounded batches.
// A crash between 1 and 2 leaves entries both archived and in Redis; the
// next run starts after the last archived id (writes no duplicate) and trims
// them. Readers (ForEachLedgerEntryWithArchive) read the archive, then Redis
// after the last archived id, so they never count an entry twice either.
//
// Nothing is archived or trimmed while one of the required consumer groups
// (every projector's: "boards", "reports") is missing from a shard stream: a
// projector that has not started yet would otherwise begin on a ledger that
// lacks its oldest entries. Each trim records, in the same script, the
// newest id it removed in the shard's trim marker (LedgerTrimmedKey), so
// that readers know the stream alone is no longer the whole ledger: a
// rebuild without the archive refuses (FAILED_PRECONDITION), and a consumer
// group created on a trimmed stream is reported (CreateConsumerGroups).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/archive/archive_store.h"
#include "services/common/keys.h"
#include "services/common/ledger_format.h"
#include "services/common/redis.h"

namespace ecoact::archive {

struct ArchiverOptions {
  // Entries recorded (stream id time) more than this long ago are archived.
  absl::Duration retention = absl::Hours(24 * 90);
  int64_t segment_entries = 100000;  // at most this many entries per segment
  int64_t trim_batch = 1000;         // entries removed per XTRIM
  absl::Duration lease_ttl = absl::Minutes(10);
  std::string owner = "archiver";
  // Consumer groups that must exist on every shard stream (and, like any
  // other group there, have acknowledged an entry) before it is archived
  // and trimmed: the leaderboard projector's and the reports projector's
  // (their ProjectorOptions::group and ReportProjectorOptions::group).
  std::vector<std::string> required_groups = {"boards", "reports"};
  // Tests only: called after each XTRIM batch, before the lease is renewed.
  std::function<void()> after_trim_batch;
};

struct ShardArchiveReport {
  int shard = 0;
  int64_t archived = 0;  // entries written to new segments
  int64_t segments = 0;  // new segments
  int64_t trimmed = 0;   // entries removed from Redis
  // The newest id that may be archived: the retention bound or what a
  // consumer group has not acknowledged, whichever is older; empty if none.
  std::string bound;
  // "retention", "caught-up groups" (every entry delivered and acknowledged),
  // "group <name>" (entries that group has not acknowledged), "no consumer
  // group", "missing group <name>" (a required group does not exist).
  std::string held_back_by;
};

struct ArchiveReport {
  int64_t archived = 0;
  int64_t segments = 0;
  int64_t trimmed = 0;
  std::vector<ShardArchiveReport> shards;
};

// The newest entry id of `shard` that is older than `now - retention` and
// acknowledged by every consumer group of the stream (delivered, and not
// pending); nullopt if there is none, or the stream lacks one of
// `required_groups` (a projector that has not started yet would read from
// the start).
absl::StatusOr<std::optional<StreamId>> ArchivableBound(RedisClient* redis, const KeySpace& keys,
                                                        int shard, absl::Duration retention,
                                                        absl::Time now,
                                                        std::string* held_back_by,
                                                        const std::vector<std::string>&
                                                            required_groups);

// Step 1 for one shard: appends what is archivable and not archived yet.
absl::Status WriteSegments(RedisClient* redis, const KeySpace& keys, ArchiveStore* store,
                           int shard, const ArchiverOptions& options, absl::Time now,
                           ShardArchiveReport* report);

// Step 2 for one shard: trims every archived entry still in the stream,
// renewing the lease before each batch (ABORTED once another run holds it),
// and advances the shard's trim marker with each batch. FAILED_PRECONDITION
// if a required group is missing.
absl::Status TrimArchived(RedisClient* redis, const KeySpace& keys, ArchiveStore* store,
                          int shard, const ArchiverOptions& options, ShardArchiveReport* report);

// Every shard, steps 1 and 2, holding the lease. FAILED_PRECONDITION if
// another archiver holds it, or if a required consumer group is missing
// from a shard stream (then nothing is archived or trimmed at all).
absl::StatusOr<ArchiveReport> RunArchive(RedisClient* redis, const KeySpace& keys,
                                         ArchiveStore* store, const ArchiverOptions& options,
                                         absl::Time now);

// The lease key, in its own slot: "<prefix>:{archive}:lease".
std::string ArchiveLeaseKey(const KeySpace& keys);

// "<shard prefix>ledger-trimmed", in the shard's slot: the id of the newest
// entry ecoact_archive removed from the shard stream; absent while nothing
// was trimmed.
std::string LedgerTrimmedKey(const KeySpace& keys, int shard);

// The trim marker of `shard`, or nullopt.
absl::StatusOr<std::optional<StreamId>> LedgerTrimmedUpTo(RedisClient* redis,
                                                          const KeySpace& keys, int shard);

// OK if the stream of every shard, after `store`'s segments (none when
// `store` is null), still holds every entry ever appended: no shard was
// trimmed beyond what the archive holds. FAILED_PRECONDITION otherwise,
// naming the shard and --archive_dir. Rebuilds call it before they change
// anything.
absl::Status CheckLedgerComplete(RedisClient* redis, ArchiveStore* store, const KeySpace& keys);

// Creates consumer group `group` at the start ("0") of every shard stream
// (idempotent, MKSTREAM). When it creates the group on a stream that was
// trimmed, it logs an error naming `projection` and the rebuild to run, and
// returns that shard: the projection will lack the archived entries until
// `ecoact_rebuild --archive_dir` recounts them (docs/operations.md).
absl::StatusOr<std::vector<int>> CreateConsumerGroups(RedisClient* redis, const KeySpace& keys,
                                                      const std::string& group,
                                                      const std::string& projection);

// The whole ledger of `shard` in order: the archived entries (when `store`
// is not null), then the stream after the last archived id. DATA_LOSS if a
// segment is corrupt; FAILED_PRECONDITION if the stream was trimmed beyond
// what `store` holds (or at all, when `store` is null).
absl::Status ForEachLedgerEntryWithArchive(
    RedisClient* redis, ArchiveStore* store, const KeySpace& keys, int shard,
    const std::function<absl::Status(const StoredEntry&)>& visit);

}  // namespace ecoact::archive
