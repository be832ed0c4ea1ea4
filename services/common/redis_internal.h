// Shared by redis.cc and redis_cluster.cc only; not part of the client's API.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/redis.h"

namespace ecoact::redis_internal {

// What a synchronous caller and the I/O thread agree on about the caller's
// commands: the I/O thread moves kQueued to kWritten just before writing
// them, the caller kQueued to kAbandoned when it stops waiting first. Exactly
// one wins, so commands whose caller was told "did not run" never run.
enum WaiterState : int { kQueued = 0, kAbandoned = 1, kWritten = 2 };
using WaiterFlag = std::shared_ptr<std::atomic<int>>;

// Set by a synchronous caller around the asynchronous call it waits on.
extern thread_local WaiterFlag* waiter_state;

// A blocking connection to host:port, logged in with `options`' credentials
// (AUTH [user] password, before anything else is sent), its timeout set to
// the command timeout. UNAVAILABLE naming the address when it cannot be
// reached; UNAVAILABLE "Redis at HOST:PORT refused the credentials for user
// U: ..." when Redis says no (the message never holds the password; then
// `*refused`, if given, is set).
absl::StatusOr<redisContext*> ConnectAndAuthenticate(const std::string& host, int port,
                                                     const RedisOptions& options,
                                                     bool* refused = nullptr);

}  // namespace ecoact::redis_internal
