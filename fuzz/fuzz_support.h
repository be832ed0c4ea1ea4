// What the fuzz targets share: the city's calendar, the catalogue built into
// the binaries, and a fixed "now" that the committed seed inputs are dated
// against (a fuzz run must be reproducible from its input alone).
#pragma once

#include <cstdlib>
#include <iostream>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "services/catalog/catalog.h"
#include "services/common/periods.h"

namespace ecoact::fuzz {

// 2025-11-15 03:00 UTC: the seeds' occurred_at lie in the week before.
inline absl::Time FixedNow() { return absl::FromUnixSeconds(1763175600); }

// The value of a set-up step that cannot fail unless the repository's data
// files are broken; aborts with the status so the fuzz run stops at once.
template <typename T>
T OrDie(absl::StatusOr<T> value) {
  if (!value.ok()) {
    std::cerr << "fuzz set-up failed: " << value.status() << "\n";
    std::abort();
  }
  return *std::move(value);
}

// Protobuf logs every string field with invalid UTF-8 it refuses to parse;
// the fuzz inputs are full of them. Call from LLVMFuzzerInitialize.
inline void SilenceProtobufLogs() { google::protobuf::SetLogHandler(nullptr); }

inline const CityCalendar& Calendar() {
  static const CityCalendar* calendar = new CityCalendar(OrDie(CityCalendar::Create("Asia/Tokyo")));
  return *calendar;
}

inline const catalog::Catalog& EmbeddedCatalog() {
  static const catalog::Catalog* catalog =
      new catalog::Catalog(OrDie(catalog::Catalog::Parse(catalog::EmbeddedCatalogText(), Calendar())));
  return *catalog;
}

}  // namespace ecoact::fuzz
