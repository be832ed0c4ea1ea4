#include "bench/loadgen/schedule.h"

#include <cmath>

namespace ecoact::loadgen {

OpenLoopSchedule::OpenLoopSchedule(double rate_per_second, int64_t start_ns, int thread,
                                   int threads)
    : interval_ns_(1e9 / rate_per_second),
      start_ns_(start_ns),
      threads_(threads),
      next_index_(thread) {}

int64_t OpenLoopSchedule::TimeOf(int64_t index) const {
  // From the start each time, never by adding intervals: no drift.
  return start_ns_ + static_cast<int64_t>(std::llround(static_cast<long double>(index) *
                                                      interval_ns_));
}

int64_t OpenLoopSchedule::Take() {
  const int64_t t = TimeOf(next_index_);
  next_index_ += threads_;
  ++taken_;
  return t;
}

}  // namespace ecoact::loadgen
