#include "services/catalog/catalog_flags.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, catalog_file, "",
          "Catalogue textproto file (schema ecoact.catalogfile.v1.CatalogFile) "
          "(env ECOACT_CATALOG_FILE); empty = the catalogue built into the binary");
ABSL_FLAG(absl::Duration, max_backdate, absl::Hours(24 * 7),
          "How long after the fact an action may be recorded or previewed "
          "(env ECOACT_MAX_BACKDATE); occurred_at older than this is refused");

namespace ecoact::catalog {
namespace {

constexpr absl::Duration kLongestBackdate = absl::Hours(24 * 366);

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int error = errno;
    std::string message =
        absl::StrCat("cannot read catalogue file '", path, "': ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::FailedPreconditionError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::FailedPreconditionError(
        absl::StrCat("error while reading catalogue file '", path, "'"));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<CatalogConfig> CatalogConfigFromFlags() {
  CatalogConfig config;
  config.catalog_file = absl::GetFlag(FLAGS_catalog_file);
  config.max_backdate = absl::GetFlag(FLAGS_max_backdate);
  if (config.max_backdate <= absl::ZeroDuration() || config.max_backdate > kLongestBackdate) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_backdate (ECOACT_MAX_BACKDATE) must be positive and at most ",
        absl::FormatDuration(kLongestBackdate), ", got ",
        absl::FormatDuration(config.max_backdate)));
  }
  return config;
}

absl::StatusOr<Catalog> LoadCatalog(const CatalogConfig& config, const CityCalendar& calendar) {
  if (config.catalog_file.empty()) {
    auto catalog = Catalog::Parse(EmbeddedCatalogText(), calendar);
    if (!catalog.ok()) {
      return absl::Status(catalog.status().code(),
                          absl::StrCat("built-in catalogue: ", catalog.status().message()));
    }
    return catalog;
  }
  auto text = ReadFile(config.catalog_file);
  if (!text.ok()) return text.status();
  auto catalog = Catalog::Parse(*text, calendar);
  if (!catalog.ok()) {
    return absl::Status(catalog.status().code(),
                        absl::StrCat("catalogue file '", config.catalog_file,
                                     "': ", catalog.status().message()));
  }
  return catalog;
}

}  // namespace ecoact::catalog
