#ifndef ECOACT_SERVICES_COMMON_CSV_H_
#define ECOACT_SERVICES_COMMON_CSV_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ecoact {

// One CSV cell (RFC 4180), shared by every CSV export so that all of them
// escape and guard alike: quoted when it holds a comma, quote, CR or LF
// (quotes doubled). With `formula_guard`, a value a spreadsheet would
// evaluate or a cell that starts with a control character it strips
// (starting with = + - @, TAB or CR) gets a leading apostrophe, so that it
// is shown as text and never run as a formula. Use it for every value that
// came from a person (names, free text) or from configuration.
std::string CsvCell(absl::string_view value, bool formula_guard);

}  // namespace ecoact

#endif  // ECOACT_SERVICES_COMMON_CSV_H_
