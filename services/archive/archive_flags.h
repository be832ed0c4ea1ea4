// Flags of the programs that write or read the ledger archive (ecoact_archive
// and ecoact_rebuild), in their own library so the servers' --help does not
// list them.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/archive/archive_store.h"
#include "services/archive/archiver.h"

namespace ecoact::archive {

struct ArchiveConfig {
  std::string directory;      // --archive_dir; empty = no archive
  ArchiverOptions options;    // retention zero = never archive
};

// Validates the flags; a bad value is INVALID_ARGUMENT naming the flag and
// its ECOACT_* variable.
absl::StatusOr<ArchiveConfig> ArchiveConfigFromFlags();

// The store of --archive_dir, or null when it is empty.
absl::StatusOr<std::unique_ptr<ArchiveStore>> OpenArchive(const ArchiveConfig& config);

}  // namespace ecoact::archive
