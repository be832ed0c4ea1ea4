// The ledger entry as stored in a shard's Redis stream: the contract between
// the actions service (writer) and its readers (leaderboard projector,
// rebuild, history). Field names are short because every entry carries them.
//
//   acct account id   req request id   type action type   cat category
//   qty quantity in thousandths of the unit   unit Unit enum number
//   co2 grams CO2e    pts points        fv factor tag "<type>@v<n>"
//   occ occurred (unix ms)   rec recorded (unix ms)
//   ward, team, org  of the account when the action occurred   src "self" | "staff"
//   camp  comma-separated campaign ids matched   bonus  campaign bonus points (in pts)
//   event  event id of a staff weigh-in   by  staff login who logged it
//   cnt  how the entry changes the action count when not 1 (0 adjustment,
//        -1 void); absent means 1
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ecoact/v1/actions.pb.h"
#include "services/common/redis.h"

namespace ecoact {

struct StoredEntry {
  std::string account_id;
  std::string source;
  std::string logged_by;
  int count_delta = 1;    // 1 action, 0 adjustment, -1 void (field `cnt`)
  v1::LedgerEntry entry;  // entry_id, figures, times, ward, team, org, campaigns
};

// Decodes a stream entry as returned by XRANGE/XREADGROUP: [id, [f, v, ...]].
// INTERNAL if a required field is missing or malformed.
absl::StatusOr<StoredEntry> DecodeStreamEntry(const RedisValue& entry);

// Reads a whole ledger stream in order, 10,000 entries per round trip, and
// hands each decoded entry to `visit` (the rebuilds); stops at the first
// error, of Redis, of decoding or of `visit`. `start` is XRANGE's start:
// "(<id>" reads after an id (the archived part, services/archive/archiver.h).
absl::Status ForEachLedgerEntry(RedisClient* redis, const std::string& stream,
                                const std::function<absl::Status(const StoredEntry&)>& visit,
                                const std::string& start = "-");

}  // namespace ecoact
