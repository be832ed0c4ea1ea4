#include "services/reports/report_projector.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "leaderboard_lua.h"
#include "reports_lua.h"
#include "services/archive/archiver.h"
#include "services/common/log.h"
#include "services/common/status_macros.h"
#include "services/reports/report_model.h"

namespace ecoact::reports {
namespace {

const LuaScript& ApplyScript() {
  static const LuaScript script("reports_apply_batch", embedded::kApplyBatchLua);
  return script;
}

// The same lease script as the leaderboard projector's, on a key of its own.
const LuaScript& LeaseScript() {
  static const LuaScript script("lease", leaderboard::embedded::kLeaseLua);
  return script;
}

std::string AppliedKey(const KeySpace& keys, int shard) {
  return absl::StrCat(keys.ShardPrefix(shard), "rpt-applied");
}
std::string OwnerKey(const KeySpace& keys, int shard) {
  return absl::StrCat(keys.ShardPrefix(shard), "rpt-owner");
}

// -1 if a < b, 0 if equal, 1 if a > b, for stream ids "ms-seq".
int CompareIds(absl::string_view a, absl::string_view b) {
  auto split = [](absl::string_view id) {
    const size_t dash = id.find('-');
    uint64_t ms = 0, seq = 0;
    (void)absl::SimpleAtoi(id.substr(0, dash), &ms);
    if (dash != absl::string_view::npos) (void)absl::SimpleAtoi(id.substr(dash + 1), &seq);
    return std::make_pair(ms, seq);
  };
  const auto x = split(a), y = split(b);
  return x < y ? -1 : (x == y ? 0 : 1);
}

std::string HolesKey(const KeySpace& keys, int shard) {
  return absl::StrCat(keys.ShardPrefix(shard), "rpt-holes");
}

// The script call that acknowledges `entries` (in `group`, unless empty) and
// counts those of them whose index is in `counted` (all when null).
RedisClient::ScriptCall BuildCall(const KeySpace& keys, const CityCalendar& calendar, int shard,
                                  const std::vector<StoredEntry>& entries,
                                  const std::vector<bool>* counted, const std::string& group,
                                  const std::string& writer) {
  ReportDelta delta;
  std::vector<std::string> counted_ids;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (counted != nullptr && !(*counted)[i]) continue;
    const StoredEntry& stored = entries[i];
    counted_ids.push_back(stored.entry.entry_id());
    // A malformed entry (skipped by the reader) has no type: nothing to add.
    if (stored.entry.action_type().empty()) continue;
    AddEntry(stored, calendar, &delta);
  }
  RedisClient::ScriptCall call;
  call.keys = {keys.Ledger(shard), AppliedKey(keys, shard), OwnerKey(keys, shard),
               HolesKey(keys, shard)};
  call.args = {group, writer, entries.back().entry.entry_id(),
               absl::StrCat(group.empty() ? 0 : entries.size())};
  if (!group.empty()) {
    for (const StoredEntry& stored : entries) call.args.push_back(stored.entry.entry_id());
  }
  call.args.push_back(absl::StrCat(counted_ids.size()));
  call.args.insert(call.args.end(), counted_ids.begin(), counted_ids.end());
  DeltaToScriptArgs(delta, keys.ShardPrefix(shard), 5, &call.keys, &call.args);
  return call;
}

}  // namespace

std::string ReportsLeaseKey(const KeySpace& keys) {
  return absl::StrCat(keys.prefix(), ":{reports}:lease");
}

absl::Status ApplyReportEntries(RedisClient* redis, const KeySpace& keys,
                                const CityCalendar& calendar,
                                const std::map<int, std::vector<StoredEntry>>& entries,
                                const std::string& group, const std::string& writer) {
  // First every entry is counted (the usual case: all are new); a shard
  // whose script says otherwise is sent again with the entries it names.
  std::map<int, std::vector<bool>> selection;
  for (const auto& [shard, list] : entries) {
    if (!list.empty()) selection[shard] = std::vector<bool>(list.size(), true);
  }
  for (int pass = 0; pass < 2 && !selection.empty(); ++pass) {
    std::vector<int> shards;
    std::vector<RedisClient::ScriptCall> calls;
    for (const auto& [shard, counted] : selection) {
      shards.push_back(shard);
      calls.push_back(
          BuildCall(keys, calendar, shard, entries.at(shard), &counted, group, writer));
    }
    ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis->EvalMany(ApplyScript(), calls));
    std::map<int, std::vector<bool>> again;
    for (size_t i = 0; i < replies.size(); ++i) {
      const RedisValue& reply = replies[i];
      if (reply.IsError()) return RedisErrorToStatus("reports apply", reply.str);
      if (reply.elements.empty()) return absl::InternalError("reports apply: empty reply");
      const int64_t outcome = reply.elements[0].integer;
      if (outcome == 1) continue;
      const std::string marker = reply.elements.size() > 1 ? reply.elements[1].str : "";
      if (outcome == -2) {
        return absl::FailedPreconditionError(absl::StrCat(
            "reports: shard ", shards[i], " is written by '", marker, "', not '", writer, "'"));
      }
      // -1: count the entries after the last one counted, and the holes.
      std::set<std::string> holes;
      for (size_t h = 2; h < reply.elements.size(); ++h) holes.insert(reply.elements[h].str);
      const std::vector<StoredEntry>& list = entries.at(shards[i]);
      std::vector<bool> counted(list.size());
      for (size_t e = 0; e < list.size(); ++e) {
        const std::string& id = list[e].entry.entry_id();
        counted[e] = marker.empty() || CompareIds(id, marker) > 0 || holes.count(id) > 0;
      }
      again[shards[i]] = std::move(counted);
    }
    selection = std::move(again);
  }
  if (!selection.empty()) return absl::InternalError("reports apply: entries counted concurrently");
  return absl::OkStatus();
}

ReportProjector::ReportProjector(RedisClient* redis, const KeySpace* keys,
                                 const CityCalendar* calendar, ReportProjectorOptions options)
    : redis_(redis), keys_(keys), calendar_(calendar), options_(std::move(options)) {}

ReportProjector::~ReportProjector() { Stop(); }

absl::Status ReportProjector::EnsureGroups() {
  // A group created on a trimmed ledger is logged as an error: the reports
  // then lack the archived entries until ecoact_rebuild --reports
  // --archive_dir recounts them (docs/operations.md, "Ledger archive").
  RETURN_IF_ERROR(
      archive::CreateConsumerGroups(redis_, *keys_, options_.group, "impact reports").status());
  groups_ready_ = true;
  return absl::OkStatus();
}

absl::StatusOr<bool> ReportProjector::HoldLease() {
  const absl::Time now = absl::Now();
  if (holds_lease_ && now - lease_renewed_ < options_.lease_ttl / 3) return true;
  ASSIGN_OR_RETURN(RedisValue held,
                   redis_->Eval(LeaseScript(), {ReportsLeaseKey(*keys_)},
                                {options_.consumer,
                                 absl::StrCat(absl::ToInt64Milliseconds(options_.lease_ttl)), "0"}));
  const bool was_holding = holds_lease_;
  holds_lease_ = held.integer == 1;
  if (!holds_lease_) return false;
  lease_renewed_ = now;
  if (!was_holding) {
    absl::Status taken = TakeOver();
    if (!taken.ok()) {
      holds_lease_ = false;
      return taken;
    }
  }
  return true;
}

// On taking the lease: become the shards' writer (fencing off any earlier
// holder), and claim the entries other consumers read but never counted.
absl::Status ReportProjector::TakeOver() {
  if (!groups_ready_) RETURN_IF_ERROR(EnsureGroups());
  std::vector<std::vector<std::string>> owners;
  for (int shard = 0; shard < keys_->shards(); ++shard) {
    owners.push_back({"SET", OwnerKey(*keys_, shard), options_.consumer});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> set, redis_->Pipeline(owners));
  for (const RedisValue& reply : set) {
    if (reply.IsError()) return RedisErrorToStatus("reports owner", reply.str);
  }
  RETURN_IF_ERROR(ClaimOrphans(absl::ZeroDuration()));
  recovering_ = true;
  return absl::OkStatus();
}

absl::Status ReportProjector::ClaimOrphans(absl::Duration min_idle) {
  int64_t claimed = 0;
  for (int shard = 0; shard < keys_->shards(); ++shard) {
    std::string cursor = "0-0";
    do {
      ASSIGN_OR_RETURN(RedisValue reply,
                       redis_->Command({"XAUTOCLAIM", keys_->Ledger(shard), options_.group,
                                        options_.consumer,
                                        absl::StrCat(absl::ToInt64Milliseconds(min_idle)), cursor,
                                        "COUNT", "1000", "JUSTID"}));
      if (reply.elements.size() < 2) return absl::InternalError("XAUTOCLAIM: short reply");
      cursor = reply.elements[0].str;
      claimed += static_cast<int64_t>(reply.elements[1].elements.size());
    } while (cursor != "0-0");
  }
  last_orphan_check_ = absl::Now();
  if (claimed > 0) {
    LogInfo("reports projector: took over unacknowledged entries", {{"entries", claimed}});
    recovering_ = true;  // read them (own pending entries) next
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ReportProjector::RunOnce() { return Cycle(true); }
absl::StatusOr<int> ReportProjector::RunOnceAfterFence() { return Cycle(false); }

absl::StatusOr<int> ReportProjector::Cycle(bool retry_after_fence) {
  if (!groups_ready_) RETURN_IF_ERROR(EnsureGroups());
  ASSIGN_OR_RETURN(bool held, HoldLease());
  if (!held) return 0;
  // Now and then take over entries another consumer read and never counted
  // (it lost the lease, or was fenced off, after reading them): on a timer,
  // not only when idle, or a busy ledger would leave them uncounted.
  if (absl::Now() - last_orphan_check_ >= options_.lease_ttl) {
    RETURN_IF_ERROR(ClaimOrphans(options_.lease_ttl));
  }
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
    // The read may have been delivered (a timeout): its entries would then
    // be pending under this consumer. Read those first next time.
    recovering_ = true;
    return reply.status();
  }
  std::map<std::string, int> shard_of_stream;
  for (int shard = 0; shard < keys_->shards(); ++shard) shard_of_stream[keys_->Ledger(shard)] = shard;
  std::map<int, std::vector<StoredEntry>> entries;
  int read = 0;
  for (const RedisValue& stream : reply->elements) {
    if (stream.elements.size() != 2) continue;
    const int shard = shard_of_stream[stream.elements[0].str];
    for (const RedisValue& raw : stream.elements[1].elements) {
      ++read;
      auto entry = DecodeStreamEntry(raw);
      if (!entry.ok()) {
        // A malformed entry would block the stream forever: acknowledge it
        // uncounted.
        LogError("reports projector: skipping malformed ledger entry",
                 {{"reason", std::string(entry.status().message())}});
        StoredEntry skipped;
        skipped.entry.set_entry_id(raw.elements.empty() ? "" : raw.elements[0].str);
        entries[shard].push_back(std::move(skipped));
        continue;
      }
      entries[shard].push_back(*std::move(entry));
    }
  }
  if (recovering_ && read == 0) {
    recovering_ = false;  // own pending entries drained: go on with new ones
    return Cycle(retry_after_fence);
  }
  if (read == 0) return 0;
  absl::Status applied =
      ApplyReportEntries(redis_, *keys_, *calendar_, entries, options_.group, options_.consumer);
  if (absl::IsFailedPrecondition(applied)) {
    // Fenced off (a rebuild, or another projector took over): the entries
    // stay pending. Try the lease again at once: if the rebuild is over the
    // projector takes the shards back and counts them; if another projector
    // holds it, it claims them once they are idle for a lease's time.
    holds_lease_ = false;
    LogInfo("reports projector: fenced off, another writer owns the report keys");
    if (retry_after_fence) return RunOnceAfterFence();
    return 0;
  }
  if (!applied.ok()) {
    // The entries may or may not have been counted (a timeout), and stay
    // pending under this consumer unless they were: read those again first.
    // The script counts each exactly once either way.
    recovering_ = true;
    return applied;
  }
  return read;
}

void ReportProjector::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void ReportProjector::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  thread_.join();
  if (holds_lease_) {
    (void)redis_->Eval(LeaseScript(), {ReportsLeaseKey(*keys_)}, {options_.consumer, "0", "0"});
    holds_lease_ = false;
  }
}

void ReportProjector::Loop() {
  absl::Duration backoff = absl::Milliseconds(100);
  bool failing = false;
  while (!stop_.HasBeenNotified()) {
    auto applied = RunOnce();
    if (applied.ok()) {
      if (failing) LogInfo("reports projector: resumed");
      failing = false;
      backoff = absl::Milliseconds(100);
      if (!holds_lease_) stop_.WaitForNotificationWithTimeout(options_.block);
      continue;
    }
    if (!failing) {
      LogWarning("reports projector: cannot read the ledger, retrying",
                 {{"reason", std::string(applied.status().message())}});
    }
    failing = true;
    stop_.WaitForNotificationWithTimeout(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

absl::StatusOr<ReportsRebuild> RebuildReports(RedisClient* redis, const KeySpace& keys,
                                              const CityCalendar& calendar,
                                              const RebuildOptions& options) {
  // Before any report key is deleted: a ledger trimmed beyond the archive
  // given would leave the reports wiped and then partly counted.
  RETURN_IF_ERROR(archive::CheckLedgerComplete(redis, options.archive, keys));
  ReportsRebuild report;
  const std::string writer = "rebuild";
  const std::string lease = ReportsLeaseKey(keys);
  const std::string ttl =
      absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(options.lease_ttl)));
  RETURN_IF_ERROR(redis->Eval(LeaseScript(), {lease}, {writer, ttl, "1"}).status());
  struct Release {
    RedisClient* redis;
    std::string key;
    ~Release() { (void)redis->Eval(LeaseScript(), {key}, {"rebuild", "0", "0"}); }
  } release{redis, lease};
  // Own every shard first: from here on a projector's batch is refused, so
  // nothing is added to the keys being wiped.
  std::vector<std::vector<std::string>> owners, owned;
  for (int shard = 0; shard < keys.shards(); ++shard) {
    owners.push_back({"SET", OwnerKey(keys, shard), writer});
    owned.push_back({"GET", OwnerKey(keys, shard)});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> set, redis->Pipeline(owners));
  for (const RedisValue& reply : set) {
    if (reply.IsError()) return RedisErrorToStatus("reports owner", reply.str);
  }
  // Renews the lease (without taking it from another holder) and checks
  // that every shard is still the rebuild's: a rebuild that stalled past
  // the lease's time to live stops here, before writing anything more.
  auto still_ours = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(RedisValue held, redis->Eval(LeaseScript(), {lease}, {writer, ttl, "0"}));
    ASSIGN_OR_RETURN(std::vector<RedisValue> owner, redis->Pipeline(owned));
    bool ours = held.integer == 1;
    for (const RedisValue& reply : owner) ours = ours && reply.str == writer;
    if (ours) return absl::OkStatus();
    return absl::AbortedError(
        "reports rebuild: lost the reports lease to a projector (stalled longer than the "
        "lease's time to live); the report keys are incomplete: run the rebuild again");
  };
  for (int shard = 0; shard < keys.shards(); ++shard) {
    const std::string owner = OwnerKey(keys, shard);
    std::string cursor = "0";
    do {
      ASSIGN_OR_RETURN(RedisValue page,
                       redis->Command({"SCAN", cursor, "MATCH",
                                       absl::StrCat(keys.ShardPrefix(shard), "rpt*"), "COUNT",
                                       "1000"}));
      if (page.elements.size() != 2) return absl::InternalError("SCAN: short reply");
      cursor = page.elements[0].str;
      std::vector<std::string> del = {"DEL"};
      for (const RedisValue& key : page.elements[1].elements) {
        if (key.str != owner) del.push_back(key.str);
      }
      if (del.size() > 1) {
        RETURN_IF_ERROR(still_ours());
        ASSIGN_OR_RETURN(RedisValue removed, redis->Command(del));
        report.keys_removed += removed.integer;
      }
    } while (cursor != "0");
  }
  const size_t chunk_size = std::max<size_t>(1, options.chunk);
  auto apply = [&](std::map<int, std::vector<StoredEntry>>& chunk) -> absl::Status {
    absl::Status applied = ApplyReportEntries(redis, keys, calendar, chunk, "", writer);
    if (absl::IsFailedPrecondition(applied)) {
      return absl::AbortedError(absl::StrCat("reports rebuild: ", applied.message(),
                                             "; the report keys are incomplete: run the "
                                             "rebuild again"));
    }
    RETURN_IF_ERROR(applied);
    for (auto& [shard, list] : chunk) list.clear();
    if (options.after_chunk) options.after_chunk();
    return still_ours();
  };
  for (int shard = 0; shard < keys.shards(); ++shard) {
    std::map<int, std::vector<StoredEntry>> chunk;
    std::vector<StoredEntry>& list = chunk[shard];
    // The archived entries, then the stream after them: the reader the
    // boards and rewards rebuilds use.
    RETURN_IF_ERROR(archive::ForEachLedgerEntryWithArchive(
        redis, options.archive, keys, shard, [&](const StoredEntry& stored) -> absl::Status {
          list.push_back(stored);
          ++report.entries;
          if (list.size() < chunk_size) return absl::OkStatus();
          return apply(chunk);
        }));
    if (!list.empty()) RETURN_IF_ERROR(apply(chunk));
  }
  return report;
}

}  // namespace ecoact::reports
