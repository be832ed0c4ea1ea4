#include "services/leaderboard/projector.h"

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "leaderboard_lua.h"
#include "services/common/log.h"
#include "services/common/status_macros.h"

namespace ecoact::leaderboard {
namespace {

struct Update {
  std::string board;
  std::string account;
  std::string totals_key;
  std::string field;
};

}  // namespace

Projector::Projector(RedisClient* redis, const KeySpace* keys, const CityCalendar* calendar,
                     ProjectorOptions options)
    : redis_(redis), keys_(keys), calendar_(calendar), options_(std::move(options)) {}

Projector::~Projector() { Stop(); }

absl::Status Projector::EnsureGroups() {
  std::vector<std::vector<std::string>> commands;
  for (int shard = 0; shard < keys_->shards(); ++shard) {
    commands.push_back({"XGROUP", "CREATE", keys_->Ledger(shard), options_.group, "0", "MKSTREAM"});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(commands));
  for (const RedisValue& reply : replies) {
    if (reply.IsError() && !absl::StartsWith(reply.str, "BUSYGROUP")) {
      return absl::InternalError(absl::StrCat("XGROUP CREATE: ", reply.str));
    }
  }
  groups_ready_ = true;
  return absl::OkStatus();
}

absl::StatusOr<int> Projector::RunOnce() { return Cycle(true); }
absl::StatusOr<int> Projector::RunOnceWithoutAck() { return Cycle(false); }

std::string ProjectorLeaseKey(const KeySpace& keys) {
  return absl::StrCat(keys.prefix(), ":{projector}:lease");
}

namespace {

const LuaScript& LeaseScript() {
  static const LuaScript script("lease", embedded::kLeaseLua);
  return script;
}

}  // namespace

absl::StatusOr<bool> Projector::HoldLease() {
  const absl::Time now = absl::Now();
  if (holds_lease_ && now - lease_renewed_ < options_.lease_ttl / 3) return true;
  ASSIGN_OR_RETURN(RedisValue held,
                   redis_->Eval(LeaseScript(), {ProjectorLeaseKey(*keys_)},
                                {options_.consumer,
                                 absl::StrCat(absl::ToInt64Milliseconds(options_.lease_ttl)), "0"}));
  const bool was_holding = holds_lease_;
  holds_lease_ = held.integer == 1;
  if (!holds_lease_) return false;
  lease_renewed_ = now;
  if (!was_holding) {
    if (!groups_ready_) RETURN_IF_ERROR(EnsureGroups());
    RETURN_IF_ERROR(ClaimOrphans());
    recovering_ = true;
  }
  return true;
}

absl::Status Projector::ClaimOrphans() {
  int64_t claimed = 0;
  for (int shard = 0; shard < keys_->shards(); ++shard) {
    std::string cursor = "0-0";
    do {
      ASSIGN_OR_RETURN(RedisValue reply,
                       redis_->Command({"XAUTOCLAIM", keys_->Ledger(shard), options_.group,
                                        options_.consumer, "0", cursor, "COUNT", "1000",
                                        "JUSTID"}));
      if (reply.elements.size() < 2) return absl::InternalError("XAUTOCLAIM: short reply");
      cursor = reply.elements[0].str;
      claimed += static_cast<int64_t>(reply.elements[1].elements.size());
    } while (cursor != "0-0");
  }
  if (claimed > 0) {
    LogInfo("projector: took over unacknowledged entries", {{"entries", claimed}});
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Projector::Cycle(bool acknowledge) {
  if (!groups_ready_) RETURN_IF_ERROR(EnsureGroups());
  ASSIGN_OR_RETURN(bool held, HoldLease());
  if (!held) return 0;
  std::vector<std::string> command = {"XREADGROUP", "GROUP", options_.group, options_.consumer,
                                      "COUNT", absl::StrCat(options_.batch)};
  if (!recovering_) {
    command.push_back("BLOCK");
    command.push_back(absl::StrCat(absl::ToInt64Milliseconds(options_.block)));
  }
  command.push_back("STREAMS");
  for (int shard = 0; shard < keys_->shards(); ++shard) command.push_back(keys_->Ledger(shard));
  for (int shard = 0; shard < keys_->shards(); ++shard) command.push_back(recovering_ ? "0" : ">");
  auto reply = redis_->Command(command);
  if (!reply.ok()) {
    if (absl::StrContains(reply.status().message(), "NOGROUP")) groups_ready_ = false;
    return reply.status();
  }
  std::map<std::string, int> shard_of_stream;
  for (int shard = 0; shard < keys_->shards(); ++shard) shard_of_stream[keys_->Ledger(shard)] = shard;
  std::vector<std::pair<int, StoredEntry>> entries;
  for (const RedisValue& stream : reply->elements) {
    if (stream.elements.size() != 2) continue;
    int shard = shard_of_stream[stream.elements[0].str];
    for (const RedisValue& raw : stream.elements[1].elements) {
      auto entry = DecodeStreamEntry(raw);
      if (!entry.ok()) {
        // A malformed entry would block the stream forever; log and skip it.
        LogError("projector: skipping malformed ledger entry",
                 {{"reason", std::string(entry.status().message())}});
        StoredEntry skipped;
        skipped.entry.set_entry_id(raw.elements.empty() ? "" : raw.elements[0].str);
        entries.emplace_back(shard, std::move(skipped));
        continue;
      }
      entries.emplace_back(shard, *std::move(entry));
    }
  }
  if (recovering_ && entries.empty()) {
    // Own pending entries drained: go on with new ones in the same call.
    recovering_ = false;
    return Cycle(acknowledge);
  }
  if (entries.empty()) return 0;
  RETURN_IF_ERROR(Apply(entries, acknowledge));
  return static_cast<int>(entries.size());
}

absl::Status Projector::Apply(const std::vector<std::pair<int, StoredEntry>>& entries,
                              bool acknowledge) {
  std::map<std::pair<std::string, std::string>, Update> updates;  // (board, account)
  std::map<std::string, absl::Time> expiries;
  std::set<std::string> all_time_boards;
  for (const auto& [shard, stored] : entries) {
    if (stored.account_id.empty()) continue;
    for (BoardTarget& t : TargetsForEntry(stored.entry, *calendar_, options_.boards)) {
      Update u{t.board, stored.account_id, keys_->Totals(stored.account_id, t.totals_period_key),
               t.totals_field};
      if (t.expire_at) expiries[t.board] = *t.expire_at;
      updates[{t.board, stored.account_id}] = std::move(u);
    }
  }
  // Read the exact totals: one HMGET per (totals hash) in one pipeline.
  std::map<std::string, std::vector<std::string>> fields_of_key;
  for (const auto& [id, u] : updates) fields_of_key[u.totals_key].push_back(u.field);
  std::vector<std::vector<std::string>> reads;
  for (auto& [key, fields] : fields_of_key) {
    std::sort(fields.begin(), fields.end());
    fields.erase(std::unique(fields.begin(), fields.end()), fields.end());
    std::vector<std::string> command = {"HMGET", key};
    command.insert(command.end(), fields.begin(), fields.end());
    reads.push_back(std::move(command));
  }
  std::map<std::pair<std::string, std::string>, std::string> values;
  if (!reads.empty()) {
    ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(reads));
    for (size_t i = 0; i < reads.size(); ++i) {
      if (replies[i].IsError()) return RedisErrorToStatus("projector HMGET", replies[i].str);
      for (size_t f = 2; f < reads[i].size(); ++f) {
        const RedisValue& v = replies[i].elements[f - 2];
        if (!v.IsNil()) values[{reads[i][1], reads[i][f]}] = v.str;
      }
    }
  }
  std::vector<std::vector<std::string>> writes;
  for (const auto& [id, u] : updates) {
    auto value = values.find({u.totals_key, u.field});
    // Totals gone (period long over): leave the board as it is.
    if (value == values.end()) continue;
    writes.push_back({"ZADD", keys_->Board(u.board), value->second, u.account});
  }
  for (const auto& [board, at] : expiries) {
    writes.push_back({"EXPIREAT", keys_->Board(board), absl::StrCat(absl::ToUnixSeconds(at))});
  }
  if (acknowledge) {
    std::map<int, std::vector<std::string>> ids;
    for (const auto& [shard, stored] : entries) ids[shard].push_back(stored.entry.entry_id());
    for (auto& [shard, list] : ids) {
      std::vector<std::string> command = {"XACK", keys_->Ledger(shard), options_.group};
      command.insert(command.end(), list.begin(), list.end());
      writes.push_back(std::move(command));
    }
  }
  if (writes.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(writes));
  for (const RedisValue& reply : replies) {
    if (reply.IsError()) return RedisErrorToStatus("projector write", reply.str);
  }
  return absl::OkStatus();
}

void Projector::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Projector::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  thread_.join();
  if (holds_lease_) {
    auto released = redis_->Eval(LeaseScript(), {ProjectorLeaseKey(*keys_)},
                                 {options_.consumer, "0", "0"});
    (void)released;  // if Redis is gone the lease lapses by itself
    holds_lease_ = false;
  }
}

void Projector::Loop() {
  absl::Duration backoff = absl::Milliseconds(100);
  bool failing = false;
  while (!stop_.HasBeenNotified()) {
    auto applied = RunOnce();
    if (applied.ok()) {
      if (failing) LogInfo("projector: resumed");
      failing = false;
      backoff = absl::Milliseconds(100);
      // Another process holds the lease: wait instead of spinning.
      if (!holds_lease_) stop_.WaitForNotificationWithTimeout(options_.block);
      continue;
    }
    if (!failing) {
      LogWarning("projector: cannot read the ledger, retrying",
                 {{"reason", std::string(applied.status().message())}});
    }
    failing = true;
    stop_.WaitForNotificationWithTimeout(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

absl::StatusOr<RebuildReport> RebuildBoards(RedisClient* redis, const KeySpace& keys,
                                            const CityCalendar& calendar,
                                            const BoardOptions& options, absl::Time now) {
  RebuildReport report;
  // Pause any projector: take its lease for as long as the rebuild can take,
  // then let an in-flight projector cycle finish before reading the ledger.
  const std::string lease = ProjectorLeaseKey(keys);
  RETURN_IF_ERROR(redis->Eval(LeaseScript(), {lease}, {"rebuild", "600000", "1"}).status());
  absl::SleepFor(absl::Seconds(1));
  struct Release {
    RedisClient* redis;
    std::string key;
    ~Release() { (void)redis->Eval(LeaseScript(), {key}, {"rebuild", "0", "0"}); }
  } release{redis, lease};
  std::map<std::string, std::map<std::string, int64_t>> scores;  // board -> account -> score
  std::map<std::string, absl::Time> expiries;
  for (int shard = 0; shard < keys.shards(); ++shard) {
    std::string start = "-";
    while (true) {
      ASSIGN_OR_RETURN(RedisValue page, redis->Command({"XRANGE", keys.Ledger(shard), start, "+",
                                                        "COUNT", "10000"}));
      if (page.elements.empty()) break;
      for (const RedisValue& raw : page.elements) {
        ASSIGN_OR_RETURN(StoredEntry stored, DecodeStreamEntry(raw));
        ++report.entries;
        for (const BoardTarget& t : TargetsForEntry(stored.entry, calendar, options)) {
          if (t.expire_at && *t.expire_at <= now) continue;
          const bool co2 = absl::StartsWith(t.totals_field, "co2");
          scores[t.board][stored.account_id] +=
              co2 ? stored.entry.co2e_grams() : stored.entry.points();
          if (t.expire_at) expiries[t.board] = *t.expire_at;
        }
      }
      // Exclusive start after the last id read.
      start = "(" + page.elements.back().elements[0].str;
    }
  }
  for (const auto& [board, members] : scores) {
    const std::string key = keys.Board(board);
    const std::string temp = key + ":rebuild";
    std::vector<std::vector<std::string>> commands = {{"DEL", temp}};
    std::vector<std::string> zadd = {"ZADD", temp};
    for (const auto& [account, score] : members) {
      zadd.push_back(absl::StrCat(score));
      zadd.push_back(account);
      ++report.scores;
      if (zadd.size() >= 2002) {
        commands.push_back(std::move(zadd));
        zadd = {"ZADD", temp};
      }
    }
    if (zadd.size() > 2) commands.push_back(std::move(zadd));
    commands.push_back({"RENAME", temp, key});
    auto expiry = expiries.find(board);
    if (expiry != expiries.end()) {
      commands.push_back({"EXPIREAT", key, absl::StrCat(absl::ToUnixSeconds(expiry->second))});
    }
    ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis->Pipeline(commands));
    for (const RedisValue& reply : replies) {
      if (reply.IsError()) return RedisErrorToStatus(absl::StrCat("rebuild ", board), reply.str);
    }
    ++report.boards;
  }
  // Boards no ledger entry supports any more.
  std::string cursor = "0";
  const std::string pattern = keys.Board("*");
  do {
    ASSIGN_OR_RETURN(RedisValue page,
                     redis->Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}));
    if (page.elements.size() != 2) return absl::InternalError("SCAN: unexpected reply");
    cursor = page.elements[0].str;
    for (const RedisValue& key : page.elements[1].elements) {
      const std::string prefix = keys.Board("");
      // keys.Board("") is "<p>:{b:}"; a board key is "<p>:{b:<name>}".
      std::string name = key.str.substr(prefix.size() - 1);
      if (name.empty() || name.back() != '}') continue;
      name.pop_back();
      if (scores.count(name) == 0) {
        ASSIGN_OR_RETURN(RedisValue unused, redis->Command({"DEL", key.str}));
        (void)unused;
        ++report.stale_boards_removed;
      }
    }
  } while (cursor != "0");
  return report;
}

}  // namespace ecoact::leaderboard
