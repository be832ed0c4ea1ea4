// identity_server: the identity service alone, for split deployments.
#include "services/common/assembly.h"
#include "services/identity/identity_module.h"

int main(int argc, char** argv) {
  return ecoact::RunServerMain(argc, argv, "accounts, profiles and tokens (identity service alone)",
                               {ecoact::identity::AddIdentityService});
}
