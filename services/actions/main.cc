// actions_server: the ledger service alone, for split deployments.
#include "services/actions/actions_module.h"

int main(int argc, char** argv) {
  return ecoact::RunServerMain(argc, argv, "the ledger of actions (actions service alone)",
                               {ecoact::actions::AddActionsService});
}
