// ecoact.v1.RewardsService: badges, streaks and campaigns (thin handlers).
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "ecoact/v1/rewards.grpc.pb.h"
#include "services/common/call_context.h"
#include "services/common/periods.h"
#include "services/rewards/badge_rules.h"
#include "services/rewards/reward_store.h"

namespace ecoact::rewards {

struct RewardsOptions {
  // The catalogue's action type ids, for campaign validation.
  std::set<std::string> action_types;
  // The badge rules file (the same rules the actions service awards).
  BadgeRuleSet badge_rules;
  // Called after a campaign was created, so that this process's campaign
  // cache applies it at once.
  std::function<void()> on_campaign_created;
};

class RewardsServiceImpl final : public v1::RewardsService::Service {
 public:
  RewardsServiceImpl(RewardStore* store, const CityCalendar* calendar, const Authenticator* auth,
                     RewardsOptions options);

  grpc::Status ListBadges(grpc::ServerContext*, const v1::ListBadgesRequest*,
                          v1::ListBadgesResponse*) override;
  grpc::Status ListMyBadges(grpc::ServerContext*, const v1::ListMyBadgesRequest*,
                            v1::ListMyBadgesResponse*) override;
  grpc::Status GetMyStreak(grpc::ServerContext*, const v1::GetMyStreakRequest*,
                           v1::Streak*) override;
  grpc::Status CreateCampaign(grpc::ServerContext*, const v1::CreateCampaignRequest*,
                              v1::Campaign*) override;
  grpc::Status ListCampaigns(grpc::ServerContext*, const v1::ListCampaignsRequest*,
                             v1::ListCampaignsResponse*) override;
  grpc::Status GetCampaignProgress(grpc::ServerContext*, const v1::GetCampaignProgressRequest*,
                                   v1::CampaignProgress*) override;

 private:
  absl::Status DoListBadges(const grpc::ServerContext& context, v1::ListBadgesResponse* response);
  absl::Status DoListMyBadges(const grpc::ServerContext& context,
                              v1::ListMyBadgesResponse* response);
  absl::Status DoGetMyStreak(const grpc::ServerContext& context, v1::Streak* response);
  absl::Status DoCreateCampaign(const grpc::ServerContext& context,
                                const v1::CreateCampaignRequest& request, v1::Campaign* response);
  absl::Status DoListCampaigns(const grpc::ServerContext& context,
                               const v1::ListCampaignsRequest& request,
                               v1::ListCampaignsResponse* response);
  absl::Status DoGetCampaignProgress(const grpc::ServerContext& context,
                                     const v1::GetCampaignProgressRequest& request,
                                     v1::CampaignProgress* response);
  // The citizen's own sums, permille and reward badge.
  absl::Status FillMyProgress(const std::string& account_id, const CampaignDefinition& campaign,
                              v1::CampaignProgress* response);

  RewardStore* store_;
  const CityCalendar* calendar_;
  const Authenticator* auth_;
  RewardsOptions options_;
};

}  // namespace ecoact::rewards
