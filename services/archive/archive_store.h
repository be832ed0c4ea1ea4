// Where archived ledger entries go once they leave Redis (docs/operations.md,
// "Ledger archive"): a small storage interface with one implementation on
// local files. An object store (S3, GCS) implements the same four calls:
// Append = PUT of one object whose key is SegmentName() (a PUT is atomic and
// durable once acknowledged, so no temp file is needed), List = a LIST of the
// prefix parsed with ParseSegmentName(), Read = GET plus DecodeSegment().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/redis.h"

namespace ecoact::archive {

// A Redis stream id "<ms>-<seq>", ordered as Redis orders them.
struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  static absl::StatusOr<StreamId> Parse(absl::string_view text);
  std::string ToString() const;
  // The next id (for XTRIM MINID, which keeps ids >= its argument).
  StreamId Next() const;
  friend bool operator<(const StreamId& a, const StreamId& b) {
    return a.ms != b.ms ? a.ms < b.ms : a.seq < b.seq;
  }
  friend bool operator==(const StreamId& a, const StreamId& b) {
    return a.ms == b.ms && a.seq == b.seq;
  }
  friend bool operator<=(const StreamId& a, const StreamId& b) { return !(b < a); }
};

// One stream entry as Redis returns it: id and field/value pairs, kept
// verbatim so that DecodeStreamEntry reads an archived entry exactly as it
// read the live one.
struct ArchivedEntry {
  std::string id;
  std::vector<std::string> fields;  // f1, v1, f2, v2, ...
  // The [id, [f, v, ...]] shape of an XRANGE reply.
  RedisValue ToStreamEntry() const;
};

// What a segment holds; also its name, so listing needs no manifest.
struct SegmentInfo {
  int shard = 0;
  StreamId first;
  StreamId last;
  int64_t count = 0;
  uint32_t crc32 = 0;  // of the compressed body
  int64_t bytes = 0;   // size of the stored segment (0 when not known)
};

// "s<shard>_<first>_<last>_<count>_<crc32 hex>.seg", e.g.
// "s3_1700000000000-0_1700000999000-4_5_0a1b2c3d.seg".
std::string SegmentName(const SegmentInfo& info);
// Rejects anything else (temp files, stray files) with INVALID_ARGUMENT.
absl::StatusOr<SegmentInfo> ParseSegmentName(absl::string_view name);

// The stored bytes of a segment: a one-line text header that repeats the
// name's facts, then the zlib-compressed entries.
std::string EncodeSegment(const SegmentInfo& info, const std::vector<ArchivedEntry>& entries,
                          SegmentInfo* completed);
// DATA_LOSS when the checksum, the header or the body do not match.
absl::StatusOr<std::vector<ArchivedEntry>> DecodeSegment(const SegmentInfo& info,
                                                         absl::string_view bytes);

class ArchiveStore {
 public:
  virtual ~ArchiveStore() = default;
  // Stores the entries (ascending ids, one shard, at least one) as one
  // segment and returns only once it is durable. Appending a segment whose
  // id range is already stored is a no-op (a re-run after a crash).
  virtual absl::StatusOr<SegmentInfo> Append(int shard,
                                             const std::vector<ArchivedEntry>& entries) = 0;
  // Every durable segment of `shard`, by ascending first id.
  virtual absl::StatusOr<std::vector<SegmentInfo>> List(int shard) = 0;
  // DATA_LOSS if the segment is corrupt, NOT_FOUND if it is gone.
  virtual absl::StatusOr<std::vector<ArchivedEntry>> Read(const SegmentInfo& segment) = 0;
};

// Segments as files in one directory: each written to a temp file, fsync'd,
// renamed to its name, then the directory fsync'd. Temp files (".tmp-*", a
// crash mid-write) are ignored by List; an operator may delete them.
class FileArchiveStore : public ArchiveStore {
 public:
  // Creates `directory` if missing; INVALID_ARGUMENT if it cannot be used.
  static absl::StatusOr<std::unique_ptr<FileArchiveStore>> Open(const std::string& directory);

  absl::StatusOr<SegmentInfo> Append(int shard,
                                     const std::vector<ArchivedEntry>& entries) override;
  absl::StatusOr<std::vector<SegmentInfo>> List(int shard) override;
  absl::StatusOr<std::vector<ArchivedEntry>> Read(const SegmentInfo& segment) override;

  const std::string& directory() const { return directory_; }

 private:
  explicit FileArchiveStore(std::string directory) : directory_(std::move(directory)) {}
  std::string directory_;
};

}  // namespace ecoact::archive
