// The Redis key schema (docs/keys.md). Every key carries a hash tag so that
// each Lua script touches a single slot and runs unchanged on Redis Cluster:
//
//   <p>:{s<N>}:acct:<id>          hash    account and profile      (shard N)
//   <p>:{s<N>}:req:<id>:<req>     string  idempotency record       (shard N)
//   <p>:{s<N>}:ledger             stream  the ledger of shard N    (shard N)
//   <p>:{s<N>}:tot:<id>:<period>  hash    the account's totals     (shard N)
//   <p>:{s<N>}:hist:<id>          zset    the account's entry ids  (shard N)
//   <p>:{s<N>}:agg:<period>       hash    the shard's group sums   (shard N)
//   <p>:{s<N>}:days:<id>          string  bitmap of active days    (shard N)
//   <p>:{s<N>}:streak:<id>        hash    last, cur, best          (shard N)
//   <p>:{s<N>}:badges:<id>        hash    badge id -> award JSON   (shard N)
//   <p>:{s<N>}:rtf:<id>           hash    refresh token families   (shard N)
//   <p>:{oidc:<H>}                string  OIDC identity -> account (own slot)
//   <p>:{campaigns}:def           hash    campaign id -> JSON      (own slot)
//   <p>:{b:<board>}               zset    one leaderboard          (own slot)
//   <p>:{org}:team:<id>, org:<id>  hash    teams, organisations     ({org})
//   <p>:{org}:code:<CODE>         string  join code -> team:/org:  ({org})
//   <p>:{org}:teams, orgs         set     every team / org id      ({org})
//   <p>:{org}:members:t|o:<id>    set     current members          ({org})
//   <p>:{projector}:resync        set     accounts whose board entries the
//                                         projector must re-derive
//   <p>:{rl:<subject>}:<rpc>      hash    rate-limit bucket (rate_limit.h)
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
  // Sums of shard `shard`'s accounts per group for one period ("all",
  // "2026-11", ...), written by RecordAction next to the account totals.
  std::string Aggregate(int shard, absl::string_view period_key) const;
  // Rewards kept next to the account's ledger (docs/gamification.md): the
  // bitmap of active local days, the streak and the badges awarded.
  std::string ActiveDays(absl::string_view id) const;
  std::string Streak(absl::string_view id) const;
  std::string Badges(absl::string_view id) const;
  // The account's refresh token families (family id -> JSON state), next to
  // the account hash so a refresh checks the account in the same script.
  std::string RefreshFamilies(absl::string_view id) const;
  // The account linked to an OpenID Connect identity; `identity_hash` is the
  // hex SHA-256 of "<issuer>\n<subject>".
  std::string OidcLink(absl::string_view identity_hash) const;
  // Campaign definitions (hash id -> JSON), in their own slot.
  std::string Campaigns() const;
  // `board` is a board name such as "city::2026-W48:pts".
  std::string Board(absl::string_view board) const;
  // Prefix of every key in shard `shard`, for SCAN during a rebuild.
  std::string ShardPrefix(int shard) const;

  // Teams and organisations (docs/gamification.md), all in the {org} slot so
  // that creating one with its join code is one atomic script.
  std::string Team(absl::string_view id) const;
  std::string Organisation(absl::string_view id) const;
  std::string JoinCode(absl::string_view code) const;
  std::string TeamIds() const;
  std::string OrganisationIds() const;
  std::string TeamMembers(absl::string_view id) const;
  std::string OrganisationMembers(absl::string_view id) const;

  // Accounts whose public board entries the projector must re-derive (their
  // `hidden` or `test` flag changed, or the account was deleted).
  std::string ResyncQueue() const;
  // Accounts the projector took from ResyncQueue() and has not finished
  // re-deriving (SMOVE in, SREM once done), in the same slot: a projector
  // that fails or dies half-way leaves them here for the next cycle.
  std::string ResyncClaimed() const;

 private:
  std::string ShardTag(absl::string_view id) const;
  std::string prefix_;
  int shards_;
};

}  // namespace ecoact
