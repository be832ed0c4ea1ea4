#include "services/leaderboard/board_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "leaderboard_lua.h"
#include "services/common/status_macros.h"

namespace ecoact::leaderboard {
namespace {

const LuaScript& PageScript() {
  static const LuaScript script("board_page", embedded::kBoardPageLua);
  return script;
}
const LuaScript& RankScript() {
  static const LuaScript script("board_rank", embedded::kBoardRankLua);
  return script;
}
const LuaScript& WindowScript() {
  static const LuaScript script("board_window", embedded::kBoardWindowLua);
  return script;
}
const LuaScript& OutliersScript() {
  static const LuaScript script("outliers", embedded::kOutliersLua);
  return script;
}

// Room for `adding` more entries in a cache of at most `limit`: first the
// expired entries go, then, if that is not enough, all of them.
template <typename Map>
void MakeRoom(Map& cache, size_t adding, size_t limit, absl::Time now) {
  if (cache.size() + adding <= limit) return;
  for (auto it = cache.begin(); it != cache.end();) {
    if (it->second.expires <= now) {
      cache.erase(it++);
    } else {
      ++it;
    }
  }
  if (cache.size() + adding > limit) cache.clear();
}

int64_t IntOr0(const RedisValue& v) {
  int64_t out = 0;
  if (!v.IsNil()) (void)absl::SimpleAtoi(v.str, &out);
  return out;
}

}  // namespace

absl::StatusOr<std::vector<RankedMember>> BoardStore::Members(const RedisValue& reply, size_t from,
                                                             int64_t offset, int64_t first_rank) {
  std::vector<RankedMember> members;
  for (size_t i = from; i + 1 < reply.elements.size(); i += 2) {
    RankedMember m;
    m.account_id = reply.elements[i].str;
    double score = 0;
    if (!absl::SimpleAtod(reply.elements[i + 1].str, &score)) {
      return absl::InternalError("board score is not a number");
    }
    m.score = static_cast<int64_t>(score);
    int64_t position = offset + static_cast<int64_t>(members.size());
    if (members.empty()) {
      m.rank = first_rank;
    } else {
      m.rank = m.score == members.back().score ? members.back().rank : position + 1;
    }
    members.push_back(std::move(m));
  }
  return members;
}

absl::Status BoardStore::FillNicknames(std::vector<RankedMember>* members) {
  if (members->empty()) return absl::OkStatus();
  const bool caching = cache_.ttl > absl::ZeroDuration();
  const absl::Time now = caching ? absl::Now() : absl::InfinitePast();
  std::vector<size_t> missing;
  if (caching) {
    absl::MutexLock lock(&mutex_);
    for (size_t i = 0; i < members->size(); ++i) {
      auto found = nicknames_.find((*members)[i].account_id);
      if (found != nicknames_.end() && found->second.expires > now) {
        (*members)[i].nickname = found->second.value;
      } else {
        missing.push_back(i);
      }
    }
    if (missing.empty()) return absl::OkStatus();
  } else {
    for (size_t i = 0; i < members->size(); ++i) missing.push_back(i);
  }
  std::vector<std::vector<std::string>> commands;
  for (size_t i : missing) {
    commands.push_back({"HGET", keys_.Account((*members)[i].account_id), "nickname"});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(commands));
  for (size_t n = 0; n < missing.size(); ++n) {
    (*members)[missing[n]].nickname = replies[n].IsNil() ? "(deleted)" : replies[n].str;
  }
  if (caching) {
    absl::MutexLock lock(&mutex_);
    MakeRoom(nicknames_, missing.size(), cache_.max_nicknames, now);
    for (size_t i : missing) {
      nicknames_[(*members)[i].account_id] = {(*members)[i].nickname, now + cache_.ttl};
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<BoardPage> BoardStore::Page(const std::string& board, int64_t offset,
                                           int64_t count, const std::string& centre,
                                           bool nicknames) {
  // Only the top of a board is what every client reads; a page centred on
  // the caller is theirs, and deeper pages are read by few.
  const bool caching = cache_.ttl > absl::ZeroDuration() && centre.empty() && offset == 0;
  std::string cache_key;
  absl::Time now;
  if (caching) {
    cache_key = absl::StrCat(board, "\n", count, "\n", nicknames);
    now = absl::Now();
    absl::MutexLock lock(&mutex_);
    auto found = pages_.find(cache_key);
    if (found != pages_.end() && found->second.expires > now) return found->second.value;
  }
  ASSIGN_OR_RETURN(BoardPage page, ReadPage(board, offset, count, centre, nicknames));
  if (caching) {
    absl::MutexLock lock(&mutex_);
    MakeRoom(pages_, 1, cache_.max_pages, now);
    pages_[cache_key] = {page, now + cache_.ttl};
  }
  return page;
}

absl::StatusOr<BoardPage> BoardStore::ReadPage(const std::string& board, int64_t offset,
                                               int64_t count, const std::string& centre,
                                               bool nicknames) {
  if (layout_.Partitioned(board)) {
    ASSIGN_OR_RETURN(BoardPage page, ReadMergedPage(board, offset, count, centre));
    if (nicknames) RETURN_IF_ERROR(FillNicknames(&page.members));
    return page;
  }
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Eval(PageScript(), {keys_.Board(board)},
                                {absl::StrCat(offset), absl::StrCat(count), centre}));
  BoardPage page;
  if (reply.elements.size() < 3) return absl::InternalError("board_page: short reply");
  ASSIGN_OR_RETURN(page.total, reply.elements[0].AsInt());
  ASSIGN_OR_RETURN(int64_t first_rank, reply.elements[1].AsInt());
  ASSIGN_OR_RETURN(page.offset, reply.elements[2].AsInt());
  ASSIGN_OR_RETURN(page.members, Members(reply, 3, page.offset, first_rank));
  if (nicknames) RETURN_IF_ERROR(FillNicknames(&page.members));
  return page;
}

absl::StatusOr<int64_t> BoardStore::GroupTotal(absl::string_view period_key,
                                               absl::string_view field) {
  std::vector<std::vector<std::string>> reads;
  for (int shard = 0; shard < keys_.shards(); ++shard) {
    reads.push_back({"HGET", keys_.Aggregate(shard, period_key), std::string(field)});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(reads));
  int64_t total = 0;
  for (const RedisValue& reply : replies) {
    if (reply.IsError()) return RedisErrorToStatus("board total", reply.str);
    total += IntOr0(reply);
  }
  return total;
}

absl::StatusOr<std::vector<GroupInfo>> BoardStore::Groups(
    absl::string_view tag, absl::string_view period_key, absl::string_view metric,
    const std::vector<std::string>& ids, const std::map<std::string, std::string>& ward_names) {
  std::vector<GroupInfo> groups(ids.size());
  if (ids.empty()) return groups;
  std::vector<std::vector<std::string>> reads;
  for (int shard = 0; shard < keys_.shards(); ++shard) {
    std::vector<std::string> command = {"HMGET", keys_.Aggregate(shard, period_key)};
    for (const std::string& id : ids) {
      command.push_back(absl::StrCat(metric, "@", tag, ":", id));
      command.push_back(absl::StrCat("act@", tag, ":", id));
    }
    reads.push_back(std::move(command));
  }
  const bool named = tag == "t" || tag == "o";
  if (named) {
    // Team and organisation hashes are identity's (docs/gamification.md).
    for (const std::string& id : ids) {
      reads.push_back({"HGET", tag == "t" ? keys_.Team(id) : keys_.Organisation(id), "name"});
    }
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(reads));
  for (const RedisValue& reply : replies) {
    if (reply.IsError()) return RedisErrorToStatus("group boards", reply.str);
  }
  for (int shard = 0; shard < keys_.shards(); ++shard) {
    const RedisValue& reply = replies[shard];
    for (size_t g = 0; g < ids.size() && 2 * g + 1 < reply.elements.size(); ++g) {
      groups[g].total += IntOr0(reply.elements[2 * g]);
      groups[g].active += IntOr0(reply.elements[2 * g + 1]);
    }
  }
  for (size_t g = 0; g < ids.size(); ++g) {
    groups[g].name = ids[g];
    if (named) {
      const RedisValue& name = replies[keys_.shards() + g];
      if (!name.IsNil() && !name.str.empty()) groups[g].name = name.str;
    } else {
      auto ward = ward_names.find(ids[g]);
      if (ward != ward_names.end()) groups[g].name = ward->second;
    }
  }
  return groups;
}

absl::StatusOr<std::vector<MemberRank>> BoardStore::RanksOf(
    const std::vector<std::pair<std::string, std::string>>& board_members) {
  std::vector<MemberRank> ranks(board_members.size());
  // Partitioned boards: the member's score in its part, then in every part
  // the members above it (board_window.lua, no members read).
  std::vector<size_t> merged, single;
  std::vector<std::vector<std::string>> score_reads;
  for (size_t i = 0; i < board_members.size(); ++i) {
    const auto& [board, member] = board_members[i];
    if (layout_.Partitioned(board)) {
      merged.push_back(i);
      score_reads.push_back({"ZSCORE", layout_.KeyOf(board, member), member});
    } else {
      single.push_back(i);
    }
  }
  std::vector<RedisClient::ScriptCall> calls;
  std::vector<size_t> call_of;  // index into ranks of each call
  for (size_t i : single) {
    calls.push_back({{keys_.Board(board_members[i].first)}, {board_members[i].second, "0"}});
    call_of.push_back(i);
  }
  std::vector<RedisValue> scores;
  if (!score_reads.empty()) {
    ASSIGN_OR_RETURN(scores, redis_->Pipeline(score_reads));
  }
  const size_t single_calls = calls.size();
  for (size_t n = 0; n < merged.size(); ++n) {
    if (scores[n].IsError()) return RedisErrorToStatus("board rank", scores[n].str);
    const auto& [board, member] = board_members[merged[n]];
    // Not on the board: only the total is needed, which any score gives.
    const std::string score = scores[n].IsNil() ? "0" : scores[n].str;
    for (const std::string& key : layout_.Keys(board)) {
      calls.push_back({{key}, {score, member, "0"}});
      call_of.push_back(merged[n]);
    }
  }
  if (calls.empty()) return ranks;
  // Both scripts in one round trip would need two EvalMany; rank scripts
  // first, then window scripts.
  std::vector<RedisValue> replies;
  if (single_calls > 0) {
    std::vector<RedisClient::ScriptCall> first(calls.begin(), calls.begin() + single_calls);
    ASSIGN_OR_RETURN(replies, redis_->EvalMany(RankScript(), first));
  }
  if (calls.size() > single_calls) {
    std::vector<RedisClient::ScriptCall> rest(calls.begin() + single_calls, calls.end());
    ASSIGN_OR_RETURN(std::vector<RedisValue> more, redis_->EvalMany(WindowScript(), rest));
    for (RedisValue& v : more) replies.push_back(std::move(v));
  }
  for (size_t c = 0; c < single_calls; ++c) {
    const RedisValue& reply = replies[c];
    MemberRank& rank = ranks[call_of[c]];
    if (reply.IsError()) return RedisErrorToStatus("board_rank", reply.str);
    if (reply.elements.empty()) return absl::InternalError("board_rank: empty reply");
    ASSIGN_OR_RETURN(rank.total, reply.elements[0].AsInt());
    if (reply.elements.size() < 5) continue;
    rank.ranked = true;
    ASSIGN_OR_RETURN(rank.rank, reply.elements[2].AsInt());
    double score = 0;
    if (!absl::SimpleAtod(reply.elements[4].str, &score)) {
      return absl::InternalError("board score is not a number");
    }
    rank.score = static_cast<int64_t>(score);
  }
  for (size_t n = 0; n < merged.size(); ++n) {
    MemberRank& rank = ranks[merged[n]];
    rank.ranked = !scores[n].IsNil();
    rank.rank = 1;
    if (rank.ranked) {
      double score = 0;
      if (!absl::SimpleAtod(scores[n].str, &score)) {
        return absl::InternalError("board score is not a number");
      }
      rank.score = static_cast<int64_t>(score);
    }
  }
  for (size_t c = single_calls; c < replies.size(); ++c) {
    const RedisValue& reply = replies[c];
    if (reply.IsError()) return RedisErrorToStatus("board_window", reply.str);
    if (reply.elements.size() < 4) return absl::InternalError("board_window: short reply");
    MemberRank& rank = ranks[call_of[c]];
    ASSIGN_OR_RETURN(int64_t card, reply.elements[0].AsInt());
    ASSIGN_OR_RETURN(int64_t above, reply.elements[1].AsInt());
    rank.total += card;
    rank.rank += above;
  }
  for (MemberRank& rank : ranks) {
    if (!rank.ranked) rank.rank = 0;
  }
  return ranks;
}

absl::StatusOr<std::optional<std::string>> BoardStore::ScoreOf(const std::string& board,
                                                               const std::string& member) {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Command({"ZSCORE", layout_.KeyOf(board, member), member}));
  if (reply.IsError()) return RedisErrorToStatus("board score", reply.str);
  if (reply.IsNil()) return std::nullopt;
  return reply.str;
}

absl::StatusOr<int64_t> BoardStore::MergedTotal(const std::string& board) {
  std::vector<std::vector<std::string>> reads;
  for (const std::string& key : layout_.Keys(board)) reads.push_back({"ZCARD", key});
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(reads));
  int64_t total = 0;
  for (const RedisValue& reply : replies) {
    if (reply.IsError()) return RedisErrorToStatus("board total", reply.str);
    ASSIGN_OR_RETURN(int64_t card, reply.AsInt());
    total += card;
  }
  return total;
}

namespace {

// Board order: higher score first, ties by member id descending (ZREVRANGE).
template <typename T>
bool InBoardOrder(const T& a, const T& b) {
  return a.score != b.score ? a.score > b.score : a.member > b.member;
}

absl::Status AppendScored(const RedisValue& reply, size_t from,
                          std::vector<std::pair<std::string, int64_t>>* out) {
  for (size_t i = from; i + 1 < reply.elements.size(); i += 2) {
    double score = 0;
    if (!absl::SimpleAtod(reply.elements[i + 1].str, &score)) {
      return absl::InternalError("board score is not a number");
    }
    out->emplace_back(reply.elements[i].str, static_cast<int64_t>(score));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BoardStore::MergedWindow> BoardStore::Window(const std::string& board,
                                                            const std::string& member,
                                                            const std::string& score,
                                                            int64_t k) {
  std::vector<RedisClient::ScriptCall> calls;
  for (const std::string& key : layout_.Keys(board)) {
    calls.push_back({{key}, {score, member, absl::StrCat(k)}});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->EvalMany(WindowScript(), calls));
  MergedWindow window;
  window.rank = 1;
  std::vector<std::pair<std::string, int64_t>> read;
  for (const RedisValue& reply : replies) {
    if (reply.IsError()) return RedisErrorToStatus("board_window", reply.str);
    if (reply.elements.size() < 4) return absl::InternalError("board_window: short reply");
    ASSIGN_OR_RETURN(int64_t card, reply.elements[0].AsInt());
    ASSIGN_OR_RETURN(int64_t above, reply.elements[1].AsInt());
    ASSIGN_OR_RETURN(int64_t ahead, reply.elements[2].AsInt());
    window.total += card;
    window.rank += above;
    window.index += ahead;
    RETURN_IF_ERROR(AppendScored(reply, 4, &read));
  }
  for (auto& [name, value] : read) window.merged.push_back({std::move(name), value});
  std::sort(window.merged.begin(), window.merged.end(), InBoardOrder<Scored>);
  double pivot_score = 0;
  if (!absl::SimpleAtod(score, &pivot_score)) return absl::InternalError("bad pivot score");
  window.score = static_cast<int64_t>(pivot_score);
  const Scored pivot{member, window.score};
  window.pivot = static_cast<size_t>(
      std::lower_bound(window.merged.begin(), window.merged.end(), pivot, InBoardOrder<Scored>) -
      window.merged.begin());
  return window;
}

absl::StatusOr<std::vector<RankedMember>> BoardStore::Slice(const std::string& board,
                                                            const MergedWindow& window,
                                                            int64_t from, int64_t to) {
  std::vector<RankedMember> members;
  for (int64_t at = from; at < to; ++at) {
    const int64_t position = static_cast<int64_t>(window.pivot) + (at - window.index);
    if (position < 0 || position >= static_cast<int64_t>(window.merged.size())) {
      return absl::InternalError("merged board window too small");
    }
    RankedMember m;
    m.account_id = window.merged[position].member;
    m.score = window.merged[position].score;
    members.push_back(std::move(m));
  }
  if (members.empty()) return members;
  // The first member's rank: the pivot's when they tie, else one more than
  // the members above its score in every part.
  int64_t first_rank = window.rank;
  if (members[0].score != window.score) {
    std::vector<std::vector<std::string>> counts;
    for (const std::string& key : layout_.Keys(board)) {
      counts.push_back({"ZCOUNT", key, absl::StrCat("(", members[0].score), "+inf"});
    }
    ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(counts));
    first_rank = 1;
    for (const RedisValue& reply : replies) {
      if (reply.IsError()) return RedisErrorToStatus("board rank", reply.str);
      ASSIGN_OR_RETURN(int64_t above, reply.AsInt());
      first_rank += above;
    }
  }
  for (size_t i = 0; i < members.size(); ++i) {
    members[i].rank = i == 0 || members[i].score != members[i - 1].score
                          ? (i == 0 ? first_rank : from + static_cast<int64_t>(i) + 1)
                          : members[i - 1].rank;
  }
  return members;
}

absl::StatusOr<BoardPage> BoardStore::ReadMergedPage(const std::string& board, int64_t offset,
                                                     int64_t count, const std::string& centre) {
  BoardPage page;
  page.depth = kMaxMergedDepth;
  if (!centre.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> score, ScoreOf(board, centre));
    if (score) {
      ASSIGN_OR_RETURN(MergedWindow window, Window(board, centre, *score, count));
      page.total = window.total;
      page.offset = std::max<int64_t>(0, window.index - count / 2);
      const int64_t to = std::min(window.total, page.offset + count);
      ASSIGN_OR_RETURN(page.members, Slice(board, window, page.offset, to));
      return page;
    }
  }
  if (offset + count > kMaxMergedDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pages of a partitioned board reach its first ", kMaxMergedDepth,
        " members; ask for the caller's own page (around_me) to see deeper"));
  }
  std::vector<std::vector<std::string>> reads;
  for (const std::string& key : layout_.Keys(board)) {
    reads.push_back({"ZCARD", key});
    reads.push_back({"ZREVRANGE", key, "0", absl::StrCat(offset + count - 1), "WITHSCORES"});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(reads));
  std::vector<std::pair<std::string, int64_t>> read;
  for (size_t i = 0; i + 1 < replies.size(); i += 2) {
    if (replies[i].IsError()) return RedisErrorToStatus("board page", replies[i].str);
    if (replies[i + 1].IsError()) return RedisErrorToStatus("board page", replies[i + 1].str);
    ASSIGN_OR_RETURN(int64_t card, replies[i].AsInt());
    page.total += card;
    RETURN_IF_ERROR(AppendScored(replies[i + 1], 0, &read));
  }
  std::vector<Scored> merged;
  for (auto& [name, value] : read) merged.push_back({std::move(name), value});
  std::sort(merged.begin(), merged.end(), InBoardOrder<Scored>);
  // Every member above one of these is among them: ranks need no more reads.
  page.offset = offset;
  int64_t rank = 0;
  for (size_t i = 0; i < merged.size() && static_cast<int64_t>(i) < offset + count; ++i) {
    if (i == 0 || merged[i].score != merged[i - 1].score) rank = static_cast<int64_t>(i) + 1;
    if (static_cast<int64_t>(i) < offset) continue;
    page.members.push_back({merged[i].member, merged[i].score, rank, ""});
  }
  return page;
}

absl::StatusOr<RankWindow> BoardStore::MergedAround(const std::string& board,
                                                    const std::string& account_id,
                                                    int neighbours) {
  RankWindow result;
  ASSIGN_OR_RETURN(std::optional<std::string> score, ScoreOf(board, account_id));
  if (!score) {
    ASSIGN_OR_RETURN(result.total, MergedTotal(board));
    return result;
  }
  ASSIGN_OR_RETURN(MergedWindow window, Window(board, account_id, *score, neighbours + 1));
  result.total = window.total;
  const int64_t from = std::max<int64_t>(0, window.index - neighbours);
  const int64_t to = std::min(window.total, window.index + neighbours + 1);
  ASSIGN_OR_RETURN(result.members, Slice(board, window, from, to));
  result.me = static_cast<size_t>(window.index - from);
  return result;
}

absl::StatusOr<MemberProfile> BoardStore::Profile(const std::string& account_id,
                                                  bool with_totals) {
  std::vector<std::vector<std::string>> reads = {
      {"HMGET", keys_.Account(account_id), "ward", "team", "org"}};
  if (with_totals) reads.push_back({"HGETALL", keys_.Totals(account_id, "all")});
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(reads));
  for (const RedisValue& reply : replies) {
    if (reply.IsError()) return RedisErrorToStatus("profile", reply.str);
  }
  MemberProfile profile;
  if (replies[0].elements.size() == 3) {
    profile.ward = replies[0].elements[0].str;
    profile.team = replies[0].elements[1].str;
    profile.org = replies[0].elements[2].str;
  }
  if (with_totals) {
    for (size_t f = 0; f + 1 < replies[1].elements.size(); f += 2) {
      profile.all_time.emplace_back(replies[1].elements[f].str, replies[1].elements[f + 1].str);
    }
  }
  return profile;
}

absl::StatusOr<OutlierReport> BoardStore::Outliers(const std::string& board,
                                                   int64_t factor_permille, int64_t floor,
                                                   int64_t limit) {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Eval(OutliersScript(), {keys_.Board(board)},
                                {absl::StrCat(factor_permille), absl::StrCat(floor),
                                 absl::StrCat(limit)}));
  if (reply.elements.size() < 3) return absl::InternalError("outliers: short reply");
  OutlierReport report;
  ASSIGN_OR_RETURN(report.active, reply.elements[0].AsInt());
  ASSIGN_OR_RETURN(report.median, reply.elements[1].AsInt());
  ASSIGN_OR_RETURN(report.threshold, reply.elements[2].AsInt());
  ASSIGN_OR_RETURN(std::vector<RankedMember> members, Members(reply, 3, 0, 1));
  RETURN_IF_ERROR(FillNicknames(&members));
  for (RankedMember& m : members) {
    report.rows.push_back({std::move(m.account_id), std::move(m.nickname), m.score});
  }
  return report;
}

absl::StatusOr<RankWindow> BoardStore::Around(const std::string& board,
                                              const std::string& account_id, int neighbours) {
  if (layout_.Partitioned(board)) {
    ASSIGN_OR_RETURN(RankWindow window, MergedAround(board, account_id, neighbours));
    RETURN_IF_ERROR(FillNicknames(&window.members));
    return window;
  }
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Eval(RankScript(), {keys_.Board(board)},
                                {account_id, absl::StrCat(neighbours)}));
  RankWindow window;
  if (reply.elements.empty()) return absl::InternalError("board_rank: empty reply");
  ASSIGN_OR_RETURN(window.total, reply.elements[0].AsInt());
  if (reply.elements.size() < 3) return window;
  ASSIGN_OR_RETURN(int64_t offset, reply.elements[1].AsInt());
  ASSIGN_OR_RETURN(int64_t first_rank, reply.elements[2].AsInt());
  ASSIGN_OR_RETURN(window.members, Members(reply, 3, offset, first_rank));
  for (size_t i = 0; i < window.members.size(); ++i) {
    if (window.members[i].account_id == account_id) window.me = i;
  }
  RETURN_IF_ERROR(FillNicknames(&window.members));
  return window;
}

}  // namespace ecoact::leaderboard
