#include "services/rewards/rewards_module.h"

#include "services/catalog/catalog_flags.h"
#include "services/common/status_macros.h"
#include "services/rewards/badge_flags.h"
#include "services/rewards/rewards_service.h"

namespace ecoact::rewards {

absl::Status AddRewardsService(Assembly& assembly) {
  ASSIGN_OR_RETURN(catalog::CatalogConfig catalog_config, catalog::CatalogConfigFromFlags());
  ASSIGN_OR_RETURN(catalog::Catalog catalog,
                   catalog::LoadCatalog(catalog_config, *assembly.calendar));
  RewardsOptions options;
  for (const auto& type : catalog.types()) options.action_types.insert(type.id);
  ASSIGN_OR_RETURN(BadgeRuleSet rules, BadgeRulesFromFlags());
  options.badge_rules = std::move(rules);
  options.on_campaign_created = [&assembly] { assembly.CampaignsChanged(); };
  auto* store = assembly.Keep(std::make_unique<RewardStore>(assembly.redis, *assembly.keys));
  auto* service = assembly.Keep(std::make_unique<RewardsServiceImpl>(
      store, assembly.calendar, assembly.auth, std::move(options)));
  assembly.server->AddService(service, "ecoact.v1.RewardsService");
  return absl::OkStatus();
}

}  // namespace ecoact::rewards
