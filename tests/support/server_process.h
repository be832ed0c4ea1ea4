// The real ecoact_server binary as a child process, for end-to-end tests:
// started on a free loopback port against a given Redis, with the admin and
// token key every e2e test needs, and a gRPC channel to it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
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
};

class EcoactServerProcess {
 public:
  // Starts the server and waits until its port accepts connections.
  static absl::StatusOr<std::unique_ptr<EcoactServerProcess>> Start(
      const RedisServerProcess& redis, EcoactServerOptions options);

  ProcessHandle& process() { return *process_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // The options it runs with (port and key prefix filled in), to start it
  // again on the same data after a crash.
  const EcoactServerOptions& options() const { return options_; }

 private:
  EcoactServerOptions options_;
  std::unique_ptr<ProcessHandle> process_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace ecoact::test
