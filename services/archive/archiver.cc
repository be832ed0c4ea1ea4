#include "services/archive/archiver.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"
#include "leaderboard_lua.h"

namespace ecoact::archive {
namespace {

const LuaScript& LeaseScript() {
  // The projector's lease script: owner, ttl, release with '0'.
  static const LuaScript script("lease", leaderboard::embedded::kLeaseLua);
  return script;
}

absl::StatusOr<bool> TakeLease(RedisClient* redis, const KeySpace& keys,
                               const ArchiverOptions& options) {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis->Eval(LeaseScript(), {ArchiveLeaseKey(keys)},
                               {options.owner,
                                absl::StrCat(absl::ToInt64Milliseconds(options.lease_ttl)), "0"}));
  return reply.integer == 1;
}

absl::Status RenewLease(RedisClient* redis, const KeySpace& keys, const ArchiverOptions& options) {
  ASSIGN_OR_RETURN(bool held, TakeLease(redis, keys, options));
  if (!held) {
    return absl::AbortedError("the archive lease was lost (run longer than --archive_lease_ttl?)");
  }
  return absl::OkStatus();
}

// Field `name` of a flat [name, value, ...] reply.
const RedisValue* Field(const RedisValue& flat, absl::string_view name) {
  for (size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    if (flat.elements[i].str == name) return &flat.elements[i + 1];
  }
  return nullptr;
}

StreamId Previous(const StreamId& id) {
  if (id.seq > 0) return {id.ms, id.seq - 1};
  return {id.ms - 1, UINT64_MAX};
}

absl::StatusOr<std::optional<StreamId>> LastArchived(ArchiveStore* store, int shard) {
  ASSIGN_OR_RETURN(std::vector<SegmentInfo> segments, store->List(shard));
  if (segments.empty()) return std::optional<StreamId>();
  return std::optional<StreamId>(segments.back().last);
}

}  // namespace

std::string ArchiveLeaseKey(const KeySpace& keys) {
  return absl::StrCat(keys.prefix(), ":{archive}:lease");
}

absl::StatusOr<std::optional<StreamId>> ArchivableBound(RedisClient* redis, const KeySpace& keys,
                                                        int shard, absl::Duration retention,
                                                        absl::Time now,
                                                        std::string* held_back_by) {
  const std::string stream = keys.Ledger(shard);
  const int64_t cutoff_ms = absl::ToUnixMillis(now - retention);
  if (cutoff_ms <= 0) return std::optional<StreamId>();
  // Everything recorded before the cutoff millisecond.
  StreamId bound{static_cast<uint64_t>(cutoff_ms - 1), UINT64_MAX};
  *held_back_by = "retention";
  // Pipelined, so that an error reply stays a value to look at.
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis->Pipeline({{"XINFO", "GROUPS", stream}}));
  const RedisValue& groups = replies.at(0);
  if (groups.IsError()) {
    // No stream yet: nothing to archive.
    if (absl::StrContains(groups.str, "no such key")) return std::optional<StreamId>();
    return RedisErrorToStatus("redis XINFO GROUPS", groups.str);
  }
  if (groups.elements.empty()) {
    *held_back_by = "no consumer group";
    return std::optional<StreamId>();
  }
  for (const RedisValue& group : groups.elements) {
    const RedisValue* name = Field(group, "name");
    const RedisValue* delivered = Field(group, "last-delivered-id");
    const RedisValue* pending = Field(group, "pending");
    if (name == nullptr || delivered == nullptr || pending == nullptr) {
      return absl::InternalError("XINFO GROUPS: unexpected reply");
    }
    ASSIGN_OR_RETURN(StreamId acknowledged, StreamId::Parse(delivered->str));
    if (pending->integer > 0) {
      // Delivered but not acknowledged: keep the oldest pending and after.
      ASSIGN_OR_RETURN(RedisValue summary,
                       redis->Command({"XPENDING", stream, name->str}));
      if (summary.IsError()) return RedisErrorToStatus("redis XPENDING", summary.str);
      if (summary.elements.size() < 2 || summary.elements[1].IsNil()) {
        return absl::InternalError("XPENDING: unexpected reply");
      }
      ASSIGN_OR_RETURN(StreamId oldest, StreamId::Parse(summary.elements[1].str));
      if (oldest.ms == 0 && oldest.seq == 0) return std::optional<StreamId>();
      acknowledged = std::min(acknowledged, Previous(oldest));
    }
    if (acknowledged < bound) {
      bound = acknowledged;
      // A group that has read and acknowledged everything (lag 0, Redis 7)
      // bounds the run without holding anything back: not worth a warning.
      const RedisValue* lag = Field(group, "lag");
      const bool caught_up = pending->integer == 0 && lag != nullptr &&
                             lag->type == RedisValue::Type::kInteger && lag->integer == 0;
      *held_back_by = caught_up ? "caught-up groups" : absl::StrCat("group ", name->str);
    }
  }
  if (bound.ms == 0 && bound.seq == 0) return std::optional<StreamId>();
  return std::optional<StreamId>(bound);
}

absl::Status WriteSegments(RedisClient* redis, const KeySpace& keys, ArchiveStore* store,
                           int shard, const ArchiverOptions& options, absl::Time now,
                           ShardArchiveReport* report) {
  report->shard = shard;
  ASSIGN_OR_RETURN(std::optional<StreamId> bound,
                   ArchivableBound(redis, keys, shard, options.retention, now,
                                   &report->held_back_by));
  if (!bound) return absl::OkStatus();
  report->bound = bound->ToString();
  ASSIGN_OR_RETURN(std::optional<StreamId> last, LastArchived(store, shard));
  std::string start = last ? "(" + last->ToString() : "-";
  while (true) {
    ASSIGN_OR_RETURN(RedisValue page,
                     redis->Command({"XRANGE", keys.Ledger(shard), start, bound->ToString(),
                                     "COUNT", absl::StrCat(options.segment_entries)}));
    if (page.IsError()) return RedisErrorToStatus("redis XRANGE", page.str);
    if (page.elements.empty()) return absl::OkStatus();
    std::vector<ArchivedEntry> entries;
    entries.reserve(page.elements.size());
    for (const RedisValue& raw : page.elements) {
      // Only entries the readers can decode are archived: a corrupt entry
      // stops the run here, while it is still in Redis to be looked at.
      RETURN_IF_ERROR(DecodeStreamEntry(raw).status());
      ArchivedEntry& e = entries.emplace_back();
      e.id = raw.elements[0].str;
      for (const RedisValue& f : raw.elements[1].elements) e.fields.push_back(f.str);
    }
    RETURN_IF_ERROR(RenewLease(redis, keys, options));
    ASSIGN_OR_RETURN(SegmentInfo segment, store->Append(shard, entries));
    report->archived += segment.count;
    ++report->segments;
    start = "(" + entries.back().id;
  }
}

absl::Status TrimArchived(RedisClient* redis, const KeySpace& keys, ArchiveStore* store,
                          int shard, const ArchiverOptions& options, ShardArchiveReport* report) {
  report->shard = shard;
  ASSIGN_OR_RETURN(std::optional<StreamId> last, LastArchived(store, shard));
  if (!last) return absl::OkStatus();
  const std::string stream = keys.Ledger(shard);
  while (true) {
    // A batch's last id, then everything before the id after it: each XTRIM
    // removes at most trim_batch entries, all of them archived.
    ASSIGN_OR_RETURN(RedisValue page,
                     redis->Command({"XRANGE", stream, "-", last->ToString(), "COUNT",
                                     absl::StrCat(options.trim_batch)}));
    if (page.IsError()) return RedisErrorToStatus("redis XRANGE", page.str);
    if (page.elements.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(StreamId batch_last, StreamId::Parse(page.elements.back().elements[0].str));
    ASSIGN_OR_RETURN(RedisValue trimmed,
                     redis->Command({"XTRIM", stream, "MINID", "=", batch_last.Next().ToString()}));
    if (trimmed.IsError()) return RedisErrorToStatus("redis XTRIM", trimmed.str);
    report->trimmed += trimmed.integer;
  }
}

absl::StatusOr<ArchiveReport> RunArchive(RedisClient* redis, const KeySpace& keys,
                                         ArchiveStore* store, const ArchiverOptions& options,
                                         absl::Time now) {
  ASSIGN_OR_RETURN(bool held, TakeLease(redis, keys, options));
  if (!held) {
    return absl::FailedPreconditionError(
        absl::StrCat("another archiver holds the lease ", ArchiveLeaseKey(keys),
                     "; it expires after --archive_lease_ttl"));
  }
  ArchiveReport report;
  absl::Status status = [&]() -> absl::Status {
    for (int shard = 0; shard < keys.shards(); ++shard) {
      ShardArchiveReport& r = report.shards.emplace_back();
      RETURN_IF_ERROR(WriteSegments(redis, keys, store, shard, options, now, &r));
      RETURN_IF_ERROR(RenewLease(redis, keys, options));
      RETURN_IF_ERROR(TrimArchived(redis, keys, store, shard, options, &r));
      report.archived += r.archived;
      report.segments += r.segments;
      report.trimmed += r.trimmed;
    }
    return absl::OkStatus();
  }();
  // Released on failure too, so a fixed problem needs no wait.
  (void)redis->Eval(LeaseScript(), {ArchiveLeaseKey(keys)}, {options.owner, "0", "0"});
  RETURN_IF_ERROR(status);
  return report;
}

absl::Status ForEachLedgerEntryWithArchive(
    RedisClient* redis, ArchiveStore* store, const KeySpace& keys, int shard,
    const std::function<absl::Status(const StoredEntry&)>& visit) {
  std::string start = "-";
  if (store != nullptr) {
    ASSIGN_OR_RETURN(std::vector<SegmentInfo> segments, store->List(shard));
    for (const SegmentInfo& segment : segments) {
      ASSIGN_OR_RETURN(std::vector<ArchivedEntry> entries, store->Read(segment));
      for (const ArchivedEntry& e : entries) {
        ASSIGN_OR_RETURN(StoredEntry stored, DecodeStreamEntry(e.ToStreamEntry()));
        RETURN_IF_ERROR(visit(stored));
      }
    }
    if (!segments.empty()) start = "(" + segments.back().last.ToString();
  }
  return ForEachLedgerEntry(redis, keys.Ledger(shard), visit, start);
}

}  // namespace ecoact::archive
