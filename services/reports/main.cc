// reports_server: impact reports, CSV exports and the reports projector
// alone, for split deployments.
#include "services/reports/reports_module.h"

int main(int argc, char** argv) {
  return ecoact::RunServerMain(argc, argv, "impact reports and CSV exports (reports service alone)",
                               {ecoact::reports::AddReportsService});
}
