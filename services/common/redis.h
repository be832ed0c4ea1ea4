// A small, blocking Redis client over hiredis: a fixed pool of connections,
// connect and command timeouts, pipelines, and Lua scripts called with
// EVALSHA (loaded again on NOSCRIPT).
//
// Threading model (chosen once for every service): gRPC's synchronous server
// runs each call on a thread of its pool, and a call borrows one connection
// for the duration of one Redis round trip. Errors never throw: I/O failure is
// UNAVAILABLE, a timeout DEADLINE_EXCEEDED, an error reply INTERNAL.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct redisContext;

namespace ecoact {

// An owned copy of one Redis reply.
struct RedisValue {
  enum class Type { kNil, kInteger, kString, kArray, kStatus, kError };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus and kError
  std::vector<RedisValue> elements;

  bool IsNil() const { return type == Type::kNil; }
  bool IsError() const { return type == Type::kError; }
  // The integer, or a string that parses as one.
  absl::StatusOr<int64_t> AsInt() const;
  // A string or status reply; "" for nil.
  absl::StatusOr<std::string> AsString() const;
};

// A Lua script with its SHA1, computed once.
class LuaScript {
 public:
  LuaScript(std::string name, std::string source);
  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }
  const std::string& sha() const { return sha_; }

 private:
  std::string name_;
  std::string source_;
  std::string sha_;
};

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int pool_size = 8;
  absl::Duration connect_timeout = absl::Milliseconds(500);
  absl::Duration command_timeout = absl::Seconds(2);
};

// An error reply as a status: UNAVAILABLE for LOADING, MASTERDOWN, TRYAGAIN
// and BUSY (retry later), INTERNAL otherwise; `what` names the command.
absl::Status RedisErrorToStatus(absl::string_view what, const std::string& error);

// "host:port" -> options with that address.
absl::StatusOr<RedisOptions> ParseRedisAddress(absl::string_view address);

class RedisClient {
 public:
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command; an error reply becomes INTERNAL with Redis's message.
  absl::StatusOr<RedisValue> Command(const std::vector<std::string>& args);

  // Several commands in one round trip. Error replies stay in the result as
  // kError values; only I/O failures fail the whole call.
  absl::StatusOr<std::vector<RedisValue>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  // EVALSHA, falling back to SCRIPT LOAD on NOSCRIPT (e.g. after a Redis
  // restart). An error reply becomes INTERNAL naming the script.
  absl::StatusOr<RedisValue> Eval(const LuaScript& script,
                                  const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args);

  struct ScriptCall {
    std::vector<std::string> keys;
    std::vector<std::string> args;
  };
  // Runs `script` once per call in one pipelined round trip (two after a
  // NOSCRIPT). Error replies stay in the result as kError values.
  absl::StatusOr<std::vector<RedisValue>> EvalMany(const LuaScript& script,
                                                   const std::vector<ScriptCall>& calls);

  // PING through a fresh round trip; OK only if Redis answered PONG.
  absl::Status Ping();

  const RedisOptions& options() const { return options_; }

 private:
  class Lease;
  absl::StatusOr<redisContext*> Acquire();
  void Release(redisContext* context, bool healthy);
  absl::StatusOr<redisContext*> Connect();
  absl::Status IoError(redisContext* context) const;

  RedisOptions options_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<redisContext*> idle_;
  int open_ = 0;
};

}  // namespace ecoact
