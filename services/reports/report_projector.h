// The reports projector: reads every ledger shard stream through its own
// consumer group ("reports") and adds each entry to the report keys of its
// shard (report_model.h).
//
// Report figures are sums, so an entry must be added exactly once. A batch's
// entries of one shard are added and acknowledged (XACK) by one script in the
// shard's slot: an entry is counted if and only if it is acknowledged, so a
// crash before the script leaves it pending (re-read and counted once), a
// crash after leaves it counted and acknowledged. Each shard also records
// the id of the last entry it counted (`rpt-applied`), and entries are
// counted in stream order, so an entry delivered again (the group recreated,
// or entries the rebuild already counted) is acknowledged without being
// counted twice. Only the writer named in the shard's `rpt-owner` may write:
// the projector that holds the lease sets it when it takes the lease, the
// rebuild when it starts; a projector that lost its lease (paused past its
// time to live, or displaced by a rebuild) is fenced off by the script itself.
//
// Round trips per batch: XREADGROUP, then one pipelined EVALSHA per shard
// with entries in the batch (one round trip).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/archive/archive_store.h"
#include "services/common/keys.h"
#include "services/common/ledger_format.h"
#include "services/common/periods.h"
#include "services/common/redis.h"
#include "services/common/server.h"

namespace ecoact::reports {

struct ReportProjectorOptions {
  std::string group = "reports";
  // Stable per process: after a restart the same consumer re-reads its own
  // unacknowledged entries first.
  std::string consumer = "reports-projector";
  int batch = 1000;
  absl::Duration block = absl::Milliseconds(500);
  absl::Duration lease_ttl = absl::Seconds(10);
};

// The lease shared by reports projectors and the reports rebuild.
std::string ReportsLeaseKey(const KeySpace& keys);

// Adds `entries` (each with its shard, in stream order per shard) to the
// report keys as `writer`, acknowledging them in `group` ("" = no XACK), in
// one pipelined round trip (two when some entries were already counted).
// FAILED_PRECONDITION if `writer` is not the shards' owner.
absl::Status ApplyReportEntries(RedisClient* redis, const KeySpace& keys,
                                const CityCalendar& calendar,
                                const std::map<int, std::vector<StoredEntry>>& entries,
                                const std::string& group, const std::string& writer);

class ReportProjector : public BackgroundWorker {
 public:
  ReportProjector(RedisClient* redis, const KeySpace* keys, const CityCalendar* calendar,
                  ReportProjectorOptions options);
  ~ReportProjector() override;

  absl::Status EnsureGroups();
  // One read -> apply+acknowledge cycle; returns the entries read (0 when
  // nothing was waiting within the block time, or another process holds the
  // lease).
  absl::StatusOr<int> RunOnce();

  void Start() override;
  void Stop() override;

 private:
  absl::StatusOr<int> Cycle(bool retry_after_fence);
  absl::StatusOr<int> RunOnceAfterFence();
  absl::StatusOr<bool> HoldLease();
  absl::Status TakeOver();
  // XAUTOCLAIM of every shard's entries pending longer than `min_idle` with
  // any consumer of the group.
  absl::Status ClaimOrphans(absl::Duration min_idle);
  void Loop();

  RedisClient* redis_;
  const KeySpace* keys_;
  const CityCalendar* calendar_;
  ReportProjectorOptions options_;
  bool recovering_ = true;
  bool groups_ready_ = false;
  bool holds_lease_ = false;
  absl::Time lease_renewed_ = absl::InfinitePast();
  absl::Time last_orphan_check_ = absl::InfinitePast();
  std::thread thread_;
  absl::Notification stop_;
};

struct ReportsRebuild {
  int64_t entries = 0;
  int64_t keys_removed = 0;
};

struct RebuildOptions {
  // The reports lease is taken for this long and renewed after every chunk
  // (and every page of keys deleted), so a rebuild may take any time; only
  // a rebuild that stalls this long (a paused process, Redis unreachable)
  // loses it to a projector.
  absl::Duration lease_ttl = absl::Minutes(1);
  // Ledger entries counted per script call.
  size_t chunk = 5000;
  // Tests only: called after every chunk, before the lease is renewed.
  std::function<void()> after_chunk;
  // The ledger archive (ecoact_archive), read before each shard stream;
  // null: the streams alone, refused once a stream has been trimmed.
  archive::ArchiveStore* archive = nullptr;
};

// Deletes every report key and counts the whole ledger again, shard by
// shard, as writer "rebuild" (it takes the reports lease and the shards'
// ownership, so a running projector pauses and then goes on where the
// rebuild stopped, without counting an entry twice). Safe while actions are
// recorded. A rebuild that lost the lease or a shard's ownership stops at
// once with ABORTED (the report keys are then incomplete until a rebuild
// completes: run it again). FAILED_PRECONDITION, before anything changes,
// if a stream was trimmed beyond `options.archive`.
absl::StatusOr<ReportsRebuild> RebuildReports(RedisClient* redis, const KeySpace& keys,
                                              const CityCalendar& calendar,
                                              const RebuildOptions& options = {});

}  // namespace ecoact::reports
