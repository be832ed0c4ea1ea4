// Fault tests: redis-server (AOF on, fsync always: the no-loss setting of
// docs/operations.md) and the real ecoact_server run as processes on
// loopback, citizens record actions through gRPC from several threads
// (tests/support/action_load.h), and a fault is injected under that load:
// Redis killed, the server killed, Redis unreachable, Redis slow or hung, the
// server stopped with SIGTERM. Afterwards every acknowledged action must be
// in the ledger exactly once, and totals and boards must equal the ledger.
// Each test prints what it did and what it found ("fault: ..." lines).
#include <csignal>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "tests/support/action_load.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace ecoact::test {
namespace {

// Bounds are generous on purpose: the machine running the suite may be busy
// with builds. They check that things happen at all, and within deadlines,
// not how fast.
constexpr absl::Duration kCallDeadline = absl::Seconds(3);
constexpr absl::Duration kMargin = absl::Seconds(2);
constexpr absl::Duration kProgressTimeout = absl::Seconds(20);

void Report(const std::string& test, const std::string& line) {
  std::printf("fault: %s: %s\n", test.c_str(), line.c_str());
  std::fflush(stdout);
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisServerOptions redis_options;
    redis_options.appendonly = true;  // appendfsync always
    auto redis = RedisServerProcess::Start(redis_options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    server_options_.binary = ECOACT_SERVER_BINARY;
    server_options_.extra_args = {"--shutdown_grace=5s"};
    ASSERT_NO_FATAL_FAILURE(StartServer());
    keys_ = std::make_unique<KeySpace>(server_options_.key_prefix, 16);
    checker_ = std::make_unique<RedisClient>(redis_->client_options());
  }

  // Starts the server; again after a crash on the same port and keys.
  void StartServer() {
    auto server = EcoactServerProcess::Start(*redis_, server_options_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    server_options_ = server_->options();
  }

  std::string Target() const { return absl::StrCat("127.0.0.1:", server_options_.port); }

  std::unique_ptr<ActionLoad> StartLoad(int threads, int citizens = 16) {
    LoadOptions options;
    options.target = Target();
    options.threads = threads;
    options.citizens = citizens;
    options.call_deadline = kCallDeadline;
    auto load = ActionLoad::Create(options);
    EXPECT_TRUE(load.ok()) << load.status();
    if (!load.ok()) return nullptr;
    (*load)->Start();
    return *std::move(load);
  }

  // Waits for `more` acknowledgements beyond the current count.
  void ExpectProgress(ActionLoad& load, int64_t more, const std::string& when) {
    const int64_t target = load.acked_count() + more;
    EXPECT_TRUE(load.WaitForAcked(target, kProgressTimeout))
        << "no progress " << when << ": " << load.stats().ToString();
  }

  // The health of the actions service as the server reports it.
  grpc::health::v1::HealthCheckResponse::ServingStatus Health(
      const std::string& service = "ecoact.v1.ActionsService") {
    auto health = grpc::health::v1::Health::NewStub(FastReconnectChannel(Target()));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health->Check(CallContext("", absl::Seconds(2)).get(), request, &response);
    if (!status.ok()) return grpc::health::v1::HealthCheckResponse::UNKNOWN;
    return response.status();
  }

  // Polls health until it reads `want`; how long that took, or nullopt.
  std::optional<absl::Duration> WaitForHealth(
      grpc::health::v1::HealthCheckResponse::ServingStatus want, absl::Duration timeout) {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < timeout) {
      if (Health() == want) return absl::Now() - start;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return std::nullopt;
  }

  // Stops the load and checks the ledger, the totals and the boards; prints
  // the figures under `test`.
  void StopAndVerify(ActionLoad& load, const std::string& test) {
    load.Stop();
    const LoadStats stats = load.stats();
    Report(test, absl::StrCat("load: ", stats.ToString()));
    EXPECT_EQ(stats.rejected, 0) << stats.first_rejection;
    EXPECT_EQ(stats.gave_up, 0);
    EXPECT_EQ(stats.acked, stats.sent);
    auto ledger = CheckLedger(*checker_, *keys_, load);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    Report(test, absl::StrCat("ledger: ", ledger->ToString()));
    EXPECT_GT(ledger->acked, 0);
    EXPECT_EQ(ledger->found, ledger->acked);
    EXPECT_EQ(ledger->lost, 0);
    EXPECT_EQ(ledger->doubled, 0);
    ProjectionCheck projections =
        CheckProjections(*checker_, *keys_, load, *ledger, kProgressTimeout);
    Report(test, absl::StrCat("totals and boards: ", projections.ToString()));
    EXPECT_EQ(projections.totals_match, projections.citizens) << projections.first_mismatch;
    EXPECT_EQ(projections.boards_match, projections.citizens) << projections.first_mismatch;
  }

  std::unique_ptr<RedisServerProcess> redis_;
  EcoactServerOptions server_options_;
  std::unique_ptr<EcoactServerProcess> server_;
  std::unique_ptr<KeySpace> keys_;
  std::unique_ptr<RedisClient> checker_;
};

TEST_F(FaultTest, RedisKilledUnderLoadLosesNoAcknowledgedAction) {
  const std::string test = "redis kill -9";
  auto load = StartLoad(/*threads=*/4);
  ASSERT_NE(load, nullptr);
  ExpectProgress(*load, 200, "before the crash");
  for (int crash = 1; crash <= 2; ++crash) {
    const int64_t acked_before = load->acked_count();
    redis_->Kill();
    absl::SleepFor(absl::Milliseconds(500));
    ASSERT_TRUE(redis_->Restart().ok());
    Report(test, absl::StrCat("crash ", crash, ": SIGKILL redis-server at ", acked_before,
                              " acknowledged, restarted from its AOF"));
    ExpectProgress(*load, 200, "after the Redis restart");
  }
  EXPECT_TRUE(server_->process().IsRunning());
  StopAndVerify(*load, test);
}

TEST_F(FaultTest, ServerKilledUnderLoadDoublesNothingWhenClientsRetry) {
  const std::string test = "server kill -9";
  auto load = StartLoad(/*threads=*/4);
  ASSERT_NE(load, nullptr);
  ExpectProgress(*load, 200, "before the crash");
  for (int crash = 1; crash <= 2; ++crash) {
    const int64_t acked_before = load->acked_count();
    server_->process().Kill();
    absl::SleepFor(absl::Milliseconds(300));
    ASSERT_NO_FATAL_FAILURE(StartServer());
    Report(test, absl::StrCat("crash ", crash, ": SIGKILL ecoact_server at ", acked_before,
                              " acknowledged, restarted on the same port and keys"));
    ExpectProgress(*load, 200, "after the server restart");
  }
  const LoadStats stats = load->stats();
  // The crashes were felt: some calls failed and were retried.
  EXPECT_GT(stats.attempts, stats.sent);
  StopAndVerify(*load, test);
}

TEST_F(FaultTest, RedisUnreachableFailsFastTurnsHealthNotServingAndRecovers) {
  const std::string test = "redis unreachable";
  ASSERT_TRUE(WaitForHealth(grpc::health::v1::HealthCheckResponse::SERVING, kProgressTimeout));
  const pid_t server_pid = server_->process().pid();
  auto load = StartLoad(/*threads=*/4);
  ASSERT_NE(load, nullptr);
  ExpectProgress(*load, 100, "before the outage");

  redis_->Kill();
  const absl::Time outage = absl::Now();
  // A call of a citizen fails fast with UNAVAILABLE, well inside its deadline.
  const LoadCitizen& citizen = load->citizens().front();
  auto actions = v1::ActionsService::NewStub(FastReconnectChannel(Target()));
  v1::RecordActionRequest request;
  request.set_request_id("fault-probe-during-outage");
  request.set_action_type("clothing_reuse");
  request.set_quantity(0.5);
  v1::RecordActionResponse response;
  absl::Time start = absl::Now();
  grpc::Status record = actions->RecordAction(CallContext(citizen.token, kCallDeadline).get(),
                                              request, &response);
  const absl::Duration record_took = absl::Now() - start;
  EXPECT_EQ(record.error_code(), grpc::StatusCode::UNAVAILABLE) << record.error_message();
  EXPECT_LT(record_took, kCallDeadline);
  v1::GetMyImpactResponse impact;
  start = absl::Now();
  grpc::Status read = actions->GetMyImpact(CallContext(citizen.token, kCallDeadline).get(),
                                           v1::GetMyImpactRequest(), &impact);
  const absl::Duration read_took = absl::Now() - start;
  EXPECT_EQ(read.error_code(), grpc::StatusCode::UNAVAILABLE) << read.error_message();
  EXPECT_LT(read_took, kCallDeadline);
  Report(test, absl::StrCat("SIGKILL redis-server; RecordAction -> ", record.error_code(),
                            " (14 = UNAVAILABLE) in ", absl::FormatDuration(record_took),
                            ", GetMyImpact -> ", read.error_code(), " in ",
                            absl::FormatDuration(read_took), " (deadline ",
                            absl::FormatDuration(kCallDeadline), ")"));

  auto not_serving =
      WaitForHealth(grpc::health::v1::HealthCheckResponse::NOT_SERVING, kProgressTimeout);
  ASSERT_TRUE(not_serving.has_value()) << "health still SERVING without Redis";
  // The liveness name stays SERVING: a liveness probe must not restart a
  // server that only waits for Redis.
  EXPECT_EQ(Health("liveness"),  // the name the Kubernetes probes ask (deploy/k8s)
            grpc::health::v1::HealthCheckResponse::SERVING);
  Report(test, absl::StrCat("health NOT_SERVING ", absl::FormatDuration(absl::Now() - outage),
                            " after the kill"));
  absl::SleepFor(absl::Seconds(1));  // the load keeps retrying meanwhile
  const int64_t acked_during = load->acked_count();

  ASSERT_TRUE(redis_->Restart().ok());
  const absl::Time back = absl::Now();
  auto serving = WaitForHealth(grpc::health::v1::HealthCheckResponse::SERVING, kProgressTimeout);
  ASSERT_TRUE(serving.has_value()) << "health never SERVING again";
  ExpectProgress(*load, 100, "after Redis came back");
  Report(test, absl::StrCat("Redis back: health SERVING after ", absl::FormatDuration(*serving),
                            ", 100 more actions acknowledged after ",
                            absl::FormatDuration(absl::Now() - back),
                            "; acknowledged at the outage's end: ", acked_during));
  // The retry of the probe is accepted once, with the same request id.
  EXPECT_TRUE(load->Record(citizen, request));
  // Recovered by itself: the same server process.
  EXPECT_TRUE(server_->process().IsRunning());
  EXPECT_EQ(server_->process().pid(), server_pid);
  StopAndVerify(*load, test);
}

// Makes Redis slow or hung for `stall` while `burst` calls arrive at once
// (besides the load), and checks that each call ends by its deadline and the
// server's thread count stays bounded.
struct StallFigures {
  int threads_before = 0;
  int threads_max = 0;
  int64_t burst_done = 0;
  int64_t burst_late = 0;
  absl::Duration burst_slowest;
  std::map<int, int64_t> burst_codes;
  // Each burst call's token and request, to retry them afterwards.
  std::vector<std::pair<LoadCitizen, v1::RecordActionRequest>> burst_requests;
};

class SlowRedisTest : public FaultTest {
 protected:
  StallFigures Stall(ActionLoad& load, int burst, const std::function<void()>& stall,
                     absl::Duration stall_for) {
    StallFigures figures;
    const pid_t pid = server_->process().pid();
    figures.threads_before = ThreadCount(pid);
    figures.threads_max = figures.threads_before;
    std::atomic<bool> sampling{true};
    std::thread sampler([&] {
      while (sampling.load()) {
        figures.threads_max = std::max(figures.threads_max, ThreadCount(pid));
        absl::SleepFor(absl::Milliseconds(20));
      }
    });
    stall();
    absl::SleepFor(absl::Milliseconds(200));
    // The burst: `burst` calls in flight at once, on the callback API.
    auto stub = v1::ActionsService::NewStub(load.channel());
    struct Call {
      grpc::ClientContext context;
      v1::RecordActionRequest request;
      v1::RecordActionResponse response;
      absl::Time start;
    };
    std::vector<std::unique_ptr<Call>> calls;
    absl::Mutex mutex;
    int64_t done = 0;
    for (int i = 0; i < burst; ++i) {
      auto call = std::make_unique<Call>();
      const LoadCitizen& citizen = load.citizens()[i % load.citizens().size()];
      call->context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
      call->context.AddMetadata("authorization", "Bearer " + citizen.token);
      call->request.set_request_id(absl::StrCat("fault-burst-", i, "-", absl::ToUnixNanos(absl::Now())));
      call->request.set_action_type("clothing_recycling");
      call->request.set_quantity(0.1);
      call->start = absl::Now();
      figures.burst_requests.emplace_back(citizen, call->request);
      Call* raw = call.get();
      stub->async()->RecordAction(&raw->context, &raw->request, &raw->response,
                                  [&, raw](grpc::Status status) {
                                    absl::MutexLock lock(&mutex);
                                    const absl::Duration took = absl::Now() - raw->start;
                                    figures.burst_slowest = std::max(figures.burst_slowest, took);
                                    if (took > kCallDeadline + kMargin) ++figures.burst_late;
                                    ++figures.burst_codes[status.error_code()];
                                    ++done;
                                  });
      calls.push_back(std::move(call));
    }
    absl::SleepFor(stall_for);
    // Every call ends by its deadline at the latest (the client enforces
    // it); wait for all of them before `calls` goes away.
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (absl::Now() < give_up) {
      absl::MutexLock lock(&mutex);
      if (done == burst) break;
      mutex.AwaitWithTimeout(absl::Condition::kTrue, absl::Milliseconds(20));
    }
    {
      absl::MutexLock lock(&mutex);
      figures.burst_done = done;
    }
    sampling.store(false);
    sampler.join();
    return figures;
  }

  // Like the app after a timeout: sends every burst request again with its
  // request id until it is acknowledged. Those Redis ran late are replayed,
  // the others recorded now; CheckLedger then finds each once.
  void RetryBurst(ActionLoad& load, const StallFigures& figures, const std::string& test) {
    const int64_t replayed_before = load.stats().replayed;
    int64_t acked = 0;
    for (const auto& [citizen, request] : figures.burst_requests) {
      if (load.Record(citizen, request)) ++acked;
    }
    EXPECT_EQ(acked, static_cast<int64_t>(figures.burst_requests.size()));
    Report(test, absl::StrCat("burst retried with the same request ids: acked=", acked,
                              " of which replayed (Redis had run them late)=",
                              load.stats().replayed - replayed_before));
  }

  // Once Redis answers again the extra threads end: none stays stuck.
  void ExpectThreadsBackTo(int before, const std::string& test) {
    const pid_t pid = server_->process().pid();
    const absl::Time give_up = absl::Now() + absl::Seconds(15);
    int now = ThreadCount(pid);
    while (now > before + 8 && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(100));
      now = ThreadCount(pid);
    }
    EXPECT_LE(now, before + 8);
    Report(test, absl::StrCat("recovered: server threads now ", now));
  }

  void ReportStall(const std::string& test, const StallFigures& figures, int burst) {
    std::string codes;
    for (const auto& [code, count] : figures.burst_codes) {
      absl::StrAppend(&codes, codes.empty() ? "" : ",", code, "=", count);
    }
    Report(test, absl::StrCat("burst of ", burst, " calls: done=", figures.burst_done,
                              " late=", figures.burst_late, " slowest=",
                              absl::FormatDuration(figures.burst_slowest), " codes={", codes,
                              "}; server threads before=", figures.threads_before,
                              " max=", figures.threads_max));
  }
};

// With the server's thread cap (--max_threads, 64 by default in tests as in
// production) the thread count stays below this bound even with a burst of
// several hundred calls waiting on a hung Redis.
constexpr int kThreadBound = 120;
constexpr int kBurst = 300;

TEST_F(SlowRedisTest, DebugSleepHoldsDeadlinesWithoutThreadPileUp) {
  const std::string test = "slow redis (DEBUG SLEEP 4)";
  auto load = StartLoad(/*threads=*/4);
  ASSERT_NE(load, nullptr);
  ExpectProgress(*load, 100, "before the stall");
  std::thread sleeper;
  StallFigures figures = Stall(
      *load, kBurst,
      [&] {
        sleeper = std::thread([&] {
          RedisClient sleepy([&] {
            RedisOptions options = redis_->client_options();
            options.command_timeout = absl::Seconds(10);
            return options;
          }());
          auto slept = sleepy.Command({"DEBUG", "SLEEP", "4"});
          EXPECT_TRUE(slept.ok()) << slept.status();
        });
      },
      absl::Seconds(4));
  sleeper.join();
  ReportStall(test, figures, kBurst);
  EXPECT_EQ(figures.burst_done, kBurst);
  EXPECT_EQ(figures.burst_late, 0);
  EXPECT_LT(figures.threads_max, kThreadBound);
  ExpectProgress(*load, 100, "after the stall");
  ExpectThreadsBackTo(figures.threads_before, test);
  RetryBurst(*load, figures, test);
  StopAndVerify(*load, test);
}

TEST_F(SlowRedisTest, HungRedisHoldsDeadlinesWithoutThreadPileUp) {
  const std::string test = "hung redis (SIGSTOP 5 s)";
  auto load = StartLoad(/*threads=*/4);
  ASSERT_NE(load, nullptr);
  ExpectProgress(*load, 100, "before the stall");
  StallFigures figures =
      Stall(*load, kBurst, [&] { ASSERT_TRUE(redis_->Pause().ok()); }, absl::Seconds(5));
  // Still hung: health says so (its pings have a connection of their own).
  auto not_serving =
      WaitForHealth(grpc::health::v1::HealthCheckResponse::NOT_SERVING, absl::Seconds(10));
  EXPECT_TRUE(not_serving.has_value()) << "health SERVING while Redis hangs";
  ASSERT_TRUE(redis_->Resume().ok());
  ReportStall(test, figures, kBurst);
  EXPECT_EQ(figures.burst_done, kBurst);
  EXPECT_EQ(figures.burst_late, 0);
  EXPECT_LT(figures.threads_max, kThreadBound);
  ASSERT_TRUE(WaitForHealth(grpc::health::v1::HealthCheckResponse::SERVING, kProgressTimeout));
  ExpectProgress(*load, 100, "after the stall");
  ExpectThreadsBackTo(figures.threads_before, test);
  RetryBurst(*load, figures, test);
  StopAndVerify(*load, test);
}

TEST_F(FaultTest, GracefulShutdownUnderLoadFinishesInFlightCalls) {
  const std::string test = "graceful shutdown (SIGTERM)";
  auto load = StartLoad(/*threads=*/6);
  ASSERT_NE(load, nullptr);
  ExpectProgress(*load, 200, "before the shutdown");
  // Hold Redis for 1 s so that calls are surely in flight at SIGTERM.
  std::thread sleeper([&] {
    RedisClient sleepy(redis_->client_options());
    EXPECT_TRUE(sleepy.Command({"DEBUG", "SLEEP", "1"}).ok());
  });
  absl::SleepFor(absl::Milliseconds(300));
  const int64_t acked_at_signal = load->acked_count();
  const absl::Time signalled = absl::Now();
  ASSERT_TRUE(server_->process().Signal(SIGTERM).ok());
  auto exit = server_->process().Wait(absl::Seconds(5) + kMargin * 2);
  const absl::Duration exit_took = absl::Now() - signalled;
  const int64_t acked_during_shutdown = load->acked_count() - acked_at_signal;
  sleeper.join();
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->Success()) << exit->ToString();
  // The calls waiting on Redis at SIGTERM were answered, not dropped.
  EXPECT_GT(acked_during_shutdown, 0);
  Report(test, absl::StrCat("SIGTERM with calls in flight: exited with ", exit->ToString(),
                            " after ", absl::FormatDuration(exit_took), " (grace 5s); ",
                            acked_during_shutdown, " calls acknowledged during the shutdown"));
  // Clients retry while it is down; start it again so that they finish.
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ExpectProgress(*load, 50, "after the restart");
  StopAndVerify(*load, test);
  // Nothing half-written: the ledger, the totals and the city board agree
  // (StopAndVerify), and so do the group sums of the ward board.
  auto ledger = CheckLedger(*checker_, *keys_, *load);
  ASSERT_TRUE(ledger.ok());
  int64_t ledger_points = 0;
  for (const auto& [account, sums] : ledger->grams_and_points) ledger_points += sums.second;
  int64_t ward_sum = -1;
  for (const absl::Time give_up = absl::Now() + kProgressTimeout;
       ward_sum != ledger_points && absl::Now() < give_up;) {
    auto wards =
        checker_->Command({"ZRANGE", keys_->Board("wards::all:pts"), "0", "-1", "WITHSCORES"});
    ASSERT_TRUE(wards.ok()) << wards.status();
    ward_sum = 0;
    for (size_t i = 1; i < wards->elements.size(); i += 2) {
      ward_sum += wards->elements[i].AsInt().value_or(0);
    }
    if (ward_sum != ledger_points) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(ward_sum, ledger_points);
  Report(test, absl::StrCat("ward board sum of points=", ward_sum,
                            " ledger sum of points=", ledger_points));
}

}  // namespace
}  // namespace ecoact::test
