#include "bench/loadgen/server_stats.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ecoact::loadgen {

std::map<std::string, std::string> ParseInfoFields(absl::string_view info) {
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) continue;
    fields[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
  }
  return fields;
}

std::map<std::string, int64_t> ParseCommandCalls(absl::string_view info) {
  std::map<std::string, int64_t> calls;
  for (const auto& [field, value] : ParseInfoFields(info)) {
    absl::string_view name = field;
    if (!absl::ConsumePrefix(&name, "cmdstat_") || name.empty()) continue;
    for (absl::string_view part : absl::StrSplit(value, ',')) {
      int64_t n = 0;
      if (absl::ConsumePrefix(&part, "calls=") && absl::SimpleAtoi(part, &n)) {
        calls[std::string(name)] = n;
      }
    }
  }
  return calls;
}

std::map<std::string, int64_t> CallsDelta(const std::map<std::string, int64_t>& before,
                                          const std::map<std::string, int64_t>& after) {
  std::map<std::string, int64_t> delta;
  for (const auto& [name, n] : after) {
    auto it = before.find(name);
    const int64_t d = n - (it == before.end() ? 0 : it->second);
    if (d != 0) delta[name] = d;
  }
  return delta;
}

int64_t SumCalls(const std::map<std::string, int64_t>& calls, const std::set<std::string>& names,
                 const std::set<std::string>& excluded) {
  int64_t sum = 0;
  for (const auto& [name, n] : calls) {
    if (!names.empty() && names.count(name) == 0) continue;
    if (excluded.count(name) != 0) continue;
    sum += n;
  }
  return sum;
}

absl::StatusOr<int64_t> ProcessCpuTicks(absl::string_view proc_stat) {
  const size_t paren = proc_stat.rfind(')');
  if (paren == absl::string_view::npos) {
    return absl::InvalidArgumentError("no ')' in /proc/<pid>/stat");
  }
  // After ") ": field 3 (state) is index 0, so utime (14) is index 11.
  std::vector<absl::string_view> fields =
      absl::StrSplit(proc_stat.substr(paren + 1), ' ', absl::SkipEmpty());
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InvalidArgumentError("short or malformed /proc/<pid>/stat");
  }
  return utime + stime;
}

}  // namespace ecoact::loadgen
