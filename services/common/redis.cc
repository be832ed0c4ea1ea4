#include "services/common/redis.h"

#include <cerrno>
#include <poll.h>
#include <sys/time.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "hiredis/hiredis.h"
#include "openssl/sha.h"

namespace ecoact {
namespace {


RedisValue Convert(const redisReply* reply) {
  RedisValue value;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      value.type = RedisValue::Type::kInteger;
      value.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
      value.type = RedisValue::Type::kString;
      value.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      value.type = RedisValue::Type::kStatus;
      value.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      value.type = RedisValue::Type::kError;
      value.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      value.type = RedisValue::Type::kArray;
      value.elements.reserve(reply->elements);
      for (size_t i = 0; i < reply->elements; ++i) {
        value.elements.push_back(Convert(reply->element[i]));
      }
      break;
    default:
      value.type = RedisValue::Type::kNil;
  }
  return value;
}

void AppendArgv(redisContext* context, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  redisAppendCommandArgv(context, static_cast<int>(args.size()), argv.data(), lengths.data());
}

// An idle connection has nothing to read: if its socket is readable, the
// server has closed it (EOF or reset).
bool IdleConnectionUsable(redisContext* context) {
  pollfd socket{context->fd, POLLIN, 0};
  return ::poll(&socket, 1, 0) == 0;
}

}  // namespace

// Redis answers LOADING while it replays its AOF after a restart, and
// MASTERDOWN/TRYAGAIN during failovers: the caller may retry later.
absl::Status RedisErrorToStatus(absl::string_view what, const std::string& error) {
  std::string message = absl::StrCat(what, ": ", error);
  if (absl::StartsWith(error, "LOADING") || absl::StartsWith(error, "MASTERDOWN") ||
      absl::StartsWith(error, "TRYAGAIN") || absl::StartsWith(error, "BUSY")) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

absl::StatusOr<int64_t> RedisValue::AsInt() const {
  if (type == Type::kInteger) return integer;
  int64_t parsed = 0;
  if ((type == Type::kString || type == Type::kStatus) && absl::SimpleAtoi(str, &parsed)) {
    return parsed;
  }
  return absl::InternalError(absl::StrCat("redis: expected an integer reply, got '", str, "'"));
}

absl::StatusOr<std::string> RedisValue::AsString() const {
  if (type == Type::kString || type == Type::kStatus) return str;
  if (type == Type::kNil) return std::string();
  if (type == Type::kInteger) return absl::StrCat(integer);
  return absl::InternalError("redis: expected a string reply");
}

LuaScript::LuaScript(std::string name, std::string source)
    : name_(std::move(name)), source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  for (unsigned char c : digest) absl::StrAppend(&sha_, absl::StrFormat("%02x", c));
}

absl::StatusOr<RedisOptions> ParseRedisAddress(absl::string_view address) {
  RedisOptions options;
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis address must be HOST:PORT, got '", address, "'"));
  }
  options.host = std::string(address.substr(0, colon));
  options.port = port;
  return options;
}

// Returns a borrowed connection to the pool when it goes out of scope; a
// connection that saw an I/O error is closed instead.
class RedisClient::Lease {
 public:
  Lease(RedisClient* client, redisContext* context) : client_(client), context_(context) {}
  ~Lease() { client_->Release(context_, context_->err == 0); }
  redisContext* get() const { return context_; }

 private:
  RedisClient* client_;
  redisContext* context_;
};

RedisClient::RedisClient(RedisOptions options) : options_(std::move(options)) {}

RedisClient::~RedisClient() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (redisContext* c : idle_) redisFree(c);
}

absl::StatusOr<redisContext*> RedisClient::Connect() {
  redisContext* context = redisConnectWithTimeout(
      options_.host.c_str(), options_.port, absl::ToTimeval(options_.connect_timeout));
  if (context == nullptr) return absl::UnavailableError("redis: out of memory");
  if (context->err != 0) {
    std::string message = absl::StrFormat("cannot reach Redis at %s:%d: %s", options_.host,
                                          options_.port, context->errstr);
    redisFree(context);
    return absl::UnavailableError(message);
  }
  redisSetTimeout(context, absl::ToTimeval(options_.command_timeout));
  return context;
}

absl::StatusOr<redisContext*> RedisClient::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  const absl::Time deadline = absl::Now() + options_.command_timeout;
  while (true) {
    while (!idle_.empty()) {
      redisContext* context = idle_.back();
      idle_.pop_back();
      if (IdleConnectionUsable(context)) return context;
      // Closed by the server while idle (restart, failover, idle timeout):
      // open a new one instead of failing the caller.
      redisFree(context);
      --open_;
    }
    if (open_ < options_.pool_size) break;
    if (available_.wait_for(lock, absl::ToChronoNanoseconds(deadline - absl::Now())) ==
            std::cv_status::timeout &&
        idle_.empty() && open_ >= options_.pool_size) {
      return absl::DeadlineExceededError("redis: no free connection within the command timeout");
    }
  }
  ++open_;
  lock.unlock();
  auto context = Connect();
  if (!context.ok()) {
    lock.lock();
    --open_;
    available_.notify_one();
  }
  return context;
}

void RedisClient::Release(redisContext* context, bool healthy) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (healthy) {
    idle_.push_back(context);
  } else {
    redisFree(context);
    --open_;
  }
  available_.notify_one();
}

absl::Status RedisClient::IoError(redisContext* context) const {
  const bool timed_out = context->err == REDIS_ERR_IO &&
                         (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT);
  std::string message = absl::StrFormat("redis %s:%d: %s", options_.host, options_.port,
                                        context->errstr[0] ? context->errstr : "connection lost");
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(message, " (no answer within the command timeout)"));
  }
  return absl::UnavailableError(message);
}

absl::StatusOr<std::vector<RedisValue>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  auto acquired = Acquire();
  if (!acquired.ok()) return acquired.status();
  Lease lease(this, *acquired);
  for (const auto& args : commands) AppendArgv(lease.get(), args);
  std::vector<RedisValue> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(lease.get(), &raw) != REDIS_OK || raw == nullptr) {
      if (lease.get()->err == 0) lease.get()->err = REDIS_ERR_OTHER;
      return IoError(lease.get());
    }
    replies.push_back(Convert(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return replies;
}

absl::StatusOr<RedisValue> RedisClient::Command(const std::vector<std::string>& args) {
  auto replies = Pipeline({args});
  if (!replies.ok()) return replies.status();
  RedisValue& reply = replies->front();
  if (reply.IsError()) {
    return RedisErrorToStatus(absl::StrCat("redis ", args.front()), reply.str);
  }
  return std::move(reply);
}

absl::StatusOr<RedisValue> RedisClient::Eval(const LuaScript& script,
                                             const std::vector<std::string>& keys,
                                             const std::vector<std::string>& args) {
  std::vector<std::string> command;
  command.reserve(3 + keys.size() + args.size());
  command.push_back("EVALSHA");
  command.push_back(script.sha());
  command.push_back(absl::StrCat(keys.size()));
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  auto replies = Pipeline({command});
  if (!replies.ok()) return replies.status();
  RedisValue reply = std::move(replies->front());
  if (reply.IsError() && absl::StartsWith(reply.str, "NOSCRIPT")) {
    // Load and run in one round trip; SCRIPT LOAD returns the same SHA1.
    command[0] = "EVALSHA";
    auto retried = Pipeline({{"SCRIPT", "LOAD", script.source()}, command});
    if (!retried.ok()) return retried.status();
    // If the script does not compile, SCRIPT LOAD's error says why.
    reply = std::move((*retried)[(*retried)[0].IsError() ? 0 : 1]);
  }
  if (reply.IsError()) {
    return RedisErrorToStatus(absl::StrCat("redis script ", script.name()), reply.str);
  }
  return reply;
}

absl::StatusOr<std::vector<RedisValue>> RedisClient::EvalMany(
    const LuaScript& script, const std::vector<ScriptCall>& calls) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(calls.size());
  for (const ScriptCall& call : calls) {
    std::vector<std::string> command = {"EVALSHA", script.sha(), absl::StrCat(call.keys.size())};
    command.insert(command.end(), call.keys.begin(), call.keys.end());
    command.insert(command.end(), call.args.begin(), call.args.end());
    commands.push_back(std::move(command));
  }
  auto replies = Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<size_t> missing;
  for (size_t i = 0; i < replies->size(); ++i) {
    if ((*replies)[i].IsError() && absl::StartsWith((*replies)[i].str, "NOSCRIPT")) {
      missing.push_back(i);
    }
  }
  if (missing.empty()) return replies;
  std::vector<std::vector<std::string>> retry = {{"SCRIPT", "LOAD", script.source()}};
  for (size_t i : missing) retry.push_back(commands[i]);
  auto retried = Pipeline(retry);
  if (!retried.ok()) return retried.status();
  for (size_t j = 0; j < missing.size(); ++j) (*replies)[missing[j]] = (*retried)[j + 1];
  return replies;
}

absl::Status RedisClient::Ping() {
  auto reply = Command({"PING"});
  if (!reply.ok()) return reply.status();
  if (reply->str != "PONG") {
    return absl::UnavailableError(absl::StrCat("redis answered PING with '", reply->str, "'"));
  }
  return absl::OkStatus();
}

}  // namespace ecoact
