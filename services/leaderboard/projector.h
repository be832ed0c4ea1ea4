// The leaderboard projector: reads every ledger shard stream through a
// consumer group and sets each affected board score to the account's exact
// total (boards.h). Because scores are absolute, an entry applied twice (a
// crash between apply and XACK, then redelivery of the pending entry) gives
// the same boards: every entry counts exactly once.
//
// Round trips per batch of up to `batch` entries (gathered for up to
// `linger` under load): XREADGROUP, one read
// pipeline (the accounts' totals, their `hidden`/`test` flags, and one HMGET
// per shard aggregate and period for the group boards), one write pipeline
// (ZADD/ZREM/EXPIREAT/SADD), and, once every write has succeeded, one
// acknowledge pipeline (XACK per shard, then the SPOP of the resync set). A
// batch is never acknowledged in the round trip that writes its boards: in
// cluster mode a pipeline is split per node, and a node failing mid-pipeline
// would otherwise leave entries acknowledged whose board writes were lost.
//
// Privacy: a citizen board only lists accounts that are neither hidden nor
// test accounts and have at least `min_actions` actions (all-time `n`); the
// others are removed (ZREM) from the boards the batch touches. An account
// whose visibility may have changed is re-derived from its totals hashes
// (resync): identity adds it to `ea:{projector}:resync` when `hidden`/`test`
// change, and the projector adds it when its visibility no longer matches
// the city's all-time board: visible but missing from it (it reached the
// minimum), so earlier periods' boards get it; or invisible but still on it
// (a void took it below the minimum), so every period's boards lose it.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "services/archive/archive_store.h"
#include "services/common/keys.h"
#include "services/common/ledger_format.h"
#include "services/common/periods.h"
#include "services/common/redis.h"
#include "services/common/server.h"
#include "services/leaderboard/board_layout.h"
#include "services/leaderboard/board_store.h"
#include "services/leaderboard/boards.h"

namespace ecoact::leaderboard {

struct ProjectorOptions {
  std::string group = "boards";
  // Stable per process: after a restart the same consumer re-reads its own
  // unacknowledged entries first.
  std::string consumer = "projector";
  int batch = 1000;
  absl::Duration block = absl::Milliseconds(500);
  // After a cycle that found fewer than `batch` entries (caught up), wait
  // this long before the next read so that the entries arriving meanwhile
  // share one cycle's three round trips. The first entry after an idle spell
  // is applied at once (the blocking read returns with it); under load the
  // lag grows by at most `linger`.
  absl::Duration linger = absl::ZeroDuration();
  // Only the holder of the lease writes boards, so two projectors never
  // race on one score; a projector that dies loses it after this long, and
  // the next holder claims its unacknowledged entries (XAUTOCLAIM).
  absl::Duration lease_ttl = absl::Seconds(10);
  BoardOptions boards;
  // Fewest all-time actions before a citizen appears on public boards.
  int64_t min_actions = 1;
  // Accounts re-derived per resync round trip.
  int resync_batch = 100;
};

class Projector : public BackgroundWorker {
 public:
  Projector(RedisClient* redis, const KeySpace* keys, const CityCalendar* calendar,
            ProjectorOptions options);
  ~Projector() override;

  // Creates the consumer groups (idempotent).
  absl::Status EnsureGroups();

  // One read -> apply -> acknowledge cycle; returns the entries applied (0
  // when nothing was waiting within the block time).
  absl::StatusOr<int> RunOnce();

  // Test hook: read and apply, but do not acknowledge, as if the process died
  // between the two.
  absl::StatusOr<int> RunOnceWithoutAck();

  void Start() override;
  // Stops the loop and releases the lease.
  void Stop() override;


 private:
  absl::StatusOr<int> Cycle(bool acknowledge);
  // Takes or renews the lease; on taking it, claims every other consumer's
  // pending entries. False while another process holds it.
  absl::StatusOr<bool> HoldLease();
  absl::Status ClaimOrphans();
  // Applies a batch: writes its boards, then (if every write succeeded)
  // acknowledges it. `claimed` gets the accounts to re-derive, sampled by
  // the acknowledge pipeline and claimed by ClaimResync, also when an XACK
  // of it failed.
  absl::Status Apply(const std::vector<std::pair<int, StoredEntry>>& entries, bool acknowledge,
                     std::vector<std::string>* claimed);
  // The two commands that sample the resync sets: accounts claimed before
  // (left by a failed or dead projector) and accounts queued.
  std::vector<std::vector<std::string>> SampleResync() const;
  // Moves the queued accounts of the samples into the claimed set (SMOVE:
  // an account queued again meanwhile stays queued) and returns every
  // account to re-derive now. An account leaves the claimed set only once
  // it has been re-derived, so no failure loses one.
  absl::StatusOr<std::vector<std::string>> ClaimResync(const RedisValue& claimed_sample,
                                                       const RedisValue& queued_sample);
  // Re-derives `accounts` (claimed), releases them, then keeps claiming
  // until both sets are empty.
  absl::Status Resync(std::vector<std::string> accounts);
  absl::Status ResyncBatch(const std::vector<std::string>& accounts);
  void Loop();

  RedisClient* redis_;
  const KeySpace* keys_;
  const CityCalendar* calendar_;
  ProjectorOptions options_;
  BoardLayout layout_;
  bool recovering_ = true;  // first drain our own pending entries ("0")
  bool groups_ready_ = false;
  bool holds_lease_ = false;
  absl::Time lease_renewed_ = absl::InfinitePast();
  std::thread thread_;
  absl::Notification stop_;
};

struct RebuildReport {
  int64_t entries = 0;
  int64_t boards = 0;  // boards written (citizen + group + audit)
  int64_t group_boards = 0;
  int64_t audit_boards = 0;
  int64_t scores = 0;
  int64_t hidden_accounts = 0;  // accounts left off citizen boards (privacy)
  int64_t stale_boards_removed = 0;
};

// Whether an account may appear on public citizen boards.
struct Visibility {
  bool hidden = false;
  bool test = false;
  // A tombstone of DeleteMyAccount (role "deleted"): on no citizen board and
  // not on the admins' audit board either.
  bool deleted = false;
  int64_t actions = 0;  // all-time `n`
  bool Visible(int64_t min_actions) const {
    return !hidden && !test && !deleted && actions >= min_actions;
  }
};

// Recomputes every board from the ledger streams alone and replaces the
// boards in Redis (each written under a temporary key, then renamed), and
// removes boards no entry supports. Boards whose retention has passed at
// `now` are not recreated. It takes the projector lease for its duration, so
// a running projector pauses and catches up afterwards. With `archive`, the
// archived part of each shard's ledger is read first (docs/operations.md).
// The lease key shared by projectors and the rebuild.
std::string ProjectorLeaseKey(const KeySpace& keys);

absl::StatusOr<RebuildReport> RebuildBoards(RedisClient* redis, const KeySpace& keys,
                                            const CityCalendar& calendar,
                                            const BoardOptions& options, absl::Time now,
                                            int64_t min_actions = 1,
                                            archive::ArchiveStore* archive = nullptr);


}  // namespace ecoact::leaderboard
