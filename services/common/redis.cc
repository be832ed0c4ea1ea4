#include "services/common/redis.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "hiredis/hiredis.h"
#include "openssl/sha.h"
#include "services/common/redis_cluster.h"
#include "services/common/redis_internal.h"
#include "services/common/status_macros.h"

namespace ecoact {
namespace redis_internal {

thread_local WaiterFlag* waiter_state = nullptr;

}  // namespace redis_internal
namespace {

thread_local absl::Time call_deadline = absl::InfiniteFuture();

using redis_internal::kAbandoned;
using redis_internal::kQueued;
using redis_internal::kWritten;
using redis_internal::waiter_state;
using redis_internal::WaiterFlag;

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

// RESP, as hiredis's redisFormatCommandArgv writes it, straight into the
// request's buffer: one allocation for a whole pipeline, no copy later.
void AppendRespCommand(std::string* out, const std::vector<std::string>& args) {
  absl::StrAppend(out, "*", args.size(), "\r\n");
  for (const std::string& arg : args) {
    absl::StrAppend(out, "$", arg.size(), "\r\n");
    out->append(arg);
    out->append("\r\n");
  }
}

// The rendezvous of a synchronous call with its asynchronous completion. The
// completion may come after the caller gave up (it owns a share of this).
template <typename T>
struct Rendezvous {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  absl::StatusOr<T> result = absl::UnknownError("redis: no result");
};

// Starts an asynchronous call with a completion and waits for it like the
// pool did: at most the command timeout (or the call's deadline) for the
// commands to be sent, then, once they are written, as long as the connection
// keeps answering within the command timeout (it fails every written command
// when it does not), but never past the call's deadline.
template <typename T, typename Start>
absl::StatusOr<T> WaitFor(const RedisOptions& options, Start start) {
  const absl::Time call_end = RedisDeadlineScope::Current();
  const absl::Time send_by = std::min(absl::Now() + options.command_timeout, call_end);
  auto rendezvous = std::make_shared<Rendezvous<T>>();
  auto state = std::make_shared<std::atomic<int>>(kQueued);
  waiter_state = &state;
  start([rendezvous](absl::StatusOr<T> result) {
    std::lock_guard<std::mutex> lock(rendezvous->mutex);
    rendezvous->result = std::move(result);
    rendezvous->done = true;
    rendezvous->done_cv.notify_one();
  });
  waiter_state = nullptr;
  std::unique_lock<std::mutex> lock(rendezvous->mutex);
  auto done = [&] { return rendezvous->done; };
  bool finished = rendezvous->done_cv.wait_for(
      lock, absl::ToChronoNanoseconds(send_by - absl::Now()), done);
  if (!finished) {
    int expected = kQueued;
    if (state->compare_exchange_strong(expected, kAbandoned)) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "redis %s:%d: the command could not be sent within the command timeout or the "
          "call's deadline; it did not run",
          options.host, options.port));
    }
  }
  if (!finished && call_end > send_by) {
    if (call_end == absl::InfiniteFuture()) {
      rendezvous->done_cv.wait(lock, done);
      finished = true;
    } else {
      finished = rendezvous->done_cv.wait_for(
          lock, absl::ToChronoNanoseconds(call_end - absl::Now()), done);
    }
  }
  if (!finished) {
    return absl::DeadlineExceededError(absl::StrFormat(
        "redis %s:%d: no reply within the command timeout or the call's deadline (the "
        "command may still run)",
        options.host, options.port));
  }
  return std::move(rendezvous->result);
}

// An idle connection has nothing to read: if its socket is readable, the
// server has closed it (EOF or reset).
bool IdleConnectionUsable(redisContext* context) {
  pollfd socket{context->fd, POLLIN, 0};
  return ::poll(&socket, 1, 0) == 0;
}

// How long a client fails new connections at once after Redis refused its
// credentials (RedisClient::LoginGate).
constexpr absl::Duration kRefusedLoginHoldOff = absl::Seconds(1);

std::string RedisUserName(const RedisOptions& options) {
  return options.user.empty() ? "default" : options.user;
}

}  // namespace

namespace redis_internal {

namespace {

// Redis's answers to AUTH with bad credentials: WRONGPASS (6+), "ERR AUTH
// <password> called without any password configured" and "ERR invalid
// password" (older servers), "ERR wrong number of arguments" (a user given
// to a Redis before 6).
bool IsCredentialsRefusal(absl::string_view error) {
  return absl::StartsWith(error, "WRONGPASS") || absl::StartsWith(error, "ERR AUTH") ||
         absl::StartsWith(error, "ERR invalid password") ||
         absl::StartsWith(error, "ERR Client sent AUTH") ||
         absl::StartsWith(error, "ERR wrong number of arguments");
}

}  // namespace

absl::StatusOr<redisContext*> ConnectAndAuthenticate(const std::string& host, int port,
                                                     const RedisOptions& options,
                                                     bool* refused) {
  if (refused != nullptr) *refused = false;
  redisContext* context =
      redisConnectWithTimeout(host.c_str(), port, absl::ToTimeval(options.connect_timeout));
  if (context == nullptr) return absl::UnavailableError("redis: out of memory");
  if (context->err != 0) {
    std::string message =
        absl::StrFormat("cannot reach Redis at %s:%d: %s", host, port, context->errstr);
    redisFree(context);
    return absl::UnavailableError(message);
  }
  redisSetTimeout(context, absl::ToTimeval(options.command_timeout));
  if (options.password.empty()) return context;
  std::vector<const char*> argv = {"AUTH"};
  std::vector<size_t> lengths = {4};
  if (!options.user.empty()) {
    argv.push_back(options.user.data());
    lengths.push_back(options.user.size());
  }
  argv.push_back(options.password.data());
  lengths.push_back(options.password.size());
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  absl::Status status;
  if (reply == nullptr) {
    status = absl::UnavailableError(absl::StrFormat(
        "redis %s:%d: AUTH: %s", host, port,
        context->errstr[0] != '\0' ? context->errstr : "connection lost"));
  } else if (reply->type == REDIS_REPLY_ERROR &&
             !IsCredentialsRefusal(absl::string_view(reply->str, reply->len))) {
    // Not about the credentials (e.g. "ERR max number of clients reached",
    // "LOADING"): like any other error, without the login hold-off.
    status = RedisErrorToStatus(absl::StrFormat("redis %s:%d: AUTH", host, port),
                                std::string(reply->str, reply->len));
  } else if (reply->type == REDIS_REPLY_ERROR) {
    // Redis's reply ("WRONGPASS invalid username-password pair or user is
    // disabled.") never repeats the password.
    if (refused != nullptr) *refused = true;
    status = absl::UnavailableError(absl::StrFormat(
        "Redis at %s:%d refused the credentials for user %s (--redis_user, "
        "--redis_password_file): %s",
        host, port, RedisUserName(options), absl::string_view(reply->str, reply->len)));
  }
  if (reply != nullptr) freeReplyObject(reply);
  if (!status.ok()) {
    redisFree(context);
    return status;
  }
  return context;
}

}  // namespace redis_internal

// After Redis refused this client's credentials, its new connections fail
// at once with the same status for kRefusedLoginHoldOff instead of logging
// in again: a wrong password then costs Redis about one refused AUTH per
// client and second, not one per call (no storm of logins under load, nor
// of "refused" lines in Redis's ACL LOG). Tried again afterwards, since an
// operator may fix the user on Redis (ACL SETUSER) without restarting us.
class RedisClient::LoginGate {
 public:
  absl::StatusOr<redisContext*> Connect(const RedisOptions& options) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (absl::Now() < refused_until_) return refusal_;
    }
    bool refused = false;
    auto context =
        redis_internal::ConnectAndAuthenticate(options.host, options.port, options, &refused);
    if (refused) {
      std::lock_guard<std::mutex> lock(mutex_);
      refused_until_ = absl::Now() + kRefusedLoginHoldOff;
      refusal_ = context.status();
    }
    return context;
  }

 private:
  std::mutex mutex_;
  absl::Time refused_until_ = absl::InfinitePast();
  absl::Status refusal_;
};

RedisDeadlineScope::RedisDeadlineScope(absl::Time deadline) : previous_(call_deadline) {
  call_deadline = std::min(previous_, deadline);
}

RedisDeadlineScope::~RedisDeadlineScope() { call_deadline = previous_; }

absl::Time RedisDeadlineScope::Current() { return call_deadline; }

absl::StatusOr<RedisMode> ParseRedisMode(absl::string_view name) {
  if (name == "pool") return RedisMode::kPool;
  if (name == "pipelined") return RedisMode::kPipelined;
  return absl::InvalidArgumentError(
      absl::StrCat("redis mode must be pool or pipelined, got '", name, "'"));
}

absl::string_view RedisModeName(RedisMode mode) {
  return mode == RedisMode::kPool ? "pool" : "pipelined";
}

// Redis answers LOADING while it replays its AOF after a restart, and
// MASTERDOWN/TRYAGAIN during failovers: the caller may retry later.
absl::Status RedisErrorToStatus(absl::string_view what, const std::string& error) {
  std::string message = absl::StrCat(what, ": ", error);
  if (absl::StartsWith(error, "LOADING") || absl::StartsWith(error, "MASTERDOWN") ||
      absl::StartsWith(error, "TRYAGAIN") || absl::StartsWith(error, "BUSY") ||
      absl::StartsWith(error, "CLUSTERDOWN")) {
    return absl::UnavailableError(message);
  }
  // The connection is up but not logged in, or Redis dropped the login (a
  // password changed under us): a deployment fault, not the caller's.
  if (absl::StartsWith(error, "NOAUTH") || absl::StartsWith(error, "WRONGPASS")) {
    return absl::UnavailableError(absl::StrCat(
        message, " (Redis wants credentials: set --redis_password_file / "
                 "ECOACT_REDIS_PASSWORD_FILE, and --redis_user for an ACL user)"));
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

// One connection shared by every caller, with one I/O thread: callers queue
// formatted commands; the thread takes all that is queued, writes it with
// one send() where it fits, then reads the replies in order, completing each
// request as soon as its last reply is in. Replies are matched to requests
// by position only, so whenever the stream may have lost its place (I/O
// error, a late reply, a protocol error) every request written on it fails
// and the connection is closed: a late reply can never reach the next caller.
// Requests not yet written are kept for the next connection. A request's
// commands are written contiguously, never interleaved with another's, so a
// MULTI ... EXEC inside one Pipeline() stays one transaction.
class RedisClient::MultiplexedConnection {
 public:
  struct Request {
    std::string wire;       // the commands in RESP
    size_t commands = 0;    // replies expected
    absl::Time deadline;    // not sent after it
    RedisPipelineCallback done;
    WaiterFlag state;  // of a synchronous waiter, if any
    std::vector<RedisValue> replies;
  };

  MultiplexedConnection(const RedisOptions& options, LoginGate* login)
      : options_(options), login_(login) {
    thread_ = std::thread([this] { Run(); });
  }

  ~MultiplexedConnection() {
    Stop();
    Close();
  }

  // Fails what is queued and ends the I/O thread; later submissions fail at
  // once. RedisClient stops every connection before destroying any, since a
  // completion running on one I/O thread may submit to another (a NOSCRIPT
  // retry).
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    queued_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  void Submit(std::unique_ptr<Request> request) {
    bool was_empty;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (stopping_) {
        lock.unlock();
        return request->done(absl::UnavailableError("redis: the client is shutting down"));
      }
      was_empty = queue_.empty();
      queue_.push_back(std::move(request));
    }
    // Only an idle I/O thread waits; a busy one finds the queue non-empty.
    if (was_empty) queued_.notify_one();
  }

 private:
  void Run() {
    std::vector<std::unique_ptr<Request>> batch;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        batch.swap(queue_);
        if (stopping_) {
          lock.unlock();
          FailFrom(batch, 0, absl::UnavailableError("redis: the client is shutting down"));
          return;
        }
      }
      Process(batch);
      batch.clear();
    }
  }

  void Process(std::vector<std::unique_ptr<Request>>& batch) {
    // Closed by the server while idle (restart, failover, idle timeout):
    // open a new one instead of failing the callers.
    if (context_ != nullptr && !IdleConnectionUsable(context_)) Close();
    if (context_ == nullptr) {
      absl::Status connected = Connect();
      if (!connected.ok()) return FailFrom(batch, 0, connected);
    }
    // Checked after connecting (which can take --redis_connect_timeout) and
    // just before writing: a request past its deadline, or whose waiting
    // caller has given up, is never sent, so it never runs late.
    const absl::Time now = absl::Now();
    size_t kept = 0;
    for (auto& request : batch) {
      bool send = request->deadline > now;
      if (send && request->state != nullptr) {
        int expected = kQueued;
        send = request->state->compare_exchange_strong(expected, kWritten);
      }
      if (!send) {
        request->done(absl::DeadlineExceededError(
            "redis: the deadline passed before the command was sent; it did not run"));
      } else {
        batch[kept++] = std::move(request);
      }
    }
    batch.resize(kept);
    if (batch.empty()) return;
    absl::Status written;
    if (batch.size() == 1) {
      written = WriteAll(batch.front()->wire);
    } else {
      out_.clear();
      for (const auto& request : batch) out_.append(request->wire);
      written = WriteAll(out_);
    }
    if (!written.ok()) {
      Close();
      return FailFrom(batch, 0, written);
    }

    size_t current = 0;
    absl::Time last_progress = absl::Now();
    while (current < batch.size()) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
        absl::Status broken = absl::UnavailableError(
            absl::StrCat(Where(), ": protocol error: ", reader_->errstr));
        Close();
        return FailFrom(batch, current, broken);
      }
      if (raw != nullptr) {
        Request& request = *batch[current];
        request.replies.push_back(Convert(static_cast<redisReply*>(raw)));
        freeReplyObject(raw);
        if (request.replies.size() == request.commands) {
          request.done(std::move(request.replies));
          ++current;
        }
        continue;
      }
      absl::Status read = ReadSome(last_progress + options_.command_timeout);
      if (!read.ok()) {
        Close();
        return FailFrom(batch, current, read);
      }
      last_progress = absl::Now();
    }
  }

  static void FailFrom(std::vector<std::unique_ptr<Request>>& batch, size_t first,
                       const absl::Status& status) {
    for (size_t i = first; i < batch.size(); ++i) batch[i]->done(status);
  }

  std::string Where() const { return absl::StrFormat("redis %s:%d", options_.host, options_.port); }

  absl::Status Connect() {
    ASSIGN_OR_RETURN(redisContext * context, login_->Connect(options_));
    // Our own poll()-driven I/O on hiredis's socket, parsed by its reader.
    int flags = ::fcntl(context->fd, F_GETFL);
    if (flags < 0 || ::fcntl(context->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
      redisFree(context);
      return absl::UnavailableError(absl::StrCat(Where(), ": cannot make the socket non-blocking"));
    }
    context_ = context;
    reader_ = redisReaderCreate();
    return absl::OkStatus();
  }

  void Close() {
    if (context_ != nullptr) redisFree(context_);
    context_ = nullptr;
    // Bytes of the old stream must never be parsed as replies of the next.
    if (reader_ != nullptr) redisReaderFree(reader_);
    reader_ = nullptr;
  }

  // Waits for `events` on the socket until `deadline`.
  absl::Status Await(short events, absl::Time deadline) {
    while (true) {
      const int64_t wait_ms = absl::ToInt64Milliseconds(absl::Ceil(
          std::max(deadline - absl::Now(), absl::ZeroDuration()), absl::Milliseconds(1)));
      pollfd socket{context_->fd, events, 0};
      const int ready = ::poll(&socket, 1, static_cast<int>(std::min<int64_t>(wait_ms, 1 << 30)));
      if (ready > 0) return absl::OkStatus();
      if (ready == 0) {
        return absl::DeadlineExceededError(
            absl::StrCat(Where(), ": no answer within the command timeout"));
      }
      if (errno != EINTR) return absl::UnavailableError(absl::StrCat(Where(), ": poll: ", std::strerror(errno)));
    }
  }

  absl::Status WriteAll(const std::string& data) {
    size_t sent = 0;
    const absl::Time deadline = absl::Now() + options_.command_timeout;
    while (sent < data.size()) {
      const ssize_t n = ::send(context_->fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        RETURN_IF_ERROR(Await(POLLOUT, deadline));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return absl::UnavailableError(absl::StrCat(Where(), ": ", std::strerror(errno)));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ReadSome(absl::Time deadline) {
    while (true) {
      RETURN_IF_ERROR(Await(POLLIN, deadline));
      const ssize_t n = ::read(context_->fd, buffer_, sizeof(buffer_));
      if (n > 0) {
        redisReaderFeed(reader_, buffer_, static_cast<size_t>(n));
        return absl::OkStatus();
      }
      if (n == 0) return absl::UnavailableError(absl::StrCat(Where(), ": connection closed by Redis"));
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return absl::UnavailableError(absl::StrCat(Where(), ": ", std::strerror(errno)));
      }
    }
  }

  const RedisOptions options_;
  LoginGate* const login_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::vector<std::unique_ptr<Request>> queue_;
  bool stopping_ = false;
  // Only the I/O thread touches these.
  redisContext* context_ = nullptr;
  redisReader* reader_ = nullptr;
  std::string out_;
  char buffer_[64 * 1024];
  std::thread thread_;
};

RedisClient::RedisClient(RedisOptions options)
    : options_(std::move(options)), login_(std::make_unique<LoginGate>()) {
  if (options_.cluster) {
    cluster_ = std::make_unique<Cluster>(options_);
    return;
  }
  if (options_.mode == RedisMode::kPipelined) {
    for (int i = 0; i < std::max(1, options_.connections); ++i) {
      multiplexed_.push_back(std::make_unique<MultiplexedConnection>(options_, login_.get()));
    }
  }
}

RedisClient::~RedisClient() {
  cluster_.reset();
  for (auto& connection : multiplexed_) connection->Stop();
  multiplexed_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  for (redisContext* c : idle_) redisFree(c);
}

absl::StatusOr<redisContext*> RedisClient::Connect() {
  return login_->Connect(options_);
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
  if (multiplexed_.empty() && cluster_ == nullptr) return PoolPipeline(commands);
  return WaitFor<std::vector<RedisValue>>(options_, [&](RedisPipelineCallback done) {
    PipelineAsync(commands, std::move(done));
  });
}

void RedisClient::PipelineAsync(const std::vector<std::vector<std::string>>& commands,
                                RedisPipelineCallback done) {
  if (cluster_ != nullptr) return cluster_->PipelineAsync(commands, std::move(done));
  if (multiplexed_.empty()) return done(PoolPipeline(commands));
  if (commands.empty()) return done(std::vector<RedisValue>());
  auto request = std::make_unique<MultiplexedConnection::Request>();
  for (const auto& args : commands) AppendRespCommand(&request->wire, args);
  request->commands = commands.size();
  request->replies.reserve(commands.size());
  request->deadline =
      std::min(absl::Now() + options_.command_timeout, RedisDeadlineScope::Current());
  request->done = std::move(done);
  if (waiter_state != nullptr) request->state = *waiter_state;
  const uint32_t pick = next_connection_.fetch_add(1, std::memory_order_relaxed);
  multiplexed_[pick % multiplexed_.size()]->Submit(std::move(request));
}

absl::StatusOr<std::vector<RedisValue>> RedisClient::PoolPipeline(
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
  return WaitFor<RedisValue>(options_, [&](RedisReplyCallback done) {
    EvalAsync(script, keys, args, std::move(done));
  });
}

void RedisClient::CommandAsync(const std::vector<std::string>& args, RedisReplyCallback done) {
  PipelineAsync({args}, [name = args.empty() ? std::string() : args.front(),
                         done = std::move(done)](absl::StatusOr<std::vector<RedisValue>> replies) {
    if (!replies.ok()) return done(replies.status());
    RedisValue& reply = replies->front();
    if (reply.IsError()) return done(RedisErrorToStatus(absl::StrCat("redis ", name), reply.str));
    done(std::move(reply));
  });
}

namespace {

absl::StatusOr<RedisValue> ScriptResult(const LuaScript& script, RedisValue reply) {
  if (reply.IsError()) {
    return RedisErrorToStatus(absl::StrCat("redis script ", script.name()), reply.str);
  }
  return reply;
}

}  // namespace

void RedisClient::EvalAsync(const LuaScript& script, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args, RedisReplyCallback done) {
  auto commands = std::make_shared<std::vector<std::vector<std::string>>>(1);
  std::vector<std::string>& command = commands->front();
  command.reserve(3 + keys.size() + args.size());
  command.push_back("EVALSHA");
  command.push_back(script.sha());
  command.push_back(absl::StrCat(keys.size()));
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  const absl::Time deadline = RedisDeadlineScope::Current();
  PipelineAsync(*commands, [this, &script, commands, deadline, done = std::move(done)](
                               absl::StatusOr<std::vector<RedisValue>> replies) mutable {
    if (!replies.ok()) return done(replies.status());
    RedisValue reply = std::move(replies->front());
    if (!reply.IsError() || !absl::StartsWith(reply.str, "NOSCRIPT")) {
      return done(ScriptResult(script, std::move(reply)));
    }
    // Not cached (a Redis restart, SCRIPT FLUSH, a cluster node that joined
    // since): load and run in one round trip (on the next connection in
    // turn). SCRIPT LOAD caches it for the next calls (in cluster mode on
    // every primary); the call itself runs as EVAL, which carries the source,
    // so it also runs on a node SCRIPT LOAD did not reach (the target of an
    // ASK redirect: a node importing the slot, not yet serving any). The
    // retry keeps the call's deadline: it runs on an I/O thread, which has
    // no deadline scope of its own.
    RedisDeadlineScope scope(deadline);
    std::vector<std::string> eval = commands->front();
    eval[0] = "EVAL";
    eval[1] = script.source();
    PipelineAsync({{"SCRIPT", "LOAD", script.source()}, std::move(eval)},
                  [&script, done = std::move(done)](
                      absl::StatusOr<std::vector<RedisValue>> retried) {
                    if (!retried.ok()) return done(retried.status());
                    // If the script does not compile, SCRIPT LOAD's error says why.
                    done(ScriptResult(script,
                                      std::move((*retried)[(*retried)[0].IsError() ? 0 : 1])));
                  });
  });
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
  // As in EvalAsync: load for the next calls, run as EVAL now.
  std::vector<std::vector<std::string>> retry = {{"SCRIPT", "LOAD", script.source()}};
  for (size_t i : missing) {
    retry.push_back(commands[i]);
    retry.back()[0] = "EVAL";
    retry.back()[1] = script.source();
  }
  auto retried = Pipeline(retry);
  if (!retried.ok()) return retried.status();
  for (size_t j = 0; j < missing.size(); ++j) (*replies)[missing[j]] = (*retried)[j + 1];
  return replies;
}

absl::StatusOr<std::vector<RedisClient*>> RedisClient::Primaries() {
  if (cluster_ != nullptr) return cluster_->Primaries();
  return std::vector<RedisClient*>{this};
}

absl::Status RedisClient::Ping() {
  if (cluster_ != nullptr) return cluster_->Ping();
  auto reply = Command({"PING"});
  if (!reply.ok()) return reply.status();
  if (reply->str != "PONG") {
    return absl::UnavailableError(absl::StrCat("redis answered PING with '", reply->str, "'"));
  }
  return absl::OkStatus();
}

}  // namespace ecoact
