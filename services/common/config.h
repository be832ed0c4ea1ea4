// Start-up configuration: command-line flags, with ECOACT_<FLAG_NAME>
// environment variables as defaults (ECOACT_LISTEN, ECOACT_REDIS, ...). A
// flag given on the command line wins over the environment. Read once in
// main(); libraries receive typed structs and never call getenv.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/flags.h"
#include "services/common/periods.h"
#include "services/common/rate_limit.h"
#include "services/common/redis.h"
#include "services/common/tls.h"

namespace ecoact {

// What every server needs.
struct CommonConfig {
  std::string listen;             // --listen HOST:PORT
  RedisOptions redis;             // --redis, --redis_mode, --redis_connections,
                                  // --redis_pool_size, --redis_timeout,
                                  // --redis_user, --redis_password_file
  std::string key_prefix;         // --key_prefix
  int ledger_shards = 16;         // --ledger_shards
  std::string time_zone;          // --time_zone
  WeekStart week_start = WeekStart::kMonday;  // --week_start
  std::map<std::string, std::string> token_keys;  // --token_keys kid=secret,...
  std::string token_key_id;       // --token_key_id
  std::string token_signing_key;     // --token_signing_key (PEM file)
  std::string token_signing_key_id;  // --token_signing_key_id
  std::vector<std::string> token_verify_keys;  // --token_verify_keys FILE,...
  std::string server_secret;      // --server_secret (derived credentials, codes)
  absl::Duration token_lifetime;  // --token_lifetime
  absl::Duration period_retention;  // --period_retention
  int max_message_bytes = 0;      // --max_message_bytes
  absl::Duration health_interval; // --health_interval
  absl::Duration shutdown_grace;  // --shutdown_grace
  int max_threads = 64;           // --max_threads
  RateLimitTable rate_limits;     // --rate_limits
  ServerTlsOptions tls;           // --tls_cert_file, --tls_key_file, --tls_client_ca_file, ...
};

// Reads and validates the common flags; INVALID_ARGUMENT names the flag.
absl::StatusOr<CommonConfig> CommonConfigFromFlags();

}  // namespace ecoact
