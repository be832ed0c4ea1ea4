#include "services/common/routes.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ecoact {
namespace {

bool IsIdentifier(absl::string_view part) {
  if (part.empty() || absl::ascii_isdigit(part.front())) return false;
  for (char c : part) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

// package.Service: at least two identifiers separated by dots.
bool IsServiceName(absl::string_view name) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '.');
  if (parts.size() < 2) return false;
  for (absl::string_view part : parts) {
    if (!IsIdentifier(part)) return false;
  }
  return true;
}

bool IsHostName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-') return false;
    }
  }
  return true;
}

bool IsIpv6(absl::string_view host) {
  if (host.empty()) return false;
  for (char c : host) {
    if (!absl::ascii_isxdigit(c) && c != ':' && c != '.') return false;
  }
  return host.find(':') != absl::string_view::npos;
}

std::string Seconds(absl::Duration duration) {
  return absl::StrCat(absl::ToDoubleSeconds(duration), "s");
}

}  // namespace

const std::string& Routes::TargetFor(absl::string_view method_or_service) const {
  absl::string_view service = absl::StripPrefix(method_or_service, "/");
  service = service.substr(0, service.find('/'));
  auto found = services.find(std::string(service));
  return found == services.end() ? default_target : found->second;
}

absl::Status ValidateTarget(absl::string_view flag, absl::string_view target) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", target, "' is not HOST:PORT (", why, ")"));
  };
  const size_t colon = target.rfind(':');
  if (colon == absl::string_view::npos) return bad("no port");
  absl::string_view host = target.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(target.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return bad("the port must be 1-65535");
  }
  if (absl::ConsumePrefix(&host, "[")) {
    if (!absl::ConsumeSuffix(&host, "]") || !IsIpv6(host)) return bad("a bad IPv6 address");
    return absl::OkStatus();
  }
  if (!IsHostName(host)) return bad("the host must be a DNS name or an IP address");
  return absl::OkStatus();
}

absl::StatusOr<Routes> ParseRoutes(absl::string_view routes_flag, absl::string_view routes,
                                   absl::string_view upstream_flag, absl::string_view upstream,
                                   const std::set<std::string>& known) {
  Routes parsed;
  if (absl::Status valid = ValidateTarget(upstream_flag, upstream); !valid.ok()) return valid;
  parsed.default_target = std::string(upstream);
  routes = absl::StripAsciiWhitespace(routes);
  if (routes.empty()) return parsed;
  int index = 0;
  for (absl::string_view entry : absl::StrSplit(routes, ',')) {
    ++index;
    entry = absl::StripAsciiWhitespace(entry);
    const std::string where = absl::StrCat(routes_flag, ", entry ", index);
    const size_t equals = entry.find('=');
    if (equals == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": '", entry, "' is not SERVICE=HOST:PORT"));
    }
    const std::string service(absl::StripAsciiWhitespace(entry.substr(0, equals)));
    const absl::string_view target = absl::StripAsciiWhitespace(entry.substr(equals + 1));
    if (!IsServiceName(service)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": '", service,
          "' is not a full gRPC service name (package.Service, e.g. ecoact.v1.ActionsService)"));
    }
    if (!known.empty() && known.count(service) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown service '", service,
                                                     "'; known: ", absl::StrJoin(known, ", ")));
    }
    if (absl::Status valid = ValidateTarget(where, target); !valid.ok()) return valid;
    if (!parsed.services.emplace(service, std::string(target)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": '", service, "' is routed more than once"));
    }
  }
  return parsed;
}

const std::vector<std::pair<std::string, std::string>>& NotRetriedMethods() {
  static const auto* methods = new std::vector<std::pair<std::string, std::string>>{
      {"ecoact.v1.IdentityService", "SignIn"},
      {"ecoact.v1.IdentityService", "SignInWithOidc"},
      {"ecoact.v1.IdentityService", "RefreshToken"},
      {"ecoact.v1.EventsService", "CheckIn"},
      {"ecoact.v1.EventsService", "OpenEvent"},
      {"ecoact.v1.EventsService", "CloseEvent"},
      {"ecoact.v1.SurveysService", "PublishSurvey"},
  };
  return *methods;
}

std::string ServiceConfigJson(const ChannelPolicy& policy) {
  // "name": [{}] is the default method config: every method of every
  // service. A config naming a method wins over it, so the methods below get
  // one without a retry policy.
  std::vector<std::string> not_retried;
  for (const auto& [service, method] : NotRetriedMethods()) {
    not_retried.push_back(
        absl::StrCat(R"({"service":")", service, R"(","method":")", method, R"("})"));
  }
  return absl::StrCat(
      R"({"loadBalancingConfig":[{"round_robin":{}}],)",
      R"("methodConfig":[{"name":[{}],"retryPolicy":{)",
      R"("maxAttempts":)", policy.max_attempts, ",",
      R"("initialBackoff":")", Seconds(policy.initial_backoff), R"(",)",
      R"("maxBackoff":")", Seconds(policy.max_backoff), R"(",)",
      R"("backoffMultiplier":)", policy.backoff_multiplier, ",",
      R"("retryableStatusCodes":["UNAVAILABLE"]}},)",
      R"({"name":[)", absl::StrJoin(not_retried, ","), R"(]}],)",
      R"("retryThrottling":{"maxTokens":20,"tokenRatio":0.2}})");
}

absl::StatusOr<std::unique_ptr<RoutedChannels>> RoutedChannels::Open(
    Routes routes, const ChannelTlsOptions& tls, const ChannelPolicy& policy) {
  std::unique_ptr<RoutedChannels> channels(new RoutedChannels());
  std::vector<std::string> targets = {routes.default_target};
  for (const auto& [service, target] : routes.services) targets.push_back(target);
  const std::string config = ServiceConfigJson(policy);
  for (const std::string& target : targets) {
    if (channels->by_target_.count(target) > 0) continue;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                static_cast<int>(absl::ToInt64Milliseconds(policy.keepalive_time)));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                static_cast<int>(absl::ToInt64Milliseconds(policy.keepalive_timeout)));
    // Idle connections too: a peer that vanished without closing (a pod on a
    // dead node) is noticed before the next call waits on it.
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
    args.SetServiceConfigJSON(config);
    auto channel = OpenChannel(target, tls, std::move(args));
    if (!channel.ok()) return channel.status();
    channels->by_target_.emplace(target, *std::move(channel));
  }
  channels->routes_ = std::move(routes);
  return channels;
}

std::shared_ptr<grpc::Channel> RoutedChannels::For(absl::string_view method_or_service) const {
  return by_target_.at(routes_.TargetFor(method_or_service));
}

std::shared_ptr<grpc::Channel> RoutedChannels::Default() const {
  return by_target_.at(routes_.default_target);
}

}  // namespace ecoact
