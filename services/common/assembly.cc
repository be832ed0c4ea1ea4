#include "services/common/assembly.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "services/common/log.h"
#include "services/common/status_macros.h"

namespace ecoact {

absl::StatusOr<TokenService> TokenServiceFromConfig(const CommonConfig& config) {
  TokenService::Options options;
  options.lifetime = config.token_lifetime;
  for (const auto& [kid, secret] : config.token_keys) {
    auto key = JwsKey::Hmac(secret);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token_keys: key '", kid, "': ", key.status().message()));
    }
    if (config.token_signing_key.empty() && kid == config.token_key_id) {
      options.signer.emplace(kid, *key);
    }
    RETURN_IF_ERROR(options.verify_keys.Add(kid, *std::move(key)));
  }
  for (const std::string& path : config.token_verify_keys) {
    absl::Status added = options.verify_keys.AddFile(path);
    if (!added.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--token_verify_keys: ", added.message()));
    }
  }
  if (!config.token_signing_key.empty()) {
    std::ifstream file(config.token_signing_key);
    std::stringstream pem;
    pem << file.rdbuf();
    if (!file) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token_signing_key: cannot read ", config.token_signing_key));
    }
    auto key = JwsKey::FromPem(pem.str());
    if (!key.ok() || !key->can_sign()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--token_signing_key: ", config.token_signing_key, ": ",
          key.ok() ? "a public key; the private key is needed" : key.status().message()));
    }
    std::string kid = config.token_signing_key_id.empty() ? key->Thumbprint()
                                                          : config.token_signing_key_id;
    options.signer.emplace(std::move(kid), *std::move(key));
  }
  return TokenService::Create(std::move(options));
}

int RunServerMain(int argc, char** argv, absl::string_view usage,
                  const std::vector<ServiceModule>& modules) {
  BlockTerminationSignals();
  InitFlags(argc, argv, usage);
  auto config = CommonConfigFromFlags();
  if (!config.ok()) ExitWithConfigError(config.status());
  auto calendar = CityCalendar::Create(config->time_zone, config->week_start);
  if (!calendar.ok()) ExitWithConfigError(calendar.status());
  auto tokens = TokenServiceFromConfig(*config);
  if (!tokens.ok()) ExitWithConfigError(tokens.status());
  LogInfo("token keys loaded",
          {{"signs_with", tokens->can_issue()
                              ? std::string(JwsAlgorithmName(tokens->signing_algorithm()))
                              : "none (verifies only)"},
           {"signing_kid", tokens->signing_key_id()},
           {"verify_keys", absl::StrCat(tokens->verify_keys().size())}});
  if (config->token_keys.count("ephemeral") > 0) {
    LogWarning("no --token_keys configured: tokens are signed with a random key and die on restart");
  }
  RedisClient redis(config->redis);
  LogInfo("redis", {{"address", absl::StrCat(config->redis.host, ":", config->redis.port)},
                    {"mode", std::string(RedisModeName(config->redis.mode))},
                    {"cluster", config->redis.cluster ? "yes" : "no"},
                    {"connections", absl::StrCat(config->redis.mode == RedisMode::kPool
                                                     ? config->redis.pool_size
                                                     : config->redis.connections)}});
  KeySpace keys(config->key_prefix, config->ledger_shards);
  Authenticator auth(&*tokens, SystemClock());
  ServerOptions server_options;
  server_options.listen = config->listen;
  server_options.max_message_bytes = config->max_message_bytes;
  server_options.health_interval = config->health_interval;
  server_options.shutdown_grace = config->shutdown_grace;
  server_options.tls = config->tls;
  server_options.max_threads = config->max_threads;
  // Limits share the calls' pool: a bucket is one short script per call.
  RateLimiter rate_limiter(&redis, config->key_prefix, config->rate_limits);
  if (config->rate_limits.any_enabled()) server_options.rate_limiter = &rate_limiter;
  // Health pings on a connection of their own: a busy pool (the projector's
  // blocking reads, a load peak) must not read as "Redis unreachable".
  RedisOptions health_options = config->redis;
  health_options.mode = RedisMode::kPool;
  health_options.pool_size = 1;
  RedisClient health_redis(health_options);
  EcoactServer server(server_options, &health_redis, &auth);

  Assembly assembly{&*config, &redis, &keys, &*calendar, &*tokens, &auth, &server, {}, {}};
  for (const ServiceModule& module : modules) {
    absl::Status status = module(assembly);
    if (!status.ok()) ExitWithConfigError(status);
  }
  absl::Status started = server.Start();
  if (!started.ok()) {
    LogError("start-up failed", {{"reason", std::string(started.message())}});
    return 1;
  }
  WaitForTerminationSignal(server);
  return 0;
}

}  // namespace ecoact
