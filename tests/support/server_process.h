// The real ecoact_server binary as a child process, for end-to-end tests:
// started on a free loopback port against a given Redis, with the admin and
// token key every e2e test needs, and a gRPC channel to it.
//
// Or the split deployment: each service's own binary (identity_server,
// actions_server, ...) as its own process on its own port, reached through
// --routes channels (services/common/routes.h), with the projector in the
// leaderboard process only. The e2e suite runs both ways: ctest runs each
// e2e test again as split.<name> with ECOACT_E2E_SPLIT=1 (SplitRequested()).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "services/common/routes.h"
#include "services/common/tls.h"
#include "tests/support/redis_server.h"

namespace ecoact::test {

// A client context with a deadline and, if `token` is set, the metadata
// `authorization: Bearer <token>`.
std::unique_ptr<grpc::ClientContext> CallContext(const std::string& token = "",
                                                 absl::Duration deadline = absl::Seconds(5));

struct EcoactServerOptions {
  std::string binary;  // path of ecoact_server
  std::string admin_password = "e2e-admin-password";
  std::string key_prefix;  // empty: a unique one
  int port = 0;            // 0: a free one
  // More flags, e.g. "--ledger_shards=8".
  std::vector<std::string> extra_args;
  // How channel() connects: plaintext by default; TLS options for a server
  // started with --tls_cert_file etc. in extra_args.
  ChannelTlsOptions client_tls;
  // Split deployment: full service name -> that service's own binary, each
  // started instead of `binary` on a port of its own. Empty: all-in-one.
  std::map<std::string, std::string> split_binaries;
};

// True when the environment asks the e2e tests for the split deployment
// (ECOACT_E2E_SPLIT=1; tests/e2e/CMakeLists.txt sets it for split.* tests).
bool SplitRequested();

// The service binaries of the split deployment under `services_dir` (the
// build's services/ directory): identity/identity_server etc., by full
// service name.
std::map<std::string, std::string> SplitBinaries(const std::string& services_dir);

class EcoactServerProcess {
 public:
  // Starts the server and waits until its port accepts connections.
  static absl::StatusOr<std::unique_ptr<EcoactServerProcess>> Start(
      const RedisServerProcess& redis, EcoactServerOptions options);

  // The all-in-one process; in split mode, the identity service's.
  ProcessHandle& process();
  // A plain channel (no retry policy) to the all-in-one server; in split
  // mode, the identity service's routed channel (the health of one process,
  // not of the system).
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // The channel that serves the service `Service` (with keepalive and the
  // retry policy of routes.h), in either mode.
  template <typename Service>
  std::unique_ptr<typename Service::Stub> Stub() const {
    return Service::NewStub(channels_->For(Service::service_full_name()));
  }
  bool split() const { return !options_.split_binaries.empty(); }
  // What a client is given: --server (the default target) and --routes
  // (empty all-in-one).
  std::string server_target() const { return channels_->routes().default_target; }
  std::string routes_flag() const;
  // Every process: the all-in-one, or each service's.
  std::vector<ProcessHandle*> processes();
  // Split mode: the process that serves `service`; null all-in-one.
  ProcessHandle* service_process(const std::string& service);
  // The options it runs with (port and key prefix filled in), to start it
  // again on the same data after a crash.
  const EcoactServerOptions& options() const { return options_; }

 private:
  EcoactServerOptions options_;
  std::unique_ptr<ProcessHandle> process_;
  std::map<std::string, std::unique_ptr<ProcessHandle>> service_processes_;  // split mode
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<const RoutedChannels> channels_;
};

}  // namespace ecoact::test
