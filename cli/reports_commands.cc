// The impact report commands: `ecoact report` prints a scope's totals by
// category and month, with the factor versions and everyday equivalents;
// `ecoact report export --out=FILE.csv` streams the CSV export to a file
// chunk by chunk (an admin's command).
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/cli.h"

namespace ecoact::cli {
namespace {

std::string Figures(const v1::ImpactFigures& f) {
  return absl::StrCat(FormatCo2(f.co2e_grams()));
}

Rows FigureRows(const std::string& first_column) {
  return {{first_column, "CO2E", "WEIGHT KG", "ACTIONS", "PARTICIPANTS"}};
}

std::vector<std::string> FigureRow(const std::string& label, const v1::ImpactFigures& f) {
  return {label, Figures(f), FormatMilli(f.weight_grams()), absl::StrCat(f.actions()),
          absl::StrCat(f.active_participants())};
}

void PrintReport(const v1::ImpactReport& r) {
  const std::string scope = Label(absl::StripPrefix(v1::Scope_Name(r.scope()), "SCOPE_"));
  std::printf("Impact of %s%s%s, %s to %s (catalogue %s)\n\n", scope.c_str(),
              r.scope_id().empty() ? "" : absl::StrCat(" ", r.scope_id()).c_str(),
              r.scope_name().empty() ? "" : absl::StrCat(" (", r.scope_name(), ")").c_str(),
              r.from_month().c_str(), r.to_month().c_str(), r.catalog_edition().c_str());
  Rows totals = FigureRows("CATEGORY");
  for (const auto& c : r.categories()) totals.push_back(FigureRow(c.category(), c.figures()));
  totals.push_back(FigureRow("total", r.total()));
  PrintTable(totals);
  if (r.totals_only()) {
    std::printf(
        "\nA small group (fewer active participants than the server's minimum): totals\n"
        "only, so no one in it is singled out.\n");
  }
  std::printf("\n");
  Rows months = FigureRows("MONTH");
  for (const auto& m : r.months()) months.push_back(FigureRow(m.month(), m.figures()));
  PrintTable(months);
  for (const auto& [title, groups] :
       std::vector<std::pair<std::string, const RepeatedPtrField<v1::GroupImpact>*>>{
           {"WARD", &r.wards()}, {"TEAM", &r.top_teams()}, {"ORGANISATION", &r.top_organisations()}}) {
    if (groups->empty()) continue;
    std::printf("\n");
    Rows rows = FigureRows(title);
    for (const auto& g : *groups) {
      rows.push_back(FigureRow(g.name().empty() ? g.group_id()
                                                : absl::StrCat(g.group_id(), " (", g.name(), ")"),
                               g.figures()));
    }
    PrintTable(rows);
  }
  if (!r.factors().empty()) {
    std::printf("\n");
    Rows factors = {{"FACTOR", "CO2E", "ACTIONS", "VALUE", "SOURCE"}};
    for (const auto& f : r.factors()) {
      factors.push_back({f.factor_version(), FormatCo2(f.co2e_grams()), absl::StrCat(f.actions()),
                         f.factor().display().empty() ? "unknown" : f.factor().display(),
                         f.factor().sources().empty() ? "-" : f.factor().sources(0).publisher()});
    }
    PrintTable(factors);
  }
  if (!r.equivalents().empty()) {
    std::printf("\n");
    Rows equivalents = {{"EQUIVALENT", "AMOUNT", "PER UNIT", "CONFIDENCE", "SOURCE"}};
    for (const auto& e : r.equivalents()) {
      equivalents.push_back(
          {e.label_en(), absl::StrCat(FormatMilli(e.quantity_milli()), " ", e.unit_en()),
           FormatCo2(e.co2e_grams_per_unit()),
           Label(absl::StripPrefix(v1::Confidence_Name(e.confidence()), "CONFIDENCE_")),
           e.sources().empty() ? "-" : e.sources(0).publisher()});
    }
    PrintTable(equivalents);
  }
}

}  // namespace

int Report(Client& client, const Invocation& in) {
  v1::GetImpactReportRequest request;
  request.set_scope(static_cast<v1::Scope>(in.Choice("scope", "city")));
  request.set_scope_id(in.Str("id"));
  request.set_from_month(in.Str("from"));
  request.set_to_month(in.Str("to"));
  request.set_top_n(in.Int("top", 0));
  // Public, but signed in (an admin) it sends the token: an admin gets a
  // small group's whole report.
  if (!client.LoadSession()) return kExitError;
  return Exchange<v1::ImpactReport>(
      client, client.session().has_value() ? Auth::kToken : Auth::kNone,
      [&](auto* c, auto* out) { return client.reports().GetImpactReport(c, request, out); },
      PrintReport);
}

int ReportExport(Client& client, const Invocation& in) {
  v1::ExportImpactCsvRequest request;
  if (in.Has("scope")) request.set_scope(static_cast<v1::Scope>(in.Choice("scope", "city")));
  request.set_scope_id(in.Str("id"));
  request.set_from_month(in.Str("from"));
  request.set_to_month(in.Str("to"));
  const std::string path = in.Str("out");
  int64_t bytes = 0, chunks = 0;
  if (!SaveExport(client, path, in.Flag("excel"), [&](grpc::ClientContext* c, std::ostream& out) {
        bytes = chunks = 0;
        auto reader = client.reports().ExportImpactCsv(c, request);
        v1::CsvChunk chunk;
        while (reader->Read(&chunk)) {
          out << chunk.text();
          bytes += static_cast<int64_t>(chunk.text().size());
          ++chunks;
        }
        return reader->Finish();
      })) {
    return kExitError;
  }
  std::printf("Saved %lld bytes of CSV (%lld chunks) to %s\n", static_cast<long long>(bytes),
              static_cast<long long>(chunks), path.c_str());
  return kExitOk;
}

}  // namespace ecoact::cli
