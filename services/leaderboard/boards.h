// Which boards exist and which ledger totals feed them (domain code: no gRPC,
// no Redis).
//
// A board is scope x period x metric, named "<scope>:<scope id>:<period
// key>:<metric>", e.g. "city::2026-W48:pts" or "ward:nakahara:2026-11:co2".
// A citizen's score on a board is the exact total of their ledger entries in
// that period and scope, read from their totals hash (field "pts", "co2",
// "pts@w:<ward>", "co2@t:<team>", ...). Setting an absolute score (instead of
// adding increments) makes applying an entry twice harmless: that is how the
// projector is exactly-once across crashes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ecoact/v1/actions.pb.h"
#include "ecoact/v1/leaderboard.pb.h"
#include "services/common/periods.h"

namespace ecoact::leaderboard {

struct BoardTarget {
  std::string board;              // board name
  std::string totals_period_key;  // "all" or the period key of the totals hash
  std::string totals_field;       // field of that hash holding the score
  std::optional<absl::Time> expire_at;  // nullopt for all-time boards
};

struct BoardOptions {
  // How long a finished period's board stays readable after it ended; the
  // totals behind it live at least as long (RecorderOptions).
  absl::Duration retention = absl::Hours(24 * 35);
};

// Every board an entry (recorded under `ward`/`team` at `occurred_at`)
// contributes to: city/ward/team x all/month/week/day x points/co2, plus
// the all-time event board of a weigh-in.
std::vector<BoardTarget> TargetsForEntry(const v1::LedgerEntry& entry,
                                         const CityCalendar& calendar,
                                         const BoardOptions& options);

struct ResolvedBoard {
  std::string board;
  std::string period_key;                 // "all" for all time
  std::optional<absl::Time> period_ends;  // next reset
};

// Validates a BoardRef and names the board for the period containing `now`.
// `own_ward`/`own_team` fill an empty scope_id for GetMyRank.
absl::StatusOr<ResolvedBoard> ResolveBoard(const v1::BoardRef& ref, const CityCalendar& calendar,
                                           absl::Time now, absl::string_view own_ward = "",
                                           absl::string_view own_team = "");

}  // namespace ecoact::leaderboard
