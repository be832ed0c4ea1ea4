// The open-loop send schedule: call i of the run is due at
// start + i / rate, whatever happened to earlier calls. Client thread t of T
// owns calls t, t + T, t + 2T, ... so the threads together keep the rate and
// none of them waits for another.
//
// A late thread (a slow server, a full in-flight cap, a descheduled client)
// still sends every call that has come due, each stamped with its own
// scheduled time; latency is measured from that time, so the wait a real
// client would have suffered counts (no coordinated omission). Pure: times
// are nanoseconds on any monotonic clock the caller picks.
#pragma once

#include <cstdint>

namespace ecoact::loadgen {

class OpenLoopSchedule {
 public:
  // `rate_per_second` > 0 calls per second over all threads, starting at
  // `start_ns`; this instance yields the calls of thread `thread` of
  // `threads`.
  OpenLoopSchedule(double rate_per_second, int64_t start_ns, int thread, int threads);

  // The scheduled time of the run's call `index` (over all threads).
  int64_t TimeOf(int64_t index) const;

  // The scheduled time of this thread's next unsent call.
  int64_t NextTime() const { return TimeOf(next_index_); }
  // True if this thread's next call is due at `now_ns`.
  bool Due(int64_t now_ns) const { return NextTime() <= now_ns; }
  // Takes this thread's next call: returns its scheduled time.
  int64_t Take();
  // Calls this thread has taken.
  int64_t taken() const { return taken_; }

 private:
  double interval_ns_;
  int64_t start_ns_;
  int threads_;
  int64_t next_index_;
  int64_t taken_ = 0;
};

}  // namespace ecoact::loadgen
