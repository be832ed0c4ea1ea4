#include "services/archive/archiver.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "archive_lua.h"
#include "leaderboard_lua.h"
#include "services/common/log.h"
#include "services/common/status_macros.h"

namespace ecoact::archive {
namespace {

const LuaScript& LeaseScript() {
  // The projector's lease script: owner, ttl, release with '0'.
  static const LuaScript script("lease", leaderboard::embedded::kLeaseLua);
  return script;
}

const LuaScript& TrimScript() {
  static const LuaScript script("archive_trim", embedded::kTrimLua);
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

// The consumer groups of a shard stream (XINFO GROUPS); nullopt when the
// stream does not exist.
absl::StatusOr<std::optional<RedisValue>> StreamGroups(RedisClient* redis,
                                                       const std::string& stream) {
  // Pipelined, so that an error reply stays a value to look at.
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis->Pipeline({{"XINFO", "GROUPS", stream}}));
  RedisValue& groups = replies.at(0);
  if (groups.IsError()) {
    if (absl::StrContains(groups.str, "no such key")) return std::optional<RedisValue>();
    return RedisErrorToStatus("redis XINFO GROUPS", groups.str);
  }
  return std::optional<RedisValue>(std::move(groups));
}

// The first of `required` that is not among `groups`, or "".
std::string MissingGroup(const RedisValue& groups, const std::vector<std::string>& required) {
  for (const std::string& name : required) {
    bool found = false;
    for (const RedisValue& group : groups.elements) {
      const RedisValue* n = Field(group, "name");
      if (n != nullptr && n->str == name) found = true;
    }
    if (!found) return name;
  }
  return "";
}

absl::Status MissingGroupError(const KeySpace& keys, int shard, const std::string& group) {
  return absl::FailedPreconditionError(absl::StrCat(
      "consumer group \"", group, "\" does not exist on ledger shard ", shard, " (",
      keys.Ledger(shard),
      "): its projector has not started yet (or its group was deleted), and it would start "
      "on a trimmed ledger; start it first, or leave it out of --archive_required_groups "
      "(ECOACT_ARCHIVE_REQUIRED_GROUPS); nothing was trimmed"));
}

}  // namespace

std::string ArchiveLeaseKey(const KeySpace& keys) {
  return absl::StrCat(keys.prefix(), ":{archive}:lease");
}

absl::StatusOr<std::optional<StreamId>> ArchivableBound(RedisClient* redis, const KeySpace& keys,
                                                        int shard, absl::Duration retention,
                                                        absl::Time now,
                                                        std::string* held_back_by,
                                                        const std::vector<std::string>&
                                                            required_groups) {
  const std::string stream = keys.Ledger(shard);
  const int64_t cutoff_ms = absl::ToUnixMillis(now - retention);
  if (cutoff_ms <= 0) return std::optional<StreamId>();
  // Everything recorded before the cutoff millisecond.
  StreamId bound{static_cast<uint64_t>(cutoff_ms - 1), UINT64_MAX};
  *held_back_by = "retention";
  ASSIGN_OR_RETURN(std::optional<RedisValue> found, StreamGroups(redis, stream));
  if (!found) return std::optional<StreamId>();  // no stream yet: nothing to archive
  const RedisValue& groups = *found;
  if (groups.elements.empty()) {
    *held_back_by = "no consumer group";
    return std::optional<StreamId>();
  }
  if (const std::string missing = MissingGroup(groups, required_groups); !missing.empty()) {
    *held_back_by = absl::StrCat("missing group ", missing);
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
                                   &report->held_back_by, options.required_groups));
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
  // Checked here too, not only by RunArchive: a group deleted since.
  ASSIGN_OR_RETURN(std::optional<RedisValue> groups, StreamGroups(redis, stream));
  if (!groups) return absl::OkStatus();  // no stream: nothing to trim
  if (const std::string missing = MissingGroup(*groups, options.required_groups);
      !missing.empty()) {
    return MissingGroupError(keys, shard, missing);
  }
  while (true) {
    // A batch's last id, then everything before the id after it: each XTRIM
    // removes at most trim_batch entries, all of them archived.
    ASSIGN_OR_RETURN(RedisValue page,
                     redis->Command({"XRANGE", stream, "-", last->ToString(), "COUNT",
                                     absl::StrCat(options.trim_batch)}));
    if (page.IsError()) return RedisErrorToStatus("redis XRANGE", page.str);
    if (page.elements.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(StreamId batch_last, StreamId::Parse(page.elements.back().elements[0].str));
    // A run that lost its lease (stalled past --archive_lease_ttl while
    // another run took over) stops before it trims anything more.
    RETURN_IF_ERROR(RenewLease(redis, keys, options));
    ASSIGN_OR_RETURN(RedisValue trimmed,
                     redis->Eval(TrimScript(), {stream, LedgerTrimmedKey(keys, shard)},
                                 {batch_last.ToString(), batch_last.Next().ToString()}));
    report->trimmed += trimmed.integer;
    if (options.after_trim_batch) options.after_trim_batch();
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
    // Every shard is checked before any is touched, so a missing projector
    // stops the run as a whole rather than after some shards.
    for (int shard = 0; shard < keys.shards(); ++shard) {
      ASSIGN_OR_RETURN(std::optional<RedisValue> groups, StreamGroups(redis, keys.Ledger(shard)));
      if (!groups) continue;
      if (const std::string missing = MissingGroup(*groups, options.required_groups);
          !missing.empty()) {
        return MissingGroupError(keys, shard, missing);
      }
    }
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

std::string LedgerTrimmedKey(const KeySpace& keys, int shard) {
  return absl::StrCat(keys.ShardPrefix(shard), "ledger-trimmed");
}

absl::StatusOr<std::optional<StreamId>> LedgerTrimmedUpTo(RedisClient* redis,
                                                          const KeySpace& keys, int shard) {
  ASSIGN_OR_RETURN(RedisValue marker, redis->Command({"GET", LedgerTrimmedKey(keys, shard)}));
  if (marker.IsError()) return RedisErrorToStatus("redis GET", marker.str);
  if (marker.IsNil()) return std::optional<StreamId>();
  ASSIGN_OR_RETURN(StreamId id, StreamId::Parse(marker.str));
  return std::optional<StreamId>(id);
}

namespace {

// FAILED_PRECONDITION if `shard` was trimmed beyond `segments`.
absl::Status CheckShardComplete(RedisClient* redis, const KeySpace& keys, int shard,
                                const std::vector<SegmentInfo>* segments) {
  ASSIGN_OR_RETURN(std::optional<StreamId> trimmed, LedgerTrimmedUpTo(redis, keys, shard));
  if (!trimmed) return absl::OkStatus();
  if (segments == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ledger shard ", shard, " was trimmed by ecoact_archive up to ", trimmed->ToString(),
        ": the streams alone would give partial figures; pass the archive with --archive_dir "
        "(ECOACT_ARCHIVE_DIR)"));
  }
  if (segments->empty() || segments->back().last < *trimmed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ledger shard ", shard, " was trimmed up to ", trimmed->ToString(),
        " but the archive holds ",
        segments->empty() ? std::string("none of its entries")
                          : absl::StrCat("its entries only up to ",
                                         segments->back().last.ToString()),
        ": is --archive_dir (ECOACT_ARCHIVE_DIR) the directory ecoact_archive writes?"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckLedgerComplete(RedisClient* redis, ArchiveStore* store, const KeySpace& keys) {
  for (int shard = 0; shard < keys.shards(); ++shard) {
    if (store == nullptr) {
      RETURN_IF_ERROR(CheckShardComplete(redis, keys, shard, nullptr));
      continue;
    }
    ASSIGN_OR_RETURN(std::vector<SegmentInfo> segments, store->List(shard));
    RETURN_IF_ERROR(CheckShardComplete(redis, keys, shard, &segments));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> CreateConsumerGroups(RedisClient* redis, const KeySpace& keys,
                                                      const std::string& group,
                                                      const std::string& projection) {
  std::vector<std::vector<std::string>> commands;
  for (int shard = 0; shard < keys.shards(); ++shard) {
    commands.push_back({"XGROUP", "CREATE", keys.Ledger(shard), group, "0", "MKSTREAM"});
    commands.push_back({"GET", LedgerTrimmedKey(keys, shard)});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis->Pipeline(commands));
  std::vector<int> trimmed_shards;
  for (int shard = 0; shard < keys.shards(); ++shard) {
    const RedisValue& created = replies[2 * shard];
    const RedisValue& marker = replies[2 * shard + 1];
    if (created.IsError()) {
      if (absl::StartsWith(created.str, "BUSYGROUP")) continue;  // it existed
      // LOADING after a restart is UNAVAILABLE (retry), not INTERNAL.
      return RedisErrorToStatus("XGROUP CREATE", created.str);
    }
    if (marker.IsError()) return RedisErrorToStatus("redis GET", marker.str);
    if (marker.IsNil()) continue;
    trimmed_shards.push_back(shard);
  }
  if (!trimmed_shards.empty()) {
    // Not a refusal: the projection follows new entries at once, and the
    // rebuild (safe while the services run) adds the archived ones.
    LogError("consumer group created on a trimmed ledger: this projection lacks the archived "
             "entries until ecoact_rebuild --archive_dir recounts them",
             {{"group", group},
              {"projection", projection},
              {"shards", absl::StrJoin(trimmed_shards, ",")},
              {"fix", absl::StrCat("ecoact_rebuild --archive_dir=<archive>",
                                   group == "reports" ? " --reports" : "")}});
  }
  return trimmed_shards;
}

absl::Status ForEachLedgerEntryWithArchive(
    RedisClient* redis, ArchiveStore* store, const KeySpace& keys, int shard,
    const std::function<absl::Status(const StoredEntry&)>& visit) {
  std::string start = "-";
  ASSIGN_OR_RETURN(const std::optional<StreamId> trimmed_before,
                   LedgerTrimmedUpTo(redis, keys, shard));
  if (store == nullptr) {
    RETURN_IF_ERROR(CheckShardComplete(redis, keys, shard, nullptr));
  } else {
    ASSIGN_OR_RETURN(std::vector<SegmentInfo> segments, store->List(shard));
    RETURN_IF_ERROR(CheckShardComplete(redis, keys, shard, &segments));
    for (const SegmentInfo& segment : segments) {
      ASSIGN_OR_RETURN(std::vector<ArchivedEntry> entries, store->Read(segment));
      for (const ArchivedEntry& e : entries) {
        ASSIGN_OR_RETURN(StoredEntry stored, DecodeStreamEntry(e.ToStreamEntry()));
        RETURN_IF_ERROR(visit(stored));
      }
    }
    if (!segments.empty()) start = "(" + segments.back().last.ToString();
  }
  RETURN_IF_ERROR(ForEachLedgerEntry(redis, keys.Ledger(shard), visit, start));
  // ecoact_archive may have archived and trimmed entries of this shard after
  // the segments were listed and before the stream pages reached them: then
  // they were in neither.
  ASSIGN_OR_RETURN(const std::optional<StreamId> trimmed_after,
                   LedgerTrimmedUpTo(redis, keys, shard));
  if (trimmed_after && (!trimmed_before || *trimmed_before < *trimmed_after)) {
    return absl::AbortedError(absl::StrCat(
        "ecoact_archive trimmed ledger shard ", shard, " up to ", trimmed_after->ToString(),
        " while it was being read, so entries may have been missed: run the rebuild again, "
        "not while ecoact_archive runs"));
  }
  return absl::OkStatus();
}

}  // namespace ecoact::archive
