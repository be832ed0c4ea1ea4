// `ecoact demo`: seeds the demo pilot (cli/demo.h) as the signed-in admin,
// through the same server and TLS options as every other command.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/cli.h"
#include "cli/demo.h"

namespace ecoact::cli {

int Demo(Client& client, const Invocation& in) {
  // The admin signs in with `ecoact login` like for every admin command; a
  // cheap call renews an expired access token with the refresh token.
  v1::Profile profile;
  if (!client.Call(Auth::kToken, [&](grpc::ClientContext* c) {
        return client.identity().GetMyProfile(c, v1::GetMyProfileRequest(), &profile);
      })) {
    return kExitError;
  }
  if (profile.role() != v1::ROLE_ADMIN) {
    Client::Fail("the demo is seeded by an admin: ecoact login --account=admin first");
    return kExitError;
  }
  demo::DemoOptions options;
  options.citizens = in.Int("citizens", options.citizens);
  options.seed = static_cast<uint64_t>(in.Int("seed", 1));
  options.days = in.Int("days", options.days);
  options.parallel = in.Int("parallel", options.parallel);
  options.admin_token = client.session()->token;
  options.progress = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  absl::StatusOr<demo::DemoSummary> summary = demo::RunDemo(client.channels(), options);
  if (!summary.ok()) {
    Client::Fail(absl::StrCat("demo: ", summary.status().message()));
    return kExitError;
  }
  const demo::DemoSummary& s = *summary;
  std::printf("\nDemo pilot seeded in %.1f s (seed %llu):\n", absl::ToDoubleSeconds(s.elapsed),
              static_cast<unsigned long long>(options.seed));
  PrintTable({
      {"citizens", absl::StrCat(s.citizens, " in 7 wards")},
      {"organisations, teams", absl::StrCat(s.organisations, ", ", s.teams)},
      {"actions", absl::StrFormat("%d (%d new, %d replayed), %.0f actions/s", s.actions,
                                  s.actions_new, s.actions - s.actions_new,
                                  s.actions_per_second)},
      {"drives", absl::StrCat(s.drive_ids[0], " (closed), ", s.drive_ids[1], " (open)")},
      {"check-ins, weigh-ins",
       absl::StrCat(s.check_ins, ", ", s.weigh_ins, " (", s.weigh_ins_new, " new)")},
      {"campaign", s.campaign_id},
      {"survey", absl::StrCat(s.survey_id, ", ", s.survey_responses, " responses")},
      {"drive staff", s.staff_password.empty()
                          ? absl::StrCat(s.staff_login, " (password shown by the first run)")
                          : absl::StrCat(s.staff_login, ", password ", s.staff_password,
                                         " (shown once)")},
  });
  std::printf(
      "\nSee it: ecoact board --level=wards, ecoact board --scope=campaign --id=%s,\n"
      "ecoact event live %s, ecoact survey results %s,\n"
      "ecoact survey behaviour %s --weeks=1\n",
      s.campaign_id.c_str(), s.drive_ids[1].c_str(), s.survey_id.c_str(), s.survey_id.c_str());
  return kExitOk;
}

}  // namespace ecoact::cli
