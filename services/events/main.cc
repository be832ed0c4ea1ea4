// events_server: collection drives and points alone, for split deployments.
#include "services/events/events_module.h"

int main(int argc, char** argv) {
  return ecoact::RunServerMain(argc, argv,
                               "collection drives and points (events service alone)",
                               {ecoact::events::AddEventsService});
}
