// The Redis key schema (docs/keys.md). Every key carries a hash tag so that
// each Lua script touches a single slot and runs unchanged on Redis Cluster:
//
//   <p>:{s<N>}:acct:<id>          hash    account and profile      (shard N)
//   <p>:{s<N>}:req:<id>:<req>     string  idempotency record       (shard N)
//   <p>:{s<N>}:ledger             stream  the ledger of shard N    (shard N)
//   <p>:{s<N>}:tot:<id>:<period>  hash    the account's totals     (shard N)
//   <p>:{s<N>}:hist:<id>          zset    the account's entry ids  (shard N)
//   <p>:{b:<board>}               zset    one leaderboard          (own slot)
//
// An account belongs to shard N = FNV-1a(account id) mod shard count, so an
// account's keys and its shard's ledger stream share one slot and the
// RecordAction script is one atomic round trip.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace ecoact {

class KeySpace {
 public:
  KeySpace(std::string prefix, int shards) : prefix_(std::move(prefix)), shards_(shards) {}

  int shards() const { return shards_; }
  const std::string& prefix() const { return prefix_; }
  int ShardOf(absl::string_view account_id) const;

  std::string Account(absl::string_view id) const;
  std::string Request(absl::string_view id, absl::string_view request_id) const;
  std::string Ledger(int shard) const;
  std::string Totals(absl::string_view id, absl::string_view period_key) const;
  std::string History(absl::string_view id) const;
  // `board` is a board name such as "city::2026-W48:pts".
  std::string Board(absl::string_view board) const;
  // Set of account ids whose board entries the projector must re-derive
  // (hidden/test changed): "<prefix>:{projector}:resync".
  std::string ResyncQueue() const;
  // Prefix of every key in shard `shard`, for SCAN during a rebuild.
  std::string ShardPrefix(int shard) const;

 private:
  std::string ShardTag(absl::string_view id) const;
  std::string prefix_;
  int shards_;
};

}  // namespace ecoact
