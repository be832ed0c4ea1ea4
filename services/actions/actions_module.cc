#include "services/actions/actions_module.h"

#include "absl/flags/flag.h"
#include "services/actions/actions_service.h"
#include "services/actions/campaigns.h"
#include "services/rewards/badge_rules.h"
#include "services/catalog/catalog_flags.h"
#include "services/common/status_macros.h"

ABSL_FLAG(absl::Duration, idempotency_ttl, absl::Hours(24 * 8),
          "How long a request id is remembered; retries later than this record again. "
          "Keep it above --max_backdate so offline uploads stay safe to repeat");

ABSL_FLAG(std::string, badges_file, "",
          "Badge rules textproto (schema ecoact.rewardsfile.v1.BadgesFile) "
          "(env ECOACT_BADGES_FILE); empty = the rules built into the binary");

namespace ecoact::actions {

absl::Status AddActionsService(Assembly& assembly) {
  ASSIGN_OR_RETURN(catalog::CatalogConfig catalog_config, catalog::CatalogConfigFromFlags());
  ASSIGN_OR_RETURN(catalog::Catalog loaded, catalog::LoadCatalog(catalog_config, *assembly.calendar));
  auto* catalog = assembly.Keep(std::make_unique<catalog::Catalog>(std::move(loaded)));
  LedgerStoreOptions store_options;
  store_options.idempotency_ttl = absl::GetFlag(FLAGS_idempotency_ttl);
  if (store_options.idempotency_ttl < catalog_config.max_backdate) {
    return absl::InvalidArgumentError("--idempotency_ttl must be at least --max_backdate");
  }
  ASSIGN_OR_RETURN(rewards::BadgeRuleSet loaded_badges,
                   rewards::LoadBadgeRules(absl::GetFlag(FLAGS_badges_file)));
  auto* badges = assembly.Keep(std::make_unique<rewards::BadgeRuleSet>(std::move(loaded_badges)));
  auto* campaigns =
      assembly.Keep(std::make_unique<RedisCampaignSource>(assembly.redis, *assembly.keys));
  RecorderOptions recorder_options;
  recorder_options.max_backdate = catalog_config.max_backdate;
  recorder_options.period_retention = assembly.config->period_retention;
  auto* recorder = assembly.Keep(std::make_unique<ActionRecorder>(
      catalog, assembly.calendar, SystemClock(), recorder_options, badges, campaigns));
  auto* store = assembly.Keep(
      std::make_unique<RedisLedgerStore>(assembly.redis, *assembly.keys, store_options));
  auto* service =
      assembly.Keep(std::make_unique<ActionsServiceImpl>(recorder, store, assembly.auth));
  assembly.server->AddService(service, "ecoact.v1.ActionsService");
  return absl::OkStatus();
}

}  // namespace ecoact::actions
