#include "services/surveys/surveys_module.h"

#include "services/surveys/surveys_service.h"

namespace ecoact::surveys {

absl::Status AddSurveysService(Assembly& assembly) {
  auto* store = assembly.Keep(
      std::make_unique<SurveyStore>(assembly.redis, assembly.keys->prefix()));
  auto* events = assembly.Keep(
      std::make_unique<events::EventStore>(assembly.redis, assembly.keys->prefix()));
  auto* service = assembly.Keep(std::make_unique<SurveysServiceImpl>(
      store, events, assembly.redis, assembly.keys, assembly.auth, SurveysOptions{}));
  assembly.server->AddService(service, "ecoact.v1.SurveysService");
  return absl::OkStatus();
}

}  // namespace ecoact::surveys
