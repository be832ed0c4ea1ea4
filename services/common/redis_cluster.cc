#include "services/common/redis_cluster.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "hiredis/hiredis.h"
#include "services/common/redis_internal.h"

namespace ecoact {
namespace {

constexpr int kSlots = 16384;
// Redirects followed per call before giving up (a slot moves at most a few
// times during one resharding step).
constexpr int kMaxRedirects = 5;
// Rounds retried after a node failed (reads only), each after a map refresh.
constexpr int kMaxReconnects = 2;
constexpr absl::Duration kMinRefreshInterval = absl::Milliseconds(100);
// After a node refused our credentials, refreshes fail at once this long.
constexpr absl::Duration kRefusedCredentialsHoldOff = absl::Seconds(1);
constexpr size_t kNone = static_cast<size_t>(-1);

// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as in the
// cluster specification's reference implementation.
uint16_t Crc16(absl::string_view data) {
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc = static_cast<uint16_t>(crc ^ (static_cast<uint16_t>(byte) << 8));
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::string CommandName(const std::vector<std::string>& args) {
  return args.empty() ? std::string() : absl::AsciiStrToUpper(args.front());
}

// Keyless commands every primary must run (a script cache or a flush is
// per node); DBSIZE and KEYS add up the nodes' answers.
bool RunsOnEveryPrimary(const std::string& name) {
  static const auto* const kNames = new std::set<std::string>{
      "SCRIPT", "FLUSHALL", "FLUSHDB", "FUNCTION", "CONFIG", "DBSIZE", "KEYS"};
  return kNames->count(name) > 0;
}

// Keyless commands whose meaning is per node or per connection: the layer
// cannot run them for the caller. (SCAN is special-cased: see Send.)
bool NotRoutable(const std::string& name) {
  static const auto* const kNames = new std::set<std::string>{
      "MULTI", "EXEC", "DISCARD", "SELECT", "SWAPDB", "MONITOR", "SUBSCRIBE",
      "PSUBSCRIBE", "WATCH", "UNWATCH"};
  return kNames->count(name) > 0;
}

// Commands that may run twice without harm: after a lost connection they
// are sent again to the slot's (new) primary. Anything else, scripts
// included, fails UNAVAILABLE and the caller retries with its request id.
bool RetrySafe(const std::vector<std::string>& command) {
  static const auto* const kNames = new std::set<std::string>{
      "GET",    "MGET",      "STRLEN",   "GETBIT",        "BITCOUNT",         "EXISTS",
      "TYPE",   "TTL",       "PTTL",     "HGET",          "HMGET",            "HGETALL",
      "HKEYS",  "HVALS",     "HLEN",     "HEXISTS",       "SCARD",            "SMEMBERS",
      "SISMEMBER", "SMISMEMBER", "ZSCORE", "ZMSCORE",     "ZRANGE",           "ZREVRANGE",
      "ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZRANK", "ZREVRANK", "ZCARD",      "ZCOUNT",
      "XRANGE", "XREVRANGE", "XLEN",     "XINFO",         "XPENDING",         "LRANGE",
      "LLEN",   "PING",      "DBSIZE",   "KEYS",          "INFO",             "TIME"};
  return kNames->count(CommandName(command)) > 0;
}

RedisValue ErrorValue(std::string message) {
  RedisValue value;
  value.type = RedisValue::Type::kError;
  value.str = std::move(message);
  return value;
}

// One reply for a command every primary ran: the first error, else the sum
// (DBSIZE), the union (KEYS) or the first node's reply.
RedisValue Combine(const std::string& name, std::vector<RedisValue> values) {
  for (RedisValue& value : values) {
    if (value.IsError()) return std::move(value);
  }
  if (values.empty()) return RedisValue();
  if (name == "DBSIZE") {
    RedisValue sum;
    sum.type = RedisValue::Type::kInteger;
    for (const RedisValue& value : values) sum.integer += value.integer;
    return sum;
  }
  if (name == "KEYS") {
    RedisValue all;
    all.type = RedisValue::Type::kArray;
    for (RedisValue& value : values) {
      for (RedisValue& key : value.elements) all.elements.push_back(std::move(key));
    }
    return all;
  }
  return std::move(values.front());
}

struct SlotRange {
  int first = 0;
  int last = 0;
  std::string address;
};

bool SplitAddress(absl::string_view address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(address.substr(colon + 1), port)) {
    return false;
  }
  *host = std::string(address.substr(0, colon));
  return true;
}

// CLUSTER SLOTS from the node at `address`, over a connection of its own
// (a blocking one: the map is refreshed rarely, and must not queue behind
// the commands whose redirect or failure asked for it).
// `refused` (if given) is set when the node refused our credentials.
absl::StatusOr<std::vector<SlotRange>> FetchSlots(const std::string& address,
                                                  const RedisOptions& options,
                                                  bool* refused = nullptr) {
  std::string host;
  int port = 0;
  if (!SplitAddress(address, &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat("redis cluster: bad node address '", address, "'"));
  }
  // Logged in like every other connection (AUTH first, when configured).
  auto connected = redis_internal::ConnectAndAuthenticate(host, port, options, refused);
  if (!connected.ok()) {
    return absl::Status(connected.status().code(),
                        absl::StrCat("redis cluster: ", connected.status().message()));
  }
  redisContext* context = *connected;
  auto* reply = static_cast<redisReply*>(redisCommand(context, "CLUSTER SLOTS"));
  absl::Status status;
  std::vector<SlotRange> ranges;
  if (reply == nullptr) {
    status = absl::UnavailableError(
        absl::StrCat("redis cluster: ", address, ": CLUSTER SLOTS: ", context->errstr));
  } else if (reply->type == REDIS_REPLY_ERROR && absl::StartsWith(reply->str, "NOAUTH")) {
    // A password is needed (none configured): say so, not "not a cluster node".
    if (refused != nullptr) *refused = true;
    status = RedisErrorToStatus(absl::StrCat("redis cluster: ", address, ": CLUSTER SLOTS"),
                                std::string(reply->str, reply->len));
  } else if (reply->type == REDIS_REPLY_ERROR) {
    status = absl::FailedPreconditionError(absl::StrCat(
        "redis cluster: ", address, " is not a cluster node: ", std::string(reply->str, reply->len)));
  } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
    status = absl::UnavailableError(
        absl::StrCat("redis cluster: ", address, " knows no slots (not part of a cluster yet)"));
  } else {
    for (size_t i = 0; i < reply->elements && status.ok(); ++i) {
      const redisReply* range = reply->element[i];
      if (range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
          range->element[2]->type != REDIS_REPLY_ARRAY || range->element[2]->elements < 2) {
        status = absl::InternalError(absl::StrCat("redis cluster: ", address,
                                                  ": unexpected CLUSTER SLOTS reply"));
        break;
      }
      const redisReply* primary = range->element[2];
      std::string primary_host(primary->element[0]->str, primary->element[0]->len);
      // An empty or "?" host means "the address you reached me at".
      if (primary_host.empty() || primary_host == "?") primary_host = host;
      ranges.push_back({static_cast<int>(range->element[0]->integer),
                        static_cast<int>(range->element[1]->integer),
                        absl::StrCat(primary_host, ":", primary->element[1]->integer)});
    }
  }
  if (reply != nullptr) freeReplyObject(reply);
  redisFree(context);
  if (!status.ok()) return status;
  return ranges;
}

// Restores the thread's waiter flag on scope exit.
class WaiterStateRestore {
 public:
  WaiterStateRestore() : saved_(redis_internal::waiter_state) {}
  ~WaiterStateRestore() { redis_internal::waiter_state = saved_; }
  redis_internal::WaiterFlag* saved() const { return saved_; }

 private:
  redis_internal::WaiterFlag* saved_;
};

}  // namespace

int RedisKeySlot(absl::string_view key) {
  const size_t open = key.find('{');
  if (open != absl::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != absl::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) & (kSlots - 1);
}

int RedisRoutingKeyIndex(const std::vector<std::string>& args) {
  if (args.size() < 2) return -1;
  const std::string name = CommandName(args);
  if (name == "EVAL" || name == "EVALSHA" || name == "EVAL_RO" || name == "EVALSHA_RO" ||
      name == "FCALL" || name == "FCALL_RO") {
    int64_t keys = 0;
    if (args.size() > 3 && absl::SimpleAtoi(args[2], &keys) && keys > 0) return 3;
    return -1;
  }
  if (name == "XREAD" || name == "XREADGROUP") {
    for (size_t i = 1; i + 1 < args.size(); ++i) {
      if (absl::EqualsIgnoreCase(args[i], "STREAMS")) return static_cast<int>(i + 1);
    }
    return -1;
  }
  if (name == "XGROUP" || name == "XINFO" || name == "OBJECT") {
    return args.size() > 2 ? 2 : -1;
  }
  if (name == "MEMORY") {
    return args.size() > 2 && absl::EqualsIgnoreCase(args[1], "USAGE") ? 2 : -1;
  }
  static const auto* const kKeyless = new std::set<std::string>{
      "PING",   "ECHO",     "TIME",      "INFO",     "COMMAND",  "CLUSTER",  "SCRIPT",
      "FLUSHALL", "FLUSHDB", "FUNCTION", "CONFIG",   "DBSIZE",   "KEYS",     "SCAN",
      "RANDOMKEY", "MULTI", "EXEC",      "DISCARD",  "ASKING",   "READONLY", "READWRITE",
      "WAIT",   "DEBUG",    "CLIENT",    "SLOWLOG",  "LATENCY",  "SAVE",     "BGSAVE",
      "BGREWRITEAOF", "LASTSAVE", "SELECT", "SWAPDB", "AUTH",    "HELLO",    "MONITOR",
      "QUIT",   "RESET",    "ROLE",      "UNWATCH",  "SHUTDOWN", "FAILOVER", "REPLICAOF",
      "PUBLISH", "SUBSCRIBE", "PSUBSCRIBE"};
  return kKeyless->count(name) > 0 ? -1 : 1;
}

struct RedisClient::Cluster::Job {
  std::vector<std::vector<std::string>> commands;
  std::vector<RedisValue> replies;
  // For each command inside a MULTI...EXEC block, the MULTI's index (kNone
  // outside blocks); for a MULTI, block_end is its EXEC's index.
  std::vector<size_t> block_start;
  std::vector<size_t> block_end;
  // SCAN commands: index -> (primary it ran on, number of primaries).
  std::map<size_t, std::pair<size_t, size_t>> scans;
  RedisPipelineCallback done;
  absl::Time deadline = absl::InfiniteFuture();
  int rounds = 0;
  int redirects = 0;
  int reconnects = 0;
};

struct RedisClient::Cluster::Round {
  std::mutex mutex;
  size_t pending = 0;
  std::vector<size_t> indices;
  std::map<size_t, RedisClient*> node_of;
  std::map<size_t, std::vector<RedisValue>> every_primary;
  std::vector<std::pair<absl::Status, std::vector<size_t>>> failures;
};

RedisClient::Cluster::Cluster(const RedisOptions& options)
    : options_(options), slots_(kSlots, nullptr) {
  seeds_.push_back(absl::StrCat(options.host, ":", options.port));
  for (const std::string& seed : options.cluster_seeds) seeds_.push_back(seed);
  refresher_ = std::thread([this] { RefresherLoop(); });
}

RedisClient::Cluster::~Cluster() {
  closing_ = true;
  // The refresher runs what is queued (those retries now fail at once, in
  // Send), then ends; later failures fail their calls at once.
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    stopping_ = true;
  }
  tasks_ready_.notify_one();
  if (refresher_.joinable()) refresher_.join();
  // Stopping a node completes its queued commands, whose callbacks may take
  // mutex_: destroy the nodes outside it (and before the other members).
  std::map<std::string, std::unique_ptr<RedisClient>> nodes;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    nodes.swap(nodes_);
    std::fill(slots_.begin(), slots_.end(), nullptr);
  }
  nodes.clear();
}

bool RedisClient::Cluster::AfterRefresh(bool force, std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    if (stopping_) return false;
    force_ = force_ || force;
    // A refresh alone is queued once (Send asks for one per call while the
    // map is stale).
    if (task || tasks_.empty()) tasks_.push_back(std::move(task));
  }
  tasks_ready_.notify_one();
  return true;
}

void RedisClient::Cluster::RefresherLoop() {
  while (true) {
    std::deque<std::function<void()>> tasks;
    bool force;
    {
      std::unique_lock<std::mutex> lock(tasks_mutex_);
      tasks_ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, nothing left
      tasks.swap(tasks_);
      force = force_;
      force_ = false;
    }
    // One refresh for every task queued meanwhile (a failover fails many
    // calls at once); the tasks then route on the map it got, or on the old
    // one if no node answered (they fail again, within their bounds).
    (void)Refresh(force);
    for (auto& task : tasks) {
      if (task) task();
    }
  }
}

RedisClient* RedisClient::Cluster::NodeLocked(const std::string& address) {
  auto found = nodes_.find(address);
  if (found != nodes_.end()) return found->second.get();
  RedisOptions node_options = options_;
  SplitAddress(address, &node_options.host, &node_options.port);
  node_options.cluster = false;
  node_options.cluster_seeds.clear();
  auto node = std::make_unique<RedisClient>(node_options);
  RedisClient* raw = node.get();
  nodes_.emplace(address, std::move(node));
  return raw;
}

RedisClient* RedisClient::Cluster::Node(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  return NodeLocked(address);
}

absl::Status RedisClient::Cluster::Refresh(bool force) {
  std::lock_guard<std::mutex> refreshing(refresh_mutex_);
  // After a refusal of our credentials every node would refuse them again:
  // fail at once for a while rather than send a refused AUTH to every node
  // per call (as the single-node client's login gate does).
  if (absl::Now() < refused_until_) return refusal_;
  if (!force && absl::Now() - last_refresh_ < kMinRefreshInterval) return absl::OkStatus();
  // The nodes currently serving slots first (one of them is most likely to
  // be up), then the seeds, then every other node ever seen.
  std::vector<std::string> candidates;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (RedisClient* node : PrimariesLocked()) {
      candidates.push_back(absl::StrCat(node->options().host, ":", node->options().port));
    }
    for (const std::string& seed : seeds_) candidates.push_back(seed);
    for (const auto& [address, node] : nodes_) candidates.push_back(address);
  }
  std::set<std::string> tried;
  absl::Status last = absl::UnavailableError("redis cluster: no node to ask for the slot map");
  for (const std::string& address : candidates) {
    if (!tried.insert(address).second) continue;
    bool refused = false;
    auto ranges = FetchSlots(address, options_, &refused);
    if (refused) {
      refusal_ = ranges.status();
      refused_until_ = absl::Now() + kRefusedCredentialsHoldOff;
      return refusal_;
    }
    if (!ranges.ok()) {
      last = ranges.status();
      continue;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<RedisClient*> slots(kSlots, nullptr);
    for (const SlotRange& range : *ranges) {
      RedisClient* node = NodeLocked(range.address);
      for (int slot = std::max(0, range.first); slot <= std::min(kSlots - 1, range.last); ++slot) {
        slots[slot] = node;
      }
    }
    slots_.swap(slots);
    stale_ = false;
    last_refresh_ = absl::Now();
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("redis cluster: no node answered CLUSTER SLOTS; last: ", last.message()));
}

std::vector<RedisClient*> RedisClient::Cluster::PrimariesLocked() const {
  std::vector<RedisClient*> primaries;
  std::set<RedisClient*> seen;
  for (RedisClient* node : slots_) {
    if (node != nullptr && seen.insert(node).second) primaries.push_back(node);
  }
  return primaries;
}

absl::StatusOr<RedisClient*> RedisClient::Cluster::NodeForSlot(int slot) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (slots_[slot] != nullptr) return slots_[slot];
    }
    absl::Status refreshed = Refresh(/*force=*/attempt == 0);
    if (!refreshed.ok()) return refreshed;
  }
  return absl::UnavailableError(
      absl::StrCat("redis cluster: no primary serves slot ", slot, " (cluster_state not ok?)"));
}

absl::StatusOr<std::vector<RedisClient*>> RedisClient::Cluster::Primaries() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stale_ && std::find(slots_.begin(), slots_.end(), nullptr) == slots_.end()) {
      return PrimariesLocked();
    }
  }
  absl::Status refreshed = Refresh(/*force=*/false);
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<RedisClient*> primaries = PrimariesLocked();
  if (primaries.empty()) {
    return refreshed.ok() ? absl::UnavailableError("redis cluster: no slot is served") : refreshed;
  }
  return primaries;
}

absl::Status RedisClient::Cluster::Ping() {
  // A health check is also when a failover becomes visible: ask again.
  absl::Status refreshed = Refresh(/*force=*/false);
  if (!refreshed.ok()) return refreshed;
  std::vector<RedisClient*> primaries;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t uncovered = std::count(slots_.begin(), slots_.end(), nullptr);
    if (uncovered > 0) {
      return absl::UnavailableError(
          absl::StrCat("redis cluster: ", uncovered, " slots have no primary"));
    }
    primaries = PrimariesLocked();
  }
  for (RedisClient* primary : primaries) {
    absl::Status answered = primary->Ping();
    if (!answered.ok()) {
      return absl::Status(answered.code(), absl::StrCat("redis cluster primary ",
                                                        primary->options().host, ":",
                                                        primary->options().port, ": ",
                                                        answered.message()));
    }
  }
  return absl::OkStatus();
}

void RedisClient::Cluster::PipelineAsync(const std::vector<std::vector<std::string>>& commands,
                                         RedisPipelineCallback done) {
  if (commands.empty()) return done(std::vector<RedisValue>());
  if (commands.size() == 1) {
    const std::string name = CommandName(commands.front());
    const int key = RedisRoutingKeyIndex(commands.front());
    if ((name == "XREAD" || name == "XREADGROUP") && key > 0) {
      const std::vector<std::string>& command = commands.front();
      const size_t streams = (command.size() - static_cast<size_t>(key)) / 2;
      for (size_t i = 1; i < streams; ++i) {
        if (RedisKeySlot(command[key + i]) != RedisKeySlot(command[key])) {
          return ReadAcrossSlots(command, static_cast<size_t>(key) - 1, std::move(done));
        }
      }
    }
  }
  auto job = std::make_shared<Job>();
  job->commands = commands;
  job->done = std::move(done);
  job->deadline = RedisDeadlineScope::Current();
  Start(std::move(job));
}

void RedisClient::Cluster::Start(std::shared_ptr<Job> job) {
  const size_t count = job->commands.size();
  job->replies.assign(count, RedisValue());
  job->block_start.assign(count, kNone);
  job->block_end.assign(count, kNone);
  for (size_t i = 0; i < count; ++i) {
    if (CommandName(job->commands[i]) != "MULTI") continue;
    size_t end = i + 1;
    while (end < count) {
      const std::string name = CommandName(job->commands[end]);
      if (name == "EXEC" || name == "DISCARD") break;
      ++end;
    }
    end = std::min(end, count - 1);
    for (size_t j = i; j <= end; ++j) job->block_start[j] = i;
    job->block_end[i] = end;
    i = end;
  }
  std::vector<size_t> all(count);
  for (size_t i = 0; i < count; ++i) all[i] = i;
  Send(job, std::move(all), {});
}

void RedisClient::Cluster::Send(const std::shared_ptr<Job>& job, std::vector<size_t> indices,
                                std::map<size_t, std::string> ask) {
  if (closing_) {
    return job->done(absl::UnavailableError("redis cluster: the client is shutting down"));
  }
  bool stale;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stale = stale_;
  }
  // Best effort, in the background: a MOVED already fixed its slot.
  if (stale) (void)AfterRefresh(/*force=*/false, nullptr);
  // A command sent again must not keep the reply of its last round (a MOVED
  // would be followed again if its node now fails).
  for (size_t i : indices) job->replies[i] = RedisValue();

  struct Part {
    size_t index;
    bool skip;           // ASKING: its OK is not a reply of the caller's
    bool every_primary;  // one of several replies to combine
  };
  struct Group {
    std::vector<std::vector<std::string>> commands;
    std::vector<Part> parts;
  };
  // Groups in the order of their first command, so that replies that do not
  // depend on the order still come back in a predictable one.
  std::vector<std::pair<RedisClient*, Group>> groups;
  auto add = [&groups](RedisClient* node, size_t index, bool skip, bool every,
                       const std::vector<std::string>& command) {
    auto group = std::find_if(groups.begin(), groups.end(),
                              [node](const auto& g) { return g.first == node; });
    if (group == groups.end()) {
      groups.emplace_back(node, Group());
      group = groups.end() - 1;
    }
    group->second.commands.push_back(command);
    group->second.parts.push_back({index, skip, every});
  };
  auto any_primary = [this]() -> absl::StatusOr<RedisClient*> {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::vector<RedisClient*> primaries = PrimariesLocked();
      if (!primaries.empty()) return primaries.front();
    }
    return NodeForSlot(0);
  };

  for (size_t k = 0; k < indices.size(); ++k) {
    const size_t i = indices[k];
    const std::vector<std::string>& command = job->commands[i];
    const std::string name = CommandName(command);
    if (job->block_start[i] == i) {
      // A transaction runs on one node: the node of its first key.
      const size_t end = job->block_end[i];
      absl::StatusOr<RedisClient*> node = absl::UnavailableError("no node");
      bool keyed = false;
      for (size_t j = i + 1; j <= end && !keyed; ++j) {
        const int key = RedisRoutingKeyIndex(job->commands[j]);
        if (key < 0) continue;
        keyed = true;
        node = NodeForSlot(RedisKeySlot(job->commands[j][key]));
      }
      if (!keyed) node = any_primary();
      if (!node.ok()) return job->done(node.status());
      for (size_t j = i; j <= end; ++j) add(*node, j, false, false, job->commands[j]);
      while (k + 1 < indices.size() && indices[k + 1] <= end) ++k;
      continue;
    }
    auto asked = ask.find(i);
    if (asked != ask.end()) {
      RedisClient* node = Node(asked->second);
      add(node, i, true, false, {"ASKING"});
      add(node, i, false, false, command);
      continue;
    }
    const int key = RedisRoutingKeyIndex(command);
    if (name == "SCAN" && command.size() >= 2) {
      // One keyspace over every primary, in map order: the cursor
      // "<primary>:<node cursor>" says where the scan is ("0": the start).
      absl::StatusOr<std::vector<RedisClient*>> primaries = Primaries();
      if (!primaries.ok()) return job->done(primaries.status());
      size_t node_index = 0;
      std::string node_cursor = command[1];
      const size_t colon = command[1].find(':');
      if (colon != std::string::npos) {
        node_cursor = command[1].substr(colon + 1);
        if (!absl::SimpleAtoi(command[1].substr(0, colon), &node_index)) {
          node_index = primaries->size();
        }
      }
      if (node_index >= primaries->size()) {
        job->replies[i] = ErrorValue(absl::StrCat("ERR ecoact redis cluster: invalid SCAN cursor '",
                                                  command[1], "'"));
        continue;
      }
      std::vector<std::string> node_command = command;
      node_command[1] = node_cursor;
      job->scans[i] = {node_index, primaries->size()};
      add((*primaries)[node_index], i, false, false, node_command);
    } else if (key >= 0) {
      absl::StatusOr<RedisClient*> node = NodeForSlot(RedisKeySlot(command[key]));
      if (!node.ok()) return job->done(node.status());
      add(*node, i, false, false, command);
    } else if (RunsOnEveryPrimary(name)) {
      absl::StatusOr<std::vector<RedisClient*>> primaries = Primaries();
      if (!primaries.ok()) return job->done(primaries.status());
      for (RedisClient* node : *primaries) add(node, i, false, true, command);
    } else if (NotRoutable(name)) {
      job->replies[i] = ErrorValue(absl::StrCat(
          "ERR ecoact redis cluster mode cannot route ", name,
          (name == "SCAN" ? ": scan each of RedisClient::Primaries()" : ": no key to route by")));
    } else {
      absl::StatusOr<RedisClient*> node = any_primary();
      if (!node.ok()) return job->done(node.status());
      add(*node, i, false, false, command);
    }
  }

  auto round = std::make_shared<Round>();
  round->indices = std::move(indices);
  round->pending = groups.size();
  if (groups.empty()) return Finish(job, *round);

  // The call's deadline holds for every round, also those started on an I/O
  // thread after a redirect.
  RedisDeadlineScope scope(job->deadline);
  WaiterStateRestore restore;
  const bool first_round = job->rounds++ == 0;
  if (restore.saved() != nullptr && !(first_round && groups.size() == 1)) {
    // The commands now go out on several connections (or again after a
    // redirect): a caller that stops waiting can no longer be promised that
    // none ran, so it is told they may still run (WaitFor's second case).
    int expected = redis_internal::kQueued;
    (*restore.saved())->compare_exchange_strong(expected, redis_internal::kWritten);
    redis_internal::waiter_state = nullptr;
  }
  for (auto& [node, group] : groups) {
    node->PipelineAsync(
        group.commands,
        [this, job, round, node = node, parts = std::move(group.parts)](
            absl::StatusOr<std::vector<RedisValue>> replies) mutable {
          bool last;
          {
            std::lock_guard<std::mutex> lock(round->mutex);
            if (!replies.ok()) {
              std::vector<size_t> failed;
              for (const Part& part : parts) {
                if (!part.skip) failed.push_back(part.index);
              }
              round->failures.emplace_back(replies.status(), std::move(failed));
            } else {
              for (size_t p = 0; p < parts.size() && p < replies->size(); ++p) {
                if (parts[p].skip) continue;
                if (parts[p].every_primary) {
                  round->every_primary[parts[p].index].push_back(std::move((*replies)[p]));
                } else {
                  job->replies[parts[p].index] = std::move((*replies)[p]);
                  round->node_of[parts[p].index] = node;
                }
              }
            }
            last = --round->pending == 0;
          }
          if (last) Finish(job, *round);
        });
  }
}

void RedisClient::Cluster::Finish(const std::shared_ptr<Job>& job, Round& round) {
  for (auto& [index, values] : round.every_primary) {
    job->replies[index] = Combine(CommandName(job->commands[index]), std::move(values));
  }
  for (const auto& [index, node] : job->scans) {
    RedisValue& reply = job->replies[index];
    if (reply.type != RedisValue::Type::kArray || reply.elements.empty()) continue;
    std::string& cursor = reply.elements[0].str;
    if (cursor != "0") {
      cursor = absl::StrCat(node.first, ":", cursor);
    } else if (node.first + 1 < node.second) {
      cursor = absl::StrCat(node.first + 1, ":0");
    }
  }
  job->scans.clear();
  // Being destroyed: whatever the replies say, neither follow a redirect
  // (NodeLocked would make a node after they were freed) nor finish
  // normally; the callers are going away with the client.
  if (closing_) {
    return job->done(absl::UnavailableError("redis cluster: the client is shutting down"));
  }

  // Redirects first, whatever happened on the other nodes of the round:
  // a MOVED updates the map, and both are sent again below, with the
  // failed commands if those may be retried.
  std::vector<size_t> again;
  std::map<size_t, std::string> ask;
  bool redirected = false;
  for (size_t i : round.indices) {
    const RedisValue& reply = job->replies[i];
    if (!reply.IsError()) continue;
    const bool moved = absl::StartsWith(reply.str, "MOVED ");
    const bool asked = absl::StartsWith(reply.str, "ASK ");
    if (!moved && !asked) continue;
    std::vector<std::string> words = absl::StrSplit(reply.str, ' ');
    int slot = 0;
    if (words.size() != 3 || !absl::SimpleAtoi(words[1], &slot) || slot < 0 || slot >= kSlots) {
      continue;
    }
    std::string address = words[2];
    if (absl::StartsWith(address, ":")) {  // the node's host is unknown to itself
      auto node = round.node_of.find(i);
      if (node == round.node_of.end()) continue;
      address = absl::StrCat(node->second->options().host, address);
    }
    const size_t block = job->block_start[i];
    if (moved) {
      std::lock_guard<std::mutex> lock(mutex_);
      slots_[slot] = NodeLocked(address);
      stale_ = true;
    }
    if (block != kNone) {
      // A transaction is retried whole, on the slot's new primary; during a
      // migration (ASK) its EXECABORT stands: the caller retries later.
      if (moved) {
        for (size_t j = block; j <= job->block_end[block]; ++j) again.push_back(j);
        redirected = true;
      }
      continue;
    }
    if (asked) ask[i] = address;
    again.push_back(i);
    redirected = true;
  }
  if (redirected && ++job->redirects > kMaxRedirects) {
    return job->done(absl::UnavailableError(absl::StrFormat(
        "redis cluster: still redirected (MOVED/ASK) after %d tries; the cluster is resharding "
        "or its slot map is inconsistent. Retry later",
        kMaxRedirects)));
  }

  if (!round.failures.empty()) {
    // The node may have failed over: learn the new map from any node that
    // answers. Reads go again, to whoever serves their slot now, with the
    // redirected commands; anything else fails the call (UNAVAILABLE: it
    // may or may not have run).
    bool retry = job->reconnects < kMaxReconnects;
    for (const auto& [status, indices] : round.failures) {
      for (size_t i : indices) {
        if (!RetrySafe(job->commands[i]) || job->block_start[i] != kNone) retry = false;
        again.push_back(i);
      }
    }
    absl::Status failure = round.failures.front().first;
    if (!retry) {
      // Still learn the new map, off this thread, for the calls to come.
      (void)AfterRefresh(/*force=*/true, nullptr);
      return job->done(std::move(failure));
    }
    ++job->reconnects;
    std::sort(again.begin(), again.end());
    again.erase(std::unique(again.begin(), again.end()), again.end());
    if (options_.mode == RedisMode::kPool) {
      // Pool mode runs a whole call on the caller's thread: refresh here.
      (void)Refresh(/*force=*/true);
      return Send(job, std::move(again), std::move(ask));
    }
    // Not on this thread: it is a node's I/O thread, and the refresh may
    // wait for connects to nodes that are down.
    auto resend = [this, job, again = std::move(again), ask = std::move(ask)]() mutable {
      Send(job, std::move(again), std::move(ask));
    };
    if (!AfterRefresh(/*force=*/true, std::move(resend))) return job->done(std::move(failure));
    return;
  }

  if (again.empty()) return job->done(std::move(job->replies));
  std::sort(again.begin(), again.end());
  again.erase(std::unique(again.begin(), again.end()), again.end());
  Send(job, std::move(again), std::move(ask));
}

void RedisClient::Cluster::ReadAcrossSlots(const std::vector<std::string>& command,
                                           size_t streams_at, RedisPipelineCallback done) {
  // XREAD[GROUP] ... STREAMS k1 k2 ... id1 id2 ...: one read per slot, the
  // streams of a slot together, in their original order.
  const size_t first = streams_at + 1;
  const size_t streams = (command.size() - first) / 2;
  std::vector<std::string> options;
  int64_t block_ms = -1;
  for (size_t i = 0; i < streams_at; ++i) {
    if (absl::EqualsIgnoreCase(command[i], "BLOCK") && i + 1 < streams_at) {
      if (!absl::SimpleAtoi(command[i + 1], &block_ms) || block_ms < 0) block_ms = -1;
      ++i;
      continue;
    }
    options.push_back(command[i]);
  }
  if (block_ms == 0) {
    return done(std::vector<RedisValue>{ErrorValue(
        "ERR ecoact redis cluster mode: BLOCK 0 over streams of several slots is not supported; "
        "give a finite BLOCK")});
  }
  std::vector<int> slot_order;
  std::map<int, std::pair<std::vector<std::string>, std::vector<std::string>>> by_slot;
  for (size_t k = 0; k < streams; ++k) {
    const int slot = RedisKeySlot(command[first + k]);
    if (by_slot.count(slot) == 0) slot_order.push_back(slot);
    by_slot[slot].first.push_back(command[first + k]);
    by_slot[slot].second.push_back(command[first + streams + k]);
  }
  auto parts = std::make_shared<std::vector<std::vector<std::string>>>();
  for (int slot : slot_order) {
    std::vector<std::string> part = options;
    part.push_back("STREAMS");
    const auto& [keys, ids] = by_slot[slot];
    part.insert(part.end(), keys.begin(), keys.end());
    part.insert(part.end(), ids.begin(), ids.end());
    parts->push_back(std::move(part));
  }
  const absl::Time deadline = RedisDeadlineScope::Current();
  auto job = std::make_shared<Job>();
  job->commands = *parts;
  job->deadline = deadline;
  job->done = [this, parts, block_ms, deadline, options_size = options.size(),
               done = std::move(done)](absl::StatusOr<std::vector<RedisValue>> replies) mutable {
    if (!replies.ok()) return done(replies.status());
    RedisValue merged;  // nil: nothing in any stream
    for (RedisValue& reply : *replies) {
      if (reply.IsError()) return done(std::vector<RedisValue>{std::move(reply)});
      if (reply.type != RedisValue::Type::kArray) continue;
      merged.type = RedisValue::Type::kArray;
      for (RedisValue& stream : reply.elements) merged.elements.push_back(std::move(stream));
    }
    if (merged.type == RedisValue::Type::kArray || block_ms < 0) {
      return done(std::vector<RedisValue>{std::move(merged)});
    }
    // Nothing waiting anywhere: wait on each slot in turn for a share of
    // BLOCK, so the whole read still returns within BLOCK. An entry arriving
    // on another slot meanwhile waits for its turn (at most BLOCK).
    const int64_t slice = std::max<int64_t>(1, block_ms / static_cast<int64_t>(parts->size()));
    for (auto& part : *parts) {
      part.insert(part.begin() + static_cast<std::ptrdiff_t>(options_size),
                  {"BLOCK", absl::StrCat(slice)});
    }
    BlockingReads(parts, 0, deadline, std::move(done));
  };
  Start(std::move(job));
}

void RedisClient::Cluster::BlockingReads(
    std::shared_ptr<std::vector<std::vector<std::string>>> parts, size_t next,
    absl::Time deadline, RedisPipelineCallback done) {
  auto job = std::make_shared<Job>();
  job->commands = {(*parts)[next]};
  job->deadline = deadline;
  job->done = [this, parts, next, deadline,
               done = std::move(done)](absl::StatusOr<std::vector<RedisValue>> replies) mutable {
    if (!replies.ok()) return done(replies.status());
    const RedisValue& reply = replies->front();
    if (reply.IsError() || reply.type == RedisValue::Type::kArray || next + 1 == parts->size()) {
      return done(std::move(replies));
    }
    BlockingReads(parts, next + 1, deadline, std::move(done));
  };
  Start(std::move(job));
}

}  // namespace ecoact
