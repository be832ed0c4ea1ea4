// gRPC handlers of ecoact.v1.ActionsService.
#pragma once

#include "ecoact/v1/actions.grpc.pb.h"
#include "services/actions/ledger_store.h"
#include "services/actions/recorder.h"
#include "services/common/call_context.h"

namespace ecoact::actions {

class ActionsServiceImpl final : public v1::ActionsService::Service {
 public:
  ActionsServiceImpl(const ActionRecorder* recorder, LedgerStore* store, const Authenticator* auth);

  grpc::Status RecordAction(grpc::ServerContext* context, const v1::RecordActionRequest* request,
                            v1::RecordActionResponse* response) override;
  grpc::Status ListMyActions(grpc::ServerContext* context, const v1::ListMyActionsRequest* request,
                             v1::ListMyActionsResponse* response) override;
  grpc::Status GetMyImpact(grpc::ServerContext* context, const v1::GetMyImpactRequest* request,
                           v1::GetMyImpactResponse* response) override;

 private:
  absl::Status DoRecord(const grpc::ServerContext& context, const v1::RecordActionRequest& request,
                        v1::RecordActionResponse* response);
  // Entry, totals, badge titles and the streak as seen now.
  void FillResponse(RecordedAction recorded, v1::RecordActionResponse* response) const;
  absl::Status DoList(const grpc::ServerContext& context, const v1::ListMyActionsRequest& request,
                      v1::ListMyActionsResponse* response);
  absl::Status DoImpact(const grpc::ServerContext& context, v1::GetMyImpactResponse* response);

  const ActionRecorder* recorder_;
  LedgerStore* store_;
  const Authenticator* auth_;
};

// page_size: 0 -> 20, otherwise 1..100; page_token: "" or an offset we gave.
absl::StatusOr<std::pair<int64_t, int64_t>> ParsePaging(int32_t page_size,
                                                        const std::string& page_token);

}  // namespace ecoact::actions
