#include "services/leaderboard/leaderboard_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/grpc_status.h"
#include "services/common/status_macros.h"
#include "services/leaderboard/boards.h"

namespace ecoact::leaderboard {
namespace {

void ToEntry(const RankedMember& m, const std::string& caller, v1::BoardEntry* out) {
  out->set_rank(m.rank);
  out->set_nickname(m.nickname);
  out->set_score(m.score);
  out->set_is_me(m.account_id == caller);
}

template <typename Response>
void SetPeriod(const ResolvedBoard& board, Response* response) {
  response->set_period_key(board.period_key);
  if (board.period_ends) {
    *response->mutable_period_ends_at() =
        google::protobuf::util::TimeUtil::MillisecondsToTimestamp(
            absl::ToUnixMillis(*board.period_ends));
  }
}

}  // namespace

LeaderboardServiceImpl::LeaderboardServiceImpl(BoardStore* boards, RedisClient* redis,
                                               const KeySpace* keys, const CityCalendar* calendar,
                                               const Authenticator* auth)
    : boards_(boards), redis_(redis), keys_(keys), calendar_(calendar), auth_(auth) {}

absl::StatusOr<ResolvedBoard> LeaderboardServiceImpl::Resolve(const v1::BoardRef& ref,
                                                             const TokenClaims& claims) {
  std::string ward, team;
  // A ward or team board without scope_id means the caller's own.
  if (ref.scope_id().empty() && ref.scope() != v1::SCOPE_CITY &&
      claims.role == v1::ROLE_CITIZEN) {
    ASSIGN_OR_RETURN(RedisValue profile, redis_->Command({"HMGET", keys_->Account(claims.subject),
                                                          "ward", "team"}));
    if (profile.elements.size() == 2) {
      ward = profile.elements[0].str;
      team = profile.elements[1].str;
    }
  }
  return ResolveBoard(ref, *calendar_, auth_->Now(), ward, team);
}

absl::Status LeaderboardServiceImpl::DoGetLeaderboard(const grpc::ServerContext& context,
                                                      const v1::GetLeaderboardRequest& request,
                                                      v1::GetLeaderboardResponse* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->RequireAny(context));
  if (request.page_size() < 0 || request.page_size() > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must be 0 (default 20) to 100, got ", request.page_size()));
  }
  int64_t offset = 0;
  if (!request.page_token().empty() &&
      (!absl::SimpleAtoi(request.page_token(), &offset) || offset < 0 || offset > 100000000)) {
    return absl::InvalidArgumentError("page_token is not one this service returned");
  }
  const int64_t count = request.page_size() == 0 ? 20 : request.page_size();
  ASSIGN_OR_RETURN(ResolvedBoard board, Resolve(request.board(), claims));
  ASSIGN_OR_RETURN(BoardPage page, boards_->Page(board.board, offset, count));
  for (const RankedMember& m : page.members) ToEntry(m, claims.subject, response->add_entries());
  if (offset + count < page.total) response->set_next_page_token(absl::StrCat(offset + count));
  response->set_total_ranked(page.total);
  SetPeriod(board, response);
  return absl::OkStatus();
}

absl::Status LeaderboardServiceImpl::DoGetMyRank(const grpc::ServerContext& context,
                                                 const v1::GetMyRankRequest& request,
                                                 v1::GetMyRankResponse* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  if (request.neighbours() < 0 || request.neighbours() > 10) {
    return absl::InvalidArgumentError(
        absl::StrCat("neighbours must be 0 to 10, got ", request.neighbours()));
  }
  ASSIGN_OR_RETURN(ResolvedBoard board, Resolve(request.board(), claims));
  ASSIGN_OR_RETURN(RankWindow window,
                   boards_->Around(board.board, claims.subject, request.neighbours()));
  response->set_total_ranked(window.total);
  SetPeriod(board, response);
  if (!window.me) return absl::OkStatus();
  response->set_ranked(true);
  for (size_t i = 0; i < window.members.size(); ++i) {
    v1::BoardEntry* out = i < *window.me    ? response->add_above()
                          : i == *window.me ? response->mutable_me()
                                            : response->add_below();
    ToEntry(window.members[i], claims.subject, out);
  }
  return absl::OkStatus();
}

grpc::Status LeaderboardServiceImpl::GetLeaderboard(grpc::ServerContext* context,
                                                    const v1::GetLeaderboardRequest* request,
                                                    v1::GetLeaderboardResponse* response) {
  return ToGrpcStatus(DoGetLeaderboard(*context, *request, response));
}

grpc::Status LeaderboardServiceImpl::GetMyRank(grpc::ServerContext* context,
                                               const v1::GetMyRankRequest* request,
                                               v1::GetMyRankResponse* response) {
  return ToGrpcStatus(DoGetMyRank(*context, *request, response));
}

}  // namespace ecoact::leaderboard
