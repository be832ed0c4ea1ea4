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
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
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
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/loadgen/histogram.h"
#include "bench/loadgen/schedule.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "ecoact/v1/leaderboard.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "services/common/keys.h"
#include "services/common/redis.h"

ABSL_FLAG(std::string, server, "127.0.0.1:7700", "ecoact_server address (host:port)");
ABSL_FLAG(std::string, redis, "",
          "The server's Redis (host:port); needed by the board and rank scenarios, which seed "
          "the city all-time board directly");
ABSL_FLAG(std::string, key_prefix, "ea", "The server's --key_prefix");
ABSL_FLAG(int, ledger_shards, 16, "The server's --ledger_shards");
ABSL_FLAG(std::string, scenario, "noop", "noop | record | board | rank (ignored with --suite)");
ABSL_FLAG(std::string, suite, "", "quick: noop, record, board, rank in turn, same settings");
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
ABSL_FLAG(int, board_users, 100000, "Members seeded into the city all-time points board");
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
  Call* Start(int channel, uint64_t seq, grpc::CompletionQueue* cq) override {
    const Citizen& citizen = setup_.citizens[seq % setup_.citizens.size()];
    v1::RecordActionRequest request;
    request.set_request_id(absl::StrCat("lg", nonce_, "-", seq));
    request.set_action_type("train_instead_of_car");
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

class Driver {
 public:
  Driver(Scenario* scenario, const Setup& setup, const RunSettings& settings)
      : scenario_(scenario), setup_(setup), settings_(settings) {}

  RunResult Run() {
    start_ns_ = NowNs();
    measure_ns_ = start_ns_ + absl::ToInt64Nanoseconds(settings_.warmup);
    end_ns_ = measure_ns_ + absl::ToInt64Nanoseconds(settings_.duration);
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

// Seeds the city all-time points board (the key LeaderboardService reads for
// BoardRef{CITY, ALL_TIME, POINTS}) with `members` synthetic members, and
// puts every registered citizen on it too so GetMyRank ranks them. Seeded,
// not recorded: recording 1M users through the API would take hours; the
// members have no account, so their nicknames read "(deleted)" (the same
// HGET per member as a real one).
absl::Status SeedBoard(const std::string& redis_address, const std::string& key_prefix,
                       int shards, int members, const std::vector<Citizen>& citizens) {
  auto options = ParseRedisAddress(redis_address);
  if (!options.ok()) return options.status();
  options->command_timeout = absl::Seconds(30);
  RedisClient redis(*options);
  const KeySpace keys(key_prefix, shards);
  const std::string board = keys.Board("city::all:pts");
  auto card = redis.Command({"ZCARD", board});
  if (!card.ok()) return card.status();
  std::mt19937_64 random(1);
  std::uniform_int_distribution<int64_t> score(0, 1'000'000);
  constexpr int kPerCommand = 1000;
  constexpr int kPerRoundTrip = 10;
  if (card->integer < members) {
    std::vector<std::vector<std::string>> batch;
    for (int i = 0; i < members; i += kPerCommand) {
      std::vector<std::string> command = {"ZADD", board};
      for (int j = i; j < std::min(members, i + kPerCommand); ++j) {
        command.push_back(absl::StrCat(score(random)));
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
  }
  std::vector<std::string> command = {"ZADD", board};
  for (const Citizen& citizen : citizens) {
    command.push_back(absl::StrCat(score(random)));
    command.push_back(citizen.account_id);
  }
  if (!citizens.empty()) {
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

void PrintRow(const RunResult& r, double noop_throughput) {
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
  std::printf("%-6s %-14s %9.0f calls/s | ms p50 %6.2f p90 %6.2f p99 %6.2f p99.9 %7.2f | "
              "errors %lld%s%s\n",
              r.scenario.c_str(), load.c_str(), throughput, Ms(h.ValueAt(0.5)),
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

int Main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> command_line(argv, argv + argc);

  std::vector<std::string> scenarios;
  const std::string suite = absl::GetFlag(FLAGS_suite);
  if (suite == "quick") {
    scenarios = {"noop", "record", "board", "rank"};
  } else if (!suite.empty()) {
    std::fprintf(stderr, "--suite must be quick or empty\n");
    return 2;
  } else {
    scenarios = {absl::GetFlag(FLAGS_scenario)};
  }
  for (const std::string& s : scenarios) {
    if (s != "noop" && s != "record" && s != "board" && s != "rank") {
      std::fprintf(stderr, "--scenario must be noop, record, board or rank\n");
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
  bool needs_board = std::any_of(scenarios.begin(), scenarios.end(),
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

  nlohmann::json results = nlohmann::json::array();
  std::vector<std::string> table;
  std::map<int, double> noop_by_load;  // in_flight -> noop throughput
  for (const std::string& name : scenarios) {
    if ((name == "board" || name == "rank") && needs_board) {
      if (absl::GetFlag(FLAGS_redis).empty()) {
        std::fprintf(stderr, "the board and rank scenarios need --redis to seed the board\n");
        return 2;
      }
      const absl::Time begin = absl::Now();
      absl::Status seeded =
          SeedBoard(absl::GetFlag(FLAGS_redis), absl::GetFlag(FLAGS_key_prefix),
                    absl::GetFlag(FLAGS_ledger_shards), absl::GetFlag(FLAGS_board_users),
                    setup.citizens);
      if (!seeded.ok()) {
        std::fprintf(stderr, "seeding the board: %s\n", seeded.ToString().c_str());
        return 1;
      }
      std::printf("seeded the city all-time board with %d members in %.1f s\n",
                  absl::GetFlag(FLAGS_board_users), absl::ToDoubleSeconds(absl::Now() - begin));
      needs_board = false;  // rank reuses board's seeding
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
    for (int in_flight : in_flights) {
      RunSettings settings = base;
      settings.in_flight = in_flight;
      RunResult result = Driver(scenario.get(), setup, settings).Run();
      const double throughput = result.tally.ok / result.seconds;
      if (name == "noop") noop_by_load[in_flight] = throughput;
      PrintRow(result, noop_by_load.count(in_flight) ? noop_by_load[in_flight] : 0);
      nlohmann::json j = ToJson(result);
      if (name != "noop" && noop_by_load.count(in_flight) && noop_by_load[in_flight] > 0) {
        j["ratio_to_noop"] = throughput / noop_by_load[in_flight];
      }
      results.push_back(j);
      const Histogram& h = result.tally.latency;
      table.push_back(absl::StrFormat(
          "| %s | %s | %.0f | %s | %.2f | %.2f | %.2f | %.2f | %d |", name,
          settings.open_loop ? absl::StrCat("open, ", settings.rate, "/s")
                             : absl::StrCat("closed, ", in_flight),
          throughput, j.contains("ratio_to_noop")
                          ? absl::StrFormat("%.2f", j["ratio_to_noop"].get<double>())
                          : std::string("-"),
          Ms(h.ValueAt(0.5)), Ms(h.ValueAt(0.9)), Ms(h.ValueAt(0.99)), Ms(h.ValueAt(0.999)),
          j["errors"].get<int64_t>()));
    }
  }
  std::printf("\n| scenario | load | calls/s | x noop | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |\n"
              "|---|---|---|---|---|---|---|---|---|\n");
  for (const std::string& row : table) std::printf("%s\n", row.c_str());

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
          {"board_users", absl::GetFlag(FLAGS_board_users)}}},
        {"runs", results},
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
