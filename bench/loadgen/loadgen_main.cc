// loadgen: the benchmark suite's load generator (docs/benchmarks.md).
//
// gRPC's async API: --threads client threads, each driving its own
// CompletionQueue, spread their calls over --channels channels that differ in
// a channel argument, so each is its own HTTP/2 connection. Closed loop keeps
// --in_flight calls outstanding; open loop sends at --rate calls/s on a fixed
// schedule and measures each call from its scheduled send time, so a server
// that falls behind shows in the latency instead of slowing the client down
// (no coordinated omission). Each run has a warm-up that is not measured,
// then a fixed --duration.
//
//   build/bench/loadgen/loadgen --server=127.0.0.1:7700 --redis=127.0.0.1:6390
//       --suite=quick --in_flight=8,32,128 --out=bench/results/x.json
//
// The server must run with --rate_limits=0: one client on one address would
// otherwise hit the per-address limits. bench/run.sh starts Redis and the
// server, runs the quick suite and prints a table.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/loadgen/histogram.h"
#include "bench/loadgen/schedule.h"
#include "bench/loadgen/server_stats.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/events.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "ecoact/v1/leaderboard.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "services/common/status_macros.h"

ABSL_FLAG(std::string, server, "127.0.0.1:7700", "ecoact_server address (host:port)");
ABSL_FLAG(std::string, redis, "",
          "The server's Redis (host:port); needed by the board and rank scenarios, which seed "
          "the city all-time board directly");
ABSL_FLAG(std::string, key_prefix, "ea", "The server's --key_prefix");
ABSL_FLAG(int, ledger_shards, 16, "The server's --ledger_shards");
ABSL_FLAG(std::string, scenario, "noop",
          "noop | record | burst | board | rank (ignored with --suite)");
ABSL_FLAG(std::string, suite, "",
          "quick: noop, record, burst, then board and rank at each --board_users, same settings");
ABSL_FLAG(std::string, mode, "closed", "closed (N calls in flight) | open (fixed rate)");
ABSL_FLAG(std::vector<std::string>, in_flight, {"32"},
          "Closed loop: calls in flight over all threads; a list (8,32,128) runs each scenario "
          "at each");
ABSL_FLAG(double, rate, 0, "Open loop: calls per second over all threads");
ABSL_FLAG(int, max_in_flight, 2000,
          "Open loop: a thread holds back sends beyond this many outstanding calls over all "
          "threads (the held-back calls keep their scheduled time)");
ABSL_FLAG(int, threads, 2, "Client threads, each with its own CompletionQueue");
ABSL_FLAG(int, channels, 16, "Channels, each its own HTTP/2 connection");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "Unmeasured warm-up per run");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "Measured duration per run");
ABSL_FLAG(absl::Duration, call_timeout, absl::Seconds(5), "Deadline of each call");
ABSL_FLAG(int, users, 1000, "Citizens registered through the API before record/board/rank");
ABSL_FLAG(std::vector<std::string>, board_users, std::vector<std::string>({"10000", "100000", "1000000"}),
          "Members of the city all-time points board: board and rank run at each size, the "
          "board growing (seeded with pipelined ZADD) between them");
ABSL_FLAG(int, server_pid, 0, "The server's pid, for its CPU time (/proc/<pid>/stat); 0: not reported");
ABSL_FLAG(int64_t, server_started_unix_ns, 0,
          "When the server was started (Unix ns): the start-up time is measured from it to the "
          "first SERVING health check; 0: not measured");
ABSL_FLAG(double, lag_rate_fraction, 0.5,
          "After record: an open-loop record run at this fraction of record's best closed-loop "
          "rate, during which probes measure the projector lag; 0: skipped");
ABSL_FLAG(absl::Duration, round_trips, absl::Seconds(3),
          "After record: a closed-loop record run this long with the projector paused, then its "
          "catch-up, for Redis round trips per action; 0: skipped");
ABSL_FLAG(std::string, admin_password, "",
          "The server's admin password (login admin); the burst scenario needs it to create "
          "staff and an event");
ABSL_FLAG(int, burst_weigh_ins, 10000, "Burst: weigh-ins uploaded");
ABSL_FLAG(int, burst_batch, 500, "Burst: weigh-ins per UploadBatch call (at most 500)");
ABSL_FLAG(int, burst_uploaders, 4, "Burst: staff devices uploading at once");
ABSL_FLAG(int, burst_participants, 200, "Burst: registered citizens checked in to the drive");
ABSL_FLAG(std::string, out, "", "Write the results (JSON) here");
ABSL_FLAG(std::string, git_commit, "", "Recorded in the results; default: git rev-parse HEAD");

namespace ecoact::loadgen {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One outstanding call; the CompletionQueue tag is the call itself.
struct Call {
  virtual ~Call() = default;
  grpc::ClientContext context;
  grpc::Status status;
  int64_t scheduled_ns = 0;
};

template <typename Response>
struct TypedCall : Call {
  Response response;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;
};

// Starts a unary call whose reader `prepare(context)` returns.
template <typename Response, typename Prepare>
Call* Launch(Prepare prepare, const std::string* bearer, absl::Duration timeout) {
  auto* call = new TypedCall<Response>;
  call->context.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoMilliseconds(timeout));
  if (bearer != nullptr) call->context.AddMetadata("authorization", *bearer);
  call->reader = prepare(&call->context);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
  return call;
}

struct Citizen {
  std::string account_id;
  std::string bearer;  // "Bearer <token>"
};

// What every scenario shares: the channels and, once registered, the users.
struct Setup {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<Citizen> citizens;
  absl::Duration timeout;
};

class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual std::string name() const = 0;
  virtual std::string rpc() const = 0;
  // One call on channel `channel`; `seq` numbers the run's calls.
  virtual Call* Start(int channel, uint64_t seq, grpc::CompletionQueue* cq) = 0;
  // Called before each run: `seq` starts again from 0.
  virtual void NewRun() {}
};

class NoopScenario : public Scenario {
 public:
  explicit NoopScenario(const Setup& setup) : setup_(setup) {
    for (const auto& channel : setup.channels) stubs_.push_back(grpc::health::v1::Health::NewStub(channel));
  }
  std::string name() const override { return "noop"; }
  std::string rpc() const override { return "grpc.health.v1.Health/Check"; }
  Call* Start(int channel, uint64_t, grpc::CompletionQueue* cq) override {
    auto* stub = stubs_[channel].get();
    return Launch<grpc::health::v1::HealthCheckResponse>(
        [&](grpc::ClientContext* context) { return stub->PrepareAsyncCheck(context, request_, cq); },
        nullptr, setup_.timeout);
  }

 private:
  const Setup& setup_;
  grpc::health::v1::HealthCheckRequest request_;  // "": the server as a whole
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> stubs_;
};

class RecordScenario : public Scenario {
 public:
  explicit RecordScenario(const Setup& setup) : setup_(setup) {
    for (const auto& channel : setup.channels) stubs_.push_back(v1::ActionsService::NewStub(channel));
    nonce_ = absl::StrCat(absl::ToUnixMicros(absl::Now()) % 100000000, getpid() % 1000);
  }
  std::string name() const override { return "record"; }
  std::string rpc() const override { return "ecoact.v1.ActionsService/RecordAction"; }
  void NewRun() override { ++run_; }
  Call* Start(int channel, uint64_t seq, grpc::CompletionQueue* cq) override {
    const Citizen& citizen = setup_.citizens[seq % setup_.citizens.size()];
    v1::RecordActionRequest request;
    // The run number keeps every run's request ids apart: a repeated id
    // would be answered from its idempotency record, not recorded.
    request.set_request_id(absl::StrCat("lg", nonce_, "-", run_, "-", seq));
    // Two types of the same kind: a citizen's daily cap is per type, and a
    // long run gives each citizen hundreds of actions.
    request.set_action_type(seq / setup_.citizens.size() % 2 ? "bus_instead_of_car"
                                                              : "train_instead_of_car");
    request.set_quantity(1);
    auto* stub = stubs_[channel].get();
    return Launch<v1::RecordActionResponse>(
        [&](grpc::ClientContext* context) {
          return stub->PrepareAsyncRecordAction(context, request, cq);
        },
        &citizen.bearer, setup_.timeout);
  }

 private:
  const Setup& setup_;
  std::string nonce_;
  int run_ = 0;
  std::vector<std::unique_ptr<v1::ActionsService::Stub>> stubs_;
};

v1::BoardRef SeededBoard() {
  v1::BoardRef board;
  board.set_scope(v1::SCOPE_CITY);
  board.set_period(v1::PERIOD_ALL_TIME);
  board.set_metric(v1::METRIC_POINTS);
  return board;
}

class BoardScenario : public Scenario {
 public:
  BoardScenario(const Setup& setup, bool rank) : setup_(setup), rank_(rank) {
    for (const auto& channel : setup.channels) {
      stubs_.push_back(v1::LeaderboardService::NewStub(channel));
    }
    *page_.mutable_board() = SeededBoard();
    page_.set_page_size(20);
    *mine_.mutable_board() = SeededBoard();
    mine_.set_neighbours(2);
  }
  std::string name() const override { return rank_ ? "rank" : "board"; }
  std::string rpc() const override {
    return rank_ ? "ecoact.v1.LeaderboardService/GetMyRank"
                 : "ecoact.v1.LeaderboardService/GetLeaderboard";
  }
  Call* Start(int channel, uint64_t seq, grpc::CompletionQueue* cq) override {
    const Citizen& citizen = setup_.citizens[seq % setup_.citizens.size()];
    auto* stub = stubs_[channel].get();
    if (rank_) {
      return Launch<v1::GetMyRankResponse>(
          [&](grpc::ClientContext* context) { return stub->PrepareAsyncGetMyRank(context, mine_, cq); },
          &citizen.bearer, setup_.timeout);
    }
    return Launch<v1::GetLeaderboardResponse>(
        [&](grpc::ClientContext* context) {
          return stub->PrepareAsyncGetLeaderboard(context, page_, cq);
        },
        &citizen.bearer, setup_.timeout);
  }

 private:
  const Setup& setup_;
  bool rank_;
  v1::GetLeaderboardRequest page_;
  v1::GetMyRankRequest mine_;
  std::vector<std::unique_ptr<v1::LeaderboardService::Stub>> stubs_;
};

// ---- Driving the load ----

struct RunSettings {
  bool open_loop = false;
  int in_flight = 32;      // closed loop, over all threads
  double rate = 0;         // open loop, calls/s over all threads
  int max_in_flight = 2000;
  int threads = 2;
  absl::Duration warmup;
  absl::Duration duration;
};

struct Tally {
  Histogram latency;  // ns, successful calls only
  int64_t ok = 0;
  std::map<int, int64_t> errors;  // by grpc::StatusCode
  std::map<int, std::string> first_message;  // by grpc::StatusCode
  int64_t max_send_lag_ns = 0;    // open loop: how late the client sent
  int64_t held_back = 0;          // open loop: sends delayed by --max_in_flight

  void Merge(const Tally& other) {
    latency.Merge(other.latency);
    ok += other.ok;
    for (const auto& [code, n] : other.errors) errors[code] += n;
    first_message.insert(other.first_message.begin(), other.first_message.end());
    max_send_lag_ns = std::max(max_send_lag_ns, other.max_send_lag_ns);
    held_back += other.held_back;
  }
};

struct RunResult {
  std::string scenario;
  std::string rpc;
  RunSettings settings;
  double seconds = 0;
  Tally tally;
};

void SleepUntilNs(int64_t ns) {
  const int64_t now = NowNs();
  if (ns > now) std::this_thread::sleep_for(std::chrono::nanoseconds(ns - now));
}

// Called on a thread of their own at the start and the end of a run's
// measured window (not of its warm-up): server-side counters are read there.
struct WindowHooks {
  std::function<void()> at_start;
  std::function<void()> at_end;
};

class Driver {
 public:
  Driver(Scenario* scenario, const Setup& setup, const RunSettings& settings,
         WindowHooks hooks = {})
      : scenario_(scenario), setup_(setup), settings_(settings), hooks_(std::move(hooks)) {}

  RunResult Run() {
    scenario_->NewRun();
    start_ns_ = NowNs();
    measure_ns_ = start_ns_ + absl::ToInt64Nanoseconds(settings_.warmup);
    end_ns_ = measure_ns_ + absl::ToInt64Nanoseconds(settings_.duration);
    // Without warm-up the window opens before the first call is sent.
    const bool open_now = measure_ns_ == start_ns_;
    if (open_now && hooks_.at_start) hooks_.at_start();
    std::thread window([this, open_now] {
      SleepUntilNs(measure_ns_);
      if (!open_now && hooks_.at_start) hooks_.at_start();
      SleepUntilNs(end_ns_);
      if (hooks_.at_end) hooks_.at_end();
    });
    std::vector<Tally> tallies(settings_.threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < settings_.threads; ++t) {
      threads.emplace_back([this, t, &tallies] {
        if (settings_.open_loop) {
          OpenLoop(t, &tallies[t]);
        } else {
          ClosedLoop(t, &tallies[t]);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    window.join();
    RunResult result;
    result.scenario = scenario_->name();
    result.rpc = scenario_->rpc();
    result.settings = settings_;
    result.seconds = (end_ns_ - measure_ns_) / 1e9;
    for (const Tally& tally : tallies) result.tally.Merge(tally);
    return result;
  }

 private:
  // Calls scheduled (open loop) or sent (closed loop) inside the measured
  // window count, whenever they finish.
  void Account(Call* call, int64_t done_ns, Tally* tally) {
    if (call->scheduled_ns < measure_ns_ || call->scheduled_ns >= end_ns_) return;
    if (call->status.ok()) {
      ++tally->ok;
      tally->latency.Record(done_ns - call->scheduled_ns);
    } else {
      const int code = call->status.error_code();
      if (++tally->errors[code] == 1) tally->first_message[code] = call->status.error_message();
    }
  }

  Call* StartOne(int thread, uint64_t* seq, grpc::CompletionQueue* cq) {
    const uint64_t global = *seq * settings_.threads + thread;
    ++*seq;
    return scenario_->Start(static_cast<int>(global % setup_.channels.size()), global, cq);
  }

  void ClosedLoop(int thread, Tally* tally) {
    grpc::CompletionQueue cq;
    const int mine = settings_.in_flight / settings_.threads +
                     (thread < settings_.in_flight % settings_.threads ? 1 : 0);
    uint64_t seq = 0;
    int outstanding = 0;
    for (int i = 0; i < mine; ++i) {
      const int64_t now = NowNs();
      StartOne(thread, &seq, &cq)->scheduled_ns = now;
      ++outstanding;
    }
    while (outstanding > 0) {
      void* tag = nullptr;
      bool ok = false;
      if (!cq.Next(&tag, &ok)) break;
      const int64_t done = NowNs();
      auto* call = static_cast<Call*>(tag);
      --outstanding;
      Account(call, done, tally);
      delete call;
      if (done < end_ns_) {
        StartOne(thread, &seq, &cq)->scheduled_ns = NowNs();
        ++outstanding;
      }
    }
    Drain(&cq);
  }

  void OpenLoop(int thread, Tally* tally) {
    grpc::CompletionQueue cq;
    OpenLoopSchedule schedule(settings_.rate, start_ns_, thread, settings_.threads);
    const int cap = std::max(1, settings_.max_in_flight / settings_.threads);
    uint64_t seq = 0;
    int outstanding = 0;
    while (true) {
      int64_t now = NowNs();
      while (schedule.NextTime() < end_ns_ && schedule.Due(now)) {
        if (outstanding >= cap) {
          ++tally->held_back;
          break;
        }
        const int64_t scheduled = schedule.Take();
        if (scheduled >= measure_ns_) {
          tally->max_send_lag_ns = std::max(tally->max_send_lag_ns, now - scheduled);
        }
        StartOne(thread, &seq, &cq)->scheduled_ns = scheduled;
        ++outstanding;
        now = NowNs();
      }
      const bool more = schedule.NextTime() < end_ns_;
      if (!more && outstanding == 0) break;
      // Sleep in the queue until the next send is due or a call finishes.
      int64_t wake = now + 50'000'000;
      if (more && outstanding < cap) wake = std::min(wake, schedule.NextTime());
      void* tag = nullptr;
      bool ok = false;
      const auto deadline = std::chrono::system_clock::now() +
                            std::chrono::nanoseconds(std::max<int64_t>(0, wake - now));
      const auto event = cq.AsyncNext(&tag, &ok, deadline);
      if (event == grpc::CompletionQueue::SHUTDOWN) break;
      if (event == grpc::CompletionQueue::GOT_EVENT) {
        auto* call = static_cast<Call*>(tag);
        --outstanding;
        Account(call, NowNs(), tally);
        delete call;
      }
    }
    Drain(&cq);
  }

  static void Drain(grpc::CompletionQueue* cq) {
    cq->Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) delete static_cast<Call*>(tag);
  }

  Scenario* scenario_;
  const Setup& setup_;
  RunSettings settings_;
  WindowHooks hooks_;
  int64_t start_ns_ = 0;
  int64_t measure_ns_ = 0;
  int64_t end_ns_ = 0;
};

// ---- Preparing the data ----

// Registers `n` citizens through IdentityService/Register, 16 at a time.
absl::Status RegisterCitizens(int n, Setup* setup) {
  setup->citizens.resize(n);
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::mutex error_mu;
  const std::string run = absl::StrCat(absl::ToUnixMicros(absl::Now()), "-", getpid());
  std::vector<std::thread> workers;
  for (int w = 0; w < 16; ++w) {
    workers.emplace_back([&, w] {
      auto identity = v1::IdentityService::NewStub(setup->channels[w % setup->channels.size()]);
      for (int i = next++; i < n && !failed; i = next++) {
        v1::RegisterRequest request;
        request.set_request_id(absl::StrCat("lg-", run, "-", i));
        request.set_nickname(absl::StrCat("loadgen", i));
        request.set_ward(i % 2 ? "nakahara" : "tama");
        v1::RegisterResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        grpc::Status status = identity->Register(&context, request, &response);
        if (!status.ok()) {
          std::lock_guard<std::mutex> lock(error_mu);
          error = absl::StrCat("Register: ", status.error_message(), " (code ",
                               status.error_code(), ")");
          failed = true;
          return;
        }
        setup->citizens[i] = {response.account_id(), absl::StrCat("Bearer ", response.token())};
      }
    });
  }
  for (auto& worker : workers) worker.join();
  if (failed) return absl::UnavailableError(error);
  return absl::OkStatus();
}

// Grows the city all-time points board (the key LeaderboardService reads for
// BoardRef{CITY, ALL_TIME, POINTS}) from `from` to `members` synthetic
// members; the first time (from 0) it puts every registered citizen on it
// too so GetMyRank ranks them. Seeded,
// not recorded: recording 1M users through the API would take hours; the
// members have no account, so their nicknames read "(deleted)" (the same
// HGET per member as a real one).
absl::Status SeedBoard(const RedisOptions& redis_options, const KeySpace& keys, int from,
                       int members, const std::vector<Citizen>& citizens) {
  RedisClient redis(redis_options);
  const std::string board = keys.Board("city::all:pts");
  // Member j's score depends on j alone, so a board grown in steps holds the
  // same members and scores as one seeded at once.
  auto score = [](uint64_t j) {
    uint64_t x = (j + 1) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 31;
    return static_cast<int64_t>(x % 1'000'001);
  };
  constexpr int kPerCommand = 1000;
  constexpr int kPerRoundTrip = 10;
  std::vector<std::vector<std::string>> batch;
  for (int i = from; i < members; i += kPerCommand) {
    std::vector<std::string> command = {"ZADD", board};
    for (int j = i; j < std::min(members, i + kPerCommand); ++j) {
      command.push_back(absl::StrCat(score(j)));
      command.push_back(absl::StrCat("seed", j));
    }
    batch.push_back(std::move(command));
    if (batch.size() == kPerRoundTrip || i + kPerCommand >= members) {
      auto replies = redis.Pipeline(batch);
      if (!replies.ok()) return replies.status();
      for (const RedisValue& reply : *replies) {
        if (reply.IsError()) return absl::InternalError(absl::StrCat("ZADD: ", reply.str));
      }
      batch.clear();
    }
  }
  if (from == 0 && !citizens.empty()) {
    std::mt19937_64 random(1);
    std::uniform_int_distribution<int64_t> citizen_score(0, 1'000'000);
    std::vector<std::string> command = {"ZADD", board};
    for (const Citizen& citizen : citizens) {
      command.push_back(absl::StrCat(citizen_score(random)));
      command.push_back(citizen.account_id);
    }
    auto reply = redis.Command(command);
    if (!reply.ok()) return reply.status();
  }
  return absl::OkStatus();
}

// One call of each board RPC, to show the scenarios read what they claim:
// the seeded board's size and the caller's rank on it.
absl::Status ProbeBoard(const Setup& setup) {
  auto stub = v1::LeaderboardService::NewStub(setup.channels[0]);
  const Citizen& citizen = setup.citizens[0];
  v1::GetLeaderboardRequest page;
  *page.mutable_board() = SeededBoard();
  page.set_page_size(20);
  v1::GetLeaderboardResponse top;
  grpc::ClientContext page_context;
  page_context.AddMetadata("authorization", citizen.bearer);
  grpc::Status status = stub->GetLeaderboard(&page_context, page, &top);
  if (!status.ok()) return absl::UnavailableError("GetLeaderboard: " + status.error_message());
  v1::GetMyRankRequest mine;
  *mine.mutable_board() = SeededBoard();
  mine.set_neighbours(2);
  v1::GetMyRankResponse rank;
  grpc::ClientContext rank_context;
  rank_context.AddMetadata("authorization", citizen.bearer);
  status = stub->GetMyRank(&rank_context, mine, &rank);
  if (!status.ok()) return absl::UnavailableError("GetMyRank: " + status.error_message());
  if (!rank.ranked() || top.entries_size() != 20) {
    return absl::FailedPreconditionError("the seeded board does not rank the citizens");
  }
  std::printf("board probe: %lld ranked, top page of %d; a citizen ranks %lld with %d above and "
              "%d below\n",
              static_cast<long long>(top.total_ranked()), top.entries_size(),
              static_cast<long long>(rank.me().rank()), rank.above_size(), rank.below_size());
  return absl::OkStatus();
}

// ---- Server-side counters (issue 7: round trips, CPU, memory) ----

// What the server side had done at one moment: Redis's per-command calls,
// socket reads, CPU and memory, the server's and this process's CPU time.
struct Counters {
  std::map<std::string, int64_t> calls;  // INFO commandstats
  int64_t reads = 0;                      // total_reads_processed
  double redis_cpu_s = 0;                 // used_cpu_sys + used_cpu_user
  int64_t used_memory = 0;
  int64_t server_ticks = -1;  // -1: no --server_pid
  int64_t self_ticks = 0;
  int64_t own_round_trips = 0;  // the monitor's, up to and including this snapshot
  int64_t at_ns = 0;
};

absl::StatusOr<int64_t> CpuTicksOf(const std::string& pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return absl::NotFoundError(absl::StrCat("no /proc/", pid, "/stat"));
  return ProcessCpuTicks(line);
}

// The load generator's own connection to the server's Redis. It counts its
// own round trips so that they can be taken out of Redis's counters.
class Monitor {
 public:
  Monitor(RedisOptions options, int server_pid)
      : redis_(std::make_unique<RedisClient>(options)), server_pid_(server_pid) {}

  absl::StatusOr<RedisValue> Command(const std::vector<std::string>& args) {
    ++round_trips_;
    return redis_->Command(args);
  }
  absl::StatusOr<std::vector<RedisValue>> Pipeline(
      const std::vector<std::vector<std::string>>& commands) {
    ++round_trips_;
    return redis_->Pipeline(commands);
  }

  absl::StatusOr<Counters> Snapshot() {
    Counters c;
    c.at_ns = NowNs();
    if (server_pid_ > 0) {
      auto ticks = CpuTicksOf(absl::StrCat(server_pid_));
      if (ticks.ok()) c.server_ticks = *ticks;
    }
    auto self = CpuTicksOf("self");
    if (self.ok()) c.self_ticks = *self;
    ASSIGN_OR_RETURN(RedisValue info, Command({"INFO", "commandstats", "stats", "cpu", "memory"}));
    c.own_round_trips = round_trips_;
    c.calls = ParseCommandCalls(info.str);
    auto fields = ParseInfoFields(info.str);
    double sys = 0, user = 0;
    if (!absl::SimpleAtoi(fields["total_reads_processed"], &c.reads) ||
        !absl::SimpleAtod(fields["used_cpu_sys"], &sys) ||
        !absl::SimpleAtod(fields["used_cpu_user"], &user) ||
        !absl::SimpleAtoi(fields["used_memory"], &c.used_memory)) {
      return absl::InternalError("INFO lacks total_reads_processed, used_cpu_* or used_memory");
    }
    c.redis_cpu_s = sys + user;
    return c;
  }

  bool has_server_pid() const { return server_pid_ > 0; }

 private:
  std::unique_ptr<RedisClient> redis_;
  int server_pid_;
  int64_t round_trips_ = 0;
};

// Commands the load generator itself sends to Redis while measuring; never
// counted as the server's.
const std::set<std::string>& OwnCommands() {
  static const auto* own = new std::set<std::string>{"info", "xinfo|groups", "pexpire"};
  return *own;
}

// Script executions: one round trip each when sent alone (RecordAction's
// EVALSHA is), whatever the script does inside.
const std::set<std::string>& ScriptCommands() {
  static const auto* scripts =
      new std::set<std::string>{"evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"};
  return *scripts;
}

double PerCall(double amount, int64_t calls) { return calls > 0 ? amount / calls : 0; }

// The server side of a window [a, b] in which `calls` calls succeeded: CPU
// per 1,000 calls of the server, Redis and the load generator; Redis
// commands (top level and inside scripts, as INFO commandstats counts them),
// script executions and socket reads per call; used_memory growth per call.
nlohmann::json ServerFigures(const Counters& a, const Counters& b, int64_t calls) {
  const double tick_ms = 1000.0 / sysconf(_SC_CLK_TCK);
  const auto delta = CallsDelta(a.calls, b.calls);
  nlohmann::json commands = nlohmann::json::object();
  for (const auto& [name, n] : delta) {
    if (OwnCommands().count(name) == 0) commands[name] = n;
  }
  nlohmann::json j = {
      {"calls", calls},
      {"window_s", (b.at_ns - a.at_ns) / 1e9},
      {"redis_cpu_ms_per_1000", PerCall((b.redis_cpu_s - a.redis_cpu_s) * 1e6, calls)},
      {"loadgen_cpu_ms_per_1000", PerCall((b.self_ticks - a.self_ticks) * tick_ms * 1000, calls)},
      {"redis_commands_per_call", PerCall(SumCalls(delta, {}, OwnCommands()), calls)},
      {"script_calls_per_call", PerCall(SumCalls(delta, ScriptCommands()), calls)},
      {"socket_reads_per_call",
       PerCall(b.reads - a.reads - (b.own_round_trips - a.own_round_trips), calls)},
      {"used_memory_growth_bytes_per_call", PerCall(b.used_memory - a.used_memory, calls)},
      {"redis_commands", commands},
  };
  if (a.server_ticks >= 0 && b.server_ticks >= 0) {
    j["server_cpu_ms_per_1000"] = PerCall((b.server_ticks - a.server_ticks) * tick_ms * 1000, calls);
  }
  return j;
}

// Snapshots at a run's window start and end, for ServerFigures.
struct WindowCounters {
  Counters start;
  Counters end;
  bool ok = false;
};

WindowHooks CountersHooks(Monitor* monitor, WindowCounters* out) {
  if (monitor == nullptr) return {};
  return {[monitor, out] {
            auto c = monitor->Snapshot();
            out->ok = c.ok();
            if (c.ok()) out->start = *std::move(c);
          },
          [monitor, out] {
            auto c = monitor->Snapshot();
            out->ok = out->ok && c.ok();
            if (c.ok()) out->end = *std::move(c);
          }};
}

int64_t AllTimePoints(const v1::RecordActionResponse& response) {
  for (const auto& totals : response.totals()) {
    if (totals.period() == v1::PERIOD_ALL_TIME) return totals.points();
  }
  return -1;
}

// Projector lag: a probe citizen (not one of the load's) records an action;
// from its acknowledgement, the probe polls ZSCORE of the city all-time
// points board over its own Redis connection until the score reaches the
// all-time points the acknowledgement reported. Runs until Stop().
class LagSampler {
 public:
  LagSampler(const Setup& setup, std::vector<Citizen> probes, RedisOptions redis,
             std::string board)
      : setup_(setup), probes_(std::move(probes)), redis_(redis), board_(std::move(board)) {}

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const Histogram& lag() const { return lag_; }
  int64_t not_visible() const { return not_visible_; }
  int64_t failed() const { return failed_; }

 private:
  void Loop() {
    auto stub = v1::ActionsService::NewStub(setup_.channels[setup_.channels.size() - 1]);
    const std::string nonce = absl::StrCat(absl::ToUnixMicros(absl::Now()), "-", getpid());
    for (uint64_t i = 0; !stop_; ++i) {
      const Citizen& probe = probes_[i % probes_.size()];
      v1::RecordActionRequest request;
      request.set_request_id(absl::StrCat("lag", nonce, "-", i));
      // Alternating types keeps each probe under the daily caps.
      request.set_action_type((i / probes_.size()) % 2 ? "bus_instead_of_car"
                                                        : "train_instead_of_car");
      request.set_quantity(1);
      v1::RecordActionResponse response;
      grpc::ClientContext context;
      context.AddMetadata("authorization", probe.bearer);
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      grpc::Status status = stub->RecordAction(&context, request, &response);
      const int64_t acked = NowNs();
      const int64_t expected = AllTimePoints(response);
      if (!status.ok() || expected < 0) {
        if (i >= probes_.size()) ++failed_;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      bool visible = false;
      while (NowNs() - acked < 5'000'000'000) {
        auto score = redis_.Command({"ZSCORE", board_, probe.account_id});
        double value = 0;
        if (score.ok() && !score->IsNil() && absl::SimpleAtod(score->str, &value) &&
            value >= static_cast<double>(expected)) {
          // A probe's first action is not counted: it puts the probe on the
          // board through the projector's resync queue, a later round.
          if (i >= probes_.size()) lag_.Record(NowNs() - acked);
          visible = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      if (!visible && i >= probes_.size()) ++not_visible_;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  const Setup& setup_;
  std::vector<Citizen> probes_;
  RedisClient redis_;
  std::string board_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  Histogram lag_;
  int64_t not_visible_ = 0;
  int64_t failed_ = 0;
};

nlohmann::json LatencyJson(const Histogram& h) {
  return {{"count", h.count()},
          {"p50", h.ValueAt(0.5) / 1e6},
          {"p99", h.ValueAt(0.99) / 1e6},
          {"max", h.max() / 1e6}};
}

// Waits until every shard's consumer group "boards" has no undelivered
// (lag) and no unacknowledged (pending) entry: the projector has applied
// everything in the ledger. Polls with one pipeline of XINFO GROUPS.
absl::Status WaitProjectorCaughtUp(Monitor* monitor, const KeySpace& keys, absl::Duration limit) {
  const absl::Time give_up = absl::Now() + limit;
  std::vector<std::vector<std::string>> commands;
  for (int shard = 0; shard < keys.shards(); ++shard) {
    commands.push_back({"XINFO", "GROUPS", keys.Ledger(shard)});
  }
  while (absl::Now() < give_up) {
    ASSIGN_OR_RETURN(std::vector<RedisValue> replies, monitor->Pipeline(commands));
    bool done = true;
    for (const RedisValue& reply : replies) {
      for (const RedisValue& group : reply.elements) {
        std::map<std::string, const RedisValue*> f;
        for (size_t i = 0; i + 1 < group.elements.size(); i += 2) {
          f[group.elements[i].str] = &group.elements[i + 1];
        }
        if (f.count("name") == 0 || f["name"]->str != "boards") continue;
        const bool pending = f.count("pending") && f["pending"]->integer != 0;
        // lag is nil when Redis cannot tell (entries deleted): count it as not done.
        const bool lagging = f.count("lag") == 0 || f["lag"]->IsNil() || f["lag"]->integer != 0;
        if (pending || lagging) done = false;
      }
    }
    if (done) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::DeadlineExceededError("the projector did not catch up");
}

// Sum over the ledger shards: exact MEMORY USAGE (SAMPLES 0) and XLEN.
absl::StatusOr<nlohmann::json> LedgerMemory(Monitor* monitor, const KeySpace& keys) {
  std::vector<std::vector<std::string>> commands;
  for (int shard = 0; shard < keys.shards(); ++shard) {
    commands.push_back({"MEMORY", "USAGE", keys.Ledger(shard), "SAMPLES", "0"});
    commands.push_back({"XLEN", keys.Ledger(shard)});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, monitor->Pipeline(commands));
  int64_t bytes = 0, entries = 0;
  for (size_t i = 0; i + 1 < replies.size(); i += 2) {
    bytes += replies[i].integer;
    entries += replies[i + 1].integer;
  }
  return nlohmann::json{{"ledger_bytes", bytes},
                        {"ledger_entries", entries},
                        {"bytes_per_ledger_entry", PerCall(bytes, entries)}};
}

// Round trips of the RecordAction path and of the projector, measured apart
// because INFO commandstats cannot tell who sent a command (and counts the
// commands a script runs inside Redis as well as the script call):
//  1. the load generator takes the projector's lease, as the rebuild does,
//     and waits until the projector has stopped reading the ledger;
//  2. RecordAction in closed loop for `duration`: every command Redis runs
//     now is the RecordAction path's (plus the paused projector's lease
//     checks, twice a second, and the server's health PING once a second);
//  3. it lets the lease lapse; the projector catches up on the backlog with
//     no other traffic: every command now is the projector's (plus the same
//     background, and the one-off take-over: XAUTOCLAIM per shard).
// Socket reads (INFO total_reads_processed) count round trips independently
// of commands: a pipeline of many commands is typically one read.
absl::StatusOr<nlohmann::json> MeasureRoundTrips(Monitor* monitor, const KeySpace& keys,
                                                 Scenario* record, const Setup& setup,
                                                 RunSettings settings) {
  const std::string lease = absl::StrCat(keys.prefix(), ":{projector}:lease");
  RETURN_IF_ERROR(monitor->Command({"SET", lease, "loadgen-pause", "PX", "60000"}).status());
  // Whatever happens, the projector gets its lease back within a second.
  struct Resume {
    ~Resume() {
      if (!done) (void)monitor->Command({"PEXPIRE", lease, "1"});
    }
    Monitor* monitor;
    std::string lease;
    bool done = false;
  } resume{monitor, lease};
  // The projector checks its lease every few seconds: wait until its
  // XREADGROUP count stays still for 1.5 s.
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  int64_t last_reads = -1;
  absl::Time still_since = absl::Now();
  while (true) {
    ASSIGN_OR_RETURN(Counters c, monitor->Snapshot());
    const int64_t reads = c.calls.count("xreadgroup") ? c.calls["xreadgroup"] : 0;
    if (reads != last_reads) {
      last_reads = reads;
      still_since = absl::Now();
    } else if (absl::Now() - still_since >= absl::Milliseconds(1500)) {
      break;
    }
    if (absl::Now() > give_up) return absl::DeadlineExceededError("the projector did not pause");
    absl::SleepFor(absl::Milliseconds(100));
  }
  settings.open_loop = false;
  settings.warmup = absl::ZeroDuration();
  // Without warm-up, the first snapshot precedes the first call; the second
  // follows the last answer, so every call of the run is inside the window.
  WindowCounters path;
  WindowHooks hooks = CountersHooks(monitor, &path);
  hooks.at_end = nullptr;
  RunResult run = Driver(record, setup, settings, std::move(hooks)).Run();
  if (!path.ok) return absl::InternalError("INFO failed during the paused run");
  ASSIGN_OR_RETURN(path.end, monitor->Snapshot());
  // Let the lease lapse now; the projector takes it at its next attempt.
  const Counters& before = path.end;
  resume.done = true;
  RETURN_IF_ERROR(monitor->Command({"PEXPIRE", lease, "1"}).status());
  const absl::Time catch_up_start = absl::Now();
  RETURN_IF_ERROR(WaitProjectorCaughtUp(monitor, keys, absl::Seconds(120)));
  const double catch_up_s = absl::ToDoubleSeconds(absl::Now() - catch_up_start);
  ASSIGN_OR_RETURN(Counters after, monitor->Snapshot());
  const int64_t entries = run.tally.ok;  // each acknowledged action is one ledger entry
  nlohmann::json record_path = ServerFigures(path.start, path.end, entries);
  nlohmann::json projector = ServerFigures(before, after, entries);
  projector["catch_up_s"] = catch_up_s;
  projector["entries_per_s"] = PerCall(entries, 1) / std::max(catch_up_s, 1e-9);
  const auto projector_calls = CallsDelta(before.calls, after.calls);
  projector["xreadgroup_per_entry"] =
      PerCall(SumCalls(projector_calls, {"xreadgroup"}), entries);
  return nlohmann::json{{"actions", entries},
                        {"record_path", record_path},
                        {"projector", projector},
                        {"note",
                         "record_path: projector paused (its lease taken); projector: catch-up of "
                         "those actions with no other traffic. Both include the server's health "
                         "PING (1/s) and the paused projector's lease checks (2/s)."}};
}

// Grows the board and reports its memory both ways: the key's exact MEMORY
// USAGE (SAMPLES 0) over ZCARD, and Redis's used_memory growth over the
// members added (which includes allocator overhead the key's own estimate
// may not).
absl::StatusOr<nlohmann::json> GrowBoard(Monitor* monitor, const RedisOptions& redis_options,
                                         const KeySpace& keys, int from, int to,
                                         const std::vector<Citizen>& citizens) {
  ASSIGN_OR_RETURN(Counters before, monitor->Snapshot());
  RETURN_IF_ERROR(SeedBoard(redis_options, keys, from, to, citizens));
  ASSIGN_OR_RETURN(Counters after, monitor->Snapshot());
  const std::string board = keys.Board("city::all:pts");
  ASSIGN_OR_RETURN(std::vector<RedisValue> usage,
                   monitor->Pipeline({{"MEMORY", "USAGE", board, "SAMPLES", "0"}, {"ZCARD", board}}));
  if (usage.size() != 2 || usage[0].IsError() || usage[1].IsError()) {
    return absl::InternalError("MEMORY USAGE or ZCARD failed");
  }
  const int added = to - from + (from == 0 ? static_cast<int>(citizens.size()) : 0);
  return nlohmann::json{
      {"members", usage[1].integer},
      {"key_bytes", usage[0].integer},
      {"key_bytes_per_member", PerCall(usage[0].integer, usage[1].integer)},
      {"added_members", added},
      {"used_memory_growth_bytes_per_added_member",
       PerCall(after.used_memory - before.used_memory, added)},
  };
}

// ---- Burst: staff weigh-ins uploaded as batches (issue 7 (d)) ----

std::unique_ptr<grpc::ClientContext> BearerContext(const std::string& token, int seconds = 30) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

absl::Status CallFailed(absl::string_view what, const grpc::Status& status) {
  return absl::UnavailableError(absl::StrCat(what, ": ", status.error_message(), " (code ",
                                             status.error_code(), ")"));
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t ms = absl::ToUnixMillis(t);
  ts.set_seconds(ms / 1000);
  ts.set_nanos(static_cast<int>(ms % 1000) * 1'000'000);
  return ts;
}

struct BurstSettings {
  int weigh_ins = 10000;
  int batch = 500;
  int uploaders = 4;
  int participants = 200;
  std::string admin_password;
};

// An admin creates a staff account and an open drive; staff check in
// `participants` of the registered citizens, then upload `weigh_ins`
// weigh-ins as batches from `uploaders` devices at once. Reports the upload
// wall time and rate, and how long until the event totals (written by the
// upload itself) and the event board (written by the projector) show every
// weigh-in.
absl::StatusOr<nlohmann::json> RunBurst(const Setup& setup, const BurstSettings& burst,
                                        Monitor* monitor, const KeySpace& keys) {
  const auto& channel = setup.channels[0];
  auto identity = v1::IdentityService::NewStub(channel);
  auto events = v1::EventsService::NewStub(channel);
  const std::string nonce = absl::StrCat(absl::ToUnixMicros(absl::Now()) % 1000000000, getpid());
  auto sign_in = [&](const std::string& login,
                     const std::string& secret) -> absl::StatusOr<std::string> {
    v1::SignInRequest request;
    request.set_account_id(login);
    request.set_secret(secret);
    v1::SignInResponse response;
    grpc::Status status = identity->SignIn(BearerContext("").get(), request, &response);
    if (!status.ok()) return CallFailed(absl::StrCat("SignIn ", login), status);
    return response.token();
  };
  ASSIGN_OR_RETURN(std::string admin, sign_in("admin", burst.admin_password));
  const std::string staff_login = absl::StrCat("bench.staff", nonce);
  const std::string staff_password = absl::StrCat("bench-staff-password-", nonce);
  {
    v1::CreateStaffRequest request;
    request.set_request_id(absl::StrCat("staff-", nonce));
    request.set_login(staff_login);
    request.set_password(staff_password);
    v1::Profile profile;
    grpc::Status status = identity->CreateStaff(BearerContext(admin).get(), request, &profile);
    if (!status.ok()) return CallFailed("CreateStaff", status);
  }
  ASSIGN_OR_RETURN(std::string staff, sign_in(staff_login, staff_password));
  v1::Event event;
  {
    const absl::Time now = absl::Now();
    v1::CreateEventRequest create;
    create.set_request_id(absl::StrCat("event-", nonce));
    create.set_kind(v1::EVENT_KIND_DRIVE);
    create.set_name("Benchmark clothing drive");
    create.set_ward("nakahara");
    *create.mutable_starts_at() = ToTimestamp(now - absl::Hours(1));
    *create.mutable_ends_at() = ToTimestamp(now + absl::Hours(1));
    create.add_accepted_action_types("clothing_reuse");
    grpc::Status status = events->CreateEvent(BearerContext(admin).get(), create, &event);
    if (!status.ok()) return CallFailed("CreateEvent", status);
    v1::AssignStaffRequest assign;
    assign.set_event_id(event.event_id());
    assign.add_staff_logins(staff_login);
    status = events->AssignStaff(BearerContext(admin).get(), assign, &event);
    if (!status.ok()) return CallFailed("AssignStaff", status);
    v1::EventTransitionRequest open;
    open.set_event_id(event.event_id());
    status = events->OpenEvent(BearerContext(staff).get(), open, &event);
    if (!status.ok()) return CallFailed("OpenEvent", status);
  }
  const int participants =
      std::max(1, std::min<int>(burst.participants, static_cast<int>(setup.citizens.size())));
  std::vector<std::string> ids;
  for (int i = 0; i < participants; ++i) {
    const Citizen& citizen = setup.citizens[i];
    const std::string token = citizen.bearer.substr(std::strlen("Bearer "));
    v1::CheckInCode code;
    grpc::Status status = events->GetCheckInCode(BearerContext(token).get(), {}, &code);
    if (!status.ok()) return CallFailed("GetCheckInCode", status);
    v1::CheckInRequest check_in;
    check_in.set_event_id(event.event_id());
    check_in.set_code(code.code());
    v1::CheckInResponse checked;
    status = events->CheckIn(BearerContext(staff).get(), check_in, &checked);
    if (!status.ok()) return CallFailed("CheckIn", status);
    ids.push_back(checked.participant_id());
  }

  // The batches: every 10th weigh-in an anonymous drop-off (no credit).
  const int batch_size = std::max(1, std::min(500, burst.batch));
  std::vector<v1::UploadBatchRequest> batches;
  for (int i = 0; i < burst.weigh_ins; ++i) {
    if (i % batch_size == 0) {
      batches.emplace_back();
      batches.back().set_event_id(event.event_id());
    }
    v1::WeighIn* w = batches.back().add_entries();
    w->set_event_id(event.event_id());
    w->set_client_entry_id(absl::StrCat("bench", nonce, "-", i));
    if (i % 10 != 9) w->set_participant_id(ids[i % ids.size()]);
    w->set_action_type("clothing_reuse");
    w->set_weight_kg(0.5 + (i % 5) * 0.1);
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::map<std::string, int64_t> expected_points;  // participant -> sum
  int64_t accepted = 0, rejected = 0, duplicates = 0, failed_calls = 0;
  std::string first_failure;
  ASSIGN_OR_RETURN(Counters before, monitor->Snapshot());
  const int64_t start_ns = NowNs();
  std::vector<std::thread> uploaders;
  for (int u = 0; u < std::max(1, burst.uploaders); ++u) {
    uploaders.emplace_back([&, u] {
      auto stub = v1::EventsService::NewStub(setup.channels[u % setup.channels.size()]);
      for (size_t b = next++; b < batches.size(); b = next++) {
        v1::UploadBatchResponse response;
        grpc::Status status =
            stub->UploadBatch(BearerContext(staff, 120).get(), batches[b], &response);
        std::lock_guard<std::mutex> lock(mu);
        if (!status.ok()) {
          ++failed_calls;
          if (first_failure.empty()) first_failure = status.error_message();
          continue;
        }
        accepted += response.accepted();
        rejected += response.rejected();
        duplicates += response.duplicates();
        for (int i = 0; i < response.outcomes_size(); ++i) {
          const auto& outcome = response.outcomes(i);
          const std::string& participant = batches[b].entries(i).participant_id();
          if (outcome.status() == v1::ENTRY_STATUS_ACCEPTED && !participant.empty()) {
            expected_points[participant] += outcome.points();
          } else if (outcome.status() == v1::ENTRY_STATUS_REJECTED && first_failure.empty()) {
            first_failure = absl::StrCat(outcome.code(), ": ", outcome.message());
          }
        }
      }
    });
  }
  for (auto& thread : uploaders) thread.join();
  const int64_t uploaded_ns = NowNs();
  ASSIGN_OR_RETURN(Counters uploaded, monitor->Snapshot());

  // Until the event totals count every accepted weigh-in and the event
  // board gives every participant the points of their accepted weigh-ins.
  const std::string board = keys.Board(absl::StrCat("event:", event.event_id(), ":all:pts"));
  int64_t totals_ns = -1, board_ns = -1;
  while (NowNs() - uploaded_ns < 120'000'000'000 && (totals_ns < 0 || board_ns < 0)) {
    if (totals_ns < 0) {
      v1::GetEventLiveRequest request;
      request.set_event_id(event.event_id());
      v1::EventLive live;
      grpc::Status status = events->GetEventLive(BearerContext(staff).get(), request, &live);
      int64_t entries = 0;
      for (const auto& t : live.by_action_type()) entries += t.entries();
      if (status.ok() && entries >= accepted) totals_ns = NowNs();
    }
    if (board_ns < 0) {
      ASSIGN_OR_RETURN(RedisValue page, monitor->Command({"ZRANGE", board, "0", "-1", "WITHSCORES"}));
      std::map<std::string, int64_t> shown;
      for (size_t i = 0; i + 1 < page.elements.size(); i += 2) {
        double score = 0;
        if (absl::SimpleAtod(page.elements[i + 1].str, &score)) {
          shown[page.elements[i].str] = static_cast<int64_t>(score);
        }
      }
      if (shown == expected_points) board_ns = NowNs();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSIGN_OR_RETURN(Counters caught_up, monitor->Snapshot());
  const double upload_s = (uploaded_ns - start_ns) / 1e9;
  nlohmann::json j = {
      {"weigh_ins", burst.weigh_ins},
      {"batch", batch_size},
      {"uploaders", std::max(1, burst.uploaders)},
      {"participants", participants},
      {"accepted", accepted},
      {"duplicates", duplicates},
      {"rejected", rejected},
      {"failed_calls", failed_calls},
      {"upload_s", upload_s},
      {"weigh_ins_per_s", PerCall(accepted, 1) / std::max(upload_s, 1e-9)},
      {"upload_server", ServerFigures(before, uploaded, accepted)},
      {"catch_up_server", ServerFigures(uploaded, caught_up, accepted)},
  };
  if (!first_failure.empty()) j["first_failure"] = first_failure;
  // -1: not within 120 s.
  j["totals_complete_after_upload_ms"] = totals_ns < 0 ? -1 : (totals_ns - uploaded_ns) / 1e6;
  j["board_complete_after_upload_ms"] = board_ns < 0 ? -1 : (board_ns - uploaded_ns) / 1e6;
  j["board_complete_from_start_s"] = board_ns < 0 ? -1 : (board_ns - start_ns) / 1e9;
  return j;
}

// ---- Start-up time ----

// From `started_unix_ns` (when bench/run.sh started ecoact_server) to the
// first SERVING answer of grpc.health.v1.Health/Check, polled every 2 ms.
absl::StatusOr<double> WaitServing(const std::string& server, int64_t started_unix_ns) {
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  for (int attempt = 0; absl::Now() < give_up; ++attempt) {
    // A new channel (and connection) per attempt: a channel whose connection
    // was refused backs off for a second or more before it tries again.
    grpc::ChannelArguments args;
    args.SetInt("ecoact.loadgen.startup", attempt);
    auto channel = grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    if (status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return (absl::ToUnixNanos(absl::Now()) - started_unix_ns) / 1e6;
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  return absl::DeadlineExceededError("the server did not answer SERVING within 60 s");
}

// ---- Reporting ----

std::string Trim(std::string s) { return std::string(absl::StripAsciiWhitespace(s)); }

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "model name")) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return Trim(line.substr(colon + 1));
    }
  }
  return "unknown";
}

std::string MemTotal() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "MemTotal:")) return Trim(line.substr(9));
  }
  return "unknown";
}

std::string GitCommit() {
  std::string commit = absl::GetFlag(FLAGS_git_commit);
  if (!commit.empty()) return commit;
  FILE* git = popen("git rev-parse HEAD 2>/dev/null", "r");
  if (git == nullptr) return "unknown";
  char buffer[128] = {0};
  if (fgets(buffer, sizeof(buffer), git) != nullptr) commit = Trim(buffer);
  pclose(git);
  return commit.empty() ? "unknown" : commit;
}

double Ms(int64_t ns) { return ns / 1e6; }

nlohmann::json ToJson(const RunResult& r) {
  nlohmann::json errors = nlohmann::json::object();
  int64_t error_total = 0;
  for (const auto& [code, n] : r.tally.errors) {
    errors[absl::StrCat(code)] = n;
    error_total += n;
  }
  const Histogram& h = r.tally.latency;
  nlohmann::json messages = nlohmann::json::object();
  for (const auto& [code, message] : r.tally.first_message) messages[absl::StrCat(code)] = message;
  nlohmann::json j = {
      {"scenario", r.scenario},
      {"rpc", r.rpc},
      {"mode", r.settings.open_loop ? "open" : "closed"},
      {"threads", r.settings.threads},
      {"seconds", r.seconds},
      {"ok", r.tally.ok},
      {"errors", error_total},
      {"errors_by_code", errors},
      {"error_messages", messages},  // the first message seen per code
      {"throughput_per_s", r.tally.ok / r.seconds},
      {"latency_ms",
       {{"p50", Ms(h.ValueAt(0.5))},
        {"p90", Ms(h.ValueAt(0.9))},
        {"p99", Ms(h.ValueAt(0.99))},
        {"p999", Ms(h.ValueAt(0.999))},
        {"max", Ms(h.max())},
        {"mean", h.Mean() / 1e6}}},
  };
  if (r.settings.open_loop) {
    j["rate_per_s"] = r.settings.rate;
    j["max_send_lag_ms"] = Ms(r.tally.max_send_lag_ns);
    j["held_back"] = r.tally.held_back;
  } else {
    j["in_flight"] = r.settings.in_flight;
  }
  return j;
}

std::string MembersLabel(int n) {
  if (n % 1000000 == 0) return absl::StrCat(n / 1000000, "M");
  if (n % 1000 == 0) return absl::StrCat(n / 1000, "k");
  return absl::StrCat(n);
}

void PrintRow(const RunResult& r, double noop_throughput, const std::string& label) {
  const Histogram& h = r.tally.latency;
  int64_t errors = 0;
  std::string by_code;
  for (const auto& [code, n] : r.tally.errors) {
    errors += n;
    absl::StrAppend(&by_code, by_code.empty() ? " (" : ", ", "code ", code, ": ", n);
  }
  if (!by_code.empty()) by_code += ")";
  const double throughput = r.tally.ok / r.seconds;
  std::string load = r.settings.open_loop ? absl::StrCat("rate ", r.settings.rate)
                                          : absl::StrCat("in_flight ", r.settings.in_flight);
  std::string ratio = noop_throughput > 0 && r.scenario != "noop"
                          ? absl::StrFormat(" | %.2f x noop", throughput / noop_throughput)
                          : "";
  std::printf("%-10s %-14s %9.0f calls/s | ms p50 %6.2f p90 %6.2f p99 %6.2f p99.9 %7.2f | "
              "errors %lld%s%s\n",
              label.c_str(), load.c_str(), throughput, Ms(h.ValueAt(0.5)),
              Ms(h.ValueAt(0.9)), Ms(h.ValueAt(0.99)), Ms(h.ValueAt(0.999)),
              static_cast<long long>(errors), by_code.c_str(), ratio.c_str());
  for (const auto& [code, message] : r.tally.first_message) {
    std::printf("       code %d, e.g. \"%s\"\n", code, message.c_str());
  }
  if (r.settings.open_loop) {
    std::printf("       open loop: max send lag %.2f ms, %lld sends held back by the cap\n",
                Ms(r.tally.max_send_lag_ns), static_cast<long long>(r.tally.held_back));
  }
  std::fflush(stdout);
}

void PrintServer(const nlohmann::json& s) {
  std::string server = s.contains("server_cpu_ms_per_1000")
                           ? absl::StrFormat("%.1f", s["server_cpu_ms_per_1000"].get<double>())
                           : std::string("-");
  std::printf("       CPU ms per 1,000 calls: server %s, Redis %.1f, loadgen %.1f | per call: "
              "%.2f Redis commands, %.2f script calls, %.2f socket reads, %.0f bytes used_memory\n",
              server.c_str(), s["redis_cpu_ms_per_1000"].get<double>(),
              s["loadgen_cpu_ms_per_1000"].get<double>(), s["redis_commands_per_call"].get<double>(),
              s["script_calls_per_call"].get<double>(), s["socket_reads_per_call"].get<double>(),
              s["used_memory_growth_bytes_per_call"].get<double>());
  std::fflush(stdout);
}

// Issue 7's figures in one place, after the table.
void PrintSummary(const nlohmann::json& f) {
  std::printf("\nFigures (issue 7 targets in brackets):\n");
  if (f.contains("startup_ms")) {
    std::printf("- start-up to first SERVING: %.0f ms\n", f["startup_ms"].get<double>());
  }
  if (f.contains("round_trips")) {
    const auto& r = f["round_trips"]["record_path"];
    const auto& p = f["round_trips"]["projector"];
    std::printf("- Redis round trips per RecordAction: %.3f script calls, %.3f socket reads [1]; "
                "%.1f commands run in Redis incl. inside the script\n",
                r["script_calls_per_call"].get<double>(), r["socket_reads_per_call"].get<double>(),
                r["redis_commands_per_call"].get<double>());
    std::printf("- projector per action: %.4f socket reads (round trips) [<= 0.1], %.4f "
                "XREADGROUP, %.2f commands; catch-up %.0f entries/s\n",
                p["socket_reads_per_call"].get<double>(), p["xreadgroup_per_entry"].get<double>(),
                p["redis_commands_per_call"].get<double>(), p["entries_per_s"].get<double>());
  }
  if (f.contains("projector_lag_ms")) {
    const auto& l = f["projector_lag_ms"];
    std::printf("- projector lag at %.0f/s (%.0f%% of record's best): p50 %.2f ms, p99 %.2f ms "
                "[<= 100], max %.2f ms, %lld samples\n",
                l["rate_per_s"].get<double>(), l["rate_fraction_of_best"].get<double>() * 100,
                l["p50"].get<double>(), l["p99"].get<double>(), l["max"].get<double>(),
                static_cast<long long>(l["count"].get<int64_t>()));
  }
  if (f.contains("rank_large_over_small")) {
    const auto& r = f["rank_large_over_small"];
    std::printf("- GetMyRank latency %d over %d members: p50 x%.2f, p99 x%.2f [<= 1.5]\n",
                r["large_users"].get<int>(), r["small_users"].get<int>(),
                r["p50_ratio"].get<double>(), r["p99_ratio"].get<double>());
  }
  if (f.contains("board_memory")) {
    for (const auto& m : f["board_memory"]) {
      std::printf("- board of %lld members: %.1f bytes/member by MEMORY USAGE [<= 100], %.1f by "
                  "used_memory growth\n",
                  static_cast<long long>(m["members"].get<int64_t>()),
                  m["key_bytes_per_member"].get<double>(),
                  m["used_memory_growth_bytes_per_added_member"].get<double>());
    }
  }
  if (f.contains("ledger_memory")) {
    std::printf("- ledger: %.1f bytes per entry (MEMORY USAGE of the streams / XLEN)\n",
                f["ledger_memory"]["bytes_per_ledger_entry"].get<double>());
  }
  if (f.contains("burst")) {
    const auto& b = f["burst"];
    std::printf("- burst: %d weigh-ins in %.2f s (%.0f/s); event board complete %.0f ms after "
                "the last upload\n",
                b["weigh_ins"].get<int>(), b["upload_s"].get<double>(),
                b["weigh_ins_per_s"].get<double>(),
                b["board_complete_after_upload_ms"].get<double>());
  }
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  // As in the server (services/common/config.cc): Debian's abseil checks
  // every absl::Mutex lock for deadlocks unless told not to.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> command_line(argv, argv + argc);

  std::vector<std::string> scenarios;
  const std::string suite = absl::GetFlag(FLAGS_suite);
  if (suite == "quick") {
    scenarios = {"noop", "record", "burst", "board", "rank"};
  } else if (!suite.empty()) {
    std::fprintf(stderr, "--suite must be quick or empty\n");
    return 2;
  } else {
    scenarios = {absl::GetFlag(FLAGS_scenario)};
  }
  for (const std::string& s : scenarios) {
    if (s != "noop" && s != "record" && s != "burst" && s != "board" && s != "rank") {
      std::fprintf(stderr, "--scenario must be noop, record, burst, board or rank\n");
      return 2;
    }
  }
  RunSettings base;
  base.open_loop = absl::GetFlag(FLAGS_mode) == "open";
  if (!base.open_loop && absl::GetFlag(FLAGS_mode) != "closed") {
    std::fprintf(stderr, "--mode must be closed or open\n");
    return 2;
  }
  base.rate = absl::GetFlag(FLAGS_rate);
  if (base.open_loop && !(base.rate > 0)) {
    std::fprintf(stderr, "--mode=open needs --rate > 0\n");
    return 2;
  }
  base.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  base.threads = std::max(1, absl::GetFlag(FLAGS_threads));
  base.warmup = absl::GetFlag(FLAGS_warmup);
  base.duration = absl::GetFlag(FLAGS_duration);
  std::vector<int> in_flights;
  for (const std::string& s : absl::GetFlag(FLAGS_in_flight)) {
    int n = 0;
    if (!absl::SimpleAtoi(s, &n) || n < 1) {
      std::fprintf(stderr, "--in_flight must list positive integers\n");
      return 2;
    }
    in_flights.push_back(n);
  }
  if (base.open_loop) in_flights = {0};

  double startup_ms = -1;
  if (absl::GetFlag(FLAGS_server_started_unix_ns) > 0) {
    auto serving = WaitServing(absl::GetFlag(FLAGS_server), absl::GetFlag(FLAGS_server_started_unix_ns));
    if (!serving.ok()) {
      std::fprintf(stderr, "%s\n", serving.status().ToString().c_str());
      return 1;
    }
    startup_ms = *serving;
    std::printf("start-up: first SERVING health check %.1f ms after the server was started\n",
                startup_ms);
  }

  Setup setup;
  setup.timeout = absl::GetFlag(FLAGS_call_timeout);
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
    grpc::ChannelArguments channel_args;
    // A distinct argument per channel: gRPC shares one connection between
    // channels with identical arguments.
    channel_args.SetInt("ecoact.loadgen.channel", i);
    setup.channels.push_back(grpc::CreateCustomChannel(
        absl::GetFlag(FLAGS_server), grpc::InsecureChannelCredentials(), channel_args));
  }
  for (const auto& channel : setup.channels) {
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      std::fprintf(stderr, "cannot connect to %s\n", absl::GetFlag(FLAGS_server).c_str());
      return 1;
    }
  }
  const bool needs_users =
      std::any_of(scenarios.begin(), scenarios.end(), [](const auto& s) { return s != "noop"; });
  const bool needs_board = std::any_of(scenarios.begin(), scenarios.end(),
                                       [](const auto& s) { return s == "board" || s == "rank"; });
  if (needs_users) {
    const absl::Time begin = absl::Now();
    absl::Status registered = RegisterCitizens(std::max(1, absl::GetFlag(FLAGS_users)), &setup);
    if (!registered.ok()) {
      std::fprintf(stderr, "%s\n(is the server running with --rate_limits=0?)\n",
                   registered.ToString().c_str());
      return 1;
    }
    std::printf("registered %zu citizens in %.1f s\n", setup.citizens.size(),
                absl::ToDoubleSeconds(absl::Now() - begin));
  }

  // Server-side counters need the server's Redis.
  std::unique_ptr<Monitor> monitor;
  const KeySpace keys(absl::GetFlag(FLAGS_key_prefix), absl::GetFlag(FLAGS_ledger_shards));
  RedisOptions redis_options;
  if (!absl::GetFlag(FLAGS_redis).empty()) {
    auto parsed = ParseRedisAddress(absl::GetFlag(FLAGS_redis));
    if (!parsed.ok()) {
      std::fprintf(stderr, "--redis: %s\n", parsed.status().ToString().c_str());
      return 2;
    }
    redis_options = *parsed;
    redis_options.command_timeout = absl::Seconds(30);
    monitor = std::make_unique<Monitor>(redis_options, absl::GetFlag(FLAGS_server_pid));
  } else if (needs_board || std::count(scenarios.begin(), scenarios.end(), "burst")) {
    std::fprintf(stderr, "the board, rank and burst scenarios need --redis\n");
    return 2;
  }
  std::vector<int> board_sizes;
  for (const std::string& s : absl::GetFlag(FLAGS_board_users)) {
    int n = 0;
    if (!absl::SimpleAtoi(s, &n) || n < 20) {
      std::fprintf(stderr, "--board_users must list integers >= 20\n");
      return 2;
    }
    board_sizes.push_back(n);
  }
  std::sort(board_sizes.begin(), board_sizes.end());
  board_sizes.erase(std::unique(board_sizes.begin(), board_sizes.end()), board_sizes.end());

  // Steps: each scenario once, except board and rank, which run at every
  // board size (smallest first, the board growing between them).
  struct Step {
    std::string name;
    int board_size = 0;
  };
  std::vector<Step> steps;
  const bool has_board = std::count(scenarios.begin(), scenarios.end(), "board") > 0;
  const bool has_rank = std::count(scenarios.begin(), scenarios.end(), "rank") > 0;
  for (const std::string& name : scenarios) {
    if (name == "board" || name == "rank") continue;
    steps.push_back({name});
  }
  if (has_board || has_rank) {
    for (int size : board_sizes) {
      if (has_board) steps.push_back({"board", size});
      if (has_rank) steps.push_back({"rank", size});
    }
  }

  nlohmann::json results = nlohmann::json::array();
  nlohmann::json figures = nlohmann::json::object();  // issue 7's figures beside the runs
  if (startup_ms >= 0) figures["startup_ms"] = startup_ms;
  std::vector<std::string> table;
  std::vector<std::string> cpu_lines;
  std::map<int, double> noop_by_load;  // in_flight -> noop throughput
  std::map<int, RunResult> rank_by_size;  // at the first load
  std::map<int, RunResult> board_by_size;
  int seeded = 0;
  nlohmann::json board_memory = nlohmann::json::array();
  auto add_row = [&](const std::string& label, const RunResult& result, nlohmann::json j) {
    const Histogram& h = result.tally.latency;
    table.push_back(absl::StrFormat(
        "| %s | %s | %.0f | %s | %.2f | %.2f | %.2f | %.2f | %d |", label,
        result.settings.open_loop ? absl::StrCat("open, ", result.settings.rate, "/s")
                                  : absl::StrCat("closed, ", result.settings.in_flight),
        result.tally.ok / result.seconds,
        j.contains("ratio_to_noop") ? absl::StrFormat("%.2f", j["ratio_to_noop"].get<double>())
                                    : std::string("-"),
        Ms(h.ValueAt(0.5)), Ms(h.ValueAt(0.9)), Ms(h.ValueAt(0.99)), Ms(h.ValueAt(0.999)),
        j["errors"].get<int64_t>()));
    if (j.contains("server")) {
      const auto& s = j["server"];
      cpu_lines.push_back(absl::StrFormat(
          "| %s | %s | %.1f | %.1f | %.2f | %.2f | %.2f |", label,
          result.settings.open_loop ? absl::StrCat("open, ", result.settings.rate, "/s")
                                    : absl::StrCat("closed, ", result.settings.in_flight),
          s.value("server_cpu_ms_per_1000", -1.0), s["redis_cpu_ms_per_1000"].get<double>(),
          s["loadgen_cpu_ms_per_1000"].get<double>(), s["redis_commands_per_call"].get<double>(),
          s["socket_reads_per_call"].get<double>()));
    }
    results.push_back(std::move(j));
  };
  // Runs one scenario at one load, with the server's counters over the window.
  auto run = [&](Scenario* scenario, const RunSettings& settings, WindowHooks extra = {}) {
    WindowCounters counters;
    WindowHooks hooks = CountersHooks(monitor.get(), &counters);
    if (extra.at_start) {
      hooks.at_start = [first = hooks.at_start, then = extra.at_start] {
        if (first) first();
        then();
      };
    }
    if (extra.at_end) {
      hooks.at_end = [first = extra.at_end, then = hooks.at_end] {
        first();
        if (then) then();
      };
    }
    RunResult result = Driver(scenario, setup, settings, std::move(hooks)).Run();
    nlohmann::json j = ToJson(result);
    if (counters.ok) j["server"] = ServerFigures(counters.start, counters.end, result.tally.ok);
    return std::make_pair(std::move(result), std::move(j));
  };

  for (const Step& step : steps) {
    const std::string& name = step.name;
    if (name == "burst") {
      if (absl::GetFlag(FLAGS_admin_password).empty()) {
        std::printf("burst: skipped (needs --admin_password, the server's admin password)\n");
        continue;
      }
      BurstSettings burst;
      burst.weigh_ins = absl::GetFlag(FLAGS_burst_weigh_ins);
      burst.batch = absl::GetFlag(FLAGS_burst_batch);
      burst.uploaders = absl::GetFlag(FLAGS_burst_uploaders);
      burst.participants = absl::GetFlag(FLAGS_burst_participants);
      burst.admin_password = absl::GetFlag(FLAGS_admin_password);
      auto report = RunBurst(setup, burst, monitor.get(), keys);
      if (!report.ok()) {
        std::fprintf(stderr, "burst: %s\n", report.status().ToString().c_str());
        return 1;
      }
      figures["burst"] = *report;
      const auto& b = *report;
      std::printf("burst  %d weigh-ins in batches of %d from %d uploaders: %.2f s, %.0f "
                  "weigh-ins/s, %lld accepted, %lld rejected; event totals complete %.0f ms and "
                  "event board %.0f ms after the last upload\n",
                  b["weigh_ins"].get<int>(), b["batch"].get<int>(), b["uploaders"].get<int>(),
                  b["upload_s"].get<double>(), b["weigh_ins_per_s"].get<double>(),
                  static_cast<long long>(b["accepted"].get<int64_t>()),
                  static_cast<long long>(b["rejected"].get<int64_t>()),
                  b["totals_complete_after_upload_ms"].get<double>(),
                  b["board_complete_after_upload_ms"].get<double>());
      if (b.contains("first_failure")) {
        std::printf("       e.g. \"%s\"\n", b["first_failure"].get<std::string>().c_str());
      }
      std::fflush(stdout);
      continue;
    }
    if ((name == "board" || name == "rank") && step.board_size != seeded) {
      const absl::Time begin = absl::Now();
      auto grown = GrowBoard(monitor.get(), redis_options, keys, seeded, step.board_size,
                             setup.citizens);
      if (!grown.ok()) {
        std::fprintf(stderr, "seeding the board: %s\n", grown.status().ToString().c_str());
        return 1;
      }
      const double seconds = absl::ToDoubleSeconds(absl::Now() - begin);
      const int added = step.board_size - seeded;
      nlohmann::json m = *std::move(grown);
      board_memory.push_back(m);
      std::printf("seeded the city all-time board to %d members (+%d) in %.1f s; memory: %.1f "
                  "bytes/member (MEMORY USAGE of the key / ZCARD), %.1f bytes/added member "
                  "(used_memory growth)\n",
                  step.board_size, added, seconds, m["key_bytes_per_member"].get<double>(),
                  m["used_memory_growth_bytes_per_added_member"].get<double>());
      seeded = step.board_size;
      absl::Status probed = ProbeBoard(setup);
      if (!probed.ok()) {
        std::fprintf(stderr, "%s\n", probed.ToString().c_str());
        return 1;
      }
    }
    std::unique_ptr<Scenario> scenario;
    if (name == "noop") scenario = std::make_unique<NoopScenario>(setup);
    if (name == "record") scenario = std::make_unique<RecordScenario>(setup);
    if (name == "board") scenario = std::make_unique<BoardScenario>(setup, false);
    if (name == "rank") scenario = std::make_unique<BoardScenario>(setup, true);
    const std::string label =
        step.board_size > 0 ? absl::StrCat(name, " ", MembersLabel(step.board_size)) : name;
    double best = 0;
    for (int in_flight : in_flights) {
      RunSettings settings = base;
      settings.in_flight = in_flight;
      auto [result, j] = run(scenario.get(), settings);
      const double throughput = result.tally.ok / result.seconds;
      best = std::max(best, throughput);
      if (name == "noop") noop_by_load[in_flight] = throughput;
      if (step.board_size > 0) j["board_users"] = step.board_size;
      PrintRow(result, noop_by_load.count(in_flight) ? noop_by_load[in_flight] : 0, label);
      if (j.contains("server")) PrintServer(j["server"]);
      if (name != "noop" && noop_by_load.count(in_flight) && noop_by_load[in_flight] > 0) {
        j["ratio_to_noop"] = throughput / noop_by_load[in_flight];
      }
      if (in_flight == in_flights.front()) {
        if (name == "rank") rank_by_size.emplace(step.board_size, result);
        if (name == "board") board_by_size.emplace(step.board_size, result);
      }
      add_row(label, result, std::move(j));
    }
    if (name != "record" || !monitor) continue;

    // Bytes per ledger entry, now that the record runs have filled the ledger.
    auto ledger = LedgerMemory(monitor.get(), keys);
    if (ledger.ok()) {
      figures["ledger_memory"] = *ledger;
      std::printf("ledger: %lld entries, %.1f bytes/entry (MEMORY USAGE of the shard streams / "
                  "XLEN)\n",
                  static_cast<long long>((*ledger)["ledger_entries"].get<int64_t>()),
                  (*ledger)["bytes_per_ledger_entry"].get<double>());
    }
    // Projector lag at a fraction of the best record rate, open loop.
    const double fraction = absl::GetFlag(FLAGS_lag_rate_fraction);
    if (fraction > 0 && best > 0) {
      Setup probe_setup;
      probe_setup.channels = setup.channels;
      probe_setup.timeout = setup.timeout;
      absl::Status registered = RegisterCitizens(8, &probe_setup);
      if (!registered.ok()) {
        std::fprintf(stderr, "registering the lag probes: %s\n", registered.ToString().c_str());
        return 1;
      }
      LagSampler sampler(setup, probe_setup.citizens, redis_options, keys.Board("city::all:pts"));
      RunSettings settings = base;
      settings.open_loop = true;
      settings.rate = std::round(best * fraction);
      auto [result, j] =
          run(scenario.get(), settings, {[&] { sampler.Start(); }, [&] { sampler.Stop(); }});
      result.scenario = "record_lag";
      j["scenario"] = "record_lag";
      j["rate_fraction_of_best"] = fraction;
      nlohmann::json lag = LatencyJson(sampler.lag());
      lag["not_visible_within_5s"] = sampler.not_visible();
      lag["probe_failures"] = sampler.failed();
      lag["rate_per_s"] = settings.rate;
      lag["rate_fraction_of_best"] = fraction;
      j["projector_lag_ms"] = lag;
      figures["projector_lag_ms"] = lag;
      PrintRow(result, 0, "record_lag");
      if (j.contains("server")) PrintServer(j["server"]);
      std::printf("       projector lag (acknowledged -> on the city board), %lld probes: p50 %.2f "
                  "ms, p99 %.2f ms, max %.2f ms; %lld not visible within 5 s\n",
                  static_cast<long long>(sampler.lag().count()), Ms(sampler.lag().ValueAt(0.5)),
                  Ms(sampler.lag().ValueAt(0.99)), Ms(sampler.lag().max()),
                  static_cast<long long>(sampler.not_visible()));
      add_row(absl::StrFormat("record (lag, %.0f%%)", fraction * 100), result, std::move(j));
    }
    // Round trips, the RecordAction path and the projector apart.
    if (absl::GetFlag(FLAGS_round_trips) > absl::ZeroDuration()) {
      RunSettings settings = base;
      // Closed loop even in an open-loop suite (whose in_flight is 0).
      settings.in_flight = in_flights.front() > 0 ? in_flights.front() : 32;
      settings.duration = absl::GetFlag(FLAGS_round_trips);
      auto trips = MeasureRoundTrips(monitor.get(), keys, scenario.get(), setup, settings);
      if (!trips.ok()) {
        std::fprintf(stderr, "round trips: %s\n", trips.status().ToString().c_str());
        return 1;
      }
      figures["round_trips"] = *trips;
      const auto& r = (*trips)["record_path"];
      const auto& p = (*trips)["projector"];
      std::printf(
          "round trips, %lld actions: RecordAction path (projector paused) %.3f script calls, "
          "%.3f socket reads, %.1f Redis commands incl. inside scripts per action; projector "
          "(catch-up alone, %.2f s) %.4f socket reads, %.4f XREADGROUP, %.2f commands per "
          "action\n",
          static_cast<long long>((*trips)["actions"].get<int64_t>()),
          r["script_calls_per_call"].get<double>(), r["socket_reads_per_call"].get<double>(),
          r["redis_commands_per_call"].get<double>(), p["catch_up_s"].get<double>(),
          p["socket_reads_per_call"].get<double>(), p["xreadgroup_per_entry"].get<double>(),
          p["redis_commands_per_call"].get<double>());
      std::fflush(stdout);
    }
  }
  if (!board_memory.empty()) figures["board_memory"] = board_memory;
  // GetMyRank (and GetLeaderboard) latency at the largest board over the smallest.
  auto size_ratio = [&](const std::map<int, RunResult>& by_size, const char* what) {
    if (by_size.size() < 2) return;
    const RunResult& small = by_size.begin()->second;
    const RunResult& large = by_size.rbegin()->second;
    auto ratio = [](int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / b : 0.0; };
    nlohmann::json j = {
        {"small_users", by_size.begin()->first},
        {"large_users", by_size.rbegin()->first},
        {"p50_ratio", ratio(large.tally.latency.ValueAt(0.5), small.tally.latency.ValueAt(0.5))},
        {"p99_ratio", ratio(large.tally.latency.ValueAt(0.99), small.tally.latency.ValueAt(0.99))},
        {"throughput_ratio", ratio(large.tally.ok, small.tally.ok)},
    };
    figures[absl::StrCat(what, "_large_over_small")] = j;
    std::printf("%s latency at %s over %s members: p50 x%.2f, p99 x%.2f; throughput x%.2f\n",
                what, MembersLabel(by_size.rbegin()->first).c_str(),
                MembersLabel(by_size.begin()->first).c_str(), j["p50_ratio"].get<double>(),
                j["p99_ratio"].get<double>(), j["throughput_ratio"].get<double>());
  };
  std::printf("\n");
  size_ratio(rank_by_size, "rank");
  size_ratio(board_by_size, "board");

  std::printf("\n| scenario | load | calls/s | x noop | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |\n"
              "|---|---|---|---|---|---|---|---|---|\n");
  for (const std::string& row : table) std::printf("%s\n", row.c_str());
  if (!cpu_lines.empty()) {
    std::printf("\nCPU ms per 1,000 successful calls, Redis commands (incl. inside scripts) and "
                "socket reads per call, over each measured window:\n"
                "| scenario | load | server | Redis | loadgen | commands | reads |\n"
                "|---|---|---|---|---|---|---|\n");
    for (const std::string& row : cpu_lines) std::printf("%s\n", row.c_str());
  }
  PrintSummary(figures);

  const std::string out = absl::GetFlag(FLAGS_out);
  if (!out.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    nlohmann::json doc = {
        {"date", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone())},
        {"machine",
         {{"host", host},
          {"nproc", static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))},
          {"cpu_model", CpuModel()},
          {"mem_total", MemTotal()}}},
        {"git_commit", GitCommit()},
        {"command_line", absl::StrJoin(command_line, " ")},
        {"settings",
         {{"server", absl::GetFlag(FLAGS_server)},
          {"threads", base.threads},
          {"channels", static_cast<int>(setup.channels.size())},
          {"warmup_s", absl::ToDoubleSeconds(base.warmup)},
          {"duration_s", absl::ToDoubleSeconds(base.duration)},
          {"users", static_cast<int>(setup.citizens.size())},
          {"board_users", board_sizes}}},
        {"runs", results},
        {"figures", figures},
    };
    std::ofstream file(out);
    file << doc.dump(2) << "\n";
    if (!file) {
      std::fprintf(stderr, "cannot write %s\n", out.c_str());
      return 1;
    }
    std::printf("results: %s\n", out.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace ecoact::loadgen

int main(int argc, char** argv) { return ecoact::loadgen::Main(argc, argv); }
