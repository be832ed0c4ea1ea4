// Parsing what the load generator reads about the server side of a run:
// Redis's INFO text (fields, per-command call counts from INFO
// commandstats) and a process's CPU time from /proc/<pid>/stat. Pure: the
// caller fetches the text; these functions only read it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ecoact::loadgen {

// "field:value" lines of INFO (any sections); "# Section" headers and blank
// lines are skipped. Values are kept as text.
std::map<std::string, std::string> ParseInfoFields(absl::string_view info);

// Calls per command from INFO commandstats lines such as
// "cmdstat_evalsha:calls=12,usec=...". Subcommands keep Redis's name
// ("xinfo|groups"). Lines of other sections are ignored.
std::map<std::string, int64_t> ParseCommandCalls(absl::string_view info);

// after - before per command; commands whose count did not change are left
// out. A command missing from `before` counts from 0 (Redis lists a command
// only once it has been called).
std::map<std::string, int64_t> CallsDelta(const std::map<std::string, int64_t>& before,
                                          const std::map<std::string, int64_t>& after);

// Sum of the counts of `names` (all commands if `names` is empty), minus
// those in `excluded`.
int64_t SumCalls(const std::map<std::string, int64_t>& calls, const std::set<std::string>& names,
                 const std::set<std::string>& excluded = {});

// utime + stime (clock ticks, fields 14 and 15) of a /proc/<pid>/stat line.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted after its last ')'.
absl::StatusOr<int64_t> ProcessCpuTicks(absl::string_view proc_stat);

}  // namespace ecoact::loadgen
