#include "services/archive/archive_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/status_macros.h"

namespace ecoact::archive {
namespace {

constexpr absl::string_view kMagic = "ECOACT-SEGMENT 1";
constexpr absl::string_view kSuffix = ".seg";
constexpr absl::string_view kTempPrefix = ".tmp-";

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  const int error = errno;
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == ENOSPC || error == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::UnavailableError(message);
}

void PutU32(std::string* out, uint32_t n) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

void PutString(std::string* out, absl::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s.data(), s.size());
}

bool GetU32(absl::string_view* in, uint32_t* n) {
  if (in->size() < 4) return false;
  *n = 0;
  for (int i = 0; i < 4; ++i) *n |= static_cast<uint32_t>(static_cast<uint8_t>((*in)[i])) << (8 * i);
  in->remove_prefix(4);
  return true;
}

bool GetString(absl::string_view* in, std::string* s) {
  uint32_t n = 0;
  if (!GetU32(in, &n) || in->size() < n) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

uint32_t Crc32(absl::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

std::string Header(const SegmentInfo& info, uint64_t raw_bytes) {
  return absl::StrCat(kMagic, " shard=", info.shard, " first=", info.first.ToString(),
                      " last=", info.last.ToString(), " count=", info.count, " raw=", raw_bytes,
                      absl::StrFormat(" crc32=%08x", info.crc32), "\n");
}

absl::Status SyncDirectory(const std::string& directory) {
  const int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return ErrnoError("open", directory);
  const int rc = fsync(fd);
  close(fd);
  if (rc != 0) return ErrnoError("fsync", directory);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<StreamId> StreamId::Parse(absl::string_view text) {
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(text, '-');
  StreamId id;
  if (!absl::SimpleAtoi(parts.first, &id.ms) || !absl::SimpleAtoi(parts.second, &id.seq)) {
    return absl::InvalidArgumentError(absl::StrCat("not a stream id: '", text, "'"));
  }
  return id;
}

std::string StreamId::ToString() const { return absl::StrCat(ms, "-", seq); }

StreamId StreamId::Next() const {
  if (seq == std::numeric_limits<uint64_t>::max()) return {ms + 1, 0};
  return {ms, seq + 1};
}

RedisValue ArchivedEntry::ToStreamEntry() const {
  RedisValue entry;
  entry.type = RedisValue::Type::kArray;
  RedisValue& id_value = entry.elements.emplace_back();
  id_value.type = RedisValue::Type::kString;
  id_value.str = id;
  RedisValue& pairs = entry.elements.emplace_back();
  pairs.type = RedisValue::Type::kArray;
  for (const std::string& f : fields) {
    RedisValue& v = pairs.elements.emplace_back();
    v.type = RedisValue::Type::kString;
    v.str = f;
  }
  return entry;
}

std::string SegmentName(const SegmentInfo& info) {
  return absl::StrCat("s", info.shard, "_", info.first.ToString(), "_", info.last.ToString(), "_",
                      info.count, absl::StrFormat("_%08x", info.crc32), kSuffix);
}

absl::StatusOr<SegmentInfo> ParseSegmentName(absl::string_view name) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat("not an archive segment name: '", name, "'"));
  };
  absl::string_view rest = name;
  if (!absl::ConsumePrefix(&rest, "s") || !absl::ConsumeSuffix(&rest, kSuffix)) return bad();
  std::vector<absl::string_view> parts = absl::StrSplit(rest, '_');
  if (parts.size() != 5) return bad();
  SegmentInfo info;
  if (!absl::SimpleAtoi(parts[0], &info.shard) || info.shard < 0) return bad();
  auto first = StreamId::Parse(parts[1]);
  auto last = StreamId::Parse(parts[2]);
  if (!first.ok() || !last.ok() || *last < *first) return bad();
  info.first = *first;
  info.last = *last;
  if (!absl::SimpleAtoi(parts[3], &info.count) || info.count < 1) return bad();
  if (parts[4].size() != 8 || !absl::SimpleHexAtoi(parts[4], &info.crc32)) return bad();
  return info;
}

std::string EncodeSegment(const SegmentInfo& info, const std::vector<ArchivedEntry>& entries,
                          SegmentInfo* completed) {
  std::string raw;
  for (const ArchivedEntry& e : entries) {
    PutString(&raw, e.id);
    PutU32(&raw, static_cast<uint32_t>(e.fields.size()));
    for (const std::string& f : e.fields) PutString(&raw, f);
  }
  uLongf compressed_size = compressBound(raw.size());
  std::string body(compressed_size, '\0');
  // Level 6 (zlib's default): ledger fields repeat, so most of the gain is
  // there; higher levels cost CPU for a few per cent.
  compress2(reinterpret_cast<Bytef*>(body.data()), &compressed_size,
            reinterpret_cast<const Bytef*>(raw.data()), raw.size(), 6);
  body.resize(compressed_size);
  *completed = info;
  completed->count = static_cast<int64_t>(entries.size());
  completed->crc32 = Crc32(body);
  std::string out = Header(*completed, raw.size());
  out += body;
  completed->bytes = static_cast<int64_t>(out.size());
  return out;
}

absl::StatusOr<std::vector<ArchivedEntry>> DecodeSegment(const SegmentInfo& info,
                                                         absl::string_view bytes) {
  const std::string name = SegmentName(info);
  auto loss = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("archive segment ", name, ": ", why));
  };
  const size_t newline = bytes.find('\n');
  if (newline == absl::string_view::npos) return loss("no header");
  const absl::string_view header = bytes.substr(0, newline + 1);
  const absl::string_view body = bytes.substr(newline + 1);
  if (Crc32(body) != info.crc32) return loss("checksum mismatch (corrupt or truncated)");
  const size_t raw_at = header.find(" raw=");
  uint64_t raw_bytes = 0;
  if (raw_at == absl::string_view::npos ||
      !absl::SimpleAtoi(header.substr(raw_at + 5, header.find(' ', raw_at + 5) - raw_at - 5),
                        &raw_bytes) ||
      raw_bytes > (uint64_t{1} << 32)) {
    return loss("bad header");
  }
  if (header != Header(info, raw_bytes)) return loss("header does not match the name");
  std::string raw(raw_bytes, '\0');
  uLongf raw_size = raw_bytes;
  if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size,
                 reinterpret_cast<const Bytef*>(body.data()), body.size()) != Z_OK ||
      raw_size != raw_bytes) {
    return loss("cannot decompress");
  }
  std::vector<ArchivedEntry> entries;
  absl::string_view in = raw;
  while (!in.empty()) {
    ArchivedEntry& e = entries.emplace_back();
    uint32_t n = 0;
    if (!GetString(&in, &e.id) || !GetU32(&in, &n) || n > in.size()) return loss("bad entry");
    e.fields.resize(n);
    for (std::string& f : e.fields) {
      if (!GetString(&in, &f)) return loss("bad entry");
    }
  }
  if (static_cast<int64_t>(entries.size()) != info.count || entries.front().id != info.first.ToString() ||
      entries.back().id != info.last.ToString()) {
    return loss("entries do not match the name");
  }
  return entries;
}

absl::StatusOr<std::unique_ptr<FileArchiveStore>> FileArchiveStore::Open(
    const std::string& directory) {
  if (directory.empty()) return absl::InvalidArgumentError("archive directory is empty");
  if (mkdir(directory.c_str(), 0750) != 0 && errno != EEXIST) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create archive directory ", directory, ": ", std::strerror(errno)));
  }
  if (access(directory.c_str(), R_OK | W_OK | X_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("archive directory ", directory, " is not writable: ", std::strerror(errno)));
  }
  return std::unique_ptr<FileArchiveStore>(new FileArchiveStore(directory));
}

absl::StatusOr<SegmentInfo> FileArchiveStore::Append(int shard,
                                                     const std::vector<ArchivedEntry>& entries) {
  if (entries.empty()) return absl::InvalidArgumentError("an archive segment needs entries");
  SegmentInfo info;
  info.shard = shard;
  ASSIGN_OR_RETURN(info.first, StreamId::Parse(entries.front().id));
  ASSIGN_OR_RETURN(info.last, StreamId::Parse(entries.back().id));
  ASSIGN_OR_RETURN(std::vector<SegmentInfo> existing, List(shard));
  for (const SegmentInfo& s : existing) {
    if (s.first == info.first && s.last == info.last) return s;  // written before a crash
    if (!(s.last < info.first || info.last < s.first)) {
      return absl::FailedPreconditionError(
          absl::StrCat("archive segment ", SegmentName(s), " overlaps ", info.first.ToString(),
                       "..", info.last.ToString()));
    }
  }
  SegmentInfo completed;
  const std::string bytes = EncodeSegment(info, entries, &completed);
  const std::string final_path = absl::StrCat(directory_, "/", SegmentName(completed));
  const std::string temp_path =
      absl::StrCat(directory_, "/", kTempPrefix, SegmentName(completed), ".", getpid());
  const int fd = open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoError("create", temp_path);
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status error = ErrnoError("write", temp_path);
      close(fd);
      unlink(temp_path.c_str());
      return error;
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    absl::Status error = ErrnoError("fsync", temp_path);
    close(fd);
    unlink(temp_path.c_str());
    return error;
  }
  close(fd);
  if (rename(temp_path.c_str(), final_path.c_str()) != 0) {
    absl::Status error = ErrnoError("rename", temp_path);
    unlink(temp_path.c_str());
    return error;
  }
  RETURN_IF_ERROR(SyncDirectory(directory_));
  return completed;
}

absl::StatusOr<std::vector<SegmentInfo>> FileArchiveStore::List(int shard) {
  DIR* dir = opendir(directory_.c_str());
  if (dir == nullptr) return ErrnoError("open", directory_);
  std::vector<SegmentInfo> segments;
  while (struct dirent* d = readdir(dir)) {
    const absl::string_view name = d->d_name;
    // A temp file is a write that never completed: its entries are still
    // in Redis (nothing is trimmed before the rename), so it is ignored.
    auto info = ParseSegmentName(name);
    if (!info.ok() || info->shard != shard) continue;
    struct stat st;
    if (stat(absl::StrCat(directory_, "/", name).c_str(), &st) == 0) info->bytes = st.st_size;
    segments.push_back(*info);
  }
  closedir(dir);
  std::sort(segments.begin(), segments.end(),
            [](const SegmentInfo& a, const SegmentInfo& b) { return a.first < b.first; });
  return segments;
}

absl::StatusOr<std::vector<ArchivedEntry>> FileArchiveStore::Read(const SegmentInfo& segment) {
  const std::string path = absl::StrCat(directory_, "/", SegmentName(segment));
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path);
  std::string bytes;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status error = ErrnoError("read", path);
      close(fd);
      return error;
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return DecodeSegment(segment, bytes);
}

}  // namespace ecoact::archive
