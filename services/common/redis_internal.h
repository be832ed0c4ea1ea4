// Shared by redis.cc and redis_cluster.cc only; not part of the client's API.
#pragma once

#include <atomic>
#include <memory>

namespace ecoact::redis_internal {

// What a synchronous caller and the I/O thread agree on about the caller's
// commands: the I/O thread moves kQueued to kWritten just before writing
// them, the caller kQueued to kAbandoned when it stops waiting first. Exactly
// one wins, so commands whose caller was told "did not run" never run.
enum WaiterState : int { kQueued = 0, kAbandoned = 1, kWritten = 2 };
using WaiterFlag = std::shared_ptr<std::atomic<int>>;

// Set by a synchronous caller around the asynchronous call it waits on.
extern thread_local WaiterFlag* waiter_state;

}  // namespace ecoact::redis_internal
