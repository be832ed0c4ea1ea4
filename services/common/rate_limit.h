// Rate limits per RPC and per caller (docs/security.md "Rate limits"): a
// token bucket in Redis for each (subject, RPC), where the subject is the
// signed-in account or, for public calls, the client address. The policy
// gate (policy.h) takes a token after authorisation; an empty bucket is
// RESOURCE_EXHAUSTED with the time to wait.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/redis.h"

namespace ecoact {

struct RateLimit {
  int per_minute = 0;  // 0: unlimited
  int burst = 0;       // tokens a full bucket holds
  bool enabled() const { return per_minute > 0; }
};

// Limits by RPC full name ("ecoact.v1.IdentityService.SignIn"), with a
// default for every other RPC.
class RateLimitTable {
 public:
  // "Method=per_minute[/burst],..." with "*" as the default; a missing
  // burst is a minute's worth, 0 disables the limit. "0", "off" and "" turn
  // every limit off. INVALID_ARGUMENT describes the bad item.
  static absl::StatusOr<RateLimitTable> Parse(absl::string_view spec);

  RateLimit For(absl::string_view method) const;
  bool any_enabled() const;

 private:
  RateLimit default_;
  std::map<std::string, RateLimit, std::less<>> methods_;
};

// The built-in table: generous for everyday calls, strict for the calls that
// check a secret or a join code, to slow down guessing.
extern const char kDefaultRateLimits[];

struct RateDecision {
  bool allowed = true;
  int64_t retry_after_ms = 0;
};

class RateLimiter {
 public:
  // `prefix` is the deployment's key prefix. `redis` must outlive this.
  RateLimiter(RedisClient* redis, std::string prefix, RateLimitTable table);

  const RateLimitTable& table() const { return table_; }

  // Takes one token of `method`'s bucket for `subject`. Always allowed for
  // an unlimited method. A Redis failure is returned as is, and for the next
  // second calls are not checked (UNAVAILABLE at once); the gate lets them
  // through (fail open).
  absl::StatusOr<RateDecision> Take(absl::string_view method, absl::string_view subject) const;

  // `<prefix>:{rl:<subject>}:<method>`: the subject's buckets share a slot.
  std::string BucketKey(absl::string_view subject, absl::string_view method) const;

  // Calls let through because Redis could not be asked.
  int64_t fail_open_count() const { return fail_open_.load(); }
  void CountFailOpen(const absl::Status& error) const;

 private:
  RedisClient* redis_;
  std::string prefix_;
  RateLimitTable table_;
  static constexpr int64_t kPauseAfterFailureMs = 1000;
  mutable std::atomic<int64_t> fail_open_{0};
  mutable std::atomic<int64_t> pause_until_ms_{0};
};

// The host part of a gRPC peer string: "ipv4:10.0.0.1:5000" -> "10.0.0.1",
// "ipv6:[::1]:5000" -> "::1"; anything else is returned whole.
std::string PeerHost(absl::string_view peer);

}  // namespace ecoact
