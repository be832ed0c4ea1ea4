// gRPC handlers of ecoact.v1.LeaderboardService.
#pragma once

#include <map>
#include <string>

#include "ecoact/v1/leaderboard.grpc.pb.h"
#include "services/common/call_context.h"
#include "services/common/periods.h"
#include "services/leaderboard/board_store.h"
#include "services/leaderboard/boards.h"

namespace ecoact::leaderboard {

struct LeaderboardOptions {
  // A ward/team/organisation citizen board with fewer ranked members shows
  // its total only (--board_min_members).
  int min_members = 5;
  // Ward id -> display name for group boards; a ward without one shows its id.
  std::map<std::string, std::string> ward_names;
};

class LeaderboardServiceImpl final : public v1::LeaderboardService::Service {
 public:
  LeaderboardServiceImpl(BoardStore* boards, RedisClient* redis, const KeySpace* keys,
                         const CityCalendar* calendar, const Authenticator* auth,
                         LeaderboardOptions options = {});

  grpc::Status GetLeaderboard(grpc::ServerContext* context,
                              const v1::GetLeaderboardRequest* request,
                              v1::GetLeaderboardResponse* response) override;
  grpc::Status GetMyRank(grpc::ServerContext* context, const v1::GetMyRankRequest* request,
                         v1::GetMyRankResponse* response) override;
  grpc::Status GetMyRanks(grpc::ServerContext* context, const v1::GetMyRanksRequest* request,
                          v1::GetMyRanksResponse* response) override;
  grpc::Status ListOutliers(grpc::ServerContext* context, const v1::ListOutliersRequest* request,
                            v1::ListOutliersResponse* response) override;

 private:
  // The caller's own groups (citizens only; empty for other roles).
  absl::StatusOr<OwnGroups> Own(const TokenClaims& claims);
  absl::Status DoGetLeaderboard(const grpc::ServerContext& context,
                                const v1::GetLeaderboardRequest& request,
                                v1::GetLeaderboardResponse* response);
  absl::Status DoGetMyRank(const grpc::ServerContext& context, const v1::GetMyRankRequest& request,
                           v1::GetMyRankResponse* response);
  absl::Status DoGetMyRanks(const grpc::ServerContext& context, v1::GetMyRanksResponse* response);
  absl::Status DoListOutliers(const grpc::ServerContext& context,
                              const v1::ListOutliersRequest& request,
                              v1::ListOutliersResponse* response);
  // The small-group rule (--board_min_members) of ward, team and
  // organisation citizen boards: their total, and whether only the total may
  // be shown given `ranked` members. Other boards: {0, false}.
  struct SmallGroupRule {
    int64_t board_total = 0;
    bool totals_only = false;
  };
  absl::StatusOr<SmallGroupRule> ApplySmallGroupRule(const ResolvedBoard& board, int64_t ranked);
  // Fills group_id, name, totals and active members of group board entries.
  absl::Status FillGroups(const ResolvedBoard& board, v1::Metric metric,
                          const std::vector<RankedMember>& members, const std::string& own,
                          v1::GetLeaderboardResponse* response);

  BoardStore* boards_;
  RedisClient* redis_;
  const KeySpace* keys_;
  const CityCalendar* calendar_;
  const Authenticator* auth_;
  LeaderboardOptions options_;
};

}  // namespace ecoact::leaderboard
