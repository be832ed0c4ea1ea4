#include "services/common/config.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_split.h"
#include "services/common/clock.h"
#include "services/common/rate_limit.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7700",
          "HOST:PORT the gRPC server listens on (env ECOACT_LISTEN)");
ABSL_FLAG(std::string, redis, "127.0.0.1:6390",
          "HOST:PORT of Redis (env ECOACT_REDIS)");
ABSL_FLAG(bool, redis_cluster, false,
          "--redis names Redis Cluster nodes (HOST:PORT[,HOST:PORT...], any of them): keys are "
          "routed by slot to the primary serving them, MOVED/ASK followed. docs/operations.md");
ABSL_FLAG(std::string, redis_mode, "pipelined",
          "How calls reach Redis: pipelined (the commands of concurrent calls share a few "
          "multiplexed connections, batched per round trip) or pool (each call borrows one "
          "of --redis_pool_size blocking connections per round trip). docs/operations.md");
ABSL_FLAG(int, redis_connections, 1,
          "Multiplexed Redis connections per process with --redis_mode=pipelined, one I/O "
          "thread each");
ABSL_FLAG(int, redis_pool_size, 16,
          "Redis connections kept per process with --redis_mode=pool");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Seconds(2),
          "Timeout of one Redis round trip; also the connect timeout / 4");
ABSL_FLAG(std::string, redis_user, "",
          "Redis ACL user to log in as (env ECOACT_REDIS_USER); empty: Redis's \"default\" "
          "user, i.e. requirepass. Needs --redis_password_file. docs/security.md");
ABSL_FLAG(std::string, redis_password_file, "",
          "File holding the Redis password, e.g. a mounted Kubernetes Secret (env "
          "ECOACT_REDIS_PASSWORD_FILE); read once at start-up, trailing newline stripped. "
          "Every connection sends AUTH with it first. Empty: no AUTH (a Redis on loopback "
          "without a password). docs/security.md \"Redis credentials\"");
ABSL_FLAG(std::string, key_prefix, "ea",
          "Prefix of every Redis key; lets several deployments share one Redis");
ABSL_FLAG(int, ledger_shards, 16,
          "Number of ledger shards (streams). Fixed for the life of a deployment");
ABSL_FLAG(std::string, time_zone, "Asia/Tokyo",
          "IANA time zone of the city; days, weeks and months are computed in it");
ABSL_FLAG(std::string, week_start, "monday",
          "First day of the week for weekly boards and totals: monday (ISO weeks, keyed "
          "\"2026-W48\") or sunday (keyed by the first day, \"wk-2026-11-29\"). Changing it "
          "starts new week keys; finished weeks keep their old ones until ecoact_rebuild, "
          "which rekeys every past week from the ledger and removes the old week boards");
ABSL_FLAG(std::string, token_keys, "",
          "Token signing keys as KID=SECRET[,KID=SECRET...], secrets of 32+ bytes "
          "(env ECOACT_TOKEN_KEYS). Empty: a random key per start (tokens die on restart)");
ABSL_FLAG(std::string, token_key_id, "",
          "Key id that signs new tokens; default the first of --token_keys");
ABSL_FLAG(std::string, token_signing_key, "",
          "PEM private key (EC P-256: ES256, or RSA 2048+: RS256) that signs access tokens "
          "instead of --token_keys (env ECOACT_TOKEN_SIGNING_KEY). Only the identity service "
          "needs it; docs/security.md \"Tokens\"");
ABSL_FLAG(std::string, token_signing_key_id, "",
          "Key id of --token_signing_key; default its RFC 7638 thumbprint");
ABSL_FLAG(std::string, token_verify_keys, "",
          "FILE[,FILE...] of public keys accepted on tokens besides the signing key's: PEM "
          "public keys (key id = thumbprint) or JWKS files (env ECOACT_TOKEN_VERIFY_KEYS)");
ABSL_FLAG(std::string, server_secret, "",
          "Secret (32+ bytes) that derives citizen credentials and check-in codes "
          "(env ECOACT_SERVER_SECRET); default the signing secret of --token_keys, required "
          "without it");
ABSL_FLAG(absl::Duration, token_lifetime, absl::Minutes(15),
          "Lifetime of an access token; clients renew it with a refresh token");
ABSL_FLAG(absl::Duration, period_retention, absl::Hours(24 * 35),
          "How long a finished day, week or month stays readable (its boards and the "
          "per-account totals behind them); then both expire by themselves");
ABSL_FLAG(int, max_message_bytes, 1 << 20, "Largest accepted request message in bytes");
ABSL_FLAG(absl::Duration, health_interval, absl::Seconds(1),
          "How often the health check pings Redis");
ABSL_FLAG(std::string, rate_limits, ecoact::kDefaultRateLimits,
          "Rate limits per RPC as METHOD=PER_MINUTE[/BURST],... with * for every other RPC "
          "(env ECOACT_RATE_LIMITS). A token bucket in Redis per signed-in account, or per "
          "client address for public calls; BURST defaults to PER_MINUTE; 0 disables a "
          "limit, and the value 0 disables them all. The value replaces the whole default "
          "table");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "How long in-flight calls may run after SIGTERM/SIGINT");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain of the gRPC port (env ECOACT_TLS_CERT_FILE); with "
          "--tls_key_file the port serves TLS only. Empty: plaintext");
ABSL_FLAG(std::string, tls_key_file, "",
          "PEM private key of --tls_cert_file, not encrypted (env ECOACT_TLS_KEY_FILE)");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA certificates (env ECOACT_TLS_CLIENT_CA_FILE); set: mutual TLS, every "
          "client must present a certificate one of them signed");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Minutes(1),
          "How often the TLS files are read again; renewed files apply to new connections");
ABSL_FLAG(int, max_threads, 64,
          "Most threads serving calls; past them a call gets RESOURCE_EXHAUSTED at once "
          "instead of waiting on a thread (a hung Redis must not pile threads up)");

namespace ecoact {
namespace {

// --redis_user and --redis_password_file into `redis`. The password comes
// from a file only, never a flag (visible in ps) nor the environment (in
// `docker inspect`, /proc/PID/environ and every child process); messages
// name the file, never its content.
absl::Status ReadRedisCredentials(RedisOptions* redis) {
  redis->user = absl::GetFlag(FLAGS_redis_user);
  const std::string path = absl::GetFlag(FLAGS_redis_password_file);
  if (path.empty()) {
    if (!redis->user.empty()) {
      return absl::InvalidArgumentError(
          "--redis_user (ECOACT_REDIS_USER) needs --redis_password_file "
          "(ECOACT_REDIS_PASSWORD_FILE)");
    }
    return absl::OkStatus();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--redis_password_file (ECOACT_REDIS_PASSWORD_FILE): cannot open '", path,
                     "': ", std::strerror(errno)));
  }
  std::string password((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--redis_password_file (ECOACT_REDIS_PASSWORD_FILE): cannot read '", path, "'"));
  }
  // `echo pw > file` and Kubernetes Secrets made from such files end in a
  // newline that is not part of the password.
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  if (password.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--redis_password_file (ECOACT_REDIS_PASSWORD_FILE): '", path, "' is empty"));
  }
  redis->password = std::move(password);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommonConfig> CommonConfigFromFlags() {
  CommonConfig config;
  config.listen = absl::GetFlag(FLAGS_listen);
  if (!absl::StrContains(config.listen, ':')) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen (ECOACT_LISTEN) must be HOST:PORT, got '", config.listen, "'"));
  }
  const bool cluster = absl::GetFlag(FLAGS_redis_cluster);
  std::vector<std::string> addresses = absl::StrSplit(absl::GetFlag(FLAGS_redis), ',');
  if (!cluster && addresses.size() > 1) {
    return absl::InvalidArgumentError(
        "--redis (ECOACT_REDIS): several addresses need --redis_cluster (ECOACT_REDIS_CLUSTER)");
  }
  for (const std::string& address : addresses) {
    auto parsed = ParseRedisAddress(address);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis (ECOACT_REDIS): ", parsed.status().message()));
    }
  }
  auto redis = ParseRedisAddress(addresses.front());
  config.redis = *redis;
  config.redis.cluster = cluster;
  config.redis.cluster_seeds.assign(addresses.begin() + 1, addresses.end());
  config.redis.pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  auto mode = ParseRedisMode(absl::GetFlag(FLAGS_redis_mode));
  if (!mode.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--redis_mode (ECOACT_REDIS_MODE): ",
                                                   mode.status().message()));
  }
  config.redis.mode = *mode;
  config.redis.connections = absl::GetFlag(FLAGS_redis_connections);
  if (config.redis.connections < 1 || config.redis.connections > 64) {
    return absl::InvalidArgumentError("--redis_connections must be in [1, 64]");
  }
  config.redis.command_timeout = absl::GetFlag(FLAGS_redis_timeout);
  config.redis.connect_timeout = config.redis.command_timeout / 4;
  if (config.redis.pool_size < 1 || config.redis.pool_size > 1024) {
    return absl::InvalidArgumentError("--redis_pool_size must be in [1, 1024]");
  }
  if (config.redis.command_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--redis_timeout must be positive");
  }
  absl::Status credentials = ReadRedisCredentials(&config.redis);
  if (!credentials.ok()) return credentials;
  config.key_prefix = absl::GetFlag(FLAGS_key_prefix);
  if (config.key_prefix.empty() || absl::StrContains(config.key_prefix, '{')) {
    return absl::InvalidArgumentError("--key_prefix must be non-empty and contain no '{'");
  }
  config.ledger_shards = absl::GetFlag(FLAGS_ledger_shards);
  if (config.ledger_shards < 1 || config.ledger_shards > 4096) {
    return absl::InvalidArgumentError("--ledger_shards must be in [1, 4096]");
  }
  config.time_zone = absl::GetFlag(FLAGS_time_zone);
  auto week_start = ParseWeekStart(absl::GetFlag(FLAGS_week_start));
  if (!week_start.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--week_start (ECOACT_WEEK_START): ", week_start.status().message()));
  }
  config.week_start = *week_start;
  std::string keys = absl::GetFlag(FLAGS_token_keys);
  for (absl::string_view item : absl::StrSplit(keys, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (kv.first.empty() || kv.second.empty()) {
      return absl::InvalidArgumentError("--token_keys (ECOACT_TOKEN_KEYS) must be KID=SECRET,...");
    }
    if (config.token_key_id.empty()) config.token_key_id = kv.first;
    config.token_keys[kv.first] = kv.second;
  }
  config.token_signing_key = absl::GetFlag(FLAGS_token_signing_key);
  config.token_signing_key_id = absl::GetFlag(FLAGS_token_signing_key_id);
  config.token_verify_keys =
      absl::StrSplit(absl::GetFlag(FLAGS_token_verify_keys), ',', absl::SkipEmpty());
  if (config.token_keys.empty() && config.token_signing_key.empty() &&
      config.token_verify_keys.empty()) {
    config.token_key_id = "ephemeral";
    config.token_keys[config.token_key_id] = Base32(RandomBytes(32));
  }
  if (!absl::GetFlag(FLAGS_token_key_id).empty()) {
    config.token_key_id = absl::GetFlag(FLAGS_token_key_id);
  }
  if (!config.token_keys.empty() && config.token_keys.count(config.token_key_id) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--token_key_id '", config.token_key_id, "' names no key of --token_keys"));
  }
  config.server_secret = absl::GetFlag(FLAGS_server_secret);
  if (config.server_secret.empty() && config.token_keys.count(config.token_key_id) > 0) {
    config.server_secret = config.token_keys.at(config.token_key_id);
  }
  if (config.server_secret.size() < 32) {
    return absl::InvalidArgumentError(
        "--server_secret (ECOACT_SERVER_SECRET) needs 32+ bytes; it is required when "
        "--token_keys is not set");
  }
  config.token_lifetime = absl::GetFlag(FLAGS_token_lifetime);
  if (config.token_lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--token_lifetime must be positive");
  }
  config.period_retention = absl::GetFlag(FLAGS_period_retention);
  if (config.period_retention < absl::Hours(24)) {
    return absl::InvalidArgumentError("--period_retention must be at least 24h");
  }
  config.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  if (config.max_message_bytes < 1024) {
    return absl::InvalidArgumentError("--max_message_bytes must be at least 1024");
  }
  config.health_interval = absl::GetFlag(FLAGS_health_interval);
  config.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  config.max_threads = absl::GetFlag(FLAGS_max_threads);
  if (config.max_threads < 4 || config.max_threads > 10000) {
    return absl::InvalidArgumentError("--max_threads must be in [4, 10000]");
  }
  auto rate_limits = RateLimitTable::Parse(absl::GetFlag(FLAGS_rate_limits));
  if (!rate_limits.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rate_limits (ECOACT_RATE_LIMITS): ", rate_limits.status().message()));
  }
  config.rate_limits = *std::move(rate_limits);
  config.tls = {absl::GetFlag(FLAGS_tls_cert_file), absl::GetFlag(FLAGS_tls_key_file),
                absl::GetFlag(FLAGS_tls_client_ca_file), absl::GetFlag(FLAGS_tls_reload_interval)};
  if (absl::Status tls = CheckServerTls(config.tls); !tls.ok()) return tls;
  return config;
}

}  // namespace ecoact
