// ecoact.v1.ReportsService: impact reports for the public dashboard and CSV
// exports for officials, read from the report keys the reports projector
// keeps (report_projector.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ecoact/v1/reports.grpc.pb.h"
#include "services/catalog/catalog.h"
#include "services/common/call_context.h"
#include "services/common/keys.h"
#include "services/common/periods.h"
#include "services/common/redis.h"
#include "services/events/event_store.h"
#include "services/reports/report_store.h"

namespace ecoact::reports {

struct ReportsOptions {
  // Ward id -> display name ("中原区"): the --wards list.
  std::map<std::string, std::string> ward_names;
  // Everyday equivalents (catalog/equivalents.h), in display order.
  std::vector<v1::Equivalent> equivalents;
  // A CSV chunk is sent once it holds this many bytes (and at every month's
  // end).
  size_t csv_chunk_bytes = 64 * 1024;
  // Scopes read per round trip pair while exporting a month.
  size_t export_scopes_per_read = 200;
  // The boards' small-group rule (--board_min_members): a report of a ward,
  // team, organisation, event or campaign with fewer active participants in
  // its range shows totals only, unless an admin asks.
  int64_t min_members = 5;
};

class ReportsServiceImpl final : public v1::ReportsService::Service {
 public:
  ReportsServiceImpl(ReportStore* store, events::EventStore* events, RedisClient* redis,
                     const KeySpace* keys, const CityCalendar* calendar,
                     const catalog::Catalog* catalog, const Authenticator* auth,
                     ReportsOptions options);

  grpc::Status GetImpactReport(grpc::ServerContext*, const v1::GetImpactReportRequest*,
                               v1::ImpactReport*) override;
  grpc::Status ExportImpactCsv(grpc::ServerContext*, const v1::ExportImpactCsvRequest*,
                               grpc::ServerWriter<v1::CsvChunk>*) override;

 private:
  absl::Status DoReport(const grpc::ServerContext& context,
                        const v1::GetImpactReportRequest& request, v1::ImpactReport* out);
  absl::Status DoExport(const grpc::ServerContext& context,
                        const v1::ExportImpactCsvRequest& request,
                        grpc::ServerWriter<v1::CsvChunk>* writer);
  // INVALID_ARGUMENT for a malformed scope/scope_id, NOT_FOUND for an
  // unknown one; returns the scope's display name.
  absl::StatusOr<std::string> CheckScope(v1::Scope scope, const std::string& scope_id);
  // Display names of scope keys ("" for the city and for groups gone).
  absl::StatusOr<std::map<std::string, std::string>> Names(const std::vector<std::string>& scopes);
  void FillFactors(const ScopeFigures& figures, v1::ImpactReport* out) const;

  ReportStore* store_;
  events::EventStore* events_;
  RedisClient* redis_;
  const KeySpace* keys_;
  const CityCalendar* calendar_;
  const catalog::Catalog* catalog_;
  const Authenticator* auth_;
  ReportsOptions options_;
};

}  // namespace ecoact::reports
