// Server bootstrap shared by every binary: listening port, message size
// limit, keepalive, reflection, the gRPC health service driven by a real
// Redis PING, the access policy in front of every handler (policy.h),
// background workers, and graceful shutdown on SIGTERM/SIGINT.
// The port serves plaintext, TLS or mutual TLS (tls.h).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "services/common/call_context.h"
#include "services/common/rate_limit.h"
#include "services/common/redis.h"
#include "services/common/tls.h"

namespace ecoact {

// The gRPC health service name that reports SERVING while the process serves
// calls, whatever Redis does: for liveness probes. The overall status ("")
// and each service's name follow Redis and are for readiness.
inline constexpr std::string_view kLivenessHealthName = "liveness";

// A loop that runs beside the server (e.g. the leaderboard projector).
class BackgroundWorker {
 public:
  virtual ~BackgroundWorker() = default;
  virtual void Start() = 0;
  // Returns once the worker has stopped.
  virtual void Stop() = 0;
};

struct ServerOptions {
  std::string listen = "127.0.0.1:0";
  int max_message_bytes = 1 << 20;
  absl::Duration health_interval = absl::Seconds(1);
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Most threads the synchronous server runs calls on. gRPC's default is no
  // limit: with Redis hung, every arriving call parks one more thread (300
  // calls, 300 threads) until the process runs out of memory or threads.
  // Past the cap a call is refused at once with RESOURCE_EXHAUSTED.
  int max_threads = 64;
  // Rate limits per RPC and caller (rate_limit.h); null: none. Must outlive
  // the server.
  const RateLimiter* rate_limiter = nullptr;
  // TLS (or mutual TLS) on the port, from files checked by CheckServerTls;
  // off by default.
  ServerTlsOptions tls;
};

class EcoactServer {
 public:
  // `auth` checks each call against its RPC's declared policy.
  EcoactServer(ServerOptions options, RedisClient* redis, const Authenticator* auth);
  ~EcoactServer();

  // `health_name` is the full service name, e.g. "ecoact.v1.ActionsService".
  // Every method of `service` must declare an access policy (Start fails
  // naming those that do not). Health and reflection stay public.
  void AddService(grpc::Service* service, std::string health_name);
  void AddWorker(BackgroundWorker* worker);

  // Binds and starts serving; UNAVAILABLE if the address cannot be bound,
  // FAILED_PRECONDITION naming any RPC without an access policy.
  absl::Status Start();
  // The bound port (useful with port 0).
  int port() const { return port_; }
  // Stops accepting calls, lets in-flight calls finish within the grace
  // period, stops workers. Safe to call twice.
  void Shutdown();

 private:
  void HealthLoop();

  ServerOptions options_;
  RedisClient* redis_;
  const Authenticator* auth_;
  std::vector<std::pair<grpc::Service*, std::string>> services_;
  std::vector<BackgroundWorker*> workers_;
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> tls_files_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::thread health_thread_;
  absl::Notification stop_health_;
  std::atomic<bool> shut_down_{false};
};

// Blocks SIGINT and SIGTERM in every thread; call first thing in main().
void BlockTerminationSignals();
// Waits for SIGINT or SIGTERM, then shuts the server down gracefully.
void WaitForTerminationSignal(EcoactServer& server);

}  // namespace ecoact
