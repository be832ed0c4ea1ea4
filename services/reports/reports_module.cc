#include "services/reports/reports_module.h"

#include <unistd.h>

#include <algorithm>

#include "absl/flags/flag.h"
#include "services/catalog/catalog_flags.h"
#include "services/catalog/equivalents.h"
#include "services/common/status_macros.h"
#include "services/identity/accounts.h"
#include "services/identity/identity_flags.h"
#include "services/leaderboard/leaderboard_module.h"
#include "services/reports/report_projector.h"
#include "services/reports/reports_service.h"

ABSL_FLAG(bool, reports_projector, true,
          "Run the reports projector in this process (one active at a time, by lease)");
ABSL_FLAG(std::string, reports_consumer, "",
          "Consumer name of the reports projector in the ledger's \"reports\" group; stable "
          "across restarts of the same replica and unique per process (two processes on one "
          "host need different names). Empty: the host name followed by -reports");
ABSL_FLAG(int, reports_projector_batch, 1000, "Ledger entries read per reports projector cycle");

namespace ecoact::reports {

absl::Status AddReportsService(Assembly& assembly) {
  ASSIGN_OR_RETURN(catalog::CatalogConfig catalog_config, catalog::CatalogConfigFromFlags());
  ASSIGN_OR_RETURN(catalog::Catalog catalog,
                   catalog::LoadCatalog(catalog_config, *assembly.calendar));
  auto* kept_catalog = assembly.Keep(std::make_unique<catalog::Catalog>(std::move(catalog)));
  ReportsOptions options;
  {
    auto equivalents = catalog::ParseEquivalents(catalog::EmbeddedEquivalentsText());
    if (!equivalents.ok()) {
      return absl::Status(equivalents.status().code(),
                          absl::StrCat("built-in equivalents: ", equivalents.status().message()));
    }
    options.equivalents = *std::move(equivalents);
  }
  ASSIGN_OR_RETURN(identity::IdentityConfig identity_config, identity::IdentityConfigFromFlags());
  ASSIGN_OR_RETURN(identity::WardDirectory wards,
                   identity::WardDirectory::Parse(identity_config.wards));
  for (const auto& ward : wards.wards()) options.ward_names[ward.id] = ward.name;
  // The boards' small-group rule, one setting for both.
  ASSIGN_OR_RETURN(leaderboard::LeaderboardOptions board_options,
                   leaderboard::LeaderboardOptionsFromFlags());
  options.min_members = board_options.min_members;
  auto* store = assembly.Keep(std::make_unique<ReportStore>(assembly.redis, assembly.keys));
  auto* events = assembly.Keep(
      std::make_unique<events::EventStore>(assembly.redis, assembly.keys->prefix()));
  auto* service = assembly.Keep(std::make_unique<ReportsServiceImpl>(
      store, events, assembly.redis, assembly.keys, assembly.calendar, kept_catalog,
      assembly.auth, std::move(options)));
  assembly.server->AddService(service, "ecoact.v1.ReportsService");
  if (!absl::GetFlag(FLAGS_reports_projector)) return absl::OkStatus();
  ReportProjectorOptions projector_options;
  projector_options.batch = absl::GetFlag(FLAGS_reports_projector_batch);
  if (projector_options.batch < 1 || projector_options.batch > 100000) {
    return absl::InvalidArgumentError("--reports_projector_batch must be in [1, 100000]");
  }
  projector_options.consumer = absl::GetFlag(FLAGS_reports_consumer);
  if (projector_options.consumer.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    projector_options.consumer = absl::StrCat(host[0] ? host : "projector", "-reports");
  }
  projector_options.block =
      std::min(absl::Milliseconds(500), assembly.config->redis.command_timeout / 2);
  // Its blocking reads get a connection of their own, as the leaderboard
  // projector's do.
  RedisOptions projector_redis = assembly.config->redis;
  projector_redis.mode = RedisMode::kPool;
  projector_redis.pool_size = 1;
  auto* redis = assembly.Keep(std::make_unique<RedisClient>(projector_redis));
  auto* projector = assembly.Keep(std::make_unique<ReportProjector>(
      redis, assembly.keys, assembly.calendar, projector_options));
  assembly.server->AddWorker(projector);
  return absl::OkStatus();
}

}  // namespace ecoact::reports
