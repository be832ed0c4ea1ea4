// Which boards exist and which ledger totals feed them (domain code: no gRPC,
// no Redis).
//
// A board is scope x period x metric, named "<scope>:<scope id>:<period
// key>:<metric>", e.g. "city::2026-W48:pts" or "ward:nakahara:2026-11:co2".
//
// Citizen boards (members: account ids): city, ward, team, org x all/month/
// week/day, and event/campaign boards (all time). A citizen's score is the
// exact total of their ledger entries in that period and scope, read from
// their totals hash (field "pts", "co2", "pts@w:<ward>", "co2@t:<team>",
// "pts@o:<org>", "pts@c:<campaign>", ...).
//
// Group boards (members: group ids) rank teams, organisations and wards city
// wide: "teams::<period>:<metric>" (the group's total) and
// "teams-avg::<period>:<metric>" (total / active members, floor). A group's
// total is the sum of one field over every shard's aggregate hash
// `agg:<period>` ("pts@t:<team>"; active members "act@t:<team>").
//
// "audit:<day>:co2" is every citizen's day CO2, unfiltered, for the admins'
// outlier view.
//
// Every score is an absolute value read from a hash the RecordAction script
// keeps, never an increment: applying an entry twice is harmless, which is
// how the projector is exactly-once across crashes.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ecoact/v1/actions.pb.h"
#include "ecoact/v1/leaderboard.pb.h"
#include "services/common/periods.h"

namespace ecoact::leaderboard {

enum class BoardKind {
  kCitizen,  // account ids, privacy-filtered (hidden, test, min actions)
  kAudit,    // account ids, unfiltered, admins only
  kGroup,    // group ids (team, organisation, ward)
};

struct BoardTarget {
  std::string board;              // board name
  std::string totals_period_key;  // "all" or the period key of the totals/aggregate hash
  // kCitizen/kAudit: field of the account's totals hash holding the score.
  // kGroup: field of the shard aggregates whose sum is the group's total.
  std::string totals_field;
  std::optional<absl::Time> expire_at;  // nullopt for all-time boards
  BoardKind kind = BoardKind::kCitizen;
  std::string group_id;      // kGroup: the member
  std::string active_field;  // kGroup per-active-member boards: "act@t:<team>"; else empty
};

struct BoardOptions {
  // How long a finished period's board stays readable after it ended; the
  // totals behind it live at least as long (RecorderOptions).
  absl::Duration retention = absl::Hours(24 * 35);
  // Parts of each city-wide citizen board (board_layout.h); 1: one key per
  // board. Projector, rebuild and reads must agree (--board_partitions).
  int partitions = 1;
};

// Every board an entry (recorded under its ward/team/organisation at
// `occurred_at`) contributes to: citizen boards city/ward/team/org x
// all/month/week/day x points/co2, the all-time event and campaign boards,
// the group boards of its ward, team and organisation (total and per active
// member), and the day's audit board.
std::vector<BoardTarget> TargetsForEntry(const v1::LedgerEntry& entry,
                                         const CityCalendar& calendar,
                                         const BoardOptions& options);

// The citizen boards (never audit or group boards) that the fields of one
// totals hash feed, with their scores: what the projector re-derives for an
// account whose visibility changed. `period_key` is the hash's period ("all",
// "2026-11", ...); event and campaign fields count in "all" only.
std::vector<std::pair<std::string, int64_t>> CitizenBoardsFromTotals(
    absl::string_view period_key, const std::vector<std::pair<std::string, std::string>>& fields);

// The group level of a group board: the member kind and the aggregate field tag.
struct GroupLevel {
  v1::Level level = v1::LEVEL_UNSPECIFIED;
  const char* board = "";  // "teams", "orgs", "wards"
  const char* tag = "";    // "t", "o", "w" as in "pts@t:<team>"
};

struct ResolvedBoard {
  std::string board;
  std::string period_key;                 // "all" for all time
  std::optional<absl::Time> period_ends;  // next reset
  BoardKind kind = BoardKind::kCitizen;
  // kGroup: which groups it ranks, and whether per active member.
  GroupLevel group;
  bool per_active_member = false;
  // Citizen boards of a ward/team/organisation: the aggregate field summing
  // the whole group ("pts@t:<team>", hidden members included) for a board
  // shown as a total only; empty for other boards.
  std::string group_total_field;
  // The scope id used (own ward/team/org filled in); empty for the city.
  std::string scope_id;
};

// The caller's own groups, filling an empty scope_id and marking `is_me` on
// group boards.
struct OwnGroups {
  std::string ward;
  std::string team;
  std::string org;
};

// Validates a BoardRef and names the board for the period containing `now`.
absl::StatusOr<ResolvedBoard> ResolveBoard(const v1::BoardRef& ref, const CityCalendar& calendar,
                                           absl::Time now, const OwnGroups& own);

// The group levels, in the order GetMyRanks reports them.
const std::vector<GroupLevel>& GroupLevels();

// The caller's own group at `level` (ward/team/org id); empty if none.
const std::string& OwnGroupAt(const OwnGroups& own, v1::Level level);

// Names of a group board, e.g. ("teams", true, "2026-W48", POINTS) ->
// "teams-avg::2026-W48:pts".
std::string GroupBoardName(const GroupLevel& level, bool per_active_member,
                           absl::string_view period_key, v1::Metric metric);

// "audit:<day>:co2" (the contract's name: one board per day, no scope id).
std::string AuditBoardName(absl::string_view day_key);

// A board the calling citizen belongs to (GetMyRanks).
struct MyBoard {
  v1::BoardRef ref;
  ResolvedBoard resolved;
  std::string group_id;  // group boards: the caller's group (the member); else empty
};

// Every board a citizen belongs to at `now`: city and own ward/team/org x
// all/month/week/day x points/co2, the all-time campaign and event boards
// they have a score on (fields "pts@c:<id>"/"pts@e:<id>" of their all-time
// totals), and their groups on the group boards (total and per member).
std::vector<MyBoard> BoardsOfCitizen(const OwnGroups& own,
                                     const std::vector<std::pair<std::string, std::string>>& all_time,
                                     const CityCalendar& calendar, absl::Time now);

// "pts" or "co2".
const char* MetricField(v1::Metric metric);

}  // namespace ecoact::leaderboard
