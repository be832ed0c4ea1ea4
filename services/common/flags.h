// Start-up flags with ECOACT_<FLAG_NAME> environment variables as defaults,
// for every ecoact program (servers and the gateway). Its own library
// (ecoact_flags) so that a program can use it without the servers' flags in
// config.cc.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ecoact {

// Applies environment defaults, then parses argv. Exits with a message naming
// the variable or flag on a bad value. `usage` is the first line of --help.
void InitFlags(int argc, char** argv, absl::string_view usage);

// Prints `status` with the program's name to stderr and exits with code 2.
[[noreturn]] void ExitWithConfigError(const absl::Status& status);

}  // namespace ecoact
