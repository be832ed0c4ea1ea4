#include "services/actions/actions_module.h"

#include "absl/flags/flag.h"
#include "services/actions/actions_service.h"
#include "services/actions/campaigns.h"
#include "services/common/log.h"
#include "services/common/status_macros.h"
#include "services/rewards/badge_flags.h"

ABSL_FLAG(absl::Duration, idempotency_ttl, absl::Hours(24 * 8),
          "How long a request id is remembered; retries later than this record again. "
          "Keep it above --max_backdate so offline uploads stay safe to repeat");

namespace ecoact::actions {

absl::StatusOr<RecordingKit> BuildRecordingKit(Assembly& assembly) {
  RecordingKit kit;
  ASSIGN_OR_RETURN(kit.catalog_config, catalog::CatalogConfigFromFlags());
  ASSIGN_OR_RETURN(catalog::Catalog loaded,
                   catalog::LoadCatalog(kit.catalog_config, *assembly.calendar));
  kit.catalog = assembly.Keep(std::make_unique<catalog::Catalog>(std::move(loaded)));
  LedgerStoreOptions store_options;
  store_options.idempotency_ttl = absl::GetFlag(FLAGS_idempotency_ttl);
  if (store_options.idempotency_ttl < kit.catalog_config.max_backdate) {
    return absl::InvalidArgumentError("--idempotency_ttl must be at least --max_backdate");
  }
  ASSIGN_OR_RETURN(rewards::BadgeRuleSet loaded_badges, rewards::BadgeRulesFromFlags());
  auto* badges = assembly.Keep(std::make_unique<rewards::BadgeRuleSet>(std::move(loaded_badges)));
  auto* campaigns =
      assembly.Keep(std::make_unique<RedisCampaignSource>(assembly.redis, *assembly.keys));
  assembly.campaign_listeners.push_back([campaigns] {
    absl::Status reloaded = campaigns->Invalidate();
    if (!reloaded.ok()) {
      LogWarning("campaign cache: reload failed, the periodic refresh will retry",
                 {{"reason", std::string(reloaded.message())}});
    }
  });
  RecorderOptions recorder_options;
  recorder_options.max_backdate = kit.catalog_config.max_backdate;
  recorder_options.period_retention = assembly.config->period_retention;
  kit.recorder = assembly.Keep(std::make_unique<ActionRecorder>(
      kit.catalog, assembly.calendar, SystemClock(), recorder_options, badges, campaigns));
  kit.ledger = assembly.Keep(
      std::make_unique<RedisLedgerStore>(assembly.redis, *assembly.keys, store_options));
  return kit;
}

absl::Status AddActionsService(Assembly& assembly) {
  ASSIGN_OR_RETURN(RecordingKit kit, BuildRecordingKit(assembly));
  auto* service = assembly.Keep(std::make_unique<ActionsServiceImpl>(
      kit.recorder, kit.ledger, assembly.auth));
  assembly.server->AddService(service, "ecoact.v1.ActionsService");
  return absl::OkStatus();
}

}  // namespace ecoact::actions
