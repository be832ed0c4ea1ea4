// surveys_server: questionnaires and their results alone, for split
// deployments.
#include "services/surveys/surveys_module.h"

int main(int argc, char** argv) {
  return ecoact::RunServerMain(argc, argv, "questionnaires and results (surveys service alone)",
                               {ecoact::surveys::AddSurveysService});
}
