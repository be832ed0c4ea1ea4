// The demo pilot (`ecoact demo`): a realistic, deterministic city seeded
// through the public gRPC API only, so that a new user sees living boards,
// event totals, a campaign and survey results right after starting the
// server. Kept apart from the command line so that benchmarks can reuse the
// generator.
//
// Deterministic: every name, amount and time comes from a seeded PRNG
// (SplitMix64, the same on every platform) and from the pilot's anchor time,
// and every request id is derived from the seed. The anchor is the start of
// the demo campaign: taken from the server when the campaign already exists,
// so a second run with the same seed sends the same requests, which the
// server replays instead of doubling (within its idempotency window: 24 h
// for sign-ups, --idempotency_ttl for actions).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "services/common/routes.h"

namespace ecoact::demo {

struct DemoOptions {
  // Citizens spread over the 7 wards; 3000 is a pilot, 100 a test.
  int citizens = 3000;
  uint64_t seed = 1;
  // Days of history before the anchor. Must stay inside the server's
  // --max_backdate (7 days by default: 6 fits; with
  // ECOACT_MAX_BACKDATE=2160h up to 89).
  int days = 6;
  // Concurrent RPCs (one thread each).
  int parallel = 16;
  // An admin's access token (the CLI's `login` session).
  std::string admin_token;
  // Deadline of each RPC.
  absl::Duration rpc_timeout = absl::Seconds(20);
  // Progress lines (may be empty).
  std::function<void(const std::string&)> progress;
};

struct DemoSummary {
  absl::Time anchor;
  std::string campaign_id;
  std::string survey_id;
  std::string drive_ids[2];
  int64_t citizens = 0;
  int64_t teams = 0;
  int64_t organisations = 0;
  // RecordAction calls, and how many of them the server stored for the
  // first time (the others were replays of an earlier run).
  int64_t actions = 0;
  int64_t actions_new = 0;
  int64_t check_ins = 0;
  int64_t weigh_ins = 0;
  int64_t weigh_ins_new = 0;
  int64_t survey_responses = 0;
  // The drives' staff account, and its password: random, chosen by the run
  // that created the account and returned only then (empty on a later run;
  // that run does the staff's work with the admin's token).
  std::string staff_login;
  std::string staff_password;
  absl::Duration elapsed;
  double actions_per_second = 0;
};

// Seeds the pilot through `channels` (each service's own in a split
// deployment). An error names the step and the server's status.
absl::StatusOr<DemoSummary> RunDemo(const RoutedChannels& channels, const DemoOptions& options);

// SplitMix64: a tiny PRNG with the same sequence everywhere (unlike the
// distributions of <random>, whose output is implementation-defined).
class DemoRandom {
 public:
  explicit DemoRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, n); n > 0.
  int64_t Below(int64_t n) { return static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }
  // True with probability percent / 100.
  bool Percent(int percent) { return Below(100) < percent; }

 private:
  uint64_t state_;
};

}  // namespace ecoact::demo
