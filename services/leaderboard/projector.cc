#include "services/leaderboard/projector.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "leaderboard_lua.h"
#include "services/archive/archiver.h"
#include "services/common/arith.h"
#include "services/common/log.h"
#include "services/common/status_macros.h"

namespace ecoact::leaderboard {
namespace {

// Hash maps: the batch's keys share long prefixes ("city::2026-11-29:"),
// which makes ordered maps spend their time in memcmp.
template <typename V>
using PairMap = absl::flat_hash_map<std::pair<std::string, std::string>, V>;

}  // namespace

Projector::Projector(RedisClient* redis, const KeySpace* keys, const CityCalendar* calendar,
                     ProjectorOptions options)
    : redis_(redis),
      keys_(keys),
      calendar_(calendar),
      options_(std::move(options)),
      layout_(keys, options_.boards.partitions) {}

Projector::~Projector() { Stop(); }

absl::Status Projector::EnsureGroups() {
  // A group created on a trimmed ledger is logged as an error (the boards
  // then lack the archived entries until a rebuild with --archive_dir).
  RETURN_IF_ERROR(
      archive::CreateConsumerGroups(redis_, *keys_, options_.group, "leaderboards").status());
  groups_ready_ = true;
  return absl::OkStatus();
}

absl::StatusOr<int> Projector::RunOnce() { return Cycle(true); }
absl::StatusOr<int> Projector::RunOnceWithoutAck() { return Cycle(false); }

std::string ProjectorLeaseKey(const KeySpace& keys) {
  return absl::StrCat(keys.prefix(), ":{projector}:lease");
}

namespace {

const LuaScript& LeaseScript() {
  static const LuaScript script("lease", embedded::kLeaseLua);
  return script;
}

}  // namespace

absl::StatusOr<bool> Projector::HoldLease() {
  const absl::Time now = absl::Now();
  if (holds_lease_ && now - lease_renewed_ < options_.lease_ttl / 3) return true;
  ASSIGN_OR_RETURN(RedisValue held,
                   redis_->Eval(LeaseScript(), {ProjectorLeaseKey(*keys_)},
                                {options_.consumer,
                                 absl::StrCat(absl::ToInt64Milliseconds(options_.lease_ttl)), "0"}));
  const bool was_holding = holds_lease_;
  holds_lease_ = held.integer == 1;
  if (!holds_lease_) return false;
  lease_renewed_ = now;
  if (!was_holding) {
    if (!groups_ready_) RETURN_IF_ERROR(EnsureGroups());
    RETURN_IF_ERROR(ClaimOrphans());
    recovering_ = true;
  }
  return true;
}

absl::Status Projector::ClaimOrphans() {
  int64_t claimed = 0;
  for (int shard = 0; shard < keys_->shards(); ++shard) {
    std::string cursor = "0-0";
    do {
      ASSIGN_OR_RETURN(RedisValue reply,
                       redis_->Command({"XAUTOCLAIM", keys_->Ledger(shard), options_.group,
                                        options_.consumer, "0", cursor, "COUNT", "1000",
                                        "JUSTID"}));
      if (reply.elements.size() < 2) return absl::InternalError("XAUTOCLAIM: short reply");
      cursor = reply.elements[0].str;
      claimed += static_cast<int64_t>(reply.elements[1].elements.size());
    } while (cursor != "0-0");
  }
  if (claimed > 0) {
    LogInfo("projector: took over unacknowledged entries", {{"entries", claimed}});
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Projector::Cycle(bool acknowledge) {
  if (!groups_ready_) RETURN_IF_ERROR(EnsureGroups());
  ASSIGN_OR_RETURN(bool held, HoldLease());
  if (!held) return 0;
  std::vector<std::string> command = {"XREADGROUP", "GROUP", options_.group, options_.consumer,
                                      "COUNT", absl::StrCat(options_.batch)};
  if (!recovering_) {
    command.push_back("BLOCK");
    command.push_back(absl::StrCat(absl::ToInt64Milliseconds(options_.block)));
  }
  command.push_back("STREAMS");
  for (int shard = 0; shard < keys_->shards(); ++shard) command.push_back(keys_->Ledger(shard));
  for (int shard = 0; shard < keys_->shards(); ++shard) command.push_back(recovering_ ? "0" : ">");
  auto reply = redis_->Command(command);
  if (!reply.ok()) {
    if (absl::StrContains(reply.status().message(), "NOGROUP")) groups_ready_ = false;
    // In cluster mode the read is split per slot: some shards may have
    // delivered entries before another failed. Read our own pending entries
    // first next time, or they would stay pending until a lease change.
    recovering_ = true;
    return reply.status();
  }
  std::map<std::string, int> shard_of_stream;
  for (int shard = 0; shard < keys_->shards(); ++shard) shard_of_stream[keys_->Ledger(shard)] = shard;
  std::vector<std::pair<int, StoredEntry>> entries;
  for (const RedisValue& stream : reply->elements) {
    if (stream.elements.size() != 2) continue;
    int shard = shard_of_stream[stream.elements[0].str];
    for (const RedisValue& raw : stream.elements[1].elements) {
      auto entry = DecodeStreamEntry(raw);
      if (!entry.ok()) {
        // A malformed entry would block the stream forever; log and skip it.
        LogError("projector: skipping malformed ledger entry",
                 {{"reason", std::string(entry.status().message())}});
        StoredEntry skipped;
        skipped.entry.set_entry_id(raw.elements.empty() ? "" : raw.elements[0].str);
        entries.emplace_back(shard, std::move(skipped));
        continue;
      }
      entries.emplace_back(shard, *std::move(entry));
    }
  }
  if (recovering_ && entries.empty()) {
    // Own pending entries drained: go on with new ones in the same call.
    recovering_ = false;
    return Cycle(acknowledge);
  }
  if (entries.empty()) {
    // Idle: still serve accounts whose visibility changed.
    ASSIGN_OR_RETURN(std::vector<RedisValue> samples, redis_->Pipeline(SampleResync()));
    ASSIGN_OR_RETURN(std::vector<std::string> accounts, ClaimResync(samples[0], samples[1]));
    RETURN_IF_ERROR(Resync(std::move(accounts)));
    return 0;
  }
  std::vector<std::string> claimed;
  absl::Status applied = Apply(entries, acknowledge, &claimed);
  if (!applied.ok()) {
    recovering_ = true;  // the delivered entries are still pending: read them again
    (void)Resync(std::move(claimed));  // best effort: what fails stays claimed
    return applied;
  }
  RETURN_IF_ERROR(Resync(std::move(claimed)));
  return static_cast<int>(entries.size());
}

namespace {

bool ParseInt(const RedisValue& v, int64_t* out) {
  return !v.IsNil() && absl::SimpleAtoi(v.str, out);
}

Visibility VisibilityOf(const RedisValue& flags, const RedisValue& actions) {
  Visibility v;
  if (flags.elements.size() == 3) {  // HMGET hidden test role
    v.hidden = flags.elements[0].str == "1";
    v.test = flags.elements[1].str == "1";
    v.deleted = flags.elements[2].str == "deleted";
  }
  ParseInt(actions, &v.actions);
  return v;
}

}  // namespace

namespace {

// What TargetsForEntry depends on: the entry's ward, team, organisation,
// event, campaigns and local day. A batch has few distinct shapes (a ward's
// citizens on one day share one), so targets are built once per shape.
std::string ShapeKey(const v1::LedgerEntry& entry, absl::CivilDay day) {
  return absl::StrCat(entry.ward(), "\x1f", entry.team(), "\x1f", entry.organisation(), "\x1f",
                      entry.event_id(), "\x1f", absl::StrJoin(entry.campaign_ids(), ","), "\x1f",
                      day.year(), "-", day.month(), "-", day.day());
}

}  // namespace

absl::Status Projector::Apply(const std::vector<std::pair<int, StoredEntry>>& entries,
                              bool acknowledge, std::vector<std::string>* claimed) {
  // Every string_view below points into `shapes` or `accounts`, which are
  // not resized once filled.
  std::vector<std::vector<BoardTarget>> shapes;
  absl::flat_hash_map<std::string, size_t> shape_of_key;
  struct Account {
    std::string id;
    std::vector<size_t> shapes;  // distinct, first seen first
  };
  std::vector<Account> accounts;
  accounts.reserve(entries.size());
  absl::flat_hash_map<absl::string_view, size_t> account_of_id;
  for (const auto& [shard, stored] : entries) {
    if (stored.account_id.empty()) continue;
    const absl::CivilDay day = calendar_->LocalDay(absl::FromUnixMillis(
        google::protobuf::util::TimeUtil::TimestampToMilliseconds(stored.entry.occurred_at())));
    auto [shape, new_shape] = shape_of_key.try_emplace(ShapeKey(stored.entry, day), shapes.size());
    if (new_shape) shapes.push_back(TargetsForEntry(stored.entry, *calendar_, options_.boards));
    auto found = account_of_id.find(stored.account_id);
    if (found == account_of_id.end()) {
      accounts.push_back(Account{stored.account_id, {}});
      found = account_of_id.emplace(accounts.back().id, accounts.size() - 1).first;
    }
    std::vector<size_t>& mine = accounts[found->second].shapes;
    if (std::find(mine.begin(), mine.end(), shape->second) == mine.end()) {
      mine.push_back(shape->second);
    }
  }
  // Group boards, (board, group) -> target; aggregate fields per period;
  // expiry of every board the batch touches.
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, const BoardTarget*> groups;
  std::map<absl::string_view, std::set<absl::string_view>> agg_fields;  // period -> fields
  absl::flat_hash_map<absl::string_view, absl::Time> expiries;
  for (const std::vector<BoardTarget>& targets : shapes) {
    for (const BoardTarget& t : targets) {
      if (t.expire_at) expiries[t.board] = *t.expire_at;
      if (t.kind != BoardKind::kGroup) continue;
      agg_fields[t.totals_period_key].insert(t.totals_field);
      if (!t.active_field.empty()) agg_fields[t.totals_period_key].insert(t.active_field);
      groups[{t.board, t.group_id}] = &t;
    }
  }
  // One read pipeline: each account's totals (one HMGET per period it
  // touches), its flags and all-time action count, whether it is already on
  // the city board, and one HMGET per shard aggregate and period.
  struct TotalsRead {
    size_t account;
    absl::string_view period;
    std::vector<absl::string_view> fields;
  };
  std::vector<TotalsRead> totals_reads;
  std::vector<std::vector<std::string>> reads;
  for (size_t a = 0; a < accounts.size(); ++a) {
    std::map<absl::string_view, std::vector<absl::string_view>> fields_of_period;
    for (size_t shape : accounts[a].shapes) {
      for (const BoardTarget& t : shapes[shape]) {
        if (t.kind != BoardKind::kGroup) {
          fields_of_period[t.totals_period_key].push_back(t.totals_field);
        }
      }
    }
    for (auto& [period, fields] : fields_of_period) {
      std::sort(fields.begin(), fields.end());
      fields.erase(std::unique(fields.begin(), fields.end()), fields.end());
      std::vector<std::string> command = {"HMGET", keys_->Totals(accounts[a].id, period)};
      for (absl::string_view field : fields) command.emplace_back(field);
      reads.push_back(std::move(command));
      totals_reads.push_back(TotalsRead{a, period, std::move(fields)});
    }
  }
  const size_t account_reads = reads.size();
  for (const Account& account : accounts) {
    reads.push_back({"HMGET", keys_->Account(account.id), "hidden", "test", "role"});
    reads.push_back({"HGET", keys_->Totals(account.id, "all"), "n"});
    reads.push_back({"ZSCORE", layout_.KeyOf("city::all:pts", account.id), account.id});
  }
  const size_t agg_reads = reads.size();
  for (const auto& [period, fields] : agg_fields) {
    for (int shard = 0; shard < keys_->shards(); ++shard) {
      std::vector<std::string> command = {"HMGET", keys_->Aggregate(shard, period)};
      for (absl::string_view field : fields) command.emplace_back(field);
      reads.push_back(std::move(command));
    }
  }
  std::vector<RedisValue> replies;
  if (!reads.empty()) {
    ASSIGN_OR_RETURN(replies, redis_->Pipeline(reads));
    for (size_t i = 0; i < reads.size(); ++i) {
      if (replies[i].IsError()) return RedisErrorToStatus("projector read", replies[i].str);
    }
  }
  // (account, period, field) -> the account's total after the batch.
  std::vector<absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>,
                                  const std::string*>>
      values(accounts.size());
  for (size_t i = 0; i < account_reads; ++i) {
    const TotalsRead& read = totals_reads[i];
    for (size_t f = 0; f < read.fields.size(); ++f) {
      const RedisValue& v = replies[i].elements[f];
      if (!v.IsNil()) values[read.account][{read.period, read.fields[f]}] = &v.str;
    }
  }
  std::vector<Visibility> visibility(accounts.size());
  // Accounts whose visibility changed: re-derived on every board (resync).
  std::set<absl::string_view> visibility_changed;
  for (size_t a = 0, i = account_reads; a < accounts.size(); ++a, i += 3) {
    Visibility v = VisibilityOf(replies[i], replies[i + 1]);
    // Visible but not yet on the city board: it just became visible (or is
    // new), so earlier periods' boards must get it too. Invisible but still
    // on it: a void took it below --board_min_actions, so it must leave
    // every board, not only those this batch touches.
    const bool on_city_board = !replies[i + 2].IsNil();
    if (v.Visible(options_.min_actions) != on_city_board) {
      visibility_changed.insert(accounts[a].id);
    }
    visibility[a] = v;
  }
  PairMap<std::pair<int64_t, bool>> agg;  // (period, field) -> sum, present
  {
    size_t i = agg_reads;
    for (const auto& [period, fields] : agg_fields) {
      for (int shard = 0; shard < keys_->shards(); ++shard, ++i) {
        size_t f = 0;
        for (absl::string_view field : fields) {
          int64_t value = 0;
          if (ParseInt(replies[i].elements[f++], &value)) {
            auto& [sum, present] = agg[{std::string(period), std::string(field)}];
            sum += value;
            present = true;
          }
        }
      }
    }
  }
  // One ZADD (score, member, ...) and one ZREM per board key (per part of
  // a partitioned board).
  absl::flat_hash_map<std::string, std::vector<std::string>> zadd, zrem;
  auto append = [&](absl::flat_hash_map<std::string, std::vector<std::string>>& commands,
                    const char* verb, absl::string_view board,
                    absl::string_view member) -> std::vector<std::string>& {
    std::string key = layout_.KeyOf(board, member);
    std::vector<std::string>& command = commands[key];
    if (command.empty()) command = {verb, std::move(key)};
    return command;
  };
  for (size_t a = 0; a < accounts.size(); ++a) {
    const Account& account = accounts[a];
    const Visibility& v = visibility[a];
    // An account with entries of several shapes meets some boards twice.
    absl::flat_hash_set<absl::string_view> seen;
    for (size_t shape : account.shapes) {
      for (const BoardTarget& t : shapes[shape]) {
        if (t.kind == BoardKind::kGroup) continue;
        if (account.shapes.size() > 1 && !seen.insert(t.board).second) continue;
        if ((t.kind == BoardKind::kCitizen && !v.Visible(options_.min_actions)) ||
            (t.kind == BoardKind::kAudit && v.deleted)) {
          append(zrem, "ZREM", t.board, account.id).push_back(account.id);
          continue;
        }
        auto value = values[a].find({t.totals_period_key, t.totals_field});
        // Totals gone (period long over): leave the board as it is.
        if (value == values[a].end()) continue;
        std::vector<std::string>& command = append(zadd, "ZADD", t.board, account.id);
        command.push_back(*value->second);
        command.push_back(account.id);
      }
    }
  }
  for (const auto& [id, t] : groups) {
    auto total = agg.find({t->totals_period_key, t->totals_field});
    if (total == agg.end()) continue;  // aggregate gone with its period
    int64_t score = total->second.first;
    if (!t->active_field.empty()) {
      auto active = agg.find({t->totals_period_key, t->active_field});
      if (active == agg.end() || active->second.first <= 0) continue;
      score = FloorDiv(score, active->second.first);
    }
    std::vector<std::string>& command = append(zadd, "ZADD", t->board, t->group_id);
    command.push_back(absl::StrCat(score));
    command.push_back(t->group_id);
  }
  std::vector<std::vector<std::string>> writes;
  for (auto& [board, command] : zadd) writes.push_back(std::move(command));
  for (auto& [board, command] : zrem) writes.push_back(std::move(command));
  for (const auto& [board, at] : expiries) {
    for (const std::string& key : layout_.Keys(board)) {
      writes.push_back({"EXPIREAT", key, absl::StrCat(absl::ToUnixSeconds(at))});
    }
  }
  if (!visibility_changed.empty()) {
    std::vector<std::string> command = {"SADD", keys_->ResyncQueue()};
    for (absl::string_view account : visibility_changed) command.emplace_back(account);
    writes.push_back(std::move(command));
  }
  // The board writes first, every reply checked, and only then the XACKs:
  // in cluster mode a pipeline is split per node, and one node failing
  // mid-pipeline must not leave entries acknowledged whose board writes did
  // not land (they stay pending, are read again and re-applied; the scores
  // are absolute, so that is harmless).
  if (!writes.empty()) {
    ASSIGN_OR_RETURN(std::vector<RedisValue> written, redis_->Pipeline(writes));
    for (const RedisValue& reply : written) {
      if (reply.IsError()) return RedisErrorToStatus("projector write", reply.str);
    }
  }
  std::vector<std::vector<std::string>> acks;
  if (acknowledge) {
    std::map<int, std::vector<std::string>> ids;
    for (const auto& [shard, stored] : entries) ids[shard].push_back(stored.entry.entry_id());
    for (auto& [shard, list] : ids) {
      std::vector<std::string> command = {"XACK", keys_->Ledger(shard), options_.group};
      command.insert(command.end(), list.begin(), list.end());
      acks.push_back(std::move(command));
    }
  }
  // The resync sets are only sampled here (read-only): a pipeline that
  // fails as a whole (a node gone, a connection dropped) loses no account.
  for (std::vector<std::string>& sample : SampleResync()) acks.push_back(std::move(sample));
  ASSIGN_OR_RETURN(std::vector<RedisValue> acked, redis_->Pipeline(acks));
  const RedisValue& queued_sample = acked[acked.size() - 1];
  const RedisValue& claimed_sample = acked[acked.size() - 2];
  // Accounts are re-derived even if an XACK failed; the entries of a failed
  // XACK are read and applied again.
  if (!claimed_sample.IsError() && !queued_sample.IsError()) {
    auto accounts = ClaimResync(claimed_sample, queued_sample);
    if (accounts.ok()) *claimed = *std::move(accounts);
  }
  for (const RedisValue& reply : acked) {
    if (reply.IsError()) return RedisErrorToStatus("projector acknowledge", reply.str);
  }
  return absl::OkStatus();
}

std::vector<std::vector<std::string>> Projector::SampleResync() const {
  const std::string count = absl::StrCat(options_.resync_batch);
  return {{"SRANDMEMBER", keys_->ResyncClaimed(), count},
          {"SRANDMEMBER", keys_->ResyncQueue(), count}};
}

absl::StatusOr<std::vector<std::string>> Projector::ClaimResync(
    const RedisValue& claimed_sample, const RedisValue& queued_sample) {
  if (claimed_sample.IsError()) return RedisErrorToStatus("projector resync", claimed_sample.str);
  if (queued_sample.IsError()) return RedisErrorToStatus("projector resync", queued_sample.str);
  std::set<std::string> accounts;
  for (const RedisValue& v : claimed_sample.elements) accounts.insert(v.str);
  std::vector<std::vector<std::string>> moves;
  for (const RedisValue& v : queued_sample.elements) {
    if (accounts.size() + moves.size() >= static_cast<size_t>(options_.resync_batch)) break;
    if (accounts.count(v.str) > 0) continue;
    moves.push_back({"SMOVE", keys_->ResyncQueue(), keys_->ResyncClaimed(), v.str});
  }
  if (!moves.empty()) {
    ASSIGN_OR_RETURN(std::vector<RedisValue> moved, redis_->Pipeline(moves));
    for (size_t i = 0; i < moved.size(); ++i) {
      // 0: another cycle took it meanwhile; an error: it stays queued.
      if (!moved[i].IsError() && moved[i].integer == 1) accounts.insert(moves[i].back());
    }
  }
  return std::vector<std::string>(accounts.begin(), accounts.end());
}

absl::Status Projector::Resync(std::vector<std::string> accounts) {
  // Bounded so a flood of changes cannot keep the ledger waiting forever.
  for (int round = 0; round < 100; ++round) {
    if (accounts.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(ResyncBatch(accounts));
    std::vector<std::string> release = {"SREM", keys_->ResyncClaimed()};
    release.insert(release.end(), accounts.begin(), accounts.end());
    ASSIGN_OR_RETURN(RedisValue released, redis_->Command(release));
    if (released.IsError()) return RedisErrorToStatus("projector resync", released.str);
    if (static_cast<int>(accounts.size()) < options_.resync_batch) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<RedisValue> samples, redis_->Pipeline(SampleResync()));
    ASSIGN_OR_RETURN(accounts, ClaimResync(samples[0], samples[1]));
  }
  return absl::OkStatus();
}

absl::Status Projector::ResyncBatch(const std::vector<std::string>& accounts) {
  // Every period whose boards may still exist: ends after now - retention.
  const absl::Time now = absl::Now();
  const absl::Duration retention = options_.boards.retention;
  std::map<std::string, std::optional<absl::Time>> periods = {{"all", std::nullopt}};
  const absl::CivilDay today = calendar_->LocalDay(now);
  const int64_t back = absl::ToInt64Hours(retention) / 24 + 33;
  std::set<std::string> day_keys;  // a deleted account also leaves their audit boards
  for (absl::CivilDay day = today - back; day <= today; ++day) {
    const absl::Time t = calendar_->StartOf(day) + absl::Hours(12);
    const PeriodKeys keys = calendar_->KeysAt(t);
    day_keys.insert(keys.day);
    for (const auto& [key, end] : {std::make_pair(keys.day, calendar_->DayEnd(t)),
                                   std::make_pair(keys.week, calendar_->WeekEnd(t)),
                                   std::make_pair(keys.month, calendar_->MonthEnd(t))}) {
      if (end + retention > now) periods[key] = end + retention;
    }
  }
  std::vector<std::vector<std::string>> reads;
  for (const std::string& account : accounts) {
    reads.push_back({"HMGET", keys_->Account(account), "hidden", "test", "role"});
    for (const auto& [key, unused] : periods) reads.push_back({"HGETALL", keys_->Totals(account, key)});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(reads));
  std::vector<std::vector<std::string>> writes;
  size_t i = 0;
  for (const std::string& account : accounts) {
    const RedisValue& flags = replies[i++];
    if (flags.IsError()) return RedisErrorToStatus("projector resync", flags.str);
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> hashes;
    RedisValue actions;
    for (const auto& [key, unused] : periods) {
      const RedisValue& hash = replies[i++];
      if (hash.IsError()) return RedisErrorToStatus("projector resync", hash.str);
      std::vector<std::pair<std::string, std::string>> fields;
      for (size_t f = 0; f + 1 < hash.elements.size(); f += 2) {
        fields.emplace_back(hash.elements[f].str, hash.elements[f + 1].str);
        if (key == "all" && hash.elements[f].str == "n") actions = hash.elements[f + 1];
      }
      hashes.emplace_back(key, std::move(fields));
    }
    const Visibility visibility = VisibilityOf(flags, actions);
    const bool visible = visibility.Visible(options_.min_actions);
    for (const auto& [key, fields] : hashes) {
      if (visibility.deleted && day_keys.count(key) > 0) {
        writes.push_back({"ZREM", keys_->Board(AuditBoardName(key)), account});
      }
      for (const auto& [board, score] : CitizenBoardsFromTotals(key, fields)) {
        const std::string board_key = layout_.KeyOf(board, account);
        if (!visible) {
          writes.push_back({"ZREM", board_key, account});
          continue;
        }
        writes.push_back({"ZADD", board_key, absl::StrCat(score), account});
        if (periods[key]) {
          writes.push_back({"EXPIREAT", board_key,
                            absl::StrCat(absl::ToUnixSeconds(*periods[key]))});
        }
      }
    }
  }
  if (writes.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<RedisValue> written, redis_->Pipeline(writes));
  for (const RedisValue& reply : written) {
    if (reply.IsError()) return RedisErrorToStatus("projector resync write", reply.str);
  }
  return absl::OkStatus();
}

void Projector::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Projector::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  thread_.join();
  if (holds_lease_) {
    auto released = redis_->Eval(LeaseScript(), {ProjectorLeaseKey(*keys_)},
                                 {options_.consumer, "0", "0"});
    (void)released;  // if Redis is gone the lease lapses by itself
    holds_lease_ = false;
  }
}

void Projector::Loop() {
  absl::Duration backoff = absl::Milliseconds(100);
  bool failing = false;
  while (!stop_.HasBeenNotified()) {
    auto applied = RunOnce();
    if (applied.ok()) {
      if (failing) LogInfo("projector: resumed");
      failing = false;
      backoff = absl::Milliseconds(100);
      // Another process holds the lease: wait instead of spinning.
      if (!holds_lease_) {
        stop_.WaitForNotificationWithTimeout(options_.block);
      } else if (*applied > 0 && *applied < options_.batch &&
                 options_.linger > absl::ZeroDuration()) {
        stop_.WaitForNotificationWithTimeout(options_.linger);
      }
      continue;
    }
    if (!failing) {
      LogWarning("projector: cannot read the ledger, retrying",
                 {{"reason", std::string(applied.status().message())}});
    }
    failing = true;
    stop_.WaitForNotificationWithTimeout(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

absl::StatusOr<RebuildReport> RebuildBoards(RedisClient* redis, const KeySpace& keys,
                                            const CityCalendar& calendar,
                                            const BoardOptions& options, absl::Time now,
                                            int64_t min_actions, archive::ArchiveStore* archive) {
  // Refused before the projector is paused: a trimmed ledger needs the archive.
  RETURN_IF_ERROR(archive::CheckLedgerComplete(redis, archive, keys));
  RebuildReport report;
  // Pause any projector: take its lease for as long as the rebuild can take,
  // then let an in-flight projector cycle finish before reading the ledger.
  const std::string lease = ProjectorLeaseKey(keys);
  RETURN_IF_ERROR(redis->Eval(LeaseScript(), {lease}, {"rebuild", "600000", "1"}).status());
  absl::SleepFor(absl::Seconds(1));
  struct Release {
    RedisClient* redis;
    std::string key;
    ~Release() { (void)redis->Eval(LeaseScript(), {key}, {"rebuild", "0", "0"}); }
  } release{redis, lease};
  // Members (account ids and group ids) are numbered once, so the per-entry
  // work below hashes integers, not strings.
  std::vector<std::string> names;
  absl::flat_hash_map<std::string, int32_t> numbers;
  auto number = [&](const std::string& name) {
    auto [it, added] = numbers.try_emplace(name, static_cast<int32_t>(names.size()));
    if (added) names.push_back(name);
    return it->second;
  };
  // board -> member -> score; citizen boards are filtered for privacy below.
  // std::unordered_map: the resolved targets below keep pointers to its
  // values, which a rehash must not move.
  using Scores = absl::flat_hash_map<int32_t, int64_t>;
  std::unordered_map<std::string, Scores> citizen, other;
  // Group boards: (board) -> group -> (total field sum); active members per
  // (period, active field).
  std::map<std::string, std::map<int32_t, std::string>> avg_active_field;  // board->group->field
  std::map<std::string, std::string> avg_period;                         // board -> period
  std::map<std::pair<std::string, std::string>, absl::flat_hash_set<int32_t>> active;
  absl::flat_hash_map<std::string, absl::Time> expiries;
  absl::flat_hash_set<int32_t> accounts;
  // The boards an entry feeds (TargetsForEntry) are the union of parts that
  // each depend on one thing: its local day alone (city and audit boards),
  // the day and its ward, team or organisation (their boards and group
  // boards), its event, each campaign. A ledger repeats each part many
  // times: a part is worked out once, with the score maps it updates
  // resolved to pointers.
  struct Resolved {
    Scores* scores;
    int32_t group;  // kGroup: the member; -1: the account
    absl::flat_hash_set<int32_t>* active;  // per-active-member boards, else nullptr
    bool co2;
  };
  struct Part {
    std::vector<Resolved> targets;
    absl::flat_hash_set<std::string> boards;
  };
  std::unordered_map<std::string, Part> parts;  // references stay valid as it grows
  // `probe` carries the occurred time and at most one of ward, team,
  // organisation, event, campaign; `day` (if given) is the part of the same
  // day without any, whose boards are left out.
  auto part = [&](std::string key, const v1::LedgerEntry& probe, const Part* day) -> const Part& {
    auto found = parts.find(key);
    if (found != parts.end()) return found->second;
    Part p;
    for (BoardTarget& t : TargetsForEntry(probe, calendar, options)) {
      if (t.expire_at && *t.expire_at <= now) continue;
      if (day != nullptr && day->boards.contains(t.board)) continue;
      if (t.expire_at) expiries[t.board] = *t.expire_at;
      Resolved r{t.kind == BoardKind::kCitizen ? &citizen[t.board] : &other[t.board],
                 t.kind == BoardKind::kGroup ? number(t.group_id) : -1, nullptr,
                 absl::StartsWith(t.totals_field, "co2")};
      if (t.kind == BoardKind::kGroup && !t.active_field.empty()) {
        avg_active_field[t.board][r.group] = t.active_field;
        avg_period[t.board] = t.totals_period_key;
        r.active = &active[{t.totals_period_key, t.active_field}];
      }
      p.targets.push_back(r);
      p.boards.insert(t.board);
    }
    return parts.emplace(std::move(key), std::move(p)).first->second;
  };
  const absl::CivilDay epoch(1970, 1, 1);
  constexpr char kSep[] = "\x1f";  // between the parts of a key
  for (int shard = 0; shard < keys.shards(); ++shard) {
    RETURN_IF_ERROR(archive::ForEachLedgerEntryWithArchive(redis, archive, keys, shard,
                                                           [&](const StoredEntry& stored) {
      ++report.entries;
      const v1::LedgerEntry& e = stored.entry;
      const int32_t account = number(stored.account_id);
      accounts.insert(account);
      auto apply = [&](const Part& p) {
        for (const Resolved& r : p.targets) {
          (*r.scores)[r.group >= 0 ? r.group : account] += r.co2 ? e.co2e_grams() : e.points();
          if (r.active != nullptr) r.active->insert(account);
        }
      };
      auto probe = [&e](auto set) {
        v1::LedgerEntry only;
        *only.mutable_occurred_at() = e.occurred_at();
        set(&only);
        return only;
      };
      const int64_t local_day = calendar.LocalDay(absl::FromUnixMillis(
                                    google::protobuf::util::TimeUtil::TimestampToMilliseconds(
                                        e.occurred_at()))) -
                                epoch;
      const std::string day_key = absl::StrCat(local_day);
      const Part& day = part(day_key, probe([](v1::LedgerEntry*) {}), nullptr);
      apply(day);
      if (!e.ward().empty()) {
        apply(part(absl::StrCat(day_key, kSep, "w", kSep, e.ward()),
                   probe([&e](v1::LedgerEntry* p) { p->set_ward(e.ward()); }), &day));
      }
      if (!e.team().empty()) {
        apply(part(absl::StrCat(day_key, kSep, "t", kSep, e.team()),
                   probe([&e](v1::LedgerEntry* p) { p->set_team(e.team()); }), &day));
      }
      if (!e.organisation().empty()) {
        apply(part(absl::StrCat(day_key, kSep, "o", kSep, e.organisation()),
                   probe([&e](v1::LedgerEntry* p) { p->set_organisation(e.organisation()); }),
                   &day));
      }
      // All-time boards: the same for every day.
      if (!e.event_id().empty()) {
        apply(part(absl::StrCat(kSep, "e", kSep, e.event_id()),
                   probe([&e](v1::LedgerEntry* p) { p->set_event_id(e.event_id()); }), &day));
      }
      for (const std::string& campaign : e.campaign_ids()) {
        if (campaign.empty()) continue;
        apply(part(absl::StrCat(kSep, "c", kSep, campaign),
                   probe([&campaign](v1::LedgerEntry* p) { p->add_campaign_ids(campaign); }),
                   &day));
      }
      return absl::OkStatus();
    }));
  }
  // Per-active-member boards: total / active members, as the projector
  // computes from the aggregates' `act@` fields.
  for (const auto& [board, fields] : avg_active_field) {
    auto& members = other[board];
    for (const auto& [group, field] : fields) {
      const int64_t n = static_cast<int64_t>(active[{avg_period[board], field}].size());
      members[group] = FloorDiv(members[group], n);
    }
  }
  // The same privacy filter as the projector, on the accounts' current flags.
  std::set<int32_t> invisible, deleted;
  std::vector<std::string> ordered;
  for (int32_t account : accounts) ordered.push_back(names[account]);
  std::sort(ordered.begin(), ordered.end());
  for (size_t from = 0; from < ordered.size(); from += 1000) {
    std::vector<std::vector<std::string>> reads;
    const size_t to = std::min(ordered.size(), from + 1000);
    for (size_t i = from; i < to; ++i) {
      reads.push_back({"HMGET", keys.Account(ordered[i]), "hidden", "test", "role"});
      reads.push_back({"HGET", keys.Totals(ordered[i], "all"), "n"});
    }
    ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis->Pipeline(reads));
    for (size_t i = from; i < to; ++i) {
      const RedisValue& flags = replies[2 * (i - from)];
      if (flags.IsError()) return RedisErrorToStatus("rebuild flags", flags.str);
      const Visibility v = VisibilityOf(flags, replies[2 * (i - from) + 1]);
      if (!v.Visible(min_actions)) invisible.insert(numbers[ordered[i]]);
      if (v.deleted) deleted.insert(numbers[ordered[i]]);
    }
  }
  report.hidden_accounts = static_cast<int64_t>(invisible.size());
  for (auto& [board, members] : citizen) {
    for (int32_t account : invisible) members.erase(account);
  }
  for (auto& [board, members] : other) {
    if (!absl::StartsWith(board, "audit:")) continue;
    for (int32_t account : deleted) members.erase(account);
  }
  std::set<std::string> written;
  // Many boards per pipelined round trip (a ledger of a season feeds
  // thousands of period boards; one round trip each was most of the time).
  std::vector<std::vector<std::string>> commands;
  size_t pending_args = 0;
  auto flush = [&]() -> absl::Status {
    if (commands.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis->Pipeline(commands));
    for (size_t i = 0; i < replies.size(); ++i) {
      if (replies[i].IsError()) {
        // The command names the board key it wrote (a flush may split a board).
        return RedisErrorToStatus(absl::StrCat("rebuild ", commands[i][0], " ", commands[i][1]),
                                  replies[i].str);
      }
    }
    commands.clear();
    pending_args = 0;
    return absl::OkStatus();
  };
  auto add = [&](std::vector<std::string> command) -> absl::Status {
    pending_args += command.size();
    commands.push_back(std::move(command));
    return pending_args >= 20000 ? flush() : absl::OkStatus();
  };
  const BoardLayout layout(&keys, options.partitions);
  // One board key (`name` as in "{b:<name>}"), written under a temporary key
  // then renamed.
  auto write_key = [&](const std::string& board, const std::string& name,
                       const auto& members) -> absl::Status {
    const std::string key = keys.Board(name);
    const std::string temp = key + ":rebuild";
    RETURN_IF_ERROR(add({"DEL", temp}));
    std::vector<std::string> zadd = {"ZADD", temp};
    for (const auto& [member, score] : members) {
      zadd.push_back(absl::StrCat(score));
      zadd.push_back(names[member]);
      ++report.scores;
      if (zadd.size() >= 2002) {
        RETURN_IF_ERROR(add(std::move(zadd)));
        zadd = {"ZADD", temp};
      }
    }
    if (zadd.size() > 2) RETURN_IF_ERROR(add(std::move(zadd)));
    RETURN_IF_ERROR(add({"RENAME", temp, key}));
    auto expiry = expiries.find(board);
    if (expiry != expiries.end()) {
      RETURN_IF_ERROR(add({"EXPIREAT", key, absl::StrCat(absl::ToUnixSeconds(expiry->second))}));
    }
    written.insert(name);
    return absl::OkStatus();
  };
  auto write_board = [&](const std::string& board, const Scores& members) -> absl::Status {
    if (members.empty()) return absl::OkStatus();  // deleted below as unsupported
    if (layout.Partitioned(board)) {
      std::vector<std::vector<std::pair<int32_t, int64_t>>> parts(layout.partitions());
      for (const auto& [member, score] : members) {
        parts[layout.PartOf(names[member])].emplace_back(member, score);
      }
      for (int part = 0; part < layout.partitions(); ++part) {
        if (parts[part].empty()) continue;  // a part with no member has no key
        RETURN_IF_ERROR(write_key(board, layout.PartName(board, part), parts[part]));
      }
    } else {
      RETURN_IF_ERROR(write_key(board, board, members));
    }
    ++report.boards;
    if (absl::StartsWith(board, "audit:")) {
      ++report.audit_boards;
    } else if (!citizen.count(board)) {
      ++report.group_boards;
    }
    return absl::OkStatus();
  };
  for (const auto& [board, members] : citizen) RETURN_IF_ERROR(write_board(board, members));
  for (const auto& [board, members] : other) RETURN_IF_ERROR(write_board(board, members));
  RETURN_IF_ERROR(flush());
  // Boards no ledger entry supports any more (or only invisible accounts).
  std::string cursor = "0";
  const std::string pattern = keys.Board("*");
  do {
    ASSIGN_OR_RETURN(RedisValue page,
                     redis->Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}));
    if (page.elements.size() != 2) return absl::InternalError("SCAN: unexpected reply");
    cursor = page.elements[0].str;
    for (const RedisValue& key : page.elements[1].elements) {
      const std::string prefix = keys.Board("");
      // keys.Board("") is "<p>:{b:}"; a board key is "<p>:{b:<name>}".
      std::string name = key.str.substr(prefix.size() - 1);
      if (name.empty() || name.back() != '}') continue;
      name.pop_back();
      if (written.count(name) == 0) {
        ASSIGN_OR_RETURN(RedisValue unused, redis->Command({"DEL", key.str}));
        (void)unused;
        ++report.stale_boards_removed;
      }
    }
  } while (cursor != "0");
  return report;
}

}  // namespace ecoact::leaderboard
