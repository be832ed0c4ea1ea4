// rewards_server: badges, streaks and campaigns alone, for split deployments.
#include "services/rewards/rewards_module.h"

int main(int argc, char** argv) {
  return ecoact::RunServerMain(argc, argv, "badges, streaks and campaigns (rewards service alone)",
                               {ecoact::rewards::AddRewardsService});
}
