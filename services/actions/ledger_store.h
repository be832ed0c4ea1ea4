// The ledger in Redis: one stream per shard, written by one Lua script per
// action (record_action.lua) together with the account's period totals, its
// daily cap counters, its history index and the idempotency record.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ecoact/v1/actions.pb.h"
#include "services/actions/recorder.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "services/rewards/streak.h"

namespace ecoact::actions {

struct RecordedAction {
  v1::LedgerEntry entry;
  bool replayed = false;
  std::vector<v1::Totals> totals;  // all time, month, week, day
  // Badge ids this entry earned (the stored first result on a replay).
  std::vector<std::string> new_badges;
  // The account's streak hash right after this entry.
  rewards::StreakState streak;
};

struct ImpactSnapshot {
  std::vector<v1::Totals> totals;  // all time, month, week, day
  std::vector<v1::CategoryTotals> by_category;
};

struct HistoryPage {
  std::vector<v1::LedgerEntry> entries;
  std::vector<std::string> archived_entry_ids;  // in the history, no longer in the stream
  int64_t total = 0;
};

class LedgerStore {
 public:
  virtual ~LedgerStore() = default;
  // One atomic write. ALREADY_EXISTS same request id with another payload;
  // RESOURCE_EXHAUSTED over the daily cap; NOT_FOUND unknown account;
  // PERMISSION_DENIED the account is not a citizen.
  virtual absl::StatusOr<RecordedAction> Append(const PreparedAction& action) = 0;
  // Many writes in one pipelined round trip (e.g. re-running an event's
  // credits); one status per action, in order.
  virtual std::vector<absl::Status> AppendMany(const std::vector<PreparedAction>& actions) = 0;
  // The stored first result of (account, request id), if any; ALREADY_EXISTS
  // if it was recorded with another fingerprint.
  virtual absl::StatusOr<std::optional<RecordedAction>> FindReplay(
      absl::string_view account_id, absl::string_view request_id,
      absl::string_view fingerprint) = 0;
  virtual absl::StatusOr<HistoryPage> History(absl::string_view account_id, int64_t offset,
                                              int64_t limit) = 0;
  virtual absl::StatusOr<ImpactSnapshot> Impact(absl::string_view account_id,
                                                const PeriodKeys& periods) = 0;
};

struct LedgerStoreOptions {
  absl::Duration idempotency_ttl = absl::Hours(24 * 8);
};

class RedisLedgerStore : public LedgerStore {
 public:
  RedisLedgerStore(RedisClient* redis, KeySpace keys, LedgerStoreOptions options);
  absl::StatusOr<RecordedAction> Append(const PreparedAction& action) override;
  std::vector<absl::Status> AppendMany(const std::vector<PreparedAction>& actions) override;
  absl::StatusOr<std::optional<RecordedAction>> FindReplay(
      absl::string_view account_id, absl::string_view request_id,
      absl::string_view fingerprint) override;
  absl::StatusOr<HistoryPage> History(absl::string_view account_id, int64_t offset,
                                      int64_t limit) override;
  absl::StatusOr<ImpactSnapshot> Impact(absl::string_view account_id,
                                        const PeriodKeys& periods) override;

  // The KEYS and ARGV of the record_action script for `action`, exactly as
  // Append sends them (public for bench/ledgergen, which hands them to
  // redis-benchmark for the Redis ceiling).
  RedisClient::ScriptCall Call(const PreparedAction& action) const;

 private:
  absl::StatusOr<RecordedAction> Interpret(const PreparedAction& action,
                                           const RedisValue& reply) const;
  RedisClient* redis_;
  KeySpace keys_;
  LedgerStoreOptions options_;
};

// Formats a quantity in thousandths of a unit for messages: 2500 -> "2.5".
std::string FormatMilli(int64_t milli);

}  // namespace ecoact::actions
