// A small Redis client over hiredis: connect and command timeouts,
// pipelines, and Lua scripts called with EVALSHA (loaded again on NOSCRIPT).
//
// Two connection models (RedisOptions::mode; docs/operations.md "Threading
// model"):
// - kPipelined: a few multiplexed connections, each with one I/O thread.
//   Callers on any thread enqueue commands (formatted once) with a
//   completion; the I/O thread takes everything queued, writes it in one go,
//   reads the replies in order and completes each caller. Commands that
//   arrive while it reads form the next batch, so concurrent gRPC calls share
//   round trips and syscalls. What the servers use.
// - kPool: a fixed pool of blocking connections, one borrowed per round trip.
//   For callers that block inside Redis on purpose (XREADGROUP ... BLOCK):
//   on a shared pipelined connection they would stall every other caller.
//
// Cluster mode (RedisOptions::cluster; redis_cluster.cc): the same API over
// a Redis Cluster. Each command goes to the primary serving its key's slot;
// a pipeline is split per primary, the parts sent concurrently and the
// replies put back in order; MOVED and ASK redirects are followed (at most 5
// per call, then UNAVAILABLE); a lost connection refreshes the slot map and
// retries reads (writes fail UNAVAILABLE, as on one server).
//
// Errors never throw: I/O failure is UNAVAILABLE, a timeout
// DEADLINE_EXCEEDED, an error reply INTERNAL (UNAVAILABLE for LOADING & co).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
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

enum class RedisMode { kPool, kPipelined };

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // Library default: the blocking pool, which any caller may use (blocking
  // commands included). The servers pick --redis_mode.
  RedisMode mode = RedisMode::kPool;
  int pool_size = 8;    // kPool: most connections open at once
  int connections = 1;  // kPipelined: multiplexed connections (one I/O thread each)
  absl::Duration connect_timeout = absl::Milliseconds(500);
  absl::Duration command_timeout = absl::Seconds(2);
  // Redis Cluster (--redis_cluster; docs/operations.md "Redis Cluster"):
  // host:port and `cluster_seeds` ("host:port" each) are nodes to learn the
  // slot map from; commands are routed by the slot of their key to the
  // primary serving it, over one connection set (`mode`, `pool_size`,
  // `connections`) per primary.
  bool cluster = false;
  std::vector<std::string> cluster_seeds;
  // Credentials (--redis_user, --redis_password_file; docs/security.md
  // "Redis credentials"): with a password, every new connection sends AUTH
  // before any other command (pool, pipelined, cluster nodes, slot-map
  // fetches, reconnects). An empty user logs in as Redis's "default" user
  // (requirepass). No password: no AUTH. Never logged nor put in a status.
  std::string user;
  std::string password;
};

// "pool" or "pipelined".
absl::StatusOr<RedisMode> ParseRedisMode(absl::string_view name);
absl::string_view RedisModeName(RedisMode mode);

// While an object of this class lives, synchronous RedisClient calls made on
// this thread wait for their reply until `deadline` at the latest (besides
// the command timeout), and a queued pipelined command whose deadline has
// passed is not sent at all. The policy gate sets it to the gRPC call's
// deadline around each handler. Scopes nest; the innermost (earliest) wins.
class RedisDeadlineScope {
 public:
  explicit RedisDeadlineScope(absl::Time deadline);
  ~RedisDeadlineScope();
  RedisDeadlineScope(const RedisDeadlineScope&) = delete;
  RedisDeadlineScope& operator=(const RedisDeadlineScope&) = delete;

  // The deadline of the innermost scope on this thread; InfiniteFuture without one.
  static absl::Time Current();

 private:
  absl::Time previous_;
};

using RedisReplyCallback = std::function<void(absl::StatusOr<RedisValue>)>;
using RedisPipelineCallback = std::function<void(absl::StatusOr<std::vector<RedisValue>>)>;

// An error reply as a status: UNAVAILABLE for LOADING, MASTERDOWN, TRYAGAIN
// and BUSY (retry later), and for NOAUTH/WRONGPASS (Redis wants other
// credentials: the message says which option to set), INTERNAL otherwise;
// `what` names the command.
absl::Status RedisErrorToStatus(absl::string_view what, const std::string& error);

// "host:port" -> options with that address.
absl::StatusOr<RedisOptions> ParseRedisAddress(absl::string_view address);

// Redis Cluster key routing (https://redis.io/docs/reference/cluster-spec/):
// the hash slot of `key`, CRC16 (XMODEM) mod 16384 of its hash tag (the
// text between the first '{' and the next '}', if not empty) or of the
// whole key.
int RedisKeySlot(absl::string_view key);
// The position in `args` of the key that decides where the command runs
// (EVALSHA/EVAL: the first of numkeys keys; XREAD/XREADGROUP: the first
// stream after STREAMS; XGROUP/XINFO/OBJECT/MEMORY: argv[2]; most commands:
// argv[1]), or -1 for a command without a key (PING, SCRIPT, INFO, ...).
int RedisRoutingKeyIndex(const std::vector<std::string>& args);

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

  // EVALSHA; on NOSCRIPT (a Redis restart, a cluster node that never saw
  // the script, e.g. the target of an ASK) SCRIPT LOAD + EVAL in one round
  // trip. An error reply becomes INTERNAL naming the script.
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

  // Asynchronous forms, with the same results as the synchronous ones (which
  // wait on them). `done` runs exactly once: in kPipelined mode on the
  // connection's I/O thread, in kPool mode before the call returns. It must
  // not block, nor call this client's synchronous methods (it would wait on
  // its own thread); it may call the asynchronous ones. Timeouts, as in the
  // pool: commands not sent within the command timeout (or by the caller's
  // RedisDeadlineScope) complete with DEADLINE_EXCEEDED and never run; once
  // sent, they fail when the connection goes a command timeout without a
  // reply. A synchronous caller also stops waiting at its scope's deadline.
  void PipelineAsync(const std::vector<std::vector<std::string>>& commands,
                     RedisPipelineCallback done);
  void CommandAsync(const std::vector<std::string>& args, RedisReplyCallback done);
  // `script` must outlive the call.
  void EvalAsync(const LuaScript& script, const std::vector<std::string>& keys,
                 const std::vector<std::string>& args, RedisReplyCallback done);

  const RedisOptions& options() const { return options_; }

  // The primaries to run node-local commands on (SCAN): in cluster mode one
  // standalone client per primary of the current slot map (owned by this
  // client, valid while it lives), otherwise just this client. Code that
  // scans the keyspace loops over these, so it runs unchanged on both.
  absl::StatusOr<std::vector<RedisClient*>> Primaries();

 private:
  class Cluster;
  class Lease;
  class LoginGate;
  class MultiplexedConnection;
  absl::StatusOr<std::vector<RedisValue>> PoolPipeline(
      const std::vector<std::vector<std::string>>& commands);
  absl::StatusOr<redisContext*> Acquire();
  void Release(redisContext* context, bool healthy);
  absl::StatusOr<redisContext*> Connect();
  absl::Status IoError(redisContext* context) const;

  RedisOptions options_;
  std::unique_ptr<LoginGate> login_;  // every connection's AUTH (pool and pipelined)
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<redisContext*> idle_;
  int open_ = 0;

  std::vector<std::unique_ptr<MultiplexedConnection>> multiplexed_;
  std::atomic<uint32_t> next_connection_{0};
  // Set in cluster mode: routes every call to per-primary clients.
  std::unique_ptr<Cluster> cluster_;
};

}  // namespace ecoact
