// Injected time and randomness, so domain code is deterministic in tests.
#pragma once

#include <functional>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ecoact {

using Clock = std::function<absl::Time()>;

inline Clock SystemClock() {
  return [] { return absl::Now(); };
}

// `bytes` cryptographically random bytes (OpenSSL RAND_bytes).
std::string RandomBytes(size_t bytes);

// Lower-case base32 (RFC 4648 alphabet, no padding) of `data`.
std::string Base32(const std::string& data);

}  // namespace ecoact
