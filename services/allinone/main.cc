// ecoact_server: every service in one process on one port — the default for
// a single machine, a pilot or a developer laptop.
#include "services/actions/actions_module.h"
#include "services/catalog/catalog_module.h"
#include "services/events/events_module.h"
#include "services/identity/identity_module.h"
#include "services/leaderboard/leaderboard_module.h"
#include "services/reports/reports_module.h"
#include "services/rewards/rewards_module.h"
#include "services/surveys/surveys_module.h"

int main(int argc, char** argv) {
  return ecoact::RunServerMain(
      argc, argv, "identity, catalog, actions, leaderboard, events, rewards, surveys and reports services on one port",
      {ecoact::identity::AddIdentityService, ecoact::catalog::AddCatalogService,
       ecoact::actions::AddActionsService, ecoact::leaderboard::AddLeaderboardService,
       ecoact::events::AddEventsService, ecoact::rewards::AddRewardsService,
       ecoact::surveys::AddSurveysService, ecoact::reports::AddReportsService});
}
