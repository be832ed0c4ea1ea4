// leaderboard_server: boards and their projector, for split deployments.
#include "services/leaderboard/leaderboard_module.h"

int main(int argc, char** argv) {
  return ecoact::RunServerMain(argc, argv, "leaderboards and their projector (leaderboard service alone)",
                               {ecoact::leaderboard::AddLeaderboardService});
}
