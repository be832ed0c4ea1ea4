#include "tests/support/server_process.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace ecoact::test {

std::unique_ptr<grpc::ClientContext> CallContext(const std::string& token,
                                                 absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

bool SplitRequested() {
  const char* split = std::getenv("ECOACT_E2E_SPLIT");
  return split != nullptr && std::string(split) == "1";
}

std::map<std::string, std::string> SplitBinaries(const std::string& services_dir) {
  std::map<std::string, std::string> binaries;
  for (const char* name : {"identity", "catalog", "actions", "leaderboard", "events", "rewards",
                           "surveys", "reports"}) {
    std::string service = absl::StrCat("ecoact.v1.", name, "Service");
    service[10] = absl::ascii_toupper(service[10]);  // ecoact.v1.Identity...
    binaries[service] = absl::StrCat(services_dir, "/", name, "/", name, "_server");
  }
  return binaries;
}

namespace {

constexpr char kIdentity[] = "ecoact.v1.IdentityService";

ProcessOptions BaseProcess(const RedisServerProcess& redis, const EcoactServerOptions& options,
                           const std::string& binary, int port) {
  ProcessOptions process;
  process.binary = binary;
  process.args = {absl::StrCat("--listen=127.0.0.1:", port), "--projector_consumer=e2e",
                  "--password_iterations=1000", "--health_interval=100ms",
                  // High enough for tests' bursts, yet every call takes a token.
                  "--rate_limits=*=1000000/1000000"};
  process.args.insert(process.args.end(), options.extra_args.begin(), options.extra_args.end());
  process.env = {{"ECOACT_REDIS", redis.address()},
                 {"ECOACT_ADMIN_PASSWORD", options.admin_password},
                 {"ECOACT_TOKEN_KEYS", "e2e=0123456789abcdef0123456789abcdef0123"},
                 {"ECOACT_KEY_PREFIX", options.key_prefix}};
  return process;
}

// A split service binary defines only its own service's flags: every flag
// given to all of them is declared ignorable (absl's --undefok) for the
// binaries that do not know it (--projector_consumer outside leaderboard).
void AllowFlagsOfOtherServices(ProcessOptions& process) {
  std::vector<std::string> names;
  for (const std::string& arg : process.args) {
    if (!absl::StartsWith(arg, "--")) continue;
    names.push_back(arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos
                                                                      : arg.find('=') - 2));
  }
  process.args.push_back(absl::StrCat("--undefok=", absl::StrJoin(names, ",")));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EcoactServerProcess>> EcoactServerProcess::Start(
    const RedisServerProcess& redis, EcoactServerOptions options) {
  if (options.key_prefix.empty()) options.key_prefix = UniqueKeyPrefix();
  std::unique_ptr<EcoactServerProcess> server(new EcoactServerProcess());
  Routes routes;
  if (options.split_binaries.empty()) {
    if (options.port == 0) {
      auto port = PickFreePort();
      if (!port.ok()) return port.status();
      options.port = *port;
    }
    auto started = ProcessHandle::Start(BaseProcess(redis, options, options.binary, options.port));
    if (!started.ok()) return started.status();
    server->process_ = *std::move(started);
    absl::Status up = server->process_->WaitForPort("127.0.0.1", options.port, absl::Seconds(10));
    if (!up.ok()) return up;
    routes.default_target = absl::StrCat("127.0.0.1:", options.port);
  } else {
    // Every process first, then the waits: they start up side by side.
    std::map<std::string, int> ports;
    for (const auto& [service, binary] : options.split_binaries) {
      auto port = PickFreePort();
      if (!port.ok()) return port.status();
      ProcessOptions process = BaseProcess(redis, options, binary, *port);
      AllowFlagsOfOtherServices(process);
      auto started = ProcessHandle::Start(std::move(process));
      if (!started.ok()) return started.status();
      server->service_processes_[service] = *std::move(started);
      ports[service] = *port;
      routes.services[service] = absl::StrCat("127.0.0.1:", *port);
    }
    for (const auto& [service, port] : ports) {
      absl::Status up = server->service_processes_[service]->WaitForPort("127.0.0.1", port,
                                                                         absl::Seconds(10));
      if (!up.ok()) return up;
    }
    if (ports.count(kIdentity) == 0) {
      return absl::InvalidArgumentError("a split deployment needs the identity service");
    }
    options.port = ports[kIdentity];
    routes.default_target = routes.services[kIdentity];
  }
  auto channels = RoutedChannels::Open(std::move(routes), options.client_tls);
  if (!channels.ok()) return channels.status();
  server->channels_ = *std::move(channels);
  if (!options.split_binaries.empty()) {
    server->channel_ = server->channels_->For(kIdentity);
  } else {
    // A plain channel, without the retry policy, as before: the fault and
    // TLS tests see each failure as it happens.
    auto channel = OpenChannel(server->channels_->routes().default_target, options.client_tls);
    if (!channel.ok()) return channel.status();
    server->channel_ = *std::move(channel);
  }
  server->options_ = std::move(options);
  return server;
}

ProcessHandle& EcoactServerProcess::process() {
  return split() ? *service_processes_.at(kIdentity) : *process_;
}

std::string EcoactServerProcess::routes_flag() const {
  std::vector<std::string> entries;
  for (const auto& [service, target] : channels_->routes().services) {
    entries.push_back(absl::StrCat(service, "=", target));
  }
  return absl::StrJoin(entries, ",");
}

std::vector<ProcessHandle*> EcoactServerProcess::processes() {
  if (!split()) return {process_.get()};
  std::vector<ProcessHandle*> all;
  for (auto& [service, process] : service_processes_) all.push_back(process.get());
  return all;
}

ProcessHandle* EcoactServerProcess::service_process(const std::string& service) {
  auto found = service_processes_.find(service);
  return found == service_processes_.end() ? nullptr : found->second.get();
}

}  // namespace ecoact::test
