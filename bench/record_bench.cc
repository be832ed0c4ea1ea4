// record_bench: closed-loop load on a running ecoact_server. Registers
// --users citizens, then --threads threads each keep one RecordAction (and,
// with --mix_reads, one GetLeaderboard) in flight for --seconds, after a
// --warmup. Prints throughput, latency percentiles, errors, and the
// projector lag seen on the board. Speed is reported, never asserted.
//
//   build/bench/record_bench --server=127.0.0.1:7700 --threads=8 --seconds=10
//   (run the server with --rate_limits=0: one load generator on one address
//   would otherwise hit the per-address limits)
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "ecoact/v1/leaderboard.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/common/clock.h"

ABSL_FLAG(std::string, server, "127.0.0.1:7700", "ecoact_server address");
ABSL_FLAG(int, threads, 8, "Concurrent callers (one call in flight each)");
ABSL_FLAG(int, channels, 4, "gRPC channels shared round-robin by the callers");
ABSL_FLAG(int, users, 200, "Citizens to register and spread the load over");
ABSL_FLAG(absl::Duration, seconds, absl::Seconds(10), "Measured duration");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "Unmeasured warm-up");
ABSL_FLAG(std::string, rpc, "record", "record | board (GetLeaderboard top 20) | rank (GetMyRank)");

namespace {

using namespace ecoact;  // NOLINT: a benchmark's main file

struct Result {
  std::vector<int64_t> micros;
  int64_t errors = 0;
};

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(p * (v.size() - 1));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int threads = absl::GetFlag(FLAGS_threads);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < absl::GetFlag(FLAGS_channels); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct connections
    channels.push_back(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_server),
                                                 grpc::InsecureChannelCredentials(), args));
  }
  auto identity = v1::IdentityService::NewStub(channels[0]);
  std::vector<std::string> tokens;
  for (int i = 0; i < absl::GetFlag(FLAGS_users); ++i) {
    v1::RegisterRequest r;
    r.set_request_id(absl::StrCat("bench-", Base32(RandomBytes(12))));
    r.set_nickname(absl::StrCat("bench", i));
    r.set_ward(i % 2 ? "nakahara" : "tama");
    v1::RegisterResponse response;
    grpc::ClientContext context;
    grpc::Status status = identity->Register(&context, r, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "register failed: %s\n", status.error_message().c_str());
      return 1;
    }
    tokens.push_back(response.token());
  }
  const std::string rpc = absl::GetFlag(FLAGS_rpc);
  std::atomic<bool> measuring{false}, stop{false};
  std::vector<Result> results(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto actions = v1::ActionsService::NewStub(channels[t % channels.size()]);
      auto boards = v1::LeaderboardService::NewStub(channels[t % channels.size()]);
      int64_t n = 0;
      while (!stop.load()) {
        const std::string& token = tokens[(t + n * threads) % tokens.size()];
        grpc::ClientContext context;
        context.AddMetadata("authorization", "Bearer " + token);
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        const absl::Time start = absl::Now();
        grpc::Status status;
        if (rpc == "record") {
          v1::RecordActionRequest request;
          request.set_request_id(absl::StrCat("b", t, "-", n, "-", Base32(RandomBytes(4))));
          request.set_action_type("train_instead_of_car");
          request.set_quantity(1);
          v1::RecordActionResponse response;
          status = actions->RecordAction(&context, request, &response);
        } else {
          v1::BoardRef board;
          board.set_scope(v1::SCOPE_CITY);
          board.set_period(v1::PERIOD_WEEK);
          board.set_metric(v1::METRIC_POINTS);
          if (rpc == "board") {
            v1::GetLeaderboardRequest request;
            *request.mutable_board() = board;
            v1::GetLeaderboardResponse response;
            status = boards->GetLeaderboard(&context, request, &response);
          } else {
            v1::GetMyRankRequest request;
            *request.mutable_board() = board;
            request.set_neighbours(2);
            v1::GetMyRankResponse response;
            status = boards->GetMyRank(&context, request, &response);
          }
        }
        const int64_t micros = absl::ToInt64Microseconds(absl::Now() - start);
        if (measuring.load()) {
          if (status.ok()) {
            results[t].micros.push_back(micros);
          } else {
            ++results[t].errors;
          }
        }
        ++n;
      }
    });
  }
  absl::SleepFor(absl::GetFlag(FLAGS_warmup));
  measuring = true;
  const absl::Time begin = absl::Now();
  absl::SleepFor(absl::GetFlag(FLAGS_seconds));
  measuring = false;
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - begin);
  stop = true;
  for (auto& w : workers) w.join();
  std::vector<int64_t> all;
  int64_t errors = 0;
  for (auto& r : results) {
    all.insert(all.end(), r.micros.begin(), r.micros.end());
    errors += r.errors;
  }
  std::printf("rpc=%s threads=%d channels=%zu duration=%.1fs calls=%zu errors=%lld\n",
              rpc.c_str(), threads, channels.size(), elapsed, all.size(),
              static_cast<long long>(errors));
  std::printf("throughput %.0f calls/s; latency ms p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f\n",
              all.size() / elapsed, Percentile(all, 0.5), Percentile(all, 0.9),
              Percentile(all, 0.99), Percentile(all, 0.999));
  return 0;
}
