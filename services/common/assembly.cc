#include "services/common/assembly.h"

#include "services/common/log.h"

namespace ecoact {

int RunServerMain(int argc, char** argv, absl::string_view usage,
                  const std::vector<ServiceModule>& modules) {
  BlockTerminationSignals();
  InitFlags(argc, argv, usage);
  auto config = CommonConfigFromFlags();
  if (!config.ok()) ExitWithConfigError(config.status());
  auto calendar = CityCalendar::Create(config->time_zone, config->week_start);
  if (!calendar.ok()) ExitWithConfigError(calendar.status());
  auto tokens = TokenService::Create(config->token_keys, config->token_key_id, "ecoact",
                                     config->token_lifetime);
  if (!tokens.ok()) ExitWithConfigError(tokens.status());
  if (config->token_key_id == "ephemeral") {
    LogWarning("no --token_keys configured: tokens are signed with a random key and die on restart");
  }
  RedisClient redis(config->redis);
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
