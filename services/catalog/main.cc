// catalog_server: the action catalogue alone, for split deployments.
#include "services/catalog/catalog_module.h"

int main(int argc, char** argv) {
  return ecoact::RunServerMain(argc, argv, "action types and emission factors (catalog service alone)",
                               {ecoact::catalog::AddCatalogService});
}
