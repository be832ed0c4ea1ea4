#include "services/catalog/catalog_service.h"

#include "absl/strings/str_cat.h"
#include "services/common/grpc_status.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"

namespace ecoact::catalog {
namespace {

// The type as listed at `now`: current_factor is the version in force then,
// which differs from the newest one only while a future version is waiting.
v1::ActionType TypeAt(const ActionTypeInfo& type, absl::Time now) {
  v1::ActionType proto = type.proto;
  if (const FactorVersion* factor = FactorValidAt(type, now)) {
    *proto.mutable_current_factor() = factor->proto;
  }
  return proto;
}

absl::StatusOr<absl::Time> OccurredAt(const v1::PreviewImpactRequest& request, absl::Time now) {
  if (!request.has_occurred_at()) return now;
  return TimeFromProto(request.occurred_at(), "occurred_at");
}

}  // namespace

grpc::Status CatalogServiceImpl::ListActionTypes(grpc::ServerContext* context,
                                                 const v1::ListActionTypesRequest* request,
                                                 v1::ListActionTypesResponse* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(auth_->RequireAny(*context).status());
    const absl::Time now = auth_->Now();
    for (const ActionTypeInfo& type : catalog_->types()) {
      *response->add_action_types() = TypeAt(type, now);
    }
    response->set_catalog_version(catalog_->edition());
    return absl::OkStatus();
  }());
}

grpc::Status CatalogServiceImpl::GetFactor(grpc::ServerContext* context,
                                           const v1::GetFactorRequest* request,
                                           v1::GetFactorResponse* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(auth_->RequireAny(*context).status());
    ASSIGN_OR_RETURN(const ActionTypeInfo* type, catalog_->Lookup(request->action_type()));
    *response->mutable_action_type() = TypeAt(*type, auth_->Now());
    for (auto it = type->factors.rbegin(); it != type->factors.rend(); ++it) {
      *response->add_versions() = it->proto;  // newest first
    }
    return absl::OkStatus();
  }());
}

grpc::Status CatalogServiceImpl::PreviewImpact(grpc::ServerContext* context,
                                               const v1::PreviewImpactRequest* request,
                                               v1::PreviewImpactResponse* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    RETURN_IF_ERROR(auth_->RequireAny(*context).status());
    const absl::Time now = auth_->Now();
    ASSIGN_OR_RETURN(absl::Time occurred_at, OccurredAt(*request, now));
    RETURN_IF_ERROR(CheckOccurredAt(occurred_at, now, max_backdate_));
    ASSIGN_OR_RETURN(Conversion conversion,
                     catalog_->Convert({request->action_type(), request->quantity(),
                                        request->unit(), occurred_at}));
    response->set_co2e_grams(conversion.co2e_grams);
    response->set_points(conversion.points);
    response->set_quantity_milli(conversion.quantity_milli);
    *response->mutable_factor() = conversion.factor->proto;
    return absl::OkStatus();
  }());
}

}  // namespace ecoact::catalog
