#include "services/common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "openssl/sha.h"

namespace ecoact {
namespace {

std::atomic<int> min_severity{static_cast<int>(Severity::kInfo)};
std::mutex output_mutex;

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kDebug: return "DEBUG";
    case Severity::kInfo: return "INFO";
    case Severity::kWarning: return "WARNING";
    case Severity::kError: return "ERROR";
  }
  return "INFO";
}

}  // namespace

void SetMinLogSeverity(Severity severity) {
  min_severity.store(static_cast<int>(severity));
}

void Log(Severity severity, absl::string_view message,
         std::initializer_list<LogField> fields) {
  if (static_cast<int>(severity) < min_severity.load()) return;
  nlohmann::json line;
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line["severity"] = SeverityName(severity);
  line["msg"] = std::string(message);
  for (const LogField& field : fields) {
    // Not a structured binding: C++17 lambdas cannot capture those (clang
    // refuses it; the sanitizer build uses clang).
    nlohmann::json& slot = line[std::string(field.first)];
    std::visit([&](const auto& v) { slot = v; }, field.second);
  }
  // Replace invalid UTF-8 instead of throwing: log lines must never crash.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard<std::mutex> lock(output_mutex);
  std::fprintf(stdout, "%s\n", text.c_str());
  std::fflush(stdout);
}

std::string LogSafeId(absl::string_view id) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest);
  return absl::StrFormat("%02x%02x%02x%02x", digest[0], digest[1], digest[2], digest[3]);
}

}  // namespace ecoact
