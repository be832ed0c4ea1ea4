#include "services/events/events_module.h"

#include "absl/flags/flag.h"
#include "services/actions/actions_module.h"
#include "services/common/status_macros.h"
#include "services/events/events_service.h"
#include "services/identity/accounts.h"
#include "services/identity/identity_flags.h"

ABSL_FLAG(double, max_weigh_in_kg, 100,
          "Heaviest single weigh-in accepted at a collection drive, in kg");
ABSL_FLAG(absl::Duration, check_in_code_lifetime, absl::Minutes(10),
          "How long a citizen's check-in QR code stays valid");

namespace ecoact::events {

absl::Status AddEventsService(Assembly& assembly) {
  ASSIGN_OR_RETURN(actions::RecordingKit kit, actions::BuildRecordingKit(assembly));
  ASSIGN_OR_RETURN(identity::IdentityConfig identity_config, identity::IdentityConfigFromFlags());
  ASSIGN_OR_RETURN(identity::WardDirectory wards,
                   identity::WardDirectory::Parse(identity_config.wards));
  EventsOptions options;
  for (const auto& ward : wards.wards()) options.wards.push_back(ward.id);
  const double max_kg = absl::GetFlag(FLAGS_max_weigh_in_kg);
  if (!(max_kg > 0 && max_kg <= 1000)) {
    return absl::InvalidArgumentError("--max_weigh_in_kg must be in (0, 1000]");
  }
  options.rules.max_grams_per_entry = static_cast<int64_t>(max_kg * 1000);
  const absl::Duration code_lifetime = absl::GetFlag(FLAGS_check_in_code_lifetime);
  if (code_lifetime < absl::Seconds(30) || code_lifetime > absl::Hours(24)) {
    return absl::InvalidArgumentError("--check_in_code_lifetime must be 30s to 24h");
  }
  // Check-in codes are signed under the token key, with their own label.
  auto* codes = assembly.Keep(std::make_unique<CheckInCodes>(
      "checkin:" + assembly.config->server_secret, code_lifetime));
  auto* store = assembly.Keep(
      std::make_unique<EventStore>(assembly.redis, assembly.keys->prefix()));
  auto* boards = assembly.Keep(
      std::make_unique<leaderboard::BoardStore>(assembly.redis, *assembly.keys));
  auto* service = assembly.Keep(std::make_unique<EventsServiceImpl>(
      store, kit.ledger, kit.recorder, kit.catalog, boards, assembly.redis, assembly.keys, codes,
      assembly.auth, options));
  assembly.server->AddService(service, "ecoact.v1.EventsService");
  return absl::OkStatus();
}

}  // namespace ecoact::events
