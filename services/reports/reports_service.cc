#include "services/reports/reports_service.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/grpc_status.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"

namespace ecoact::reports {
namespace {

using google::protobuf::util::TimeUtil;

void SetFigures(const Figures& f, v1::ImpactFigures* out) {
  out->set_co2e_grams(f.co2e_grams);
  out->set_weight_grams(f.weight_grams);
  out->set_actions(f.actions);
  out->set_active_participants(f.active_participants);
}

// Categories largest CO2 first, ties by id.
std::vector<std::pair<std::string, Figures>> ByCo2(const std::map<std::string, Figures>& in) {
  std::vector<std::pair<std::string, Figures>> out(in.begin(), in.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second.co2e_grams > b.second.co2e_grams;
  });
  return out;
}

// "clothing_reuse@v2" -> ("clothing_reuse", 2); false otherwise.
bool SplitFactorTag(const std::string& tag, std::string* type, int* version) {
  const size_t at = tag.rfind("@v");
  if (at == std::string::npos) return false;
  *type = tag.substr(0, at);
  return absl::SimpleAtoi(tag.substr(at + 2), version);
}

}  // namespace

ReportsServiceImpl::ReportsServiceImpl(ReportStore* store, events::EventStore* events,
                                       RedisClient* redis, const KeySpace* keys,
                                       const CityCalendar* calendar,
                                       const catalog::Catalog* catalog, const Authenticator* auth,
                                       ReportsOptions options)
    : store_(store), events_(events), redis_(redis), keys_(keys), calendar_(calendar),
      catalog_(catalog), auth_(auth), options_(std::move(options)) {}

absl::StatusOr<std::string> ReportsServiceImpl::CheckScope(v1::Scope scope,
                                                           const std::string& scope_id) {
  if (!v1::Scope_IsValid(scope) || scope == v1::SCOPE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "scope must be SCOPE_CITY, SCOPE_WARD, SCOPE_TEAM, SCOPE_ORGANISATION, SCOPE_EVENT or "
        "SCOPE_CAMPAIGN");
  }
  if (scope == v1::SCOPE_CITY) {
    if (!scope_id.empty()) {
      return absl::InvalidArgumentError("scope_id must be empty for SCOPE_CITY");
    }
    return std::string();
  }
  const absl::string_view what = ScopeName(scope);
  if (scope_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("scope_id is required for SCOPE_", absl::AsciiStrToUpper(what), " (the ",
                     what, " id, e.g. \"", scope == v1::SCOPE_WARD ? "nakahara" : "t-...",
                     "\")"));
  }
  if (scope == v1::SCOPE_EVENT) {
    if (scope_id.size() > 64) {
      return absl::NotFoundError("unknown event (event ids are at most 64 characters)");
    }
  } else {
    RETURN_IF_ERROR(ValidateSlug("scope_id", scope_id, 2, 32));
  }
  ASSIGN_OR_RETURN(auto names, Names({ScopeKey(scope, scope_id)}));
  auto name = names.find(ScopeKey(scope, scope_id));
  if (name == names.end()) {
    return absl::NotFoundError(absl::StrCat("unknown ", what, " ", QuoteForMessage(scope_id),
                                            scope == v1::SCOPE_WARD ? " (see ListWards)" : ""));
  }
  return name->second;
}

absl::StatusOr<std::map<std::string, std::string>> ReportsServiceImpl::Names(
    const std::vector<std::string>& scopes) {
  std::map<std::string, std::string> out;
  std::vector<std::vector<std::string>> reads;
  std::vector<std::string> read_scopes;
  for (const std::string& key : scopes) {
    v1::Scope scope = v1::SCOPE_UNSPECIFIED;
    std::string id;
    if (!ParseScopeKey(key, &scope, &id)) continue;
    switch (scope) {
      case v1::SCOPE_CITY:
        out[key] = "";
        break;
      case v1::SCOPE_WARD: {
        auto ward = options_.ward_names.find(id);
        if (ward != options_.ward_names.end()) out[key] = ward->second;
        break;
      }
      case v1::SCOPE_TEAM:
      case v1::SCOPE_ORGANISATION:
        reads.push_back({"HGET", scope == v1::SCOPE_TEAM ? keys_->Team(id) : keys_->Organisation(id),
                         "name"});
        read_scopes.push_back(key);
        break;
      case v1::SCOPE_CAMPAIGN:
        reads.push_back({"HGET", keys_->Campaigns(), id});
        read_scopes.push_back(key);
        break;
      case v1::SCOPE_EVENT: {
        ASSIGN_OR_RETURN(std::optional<events::EventRecord> event, events_->Get(id));
        if (event) out[key] = event->name;
        break;
      }
      default:
        break;
    }
  }
  if (reads.empty()) return out;
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis_->Pipeline(reads));
  for (size_t i = 0; i < replies.size(); ++i) {
    const RedisValue& reply = replies[i];
    if (reply.IsError()) return RedisErrorToStatus("report names", reply.str);
    if (reply.IsNil()) continue;
    if (reads[i][1] != keys_->Campaigns()) {
      out[read_scopes[i]] = reply.str;
      continue;
    }
    // A campaign definition is JSON; its title is the display name.
    google::protobuf::Struct definition;
    std::string title;
    if (google::protobuf::util::JsonStringToMessage(reply.str, &definition).ok()) {
      auto field = definition.fields().find("title");
      if (field != definition.fields().end()) title = field->second.string_value();
    }
    out[read_scopes[i]] = title;
  }
  return out;
}

void ReportsServiceImpl::FillFactors(const ScopeFigures& figures, v1::ImpactReport* out) const {
  for (const auto& [tag, sums] : figures.by_factor) {
    v1::FactorUse* use = out->add_factors();
    use->set_factor_version(tag);
    use->set_co2e_grams(sums.first);
    use->set_actions(sums.second);
    auto category = figures.factor_category.find(tag);
    if (category != figures.factor_category.end()) use->set_category(category->second);
    std::string type;
    int version = 0;
    if (!SplitFactorTag(tag, &type, &version)) continue;
    use->set_action_type(type);
    use->set_version(version);
    const catalog::ActionTypeInfo* info = catalog_->Find(type);
    if (info == nullptr) continue;
    use->set_name_ja(info->proto.name_ja());
    use->set_name_en(info->proto.name_en());
    for (const catalog::FactorVersion& factor : info->factors) {
      if (factor.version == version) *use->mutable_factor() = factor.proto;
    }
  }
}

absl::Status ReportsServiceImpl::DoReport(const grpc::ServerContext& context,
                                          const v1::GetImpactReportRequest& request,
                                          v1::ImpactReport* out) {
  if (request.top_n() < 0 || request.top_n() > 50) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_n must be 0 to 50 (0 means 10), got ", request.top_n()));
  }
  ASSIGN_OR_RETURN(MonthRange range,
                   ResolveMonthRange(request.from_month(), request.to_month(), auth_->Now(),
                                     *calendar_, false));
  ASSIGN_OR_RETURN(std::string name, CheckScope(request.scope(), request.scope_id()));
  const std::string scope = ScopeKey(request.scope(), request.scope_id());
  const std::vector<std::string> months = range.Keys();
  ASSIGN_OR_RETURN(std::vector<ScopeData> data, store_->Read({scope}, months));
  const ScopeData& d = data.front();
  out->set_scope(request.scope());
  out->set_scope_id(request.scope_id());
  out->set_scope_name(name);
  out->set_from_month(months.front());
  out->set_to_month(months.back());
  out->set_catalog_edition(catalog_->edition());
  *out->mutable_generated_at() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(auth_->Now()));
  Figures total = d.total.Total();
  total.active_participants = d.participants;
  SetFigures(total, out->mutable_total());
  for (const v1::Equivalent& e : options_.equivalents) {
    v1::Equivalent* shown = out->add_equivalents();
    *shown = e;
    shown->set_quantity_milli(EquivalentQuantityMilli(total.co2e_grams, e.co2e_grams_per_unit()));
  }
  // A small group's breakdown by month and category could single out what
  // one member did (the one who recycled clothes in March): totals only, as
  // its board shows. Admins see everything (they have the CSV export).
  if (request.scope() != v1::SCOPE_CITY && d.participants < options_.min_members) {
    auto claims = auth_->RequireAny(context);
    if (!claims.ok() || claims->role != v1::ROLE_ADMIN) {
      out->set_totals_only(true);
      return absl::OkStatus();
    }
  }
  std::map<std::string, Figures> categories = d.total.by_category;
  for (auto& [cat, f] : categories) f.active_participants = d.participants_by_category.at(cat);
  for (const auto& [cat, f] : ByCo2(categories)) {
    v1::CategoryImpact* c = out->add_categories();
    c->set_category(cat);
    SetFigures(f, c->mutable_figures());
  }
  for (const MonthFigures& m : d.months) {
    v1::MonthImpact* month = out->add_months();
    month->set_month(m.month);
    Figures mt = m.figures.Total();
    mt.active_participants = m.participants;
    SetFigures(mt, month->mutable_figures());
    for (const auto& [cat, f] : m.figures.by_category) {
      Figures fc = f;
      fc.active_participants = m.participants_by_category.at(cat);
      v1::CategoryImpact* c = month->add_categories();
      c->set_category(cat);
      SetFigures(fc, c->mutable_figures());
    }
  }
  FillFactors(d.total, out);
  if (request.scope() != v1::SCOPE_CITY) return absl::OkStatus();
  // The city's wards and top teams and organisations.
  ASSIGN_OR_RETURN(auto groups, store_->ReadGroups(months));
  const size_t top_n = request.top_n() == 0 ? 10 : static_cast<size_t>(request.top_n());
  struct Ranked {
    const char* prefix;
    size_t limit;
    google::protobuf::RepeatedPtrField<v1::GroupImpact>* out;
  };
  std::vector<std::string> listed;
  std::vector<v1::GroupImpact*> listed_out;
  for (const Ranked& r : {Ranked{"ward:", SIZE_MAX, out->mutable_wards()},
                          Ranked{"team:", top_n, out->mutable_top_teams()},
                          Ranked{"org:", top_n, out->mutable_top_organisations()}}) {
    std::map<std::string, Figures> mine;
    for (const auto& [key, f] : groups) {
      if (key.rfind(r.prefix, 0) == 0) mine[key] = f;
    }
    auto ranked = ByCo2(mine);
    if (ranked.size() > r.limit) ranked.resize(r.limit);
    for (const auto& [key, f] : ranked) {
      v1::GroupImpact* g = r.out->Add();
      g->set_group_id(key.substr(std::string(r.prefix).size()));
      SetFigures(f, g->mutable_figures());
      listed.push_back(key);
      listed_out.push_back(g);
    }
  }
  ASSIGN_OR_RETURN(auto participants, store_->Participants(listed, months));
  ASSIGN_OR_RETURN(auto names, Names(listed));
  for (size_t i = 0; i < listed.size(); ++i) {
    listed_out[i]->mutable_figures()->set_active_participants(participants[listed[i]]);
    auto n = names.find(listed[i]);
    if (n != names.end()) listed_out[i]->set_name(n->second);
  }
  return absl::OkStatus();
}

absl::Status ReportsServiceImpl::DoExport(const grpc::ServerContext& context,
                                          const v1::ExportImpactCsvRequest& request,
                                          grpc::ServerWriter<v1::CsvChunk>* writer) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  ASSIGN_OR_RETURN(MonthRange range,
                   ResolveMonthRange(request.from_month(), request.to_month(), auth_->Now(),
                                     *calendar_, true));
  std::string only;
  if (request.scope() != v1::SCOPE_UNSPECIFIED || !request.scope_id().empty()) {
    RETURN_IF_ERROR(CheckScope(request.scope(), request.scope_id()).status());
    only = ScopeKey(request.scope(), request.scope_id());
  }
  v1::CsvChunk chunk;
  chunk.set_text(std::string(kCsvHeader));
  if (!writer->Write(chunk)) return absl::CancelledError("the client went away");
  for (const std::string& month : range.Keys()) {
    std::vector<std::string> scopes;
    if (only.empty()) {
      ASSIGN_OR_RETURN(scopes, store_->ScopesInMonth(month));
    } else {
      scopes = {only};
    }
    chunk.Clear();
    chunk.set_month(month);
    for (size_t start = 0; start < scopes.size(); start += options_.export_scopes_per_read) {
      if (context.IsCancelled()) return absl::CancelledError("the client went away");
      const size_t end = std::min(scopes.size(), start + options_.export_scopes_per_read);
      const std::vector<std::string> part(scopes.begin() + start, scopes.begin() + end);
      ASSIGN_OR_RETURN(std::vector<ScopeData> data, store_->Read(part, {month}));
      ASSIGN_OR_RETURN(auto names, Names(part));
      for (const ScopeData& d : data) {
        const MonthFigures& m = d.months.front();
        CsvRow row;
        if (!ParseScopeKey(d.scope, &row.scope, &row.scope_id)) continue;
        row.scope_name = names[d.scope];
        row.month = month;
        for (const auto& [cat, f] : m.figures.by_category) {
          row.category = cat;
          row.figures = f;
          row.figures.active_participants = m.participants_by_category.at(cat);
          row.factor_versions.clear();
          for (const auto& [tag, c] : m.figures.factor_category) {
            if (c == cat) row.factor_versions.push_back(tag);
          }
          chunk.mutable_text()->append(FormatCsvRow(row));
        }
        if (chunk.text().size() >= options_.csv_chunk_bytes) {
          if (!writer->Write(chunk)) return absl::CancelledError("the client went away");
          chunk.clear_text();
        }
      }
    }
    if (!chunk.text().empty() && !writer->Write(chunk)) {
      return absl::CancelledError("the client went away");
    }
  }
  return absl::OkStatus();
}

grpc::Status ReportsServiceImpl::GetImpactReport(grpc::ServerContext* c,
                                                 const v1::GetImpactReportRequest* r,
                                                 v1::ImpactReport* out) {
  return ToGrpcStatus(DoReport(*c, *r, out));
}

grpc::Status ReportsServiceImpl::ExportImpactCsv(grpc::ServerContext* c,
                                                 const v1::ExportImpactCsvRequest* r,
                                                 grpc::ServerWriter<v1::CsvChunk>* writer) {
  return ToGrpcStatus(DoExport(*c, *r, writer));
}

}  // namespace ecoact::reports
