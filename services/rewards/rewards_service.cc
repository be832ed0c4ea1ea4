#include "services/rewards/rewards_service.h"

#include "google/protobuf/util/time_util.h"
#include "services/common/grpc_status.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"
#include "services/rewards/badge_display.h"

namespace ecoact::rewards {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

}  // namespace

RewardsServiceImpl::RewardsServiceImpl(RewardStore* store, const CityCalendar* calendar,
                                       const Authenticator* auth, RewardsOptions options)
    : store_(store), calendar_(calendar), auth_(auth), options_(std::move(options)) {}

absl::Status RewardsServiceImpl::DoListBadges(const grpc::ServerContext& context,
                                              v1::ListBadgesResponse* response) {
  RETURN_IF_ERROR(auth_->RequireAny(context).status());
  ASSIGN_OR_RETURN(std::vector<CampaignDefinition> campaigns, store_->ListCampaigns());
  // The file's badges in file order, then each campaign's reward badge.
  for (const BadgeRule& rule : options_.badge_rules.rules()) {
    *response->add_badges() = BadgeDisplay(rule);
  }
  for (const CampaignDefinition& c : campaigns) {
    if (c.RewardBadgeId().empty()) continue;
    *response->add_badges() = BadgeDisplay(CampaignBadge(c));
  }
  return absl::OkStatus();
}

absl::Status RewardsServiceImpl::DoListMyBadges(const grpc::ServerContext& context,
                                                v1::ListMyBadgesResponse* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  ASSIGN_OR_RETURN(std::vector<StoredAward> awards, store_->Awards(claims.subject));
  ASSIGN_OR_RETURN(std::vector<CampaignDefinition> campaigns, store_->ListCampaigns());
  for (const StoredAward& award : awards) {
    v1::BadgeAward* out = response->add_badges();
    out->set_badge_id(award.badge_id);
    out->set_title(award.badge_id);  // a badge since removed from the rules keeps its id
    if (std::optional<v1::Badge> badge =
            DescribeBadge(award.badge_id, &options_.badge_rules, campaigns)) {
      out->set_title(badge->title());
      out->set_description(badge->description());
    }
    *out->mutable_awarded_at() = ToProto(absl::FromUnixMillis(award.at_ms));
    out->set_entry_id(award.entry_id);
  }
  return absl::OkStatus();
}

absl::Status RewardsServiceImpl::DoGetMyStreak(const grpc::ServerContext& context,
                                               v1::Streak* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  ASSIGN_OR_RETURN(StreakState state, store_->Streak(claims.subject));
  *response = StreakView(state, auth_->Now(), *calendar_);
  return absl::OkStatus();
}

absl::Status RewardsServiceImpl::DoCreateCampaign(const grpc::ServerContext& context,
                                                  const v1::CreateCampaignRequest& request,
                                                  v1::Campaign* response) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  const absl::Time now = auth_->Now();
  ASSIGN_OR_RETURN(CampaignDefinition campaign,
                   ValidateCampaign(request, options_.action_types, now));
  ASSIGN_OR_RETURN(CampaignDefinition stored,
                   store_->CreateCampaign(campaign, CampaignFingerprint(request)));
  if (options_.on_campaign_created) options_.on_campaign_created();
  *response = CampaignToProto(stored, now);
  return absl::OkStatus();
}

absl::Status RewardsServiceImpl::DoListCampaigns(const grpc::ServerContext& context,
                                                 const v1::ListCampaignsRequest& request,
                                                 v1::ListCampaignsResponse* response) {
  RETURN_IF_ERROR(auth_->RequireAny(context).status());
  if (!v1::CampaignState_IsValid(request.state())) {
    return absl::InvalidArgumentError("state must be UPCOMING, RUNNING, ENDED or unspecified");
  }
  ASSIGN_OR_RETURN(std::vector<CampaignDefinition> campaigns, store_->ListCampaigns());
  const absl::Time now = auth_->Now();
  for (const CampaignDefinition& c : campaigns) {
    v1::Campaign campaign = CampaignToProto(c, now);
    if (request.state() != v1::CAMPAIGN_STATE_UNSPECIFIED && campaign.state() != request.state()) {
      continue;
    }
    *response->add_campaigns() = std::move(campaign);
  }
  return absl::OkStatus();
}

namespace {

// A sum in the campaign's metric (CO2 when it has none).
int64_t InMetric(const CampaignDefinition& c, const CampaignSums& sums) {
  return c.metric == "pts" ? sums.pts : sums.co2;
}

}  // namespace

absl::Status RewardsServiceImpl::DoGetCampaignProgress(
    const grpc::ServerContext& context, const v1::GetCampaignProgressRequest& request,
    v1::CampaignProgress* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->RequireAny(context));
  RETURN_IF_ERROR(ValidateSlug("campaign_id", request.campaign_id(), 2, 32));
  ASSIGN_OR_RETURN(CampaignDefinition c, store_->GetCampaign(request.campaign_id()));
  ASSIGN_OR_RETURN(CampaignSums everyone, store_->CollectiveSums(c.id));
  *response->mutable_campaign() = CampaignToProto(c, auth_->Now());
  response->set_collective_co2e_grams(everyone.co2);
  response->set_collective_points(everyone.pts);
  response->set_participants(everyone.participants);
  response->set_collective_permille(Permille(InMetric(c, everyone), c.collective_target));
  if (claims.role != v1::ROLE_CITIZEN) return absl::OkStatus();
  return FillMyProgress(claims.subject, c, response);
}

absl::Status RewardsServiceImpl::FillMyProgress(const std::string& account_id,
                                                const CampaignDefinition& c,
                                                v1::CampaignProgress* response) {
  ASSIGN_OR_RETURN(CampaignSums mine, store_->AccountSums(account_id, c.id));
  response->set_my_co2e_grams(mine.co2);
  response->set_my_points(mine.pts);
  response->set_my_permille(Permille(InMetric(c, mine), c.individual_target));
  if (c.RewardBadgeId().empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<StoredAward> awards, store_->Awards(account_id));
  for (const StoredAward& a : awards) {
    if (a.badge_id == c.RewardBadgeId()) response->set_my_badge_earned(true);
  }
  return absl::OkStatus();
}

grpc::Status RewardsServiceImpl::ListBadges(grpc::ServerContext* context,
                                            const v1::ListBadgesRequest*,
                                            v1::ListBadgesResponse* response) {
  return ToGrpcStatus(DoListBadges(*context, response));
}
grpc::Status RewardsServiceImpl::ListMyBadges(grpc::ServerContext* context,
                                              const v1::ListMyBadgesRequest*,
                                              v1::ListMyBadgesResponse* response) {
  return ToGrpcStatus(DoListMyBadges(*context, response));
}
grpc::Status RewardsServiceImpl::GetMyStreak(grpc::ServerContext* context,
                                             const v1::GetMyStreakRequest*, v1::Streak* response) {
  return ToGrpcStatus(DoGetMyStreak(*context, response));
}
grpc::Status RewardsServiceImpl::CreateCampaign(grpc::ServerContext* context,
                                                const v1::CreateCampaignRequest* request,
                                                v1::Campaign* response) {
  return ToGrpcStatus(DoCreateCampaign(*context, *request, response));
}
grpc::Status RewardsServiceImpl::ListCampaigns(grpc::ServerContext* context,
                                               const v1::ListCampaignsRequest* request,
                                               v1::ListCampaignsResponse* response) {
  return ToGrpcStatus(DoListCampaigns(*context, *request, response));
}
grpc::Status RewardsServiceImpl::GetCampaignProgress(grpc::ServerContext* context,
                                                     const v1::GetCampaignProgressRequest* request,
                                                     v1::CampaignProgress* response) {
  return ToGrpcStatus(DoGetCampaignProgress(*context, *request, response));
}

}  // namespace ecoact::rewards
