// Load for fault tests: threads of citizens recording actions through real
// gRPC stubs against a running ecoact_server, the way the app does it: every
// action has its own request id, and UNAVAILABLE / DEADLINE_EXCEEDED (and
// RESOURCE_EXHAUSTED from a saturated server) are retried with the same id
// and a growing backoff until the action is acknowledged. Afterwards
// CheckLedger() reads the ledger streams straight from Redis and says which
// acknowledged actions are there, missing or there twice, and
// CheckProjections() compares each citizen's ledger sums with its totals
// (GetMyImpact) and its score on the city boards.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "ecoact/v1/actions.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/common/keys.h"
#include "services/common/redis.h"

namespace ecoact::test {

// A channel that reconnects quickly (100-500 ms) after the server went away,
// instead of gRPC's default backoff of up to two minutes.
std::shared_ptr<grpc::Channel> FastReconnectChannel(const std::string& target);

struct LoadOptions {
  std::string target;  // "127.0.0.1:PORT"
  int threads = 4;
  int citizens = 16;   // registered by Create(), shared round-robin by the threads
  absl::Duration call_deadline = absl::Seconds(3);
  // An action whose retries last longer than this is given up (counted, not
  // acknowledged). Fault tests expect none.
  absl::Duration give_up_after = absl::Seconds(40);
  // Pause after each acknowledged action, so that a load of a few threads
  // does not saturate a 2-core machine shared with builds.
  absl::Duration think_time = absl::Milliseconds(2);
};

struct AckedAction {
  std::string request_id;
  std::string account_id;
  std::string entry_id;
  int64_t co2e_grams = 0;
  int64_t points = 0;
};

struct LoadStats {
  int64_t sent = 0;       // distinct actions (request ids) started
  int64_t acked = 0;      // acknowledged (OK reply, first or replayed)
  int64_t replayed = 0;   // acknowledgements that said replayed=true
  int64_t attempts = 0;   // RPCs made, retries included
  int64_t gave_up = 0;    // retried past give_up_after
  int64_t rejected = 0;   // a non-retryable error (fault tests expect none)
  std::map<std::string, int64_t> codes;  // failed attempts by status code name
  absl::Duration slowest_call = absl::ZeroDuration();
  std::string first_rejection;  // the first non-retryable error, for the report
  std::string ToString() const;
};

struct LoadCitizen {
  std::string account_id;
  std::string token;
};

class ActionLoad {
 public:
  // Registers `options.citizens` citizens through the API (retried like
  // actions), ready to Start().
  static absl::StatusOr<std::unique_ptr<ActionLoad>> Create(LoadOptions options);
  ~ActionLoad();

  void Start();
  // No new actions; the ones in flight are retried until acknowledged or
  // given up, then the threads end.
  void Stop();
  // True once `count` actions are acknowledged, false after `timeout`.
  bool WaitForAcked(int64_t count, absl::Duration timeout) const;
  int64_t acked_count() const { return acked_count_.load(); }

  // Records one more action of `citizen` (a request of the caller's, e.g. one
  // that timed out before) with the same retries, counted in stats() and
  // acked() like the load's own; true once acknowledged.
  bool Record(const LoadCitizen& citizen, const v1::RecordActionRequest& request);

  LoadStats stats() const;
  std::vector<AckedAction> acked() const;
  const std::vector<LoadCitizen>& citizens() const { return citizens_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  explicit ActionLoad(LoadOptions options);
  void Run(int thread_index);
  void RecordOne(const LoadCitizen& citizen, int64_t sequence, int thread_index);

  LoadOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::vector<LoadCitizen> citizens_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> acked_count_{0};
  mutable std::mutex mutex_;
  LoadStats stats_;
  std::vector<AckedAction> acked_;
};

struct LedgerCheck {
  int64_t acked = 0;           // acknowledged actions checked
  int64_t found = 0;           // of those, in the ledger with the acknowledged entry id
  int64_t lost = 0;            // acknowledged but not in the ledger
  int64_t doubled = 0;         // request ids in the ledger more than once
  int64_t ledger_entries = 0;  // entries of the load's citizens in the ledger
  int64_t unacknowledged = 0;  // in the ledger, never acknowledged (gave up)
  // Per account: the sums of its ledger entries.
  std::map<std::string, std::pair<int64_t, int64_t>> grams_and_points;
  std::string ToString() const;
};

// Reads every ledger stream of `keys` (XRANGE, directly from Redis).
absl::StatusOr<LedgerCheck> CheckLedger(RedisClient& redis, const KeySpace& keys,
                                        const ActionLoad& load);

struct ProjectionCheck {
  int64_t citizens = 0;
  int64_t totals_match = 0;  // GetMyImpact all-time grams and points == ledger sums
  int64_t boards_match = 0;  // city all-time boards (points and CO2) == ledger sums
  std::string first_mismatch;
  std::string ToString() const;
};

// Compares each citizen's ledger sums with GetMyImpact (through the API) and
// with its scores on the all-time city boards (read from Redis), polling up
// to `timeout` for the projector to catch up.
ProjectionCheck CheckProjections(RedisClient& redis, const KeySpace& keys,
                                 const ActionLoad& load, const LedgerCheck& ledger,
                                 absl::Duration timeout);

// The "Threads:" line of /proc/<pid>/status; -1 if unreadable.
int ThreadCount(pid_t pid);

}  // namespace ecoact::test
