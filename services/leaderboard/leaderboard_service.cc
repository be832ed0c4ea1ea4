#include "services/leaderboard/leaderboard_service.h"

#include <cmath>

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
  out->set_is_me(!caller.empty() && m.account_id == caller);
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

template <typename Response>
void SetPageTokens(const BoardPage& page, int64_t count, Response* response) {
  // A partitioned board pages down to page.depth only (BoardStore): no
  // token leads past it, so a client following tokens never gets an error.
  auto reachable = [&](int64_t offset) { return page.depth == 0 || offset + count <= page.depth; };
  if (page.offset + count < page.total && reachable(page.offset + count)) {
    response->set_next_page_token(absl::StrCat(page.offset + count));
  }
  const int64_t prev = std::max<int64_t>(0, page.offset - count);
  if (page.offset > 0 && reachable(prev)) {
    response->set_prev_page_token(absl::StrCat(prev));
  }
}

struct PageRequest {
  int64_t offset = 0;
  int64_t count = 20;
};

absl::StatusOr<PageRequest> ParsePageRequest(const v1::GetLeaderboardRequest& request,
                                             const TokenClaims& claims) {
  if (request.page_size() < 0 || request.page_size() > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must be 0 (default 20) to 100, got ", request.page_size()));
  }
  PageRequest page;
  if (!request.page_token().empty() && (!absl::SimpleAtoi(request.page_token(), &page.offset) ||
                                        page.offset < 0 || page.offset > 100000000)) {
    return absl::InvalidArgumentError("page_token is not one this service returned");
  }
  if (request.around_me() && !request.page_token().empty()) {
    return absl::InvalidArgumentError(
        "around_me and page_token cannot be combined: around_me picks the page itself; page "
        "on with the tokens it returns");
  }
  if (request.around_me() && claims.role != v1::ROLE_CITIZEN) {
    return absl::InvalidArgumentError("around_me needs a citizen's token (only citizens rank)");
  }
  if (request.page_size() != 0) page.count = request.page_size();
  return page;
}

// The profile read is needed for the caller's own ward/team/organisation
// board, and to mark the caller's group on group boards; not otherwise.
bool NeedsOwnGroups(const v1::BoardRef& ref) {
  return ref.level() != v1::LEVEL_UNSPECIFIED ||
         (ref.scope_id().empty() &&
          (ref.scope() == v1::SCOPE_WARD || ref.scope() == v1::SCOPE_TEAM ||
           ref.scope() == v1::SCOPE_ORGANISATION));
}

absl::Status ValidateMyRankRequest(const v1::GetMyRankRequest& request) {
  if (request.neighbours() < 0 || request.neighbours() > 10) {
    return absl::InvalidArgumentError(
        absl::StrCat("neighbours must be 0 to 10, got ", request.neighbours()));
  }
  if (request.board().level() != v1::LEVEL_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "GetMyRank ranks citizens: use GetLeaderboard with around_me, or GetMyRanks, for group "
        "boards");
  }
  return absl::OkStatus();
}

struct OutlierQuery {
  std::string day;
  int64_t factor_permille = 5000;
  int64_t floor = 1000;
  int64_t limit = 100;
};

absl::StatusOr<OutlierQuery> ParseOutlierQuery(const v1::ListOutliersRequest& request,
                                               const CityCalendar& calendar, absl::Time now) {
  OutlierQuery query;
  query.day = request.day().empty() ? calendar.KeysAt(now).day : request.day();
  if (!request.day().empty()) {
    auto parsed = ParseCivilDay(request.day());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("day: ", parsed.status().message()));
    }
  }
  const double factor = request.factor() == 0 ? 5.0 : request.factor();
  if (!(factor >= 1.0 && factor <= 1000.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("factor must be 0 (default 5) or 1 to 1000, got ", request.factor()));
  }
  if (request.floor_co2e_grams() < 0) {
    return absl::InvalidArgumentError("floor_co2e_grams must be 0 (default 1000) or positive");
  }
  if (request.limit() < 0 || request.limit() > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must be 0 (default 100) to 1000, got ", request.limit()));
  }
  query.factor_permille = static_cast<int64_t>(std::llround(factor * 1000));
  if (request.floor_co2e_grams() != 0) query.floor = request.floor_co2e_grams();
  if (request.limit() != 0) query.limit = request.limit();
  return query;
}

void ToOutliersResponse(const OutlierReport& report, v1::ListOutliersResponse* response) {
  response->set_active_citizens(report.active);
  response->set_median_co2e_grams(report.median);
  response->set_threshold_co2e_grams(report.threshold);
  for (const OutlierRow& row : report.rows) {
    v1::Outlier* out = response->add_outliers();
    out->set_account_id(row.account_id);
    out->set_nickname(row.nickname);
    out->set_co2e_grams(row.score);
    out->set_ratio(report.median > 0 ? static_cast<double>(row.score) / report.median : 0.0);
  }
}

}  // namespace

LeaderboardServiceImpl::LeaderboardServiceImpl(BoardStore* boards, RedisClient* redis,
                                               const KeySpace* keys, const CityCalendar* calendar,
                                               const Authenticator* auth,
                                               LeaderboardOptions options)
    : boards_(boards),
      redis_(redis),
      keys_(keys),
      calendar_(calendar),
      auth_(auth),
      options_(std::move(options)) {}

absl::StatusOr<OwnGroups> LeaderboardServiceImpl::Own(const TokenClaims& claims) {
  if (claims.role != v1::ROLE_CITIZEN) return OwnGroups{};
  ASSIGN_OR_RETURN(MemberProfile profile, boards_->Profile(claims.subject, false));
  return OwnGroups{profile.ward, profile.team, profile.org};
}

absl::Status LeaderboardServiceImpl::FillGroups(const ResolvedBoard& board, v1::Metric metric,
                                                const std::vector<RankedMember>& members,
                                                const std::string& own,
                                                v1::GetLeaderboardResponse* response) {
  std::vector<std::string> ids;
  for (const RankedMember& m : members) ids.push_back(m.account_id);
  ASSIGN_OR_RETURN(std::vector<GroupInfo> groups,
                   boards_->Groups(board.group.tag, board.period_key, MetricField(metric), ids,
                                   options_.ward_names));
  for (size_t i = 0; i < members.size(); ++i) {
    v1::BoardEntry* out = response->add_entries();
    out->set_rank(members[i].rank);
    out->set_score(members[i].score);
    out->set_group_id(members[i].account_id);
    out->set_nickname(groups[i].name);
    out->set_active_members(groups[i].active);
    out->set_total(groups[i].total);
    out->set_is_me(!own.empty() && members[i].account_id == own);
  }
  return absl::OkStatus();
}

absl::StatusOr<LeaderboardServiceImpl::SmallGroupRule> LeaderboardServiceImpl::ApplySmallGroupRule(
    const ResolvedBoard& board, int64_t ranked) {
  SmallGroupRule rule;
  if (board.group_total_field.empty()) return rule;
  ASSIGN_OR_RETURN(rule.board_total,
                   boards_->GroupTotal(board.period_key, board.group_total_field));
  rule.totals_only = ranked < options_.min_members;
  return rule;
}

absl::Status LeaderboardServiceImpl::DoGetLeaderboard(const grpc::ServerContext& context,
                                                      const v1::GetLeaderboardRequest& request,
                                                      v1::GetLeaderboardResponse* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->RequireAny(context));
  ASSIGN_OR_RETURN(PageRequest page_request, ParsePageRequest(request, claims));
  OwnGroups own;
  if (NeedsOwnGroups(request.board())) {
    ASSIGN_OR_RETURN(own, Own(claims));
  }
  ASSIGN_OR_RETURN(ResolvedBoard board,
                   ResolveBoard(request.board(), *calendar_, auth_->Now(), own));
  const bool group_board = board.kind == BoardKind::kGroup;
  const std::string own_group = group_board ? OwnGroupAt(own, board.group.level) : "";
  const std::string centre =
      !request.around_me() ? "" : (group_board ? own_group : claims.subject);
  ASSIGN_OR_RETURN(BoardPage page, boards_->Page(board.board, page_request.offset,
                                                 page_request.count, centre, !group_board));
  response->set_total_ranked(page.total);
  SetPeriod(board, response);
  ASSIGN_OR_RETURN(SmallGroupRule small, ApplySmallGroupRule(board, page.total));
  response->set_board_total(small.board_total);
  if (small.totals_only) {
    response->set_totals_only(true);
    return absl::OkStatus();
  }
  if (group_board) {
    RETURN_IF_ERROR(FillGroups(board, request.board().metric(), page.members, own_group, response));
  } else {
    const std::string me = claims.role == v1::ROLE_CITIZEN ? claims.subject : "";
    for (const RankedMember& m : page.members) ToEntry(m, me, response->add_entries());
  }
  SetPageTokens(page, page_request.count, response);
  return absl::OkStatus();
}

absl::Status LeaderboardServiceImpl::DoGetMyRank(const grpc::ServerContext& context,
                                                 const v1::GetMyRankRequest& request,
                                                 v1::GetMyRankResponse* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  RETURN_IF_ERROR(ValidateMyRankRequest(request));
  OwnGroups own;
  if (NeedsOwnGroups(request.board())) {
    ASSIGN_OR_RETURN(own, Own(claims));
  }
  ASSIGN_OR_RETURN(ResolvedBoard board,
                   ResolveBoard(request.board(), *calendar_, auth_->Now(), own));
  ASSIGN_OR_RETURN(RankWindow window,
                   boards_->Around(board.board, claims.subject, request.neighbours()));
  response->set_total_ranked(window.total);
  SetPeriod(board, response);
  ASSIGN_OR_RETURN(SmallGroupRule small, ApplySmallGroupRule(board, window.total));
  response->set_board_total(small.board_total);
  response->set_totals_only(small.totals_only);
  if (!window.me) return absl::OkStatus();
  response->set_ranked(true);
  ToEntry(window.members[*window.me], claims.subject, response->mutable_me());
  // A small group's board is shown as a total only: no one else's entry.
  if (small.totals_only) return absl::OkStatus();
  for (size_t i = 0; i < window.members.size(); ++i) {
    if (i == *window.me) continue;
    ToEntry(window.members[i], claims.subject,
            i < *window.me ? response->add_above() : response->add_below());
  }
  return absl::OkStatus();
}

absl::Status LeaderboardServiceImpl::DoGetMyRanks(const grpc::ServerContext& context,
                                                  v1::GetMyRanksResponse* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  ASSIGN_OR_RETURN(MemberProfile profile, boards_->Profile(claims.subject, true));
  std::vector<MyBoard> mine =
      BoardsOfCitizen(OwnGroups{profile.ward, profile.team, profile.org}, profile.all_time,
                      *calendar_, auth_->Now());
  std::vector<std::pair<std::string, std::string>> lookups;
  for (const MyBoard& b : mine) {
    lookups.emplace_back(b.resolved.board, b.group_id.empty() ? claims.subject : b.group_id);
  }
  // Only the caller's own rank and score: never another member's entry.
  ASSIGN_OR_RETURN(std::vector<MemberRank> ranks, boards_->RanksOf(lookups));
  for (size_t i = 0; i < mine.size(); ++i) {
    v1::MyBoardRank* out = response->add_ranks();
    *out->mutable_board() = mine[i].ref;
    out->set_period_key(mine[i].resolved.period_key);
    out->set_group_id(mine[i].group_id);
    out->set_ranked(ranks[i].ranked);
    out->set_rank(ranks[i].rank);
    out->set_score(ranks[i].score);
    out->set_total_ranked(ranks[i].total);
    out->set_totals_only(!mine[i].resolved.group_total_field.empty() &&
                         ranks[i].total < options_.min_members);
  }
  return absl::OkStatus();
}

absl::Status LeaderboardServiceImpl::DoListOutliers(const grpc::ServerContext& context,
                                                    const v1::ListOutliersRequest& request,
                                                    v1::ListOutliersResponse* response) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  ASSIGN_OR_RETURN(OutlierQuery query, ParseOutlierQuery(request, *calendar_, auth_->Now()));
  ASSIGN_OR_RETURN(OutlierReport report,
                   boards_->Outliers(AuditBoardName(query.day), query.factor_permille,
                                     query.floor, query.limit));
  response->set_day(query.day);
  ToOutliersResponse(report, response);
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

grpc::Status LeaderboardServiceImpl::GetMyRanks(grpc::ServerContext* context,
                                                const v1::GetMyRanksRequest* /*request*/,
                                                v1::GetMyRanksResponse* response) {
  return ToGrpcStatus(DoGetMyRanks(*context, response));
}

grpc::Status LeaderboardServiceImpl::ListOutliers(grpc::ServerContext* context,
                                                  const v1::ListOutliersRequest* request,
                                                  v1::ListOutliersResponse* response) {
  return ToGrpcStatus(DoListOutliers(*context, *request, response));
}

}  // namespace ecoact::leaderboard
