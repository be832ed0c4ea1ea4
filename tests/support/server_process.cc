#include "tests/support/server_process.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ecoact::test {

std::unique_ptr<grpc::ClientContext> CallContext(const std::string& token,
                                                 absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

absl::StatusOr<std::unique_ptr<EcoactServerProcess>> EcoactServerProcess::Start(
    const RedisServerProcess& redis, EcoactServerOptions options) {
  if (options.port == 0) {
    auto port = PickFreePort();
    if (!port.ok()) return port.status();
    options.port = *port;
  }
  if (options.key_prefix.empty()) options.key_prefix = UniqueKeyPrefix();
  ProcessOptions process;
  process.binary = options.binary;
  process.args = {absl::StrCat("--listen=127.0.0.1:", options.port), "--projector_consumer=e2e",
                  "--password_iterations=1000", "--health_interval=100ms",
                  // High enough for tests' bursts, yet every call takes a token.
                  "--rate_limits=*=1000000/1000000"};
  process.args.insert(process.args.end(), options.extra_args.begin(), options.extra_args.end());
  process.env = {{"ECOACT_REDIS", redis.address()},
                 {"ECOACT_ADMIN_PASSWORD", options.admin_password},
                 {"ECOACT_TOKEN_KEYS", "e2e=0123456789abcdef0123456789abcdef0123"},
                 {"ECOACT_KEY_PREFIX", options.key_prefix}};
  auto started = ProcessHandle::Start(process);
  if (!started.ok()) return started.status();
  std::unique_ptr<EcoactServerProcess> server(new EcoactServerProcess());
  server->process_ = *std::move(started);
  absl::Status up = server->process_->WaitForPort("127.0.0.1", options.port, absl::Seconds(10));
  if (!up.ok()) return up;
  auto channel = OpenChannel(absl::StrCat("127.0.0.1:", options.port), options.client_tls);
  if (!channel.ok()) return channel.status();
  server->channel_ = *std::move(channel);
  server->options_ = std::move(options);
  return server;
}

}  // namespace ecoact::test
