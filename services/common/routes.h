// Service discovery by configuration: which address answers which gRPC
// service, for every client of the services (the HTTP gateway, the ecoact
// CLI, the tests' split stack).
//
// Two settings, the same in every client:
//   --upstream / --server  HOST:PORT of the default: everything not routed
//                          (the all-in-one ecoact_server listens on one port)
//   --routes               SERVICE=HOST:PORT,... e.g.
//                          ecoact.v1.ActionsService=127.0.0.1:7702 on one
//                          machine, ecoact.v1.ActionsService=actions:7700
//                          (a Kubernetes Service's DNS name) in a cluster
//
// Every channel opened here has keepalive pings and a gRPC service config
// that retries calls failing with UNAVAILABLE, with exponential backoff and
// retry throttling, through gRPC's own retry support. UNAVAILABLE may come
// after the call did its work (the connection or Redis failed before the
// answer), so only idempotent calls are retried: reads, and writes that
// carry a request id or client entry ids (a replay returns the first
// outcome) or set a value. The few that are not (a sign-in makes a session,
// a refresh rotates its token, a check-in or an event transition refuses a
// repeat) are listed in NotRetriedMethods(): their caller sees the
// UNAVAILABLE and decides. Deadlines stay with the caller: every call must
// set one (the retries all happen inside it).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "services/common/tls.h"

namespace ecoact {

struct Routes {
  std::string default_target;                    // HOST:PORT for every service not routed
  std::map<std::string, std::string> services;  // full service name -> HOST:PORT

  // The target for a full method name ("/ecoact.v1.ActionsService/RecordAction")
  // or a full service name ("ecoact.v1.ActionsService").
  const std::string& TargetFor(absl::string_view method_or_service) const;
};

// OK if `target` is HOST:PORT (a DNS name, an IPv4 address or a bracketed
// IPv6 address; port 1-65535); INVALID_ARGUMENT starting with `flag`
// otherwise.
absl::Status ValidateTarget(absl::string_view flag, absl::string_view target);

// Parses `routes` ("SERVICE=HOST:PORT,..."; empty: none) over the default
// `upstream`. `routes_flag` and `upstream_flag` name the settings in errors,
// e.g. "--routes (ECOACT_ROUTES)". A SERVICE must be a full gRPC service
// name (package.Service), routed once, and one of `known` unless `known` is
// empty (so that a typo is an error at start-up, not calls going to the
// default).
absl::StatusOr<Routes> ParseRoutes(absl::string_view routes_flag, absl::string_view routes,
                                   absl::string_view upstream_flag, absl::string_view upstream,
                                   const std::set<std::string>& known = {});

// How the channels behave. The defaults suit calls inside one data centre.
struct ChannelPolicy {
  // A ping after this long without traffic on a connection, idle or not;
  // the connection is dropped when no answer comes within the timeout. The
  // ecoact server accepts pings every 10 s, with or without calls
  // (server.cc).
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // Attempts of one call (the first included, gRPC caps it at 5) and the
  // backoff between them: random in [0, min(initial * multiplier^(n-1), max)].
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  double backoff_multiplier = 2.0;
};

// Methods (service, method) that are never retried: a repeat of one that
// succeeded server-side would fail or do it twice (a second session, a
// refresh token presented after it was rotated, "already checked in").
const std::vector<std::pair<std::string, std::string>>& NotRetriedMethods();

// The gRPC service config (JSON) of every channel: the retry policy above
// for every method but NotRetriedMethods(), retry throttling (after about ten failed calls in a row
// a channel stops retrying until calls succeed again, so that an outage is
// not multiplied by the retries), and round-robin over
// every address a name resolves to (a headless Kubernetes Service).
std::string ServiceConfigJson(const ChannelPolicy& policy);

// One channel per distinct target of `routes`, opened once and shared.
class RoutedChannels {
 public:
  // INVALID_ARGUMENT when a TLS file cannot be used (tls.h).
  static absl::StatusOr<std::unique_ptr<RoutedChannels>> Open(
      Routes routes, const ChannelTlsOptions& tls, const ChannelPolicy& policy = {});

  // The channel for a full method name or a full service name.
  std::shared_ptr<grpc::Channel> For(absl::string_view method_or_service) const;
  // The default target's channel.
  std::shared_ptr<grpc::Channel> Default() const;
  const Routes& routes() const { return routes_; }

 private:
  RoutedChannels() = default;
  Routes routes_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> by_target_;
};

}  // namespace ecoact
