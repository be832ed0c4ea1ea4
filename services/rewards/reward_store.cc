#include "services/rewards/reward_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "rewards_lua.h"
#include "services/common/status_macros.h"

namespace ecoact::rewards {
namespace {

const LuaScript& CreateCampaignScript() {
  static const LuaScript script("create_campaign", embedded::kCreateCampaignLua);
  return script;
}

int64_t IntOrZero(const RedisValue& value) {
  int64_t out = 0;
  if (!value.IsNil()) (void)absl::SimpleAtoi(value.str, &out);
  return out;
}

}  // namespace

absl::StatusOr<CampaignDefinition> RewardStore::CreateCampaign(const CampaignDefinition& campaign,
                                                               const std::string& fingerprint) {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Eval(CreateCampaignScript(), {keys_.Campaigns()},
                                {campaign.id, CampaignToJson(campaign, fingerprint), fingerprint}));
  if (reply.elements.empty()) return absl::InternalError("create_campaign: empty reply");
  const std::string& outcome = reply.elements[0].str;
  if (outcome == "exists") {
    return absl::AlreadyExistsError(absl::StrCat(
        "campaign \"", campaign.id, "\" already exists (created by another request); "
        "pick another id"));
  }
  if (reply.elements.size() < 2) return absl::InternalError("create_campaign: short reply");
  return CampaignFromJson(reply.elements[1].str);
}

absl::StatusOr<std::vector<CampaignDefinition>> RewardStore::ListCampaigns() {
  ASSIGN_OR_RETURN(RedisValue reply, redis_->Command({"HVALS", keys_.Campaigns()}));
  std::vector<CampaignDefinition> campaigns;
  for (const RedisValue& value : reply.elements) {
    ASSIGN_OR_RETURN(CampaignDefinition c, CampaignFromJson(value.str));
    campaigns.push_back(std::move(c));
  }
  std::sort(campaigns.begin(), campaigns.end(),
            [](const CampaignDefinition& a, const CampaignDefinition& b) {
              return a.starts_at != b.starts_at ? a.starts_at > b.starts_at : a.id < b.id;
            });
  return campaigns;
}

absl::StatusOr<CampaignDefinition> RewardStore::GetCampaign(const std::string& id) {
  ASSIGN_OR_RETURN(RedisValue reply, redis_->Command({"HGET", keys_.Campaigns(), id}));
  if (reply.IsNil()) {
    return absl::NotFoundError(
        absl::StrCat("no campaign \"", id, "\" (see RewardsService.ListCampaigns)"));
  }
  return CampaignFromJson(reply.str);
}

absl::StatusOr<CampaignSums> RewardStore::CollectiveSums(const std::string& campaign_id) {
  std::vector<std::vector<std::string>> reads;
  for (int shard = 0; shard < keys_.shards(); ++shard) {
    reads.push_back({"HMGET", keys_.Aggregate(shard, "all"), "co2@c:" + campaign_id,
                     "pts@c:" + campaign_id, "act@c:" + campaign_id});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(reads));
  CampaignSums sums;
  for (const RedisValue& reply : replies) {
    if (reply.IsError()) return RedisErrorToStatus("campaign progress", reply.str);
    if (reply.elements.size() != 3) return absl::InternalError("HMGET: short reply");
    sums.co2 += IntOrZero(reply.elements[0]);
    sums.pts += IntOrZero(reply.elements[1]);
    sums.participants += IntOrZero(reply.elements[2]);
  }
  return sums;
}

absl::StatusOr<CampaignSums> RewardStore::AccountSums(const std::string& account_id,
                                                      const std::string& campaign_id) {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Command({"HMGET", keys_.Totals(account_id, "all"),
                                    "co2@c:" + campaign_id, "pts@c:" + campaign_id}));
  if (reply.elements.size() != 2) return absl::InternalError("HMGET: short reply");
  CampaignSums sums;
  sums.co2 = IntOrZero(reply.elements[0]);
  sums.pts = IntOrZero(reply.elements[1]);
  sums.participants = sums.co2 != 0 || sums.pts != 0 ? 1 : 0;
  return sums;
}

absl::StatusOr<std::vector<StoredAward>> RewardStore::Awards(const std::string& account_id) {
  ASSIGN_OR_RETURN(RedisValue reply, redis_->Command({"HGETALL", keys_.Badges(account_id)}));
  std::vector<std::string> flat;
  for (const RedisValue& v : reply.elements) flat.push_back(v.str);
  return DecodeAwards(flat);
}

absl::StatusOr<StreakState> RewardStore::Streak(const std::string& account_id) {
  ASSIGN_OR_RETURN(RedisValue reply,
                   redis_->Command({"HMGET", keys_.Streak(account_id), "last", "cur", "best"}));
  StreakState state;
  if (reply.elements.size() != 3 || reply.elements[0].IsNil()) return state;
  state.last = IntOrZero(reply.elements[0]);
  state.cur = IntOrZero(reply.elements[1]);
  state.best = IntOrZero(reply.elements[2]);
  return state;
}

}  // namespace ecoact::rewards
