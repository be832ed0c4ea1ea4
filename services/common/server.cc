#include "services/common/server.h"

#include <csignal>
#include <pthread.h>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "services/common/log.h"
#include "services/common/policy.h"

namespace ecoact {

EcoactServer::EcoactServer(ServerOptions options, RedisClient* redis, const Authenticator* auth)
    : options_(std::move(options)), redis_(redis), auth_(auth) {}

EcoactServer::~EcoactServer() { Shutdown(); }

void EcoactServer::AddService(grpc::Service* service, std::string health_name) {
  services_.emplace_back(service, std::move(health_name));
}

void EcoactServer::AddWorker(BackgroundWorker* worker) { workers_.push_back(worker); }

absl::Status EcoactServer::Start() {
  for (auto& entry : services_) {
    absl::Status guarded = GuardService(entry.first, auth_, options_.rate_limiter);
    if (!guarded.ok()) return guarded;
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  grpc::ResourceQuota quota("ecoact-server");
  quota.SetMaxThreads(options_.max_threads);
  builder.SetResourceQuota(quota);
  builder.AddListeningPort(options_.listen, MakeServerCredentials(options_.tls, &tls_files_),
                           &port_);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  // A second server on a busy port must fail, not silently share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Keepalive: detect dead phones on flaky networks; allow clients to ping
  // every 10 s without being told off.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  for (auto& [service, name] : services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen));
  }
  for (BackgroundWorker* worker : workers_) worker->Start();
  // "liveness" answers SERVING for as long as the process serves RPCs, even
  // while Redis is away: a Kubernetes liveness probe must not restart a pod
  // that only waits for Redis (the readiness probe uses the overall status).
  server_->GetHealthCheckService()->SetServingStatus(std::string(kLivenessHealthName), true);
  health_thread_ = std::thread([this] { HealthLoop(); });
  LogInfo("server started", {{"listen", options_.listen},
                             {"port", int64_t{port_}},
                             {"transport", std::string(options_.tls.mode())}});
  return absl::OkStatus();
}

void EcoactServer::HealthLoop() {
  bool last_serving = false;
  bool first = true;
  do {
    absl::Status ping = redis_->Ping();
    bool serving = ping.ok();
    auto* health = server_->GetHealthCheckService();
    // By name: the all-names setter would also turn "liveness" NOT_SERVING.
    health->SetServingStatus("", serving);
    for (const auto& entry : services_) health->SetServingStatus(entry.second, serving);
    if (first || serving != last_serving) {
      if (serving) {
        LogInfo("health: SERVING (Redis answers)");
      } else {
        LogWarning("health: NOT_SERVING", {{"reason", std::string(ping.message())}});
      }
    }
    first = false;
    last_serving = serving;
  } while (!stop_health_.WaitForNotificationWithTimeout(options_.health_interval));
}

void EcoactServer::Shutdown() {
  if (server_ == nullptr || shut_down_.exchange(true)) return;
  LogInfo("shutting down", {{"grace_ms", absl::ToInt64Milliseconds(options_.shutdown_grace)}});
  server_->GetHealthCheckService()->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoNanoseconds(options_.shutdown_grace));
  stop_health_.Notify();
  if (health_thread_.joinable()) health_thread_.join();
  for (BackgroundWorker* worker : workers_) worker->Stop();
  server_->Wait();
  LogInfo("stopped");
}

void BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

void WaitForTerminationSignal(EcoactServer& server) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  LogInfo("signal received", {{"signal", int64_t{received}}});
  server.Shutdown();
}

}  // namespace ecoact
