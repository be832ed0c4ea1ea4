#include "services/leaderboard/board_store.h"

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
  std::vector<std::vector<std::string>> commands;
  for (const auto& m : *members) commands.push_back({"HGET", keys_.Account(m.account_id), "nickname"});
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(commands));
  for (size_t i = 0; i < members->size(); ++i) {
    (*members)[i].nickname = replies[i].IsNil() ? "(deleted)" : replies[i].str;
  }
  return absl::OkStatus();
}

absl::StatusOr<BoardPage> BoardStore::Page(const std::string& board, int64_t offset,
                                           int64_t count) {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Eval(PageScript(), {keys_.Board(board)},
                                {absl::StrCat(offset), absl::StrCat(count)}));
  BoardPage page;
  if (reply.elements.size() < 2) return absl::InternalError("board_page: short reply");
  ASSIGN_OR_RETURN(page.total, reply.elements[0].AsInt());
  ASSIGN_OR_RETURN(int64_t first_rank, reply.elements[1].AsInt());
  ASSIGN_OR_RETURN(page.members, Members(reply, 2, offset, first_rank));
  RETURN_IF_ERROR(FillNicknames(&page.members));
  return page;
}

absl::StatusOr<RankWindow> BoardStore::Around(const std::string& board,
                                              const std::string& account_id, int neighbours) {
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
