// Integer arithmetic shared by the services. Points and CO2 are integers
// (grams, points) everywhere, and may be negative in corrections, so
// division must round the same way in every service and in the rebuild.
#pragma once

#include <cstdint>

namespace ecoact {

// floor(a / b), rounding towards minus infinity (C++ `/` truncates towards
// zero); b != 0.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace ecoact
