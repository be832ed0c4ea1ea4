// actions_server: the ledger service alone, for split deployments.
#include "services/actions/actions_module.h"

int main(int argc, char** argv) {
  return ecoact::RunServerMain(argc, argv, "actions_server: records actions in the ledger",
                               {ecoact::actions::AddActionsService});
}
