// ecoact_gateway: HTTP/JSON in front of the gRPC server, and the web
// console's static files. Wiring only: flags -> options -> channel -> gateway.
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/common/flags.h"
#include "services/common/log.h"
#include "services/common/tls.h"
#include "services/gateway/gateway.h"
#include "services/gateway/rpc_proxy.h"

#ifndef ECOACT_DEFAULT_WEB_ROOT
#define ECOACT_DEFAULT_WEB_ROOT ""
#endif

ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "HOST:PORT the HTTP gateway listens on (env ECOACT_HTTP_LISTEN). Loopback by "
          "default: put a TLS-terminating proxy in front before exposing it");
ABSL_FLAG(std::string, upstream, "127.0.0.1:7700",
          "HOST:PORT of the ecoact gRPC server: every service not in --routes (env "
          "ECOACT_UPSTREAM)");
ABSL_FLAG(std::string, routes, "",
          "Services served elsewhere than --upstream (split deployment), as "
          "SERVICE=HOST:PORT,... e.g. ecoact.v1.ActionsService=127.0.0.1:7702 or "
          "ecoact.v1.ActionsService=actions:7700 (env ECOACT_ROUTES)");
ABSL_FLAG(std::string, upstream_tls_ca_file, "",
          "PEM CA certificates that signed the upstream's certificate; set: TLS to the "
          "upstream (env ECOACT_UPSTREAM_TLS_CA_FILE)");
ABSL_FLAG(std::string, upstream_tls_cert_file, "",
          "PEM client certificate for an upstream with mutual TLS");
ABSL_FLAG(std::string, upstream_tls_key_file, "", "Private key of --upstream_tls_cert_file");
ABSL_FLAG(std::string, upstream_tls_server_name, "",
          "Name the upstream's certificate must hold, if not the host of --upstream");
ABSL_FLAG(std::string, web_root, ECOACT_DEFAULT_WEB_ROOT,
          "Directory served at / (the web console); empty: no static files");
ABSL_FLAG(std::string, vendor_root, "",
          "Directory served at /vendor/ (e.g. browser libraries installed from npm); empty: "
          "none");
ABSL_FLAG(absl::Duration, call_timeout, absl::Seconds(10), "Deadline of one unary API call");
ABSL_FLAG(absl::Duration, stream_timeout, absl::Minutes(5),
          "Deadline of one server-streaming API call (exports)");
ABSL_FLAG(int, max_body_bytes, 1 << 20, "Largest request body; larger ones get 413");
ABSL_FLAG(absl::Duration, http_io_timeout, absl::Seconds(10),
          "How long reading a request or writing a piece of a reply may take");
ABSL_FLAG(int, http_threads, 16, "HTTP requests served at once (streams hold one each)");
ABSL_FLAG(std::string, cors_origin, "",
          "One origin (https://console.example.org) allowed to call /api from its pages; "
          "empty: same origin only");

namespace {

ecoact::gateway::GatewayOptions OptionsFromFlags() {
  ecoact::gateway::GatewayOptions options;
  std::string listen = absl::GetFlag(FLAGS_http_listen);
  size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    ecoact::ExitWithConfigError(absl::InvalidArgumentError(
        absl::StrCat("--http_listen (ECOACT_HTTP_LISTEN) must be HOST:PORT, got '", listen, "'")));
  }
  options.http_host = listen.substr(0, colon);
  if (options.http_host.size() > 2 && options.http_host.front() == '[') {
    options.http_host = options.http_host.substr(1, options.http_host.size() - 2);
  }
  options.http_port = port;
  options.web_root = absl::GetFlag(FLAGS_web_root);
  options.vendor_root = absl::GetFlag(FLAGS_vendor_root);
  options.call_timeout = absl::GetFlag(FLAGS_call_timeout);
  options.stream_timeout = absl::GetFlag(FLAGS_stream_timeout);
  options.io_timeout = absl::GetFlag(FLAGS_http_io_timeout);
  options.cors_origin = absl::GetFlag(FLAGS_cors_origin);
  const int max_body = absl::GetFlag(FLAGS_max_body_bytes);
  const int threads = absl::GetFlag(FLAGS_http_threads);
  if (max_body < 1) {
    ecoact::ExitWithConfigError(absl::InvalidArgumentError("--max_body_bytes must be positive"));
  }
  if (threads < 1) {
    ecoact::ExitWithConfigError(absl::InvalidArgumentError("--http_threads must be positive"));
  }
  for (auto [name, value] : {std::pair{"--call_timeout", options.call_timeout},
                             std::pair{"--stream_timeout", options.stream_timeout},
                             std::pair{"--http_io_timeout", options.io_timeout}}) {
    if (value <= absl::ZeroDuration()) {
      ecoact::ExitWithConfigError(
          absl::InvalidArgumentError(absl::StrCat(name, " must be positive")));
    }
  }
  options.max_body_bytes = static_cast<size_t>(max_body);
  options.http_threads = threads;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  ecoact::InitFlags(argc, argv,
                    "ecoact_gateway: HTTP/JSON gateway to the ecoact gRPC API "
                    "(POST /api/<package.Service>/<Method>) and the web console");
  ecoact::gateway::GatewayOptions options = OptionsFromFlags();
  const std::string upstream = absl::GetFlag(FLAGS_upstream);
  auto routes = ecoact::ParseRoutes("--routes (ECOACT_ROUTES)", absl::GetFlag(FLAGS_routes),
                                    "--upstream (ECOACT_UPSTREAM)", upstream,
                                    ecoact::gateway::ApiServices());
  if (!routes.ok()) ecoact::ExitWithConfigError(routes.status());
  ecoact::ChannelTlsOptions tls{
      absl::GetFlag(FLAGS_upstream_tls_ca_file), absl::GetFlag(FLAGS_upstream_tls_cert_file),
      absl::GetFlag(FLAGS_upstream_tls_key_file), absl::GetFlag(FLAGS_upstream_tls_server_name)};
  auto upstreams = ecoact::RoutedChannels::Open(*routes, tls);
  if (!upstreams.ok()) ecoact::ExitWithConfigError(upstreams.status());

  // SIGTERM / SIGINT stop the gateway from a thread of its own, since
  // httplib's stop() is not async-signal-safe.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  ecoact::gateway::Gateway gateway(options, *std::move(upstreams));
  if (absl::Status bound = gateway.Bind(); !bound.ok()) {
    ecoact::LogError("gateway: cannot start", {{"reason", std::string(bound.message())}});
    return 1;
  }
  std::thread signal_waiter([&gateway, &signals] {
    int received = 0;
    sigwait(&signals, &received);
    ecoact::LogInfo("gateway: stopping", {{"signal", static_cast<int64_t>(received)}});
    gateway.Stop();
  });
  ecoact::LogInfo("gateway: listening",
                  {{"http", absl::StrCat(options.http_host, ":", gateway.port())},
                   {"upstream", upstream},
                   {"routes", absl::GetFlag(FLAGS_routes)},
                   {"upstream_tls", tls.enabled()},
                   {"web_root", options.web_root},
                   {"vendor_root", options.vendor_root}});
  gateway.Serve();
  // Serve() also returns when the listener fails; wake the waiter either way.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  ecoact::LogInfo("gateway: stopped");
  return 0;
}
