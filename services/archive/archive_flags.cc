#include "services/archive/archive_flags.h"

#include <unistd.h>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "services/common/status_macros.h"

ABSL_FLAG(std::string, archive_dir, "",
          "Directory of the ledger archive segments (compressed, append-only). ecoact_archive "
          "writes it; ecoact_rebuild reads it before the ledger streams. Empty: no archive");
ABSL_FLAG(absl::Duration, ledger_retention, absl::ZeroDuration(),
          "Ledger entries recorded longer ago than this (and acknowledged by every consumer "
          "group) are moved from Redis to --archive_dir by ecoact_archive, e.g. 2160h (90 "
          "days). 0: never archive (the default, right for a pilot)");
ABSL_FLAG(int64_t, archive_segment_entries, 100000,
          "Most ledger entries per archive segment (1 to 1000000)");
ABSL_FLAG(int64_t, archive_trim_batch, 1000,
          "Most ledger entries removed from Redis per XTRIM (1 to 100000)");
ABSL_FLAG(absl::Duration, archive_lease_ttl, absl::Minutes(10),
          "Lifetime of the archiver's lease (renewed per segment); another run waits that long "
          "after a crash (10s to 24h)");
// The default is ArchiverOptions' own list, so the two cannot drift apart
// (ArchiverTest.RequiredGroupsAreEveryProjectorsGroup checks that list).
ABSL_FLAG(std::string, archive_required_groups,
          absl::StrJoin(ecoact::archive::ArchiverOptions().required_groups, ","),
          "Ledger consumer groups (comma-separated) that must exist on every shard stream, "
          "and have acknowledged the entries, before ecoact_archive trims them: every "
          "projector's group (leaderboard \"boards\", reports \"reports\"). A missing one "
          "stops the run (exit code 3) so that a projector deployed later does not start on a "
          "trimmed ledger; leave a group out only if its service is never deployed");

namespace ecoact::archive {

absl::StatusOr<ArchiveConfig> ArchiveConfigFromFlags() {
  ArchiveConfig config;
  config.directory = absl::GetFlag(FLAGS_archive_dir);
  ArchiverOptions& o = config.options;
  o.retention = absl::GetFlag(FLAGS_ledger_retention);
  if (o.retention < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--ledger_retention (ECOACT_LEDGER_RETENTION) must be 0 (never archive) or positive");
  }
  if (o.retention > absl::ZeroDuration() && config.directory.empty()) {
    return absl::InvalidArgumentError(
        "--ledger_retention (ECOACT_LEDGER_RETENTION) needs --archive_dir (ECOACT_ARCHIVE_DIR): "
        "entries are only trimmed once archived");
  }
  o.segment_entries = absl::GetFlag(FLAGS_archive_segment_entries);
  if (o.segment_entries < 1 || o.segment_entries > 1000000) {
    return absl::InvalidArgumentError(
        "--archive_segment_entries (ECOACT_ARCHIVE_SEGMENT_ENTRIES) must be in [1, 1000000]");
  }
  o.trim_batch = absl::GetFlag(FLAGS_archive_trim_batch);
  if (o.trim_batch < 1 || o.trim_batch > 100000) {
    return absl::InvalidArgumentError(
        "--archive_trim_batch (ECOACT_ARCHIVE_TRIM_BATCH) must be in [1, 100000]");
  }
  o.lease_ttl = absl::GetFlag(FLAGS_archive_lease_ttl);
  if (o.lease_ttl < absl::Seconds(10) || o.lease_ttl > absl::Hours(24)) {
    return absl::InvalidArgumentError(
        "--archive_lease_ttl (ECOACT_ARCHIVE_LEASE_TTL) must be in [10s, 24h]");
  }
  o.required_groups.clear();
  for (absl::string_view name : absl::StrSplit(absl::GetFlag(FLAGS_archive_required_groups), ',',
                                               absl::SkipWhitespace())) {
    name = absl::StripAsciiWhitespace(name);
    if (name.find_first_of(" \t") != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--archive_required_groups (ECOACT_ARCHIVE_REQUIRED_GROUPS): \"", name,
          "\" is not a consumer group name"));
    }
    o.required_groups.emplace_back(name);
  }
  if (o.required_groups.empty()) {
    return absl::InvalidArgumentError(
        "--archive_required_groups (ECOACT_ARCHIVE_REQUIRED_GROUPS) must name at least one "
        "consumer group, e.g. boards,reports");
  }
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  o.owner = absl::StrCat(host[0] ? host : "archiver", ":", getpid());
  return config;
}

absl::StatusOr<std::unique_ptr<ArchiveStore>> OpenArchive(const ArchiveConfig& config) {
  if (config.directory.empty()) return std::unique_ptr<ArchiveStore>();
  auto store = FileArchiveStore::Open(config.directory);
  if (!store.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--archive_dir (ECOACT_ARCHIVE_DIR): ", store.status().message()));
  }
  return std::unique_ptr<ArchiveStore>(std::move(*store));
}

}  // namespace ecoact::archive
