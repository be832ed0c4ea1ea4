#pragma once

#include "services/actions/ledger_store.h"
#include "services/actions/recorder.h"
#include "services/catalog/catalog_flags.h"
#include "services/common/assembly.h"

namespace ecoact::actions {

// What recording an action needs — the catalogue, the badge rules, the
// campaign cache, the recorder and the ledger store — built from the flags
// the same way for every module that records (actions, and events for
// staff credits), so that both apply the same rules and campaigns.
struct RecordingKit {
  catalog::CatalogConfig catalog_config;
  const catalog::Catalog* catalog = nullptr;
  const ActionRecorder* recorder = nullptr;
  LedgerStore* ledger = nullptr;
};
absl::StatusOr<RecordingKit> BuildRecordingKit(Assembly& assembly);

// Adds ecoact.v1.ActionsService (loads the catalogue for conversions).
absl::Status AddActionsService(Assembly& assembly);

}  // namespace ecoact::actions
