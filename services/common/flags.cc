#include "services/common/flags.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace ecoact {

void InitFlags(int argc, char** argv, absl::string_view usage) {
  // Debian's abseil is built with absl::Mutex deadlock detection on: every
  // lock of every absl::Mutex (gRPC's included) updated a global lock graph,
  // about 3% of the server's CPU in a GetMyRank profile, behind a global
  // lock of its own (docs/benchmarks.md).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "services/") || absl::StrContains(file, "cli/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(absl::StrCat(
      usage, "\n\nEvery flag below may also be set by the environment variable "
             "ECOACT_<FLAG NAME IN CAPITALS> (e.g. ECOACT_REDIS); a flag on the command "
             "line wins."));
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    std::string variable = absl::StrCat("ECOACT_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr || !usage_config.contains_help_flags(flag->Filename())) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "%s: bad value in environment variable %s: %s\n", argv[0],
                   variable.c_str(), error.c_str());
      std::exit(2);
    }
  }
  absl::ParseCommandLine(argc, argv);
}

void ExitWithConfigError(const absl::Status& status) {
  std::fprintf(stderr, "configuration error: %s\n", std::string(status.message()).c_str());
  std::exit(2);
}

}  // namespace ecoact
