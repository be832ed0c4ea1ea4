// The commands of badges, streaks and campaigns (`ecoact badges`,
// `ecoact streak`, `ecoact campaign ...`).
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/cli.h"

namespace ecoact::cli {
namespace {

// "running" for CAMPAIGN_STATE_RUNNING.
std::string StateLabel(v1::CampaignState state) {
  return Label(absl::StripPrefix(v1::CampaignState_Name(state), "CAMPAIGN_"));
}

std::string Percent(int32_t permille) {
  return absl::StrCat(permille / 10, ".", permille % 10, " %");
}

std::string Amount(v1::Metric metric, int64_t value) {
  return metric == v1::METRIC_POINTS ? absl::StrCat(value, " pts") : FormatCo2(value);
}

void PrintCampaign(const v1::Campaign& c) {
  Rows rows = {{"campaign", c.id()},
               {"title", c.title()},
               {"state", StateLabel(c.state())},
               {"from", ShowTime(c.starts_at())},
               {"until", ShowTime(c.ends_at())}};
  std::string types;
  for (const std::string& t : c.action_types()) absl::StrAppend(&types, types.empty() ? "" : ", ", t);
  rows.push_back({"action types", types.empty() ? "every type" : types});
  rows.push_back({"points multiplier",
                  absl::StrCat(c.multiplier_permille() / 1000, ".",
                               absl::StrFormat("%03d", c.multiplier_permille() % 1000), "x")});
  if (c.collective_target() > 0) {
    rows.push_back({"collective target", Amount(c.metric(), c.collective_target())});
  }
  if (c.individual_target() > 0) {
    rows.push_back({"individual target", Amount(c.metric(), c.individual_target())});
    rows.push_back({"reward badge", absl::StrCat(c.reward_badge_id(), " (", c.badge_title(), ")")});
  }
  PrintTable(rows);
}

}  // namespace

int Badges(Client& client, const Invocation& in) {
  if (in.Flag("all")) {
    return Exchange<v1::ListBadgesResponse>(
        client, Auth::kToken,
        [&](auto* c, auto* out) { return client.rewards().ListBadges(c, {}, out); },
        [](const v1::ListBadgesResponse& r) {
          Rows rows = {{"BADGE", "TITLE", "HOW TO EARN IT"}};
          for (const auto& b : r.badges()) rows.push_back({b.id(), b.title(), b.description()});
          PrintTable(rows);
        });
  }
  return Exchange<v1::ListMyBadgesResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.rewards().ListMyBadges(c, {}, out); },
      [](const v1::ListMyBadgesResponse& r) {
        if (r.badges().empty()) {
          std::printf("No badges yet: `ecoact badges --all` lists how to earn them.\n");
          return;
        }
        Rows rows = {{"BADGE", "TITLE", "EARNED", "BY ENTRY"}};
        for (const auto& b : r.badges()) {
          rows.push_back({b.badge_id(), b.title(), ShowTime(b.awarded_at()), b.entry_id()});
        }
        PrintTable(rows);
      });
}

void PrintStreak(const v1::Streak& s) {
  if (s.last_active_day().empty()) {
    std::printf("No streak yet: record an action today to start one.\n");
    return;
  }
  if (s.current_days() == 0) {
    std::printf("Streak broken (last active %s); best %d days. Record an action to start again.\n",
                s.last_active_day().c_str(), s.best_days());
    return;
  }
  std::printf("Streak: %d day%s (best %d), last active %s; it breaks at %s unless you record an "
              "action before.\n",
              s.current_days(), s.current_days() == 1 ? "" : "s", s.best_days(),
              s.last_active_day().c_str(), ShowTime(s.breaks_at()).c_str());
}

int Streak(Client& client, const Invocation&) {
  return Exchange<v1::Streak>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.rewards().GetMyStreak(c, {}, out); }, PrintStreak);
}

int CampaignCreate(Client& client, const Invocation& in) {
  v1::CreateCampaignRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  request.set_id(in.Arg(0));
  request.set_title(in.Str("title"));
  for (absl::string_view type : absl::StrSplit(in.Str("types"), ',', absl::SkipWhitespace())) {
    request.add_action_types(std::string(absl::StripAsciiWhitespace(type)));
  }
  *request.mutable_starts_at() = ToTimestamp(*in.Time("starts"));
  *request.mutable_ends_at() = ToTimestamp(*in.Time("ends"));
  const double multiplier = in.Number("multiplier", 1.0);
  if (!(multiplier >= 1.0 && multiplier <= 5.0)) {
    return UsageError(in, "--multiplier must be 1 (no bonus) to 5, such as 1.5");
  }
  request.set_multiplier_permille(static_cast<int32_t>(std::lround(multiplier * 1000)));
  if (in.Has("metric")) request.set_metric(static_cast<v1::Metric>(in.Choice("metric", "co2")));
  request.set_collective_target(in.Int("target", 0));
  request.set_individual_target(in.Int("my_target", 0));
  request.set_badge_title(in.Str("badge_title"));
  return Exchange<v1::Campaign>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.rewards().CreateCampaign(c, request, out); },
      PrintCampaign, RetryOption("request_id", request.request_id()));
}

int CampaignList(Client& client, const Invocation& in) {
  v1::ListCampaignsRequest request;
  if (in.Has("state")) request.set_state(static_cast<v1::CampaignState>(in.Choice("state", "")));
  return Exchange<v1::ListCampaignsResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.rewards().ListCampaigns(c, request, out); },
      [](const v1::ListCampaignsResponse& r) {
        Rows rows = {{"CAMPAIGN", "STATE", "FROM", "UNTIL", "MULTIPLIER", "TITLE"}};
        for (const auto& c : r.campaigns()) {
          rows.push_back({c.id(), StateLabel(c.state()),
                          ShowTime(c.starts_at()), ShowTime(c.ends_at()),
                          absl::StrCat(c.multiplier_permille(), " ‰"), c.title()});
        }
        PrintTable(rows);
      });
}

int CampaignProgress(Client& client, const Invocation& in) {
  v1::GetCampaignProgressRequest request;
  request.set_campaign_id(in.Arg(0));
  return Exchange<v1::CampaignProgress>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.rewards().GetCampaignProgress(c, request, out); },
      [](const v1::CampaignProgress& p) {
        const v1::Campaign& c = p.campaign();
        Rows rows = {{"campaign", absl::StrCat(c.id(), " (", c.title(), ")")},
                     {"state", StateLabel(c.state())},
                     {"everyone", absl::StrCat(FormatCo2(p.collective_co2e_grams()), ", ",
                                               p.collective_points(), " pts, ",
                                               p.participants(), " participants")}};
        if (c.collective_target() > 0) {
          rows.push_back({"collective target",
                          absl::StrCat(Amount(c.metric(), c.collective_target()), ": ",
                                       Percent(p.collective_permille()))});
        }
        if (p.my_co2e_grams() != 0 || p.my_points() != 0 || c.individual_target() > 0) {
          rows.push_back({"you", absl::StrCat(FormatCo2(p.my_co2e_grams()), ", ", p.my_points(),
                                              " pts")});
        }
        if (c.individual_target() > 0) {
          rows.push_back({"your target",
                          absl::StrCat(Amount(c.metric(), c.individual_target()), ": ",
                                       Percent(p.my_permille()),
                                       p.my_badge_earned() ? " (badge earned)" : "")});
        }
        PrintTable(rows);
      });
}

}  // namespace ecoact::cli
