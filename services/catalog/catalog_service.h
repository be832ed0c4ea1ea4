// gRPC handlers of ecoact.v1.CatalogService: authenticate, validate, call the
// catalogue, convert. No state of their own; the catalogue is immutable.
#pragma once

#include "absl/time/time.h"
#include "ecoact/v1/catalog.grpc.pb.h"
#include "services/catalog/catalog.h"
#include "services/common/call_context.h"

namespace ecoact::catalog {

class CatalogServiceImpl final : public v1::CatalogService::Service {
 public:
  // `catalog` and `auth` must outlive the service. `max_backdate` bounds how
  // far back PreviewImpact's occurred_at may be (the same rule as recording).
  CatalogServiceImpl(const Catalog* catalog, const Authenticator* auth,
                     absl::Duration max_backdate)
      : catalog_(catalog), auth_(auth), max_backdate_(max_backdate) {}

  grpc::Status ListActionTypes(grpc::ServerContext* context,
                               const v1::ListActionTypesRequest* request,
                               v1::ListActionTypesResponse* response) override;
  grpc::Status GetFactor(grpc::ServerContext* context, const v1::GetFactorRequest* request,
                         v1::GetFactorResponse* response) override;
  grpc::Status PreviewImpact(grpc::ServerContext* context,
                             const v1::PreviewImpactRequest* request,
                             v1::PreviewImpactResponse* response) override;

 private:
  const Catalog* catalog_;
  const Authenticator* auth_;
  absl::Duration max_backdate_;
};

}  // namespace ecoact::catalog
