// One JSON object per line on stdout: {"ts", "severity", "msg", fields...}.
// Never log personal identifiers: account ids are logged only as the
// shard-level pseudonym from LogSafeId().
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <variant>

#include "absl/strings/string_view.h"

namespace ecoact {

enum class Severity { kDebug, kInfo, kWarning, kError };

using LogValue = std::variant<std::string, int64_t, double, bool>;
using LogField = std::pair<absl::string_view, LogValue>;

void Log(Severity severity, absl::string_view message,
         std::initializer_list<LogField> fields = {});

inline void LogInfo(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(Severity::kInfo, m, f);
}
inline void LogWarning(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(Severity::kWarning, m, f);
}
inline void LogError(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(Severity::kError, m, f);
}

// Lines below this severity are dropped. Default kInfo.
void SetMinLogSeverity(Severity severity);

// A short, non-reversible tag of an id for correlating log lines.
std::string LogSafeId(absl::string_view id);

}  // namespace ecoact
