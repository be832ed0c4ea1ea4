#include "services/catalog/catalog_module.h"

#include "services/catalog/catalog_flags.h"
#include "services/catalog/catalog_service.h"
#include "services/common/status_macros.h"

namespace ecoact::catalog {

absl::Status AddCatalogService(Assembly& assembly) {
  ASSIGN_OR_RETURN(CatalogConfig config, CatalogConfigFromFlags());
  ASSIGN_OR_RETURN(Catalog loaded, LoadCatalog(config, *assembly.calendar));
  auto* catalog = assembly.Keep(std::make_unique<Catalog>(std::move(loaded)));
  auto* service = assembly.Keep(
      std::make_unique<CatalogServiceImpl>(catalog, assembly.auth, config.max_backdate));
  assembly.server->AddService(service, "ecoact.v1.CatalogService");
  return absl::OkStatus();
}

}  // namespace ecoact::catalog
