// How a server binary is put together: main() names the service modules it
// hosts, and RunServerMain does the rest (flags -> config -> Redis, tokens,
// calendar -> each module registers its services and workers -> serve until
// SIGTERM). The all-in-one binary passes every module; a split deployment
// runs one binary per module.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/common/call_context.h"
#include "services/common/config.h"
#include "services/common/keys.h"
#include "services/common/periods.h"
#include "services/common/redis.h"
#include "services/common/server.h"
#include "services/common/tokens.h"

namespace ecoact {

// Shared objects a module builds its service from. Objects a module creates
// are handed to Keep() so they live as long as the server.
struct Assembly {
  const CommonConfig* config;
  RedisClient* redis;
  const KeySpace* keys;
  const CityCalendar* calendar;
  const TokenService* tokens;
  const Authenticator* auth;
  EcoactServer* server;

  // Called when a module of this process changed the campaign definitions,
  // so that the campaign caches of the other modules apply them at once
  // (other processes pick them up at their next refresh).
  std::vector<std::function<void()>> campaign_listeners;

  void CampaignsChanged() const {
    for (const auto& listener : campaign_listeners) listener();
  }

  template <typename T>
  T* Keep(std::unique_ptr<T> object) {
    T* raw = object.get();
    kept.push_back(std::shared_ptr<void>(std::move(object)));
    return raw;
  }

  std::vector<std::shared_ptr<void>> kept;
};

// Reads the module's own flags, builds its objects, adds its services.
// A non-OK status stops start-up with the message.
using ServiceModule = std::function<absl::Status(Assembly&)>;

// The token keys of `config`: --token_keys (HS256), --token_verify_keys
// (PEM or JWKS files) and --token_signing_key (PEM), which signs instead of
// the HS256 key when given. INVALID_ARGUMENT names the flag and the file.
absl::StatusOr<TokenService> TokenServiceFromConfig(const CommonConfig& config);

int RunServerMain(int argc, char** argv, absl::string_view usage,
                  const std::vector<ServiceModule>& modules);

}  // namespace ecoact
