// gRPC handlers of ecoact.v1.LeaderboardService.
#pragma once

#include "ecoact/v1/leaderboard.grpc.pb.h"
#include "services/common/call_context.h"
#include "services/common/periods.h"
#include "services/leaderboard/board_store.h"
#include "services/leaderboard/boards.h"

namespace ecoact::leaderboard {

class LeaderboardServiceImpl final : public v1::LeaderboardService::Service {
 public:
  LeaderboardServiceImpl(BoardStore* boards, RedisClient* redis, const KeySpace* keys,
                         const CityCalendar* calendar, const Authenticator* auth);

  grpc::Status GetLeaderboard(grpc::ServerContext* context,
                              const v1::GetLeaderboardRequest* request,
                              v1::GetLeaderboardResponse* response) override;
  grpc::Status GetMyRank(grpc::ServerContext* context, const v1::GetMyRankRequest* request,
                         v1::GetMyRankResponse* response) override;

 private:
  absl::StatusOr<ResolvedBoard> Resolve(const v1::BoardRef& ref, const TokenClaims& claims);
  absl::Status DoGetLeaderboard(const grpc::ServerContext& context,
                                const v1::GetLeaderboardRequest& request,
                                v1::GetLeaderboardResponse* response);
  absl::Status DoGetMyRank(const grpc::ServerContext& context, const v1::GetMyRankRequest& request,
                           v1::GetMyRankResponse* response);

  BoardStore* boards_;
  RedisClient* redis_;
  const KeySpace* keys_;
  const CityCalendar* calendar_;
  const Authenticator* auth_;
};

}  // namespace ecoact::leaderboard
