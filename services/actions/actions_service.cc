#include "services/actions/actions_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/grpc_status.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"

namespace ecoact::actions {

absl::StatusOr<std::pair<int64_t, int64_t>> ParsePaging(int32_t page_size,
                                                        const std::string& page_token) {
  if (page_size < 0 || page_size > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must be 0 (default 20) to 100, got ", page_size));
  }
  int64_t offset = 0;
  if (!page_token.empty() &&
      (!absl::SimpleAtoi(page_token, &offset) || offset < 0 || offset > 10000000)) {
    return absl::InvalidArgumentError("page_token is not one this service returned");
  }
  return std::make_pair(offset, static_cast<int64_t>(page_size == 0 ? 20 : page_size));
}

ActionsServiceImpl::ActionsServiceImpl(const ActionRecorder* recorder, LedgerStore* store,
                                       const Authenticator* auth)
    : recorder_(recorder), store_(store), auth_(auth) {}

absl::Status ActionsServiceImpl::DoRecord(const grpc::ServerContext& context,
                                          const v1::RecordActionRequest& request,
                                          v1::RecordActionResponse* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  ActionInput input;
  input.account_id = claims.subject;
  input.request_id = request.request_id();
  input.action_type = request.action_type();
  input.quantity = request.quantity();
  input.unit = request.unit();
  if (request.has_occurred_at()) {
    ASSIGN_OR_RETURN(input.occurred_at, TimeFromProto(request.occurred_at(), "occurred_at"));
  }
  absl::StatusOr<PreparedAction> prepared = recorder_->Prepare(input);
  if (!prepared.ok()) {
    // A retry of an action that was recorded must get its first result even
    // if it would not validate any more (e.g. the time window moved on).
    if (ValidateRequestId(input.request_id).ok()) {
      ASSIGN_OR_RETURN(std::optional<RecordedAction> replay,
                       store_->FindReplay(input.account_id, input.request_id,
                                          ActionRecorder::RequestFingerprint(input)));
      if (replay) {
        FillResponse(*std::move(replay), response);
        return absl::OkStatus();
      }
    }
    return prepared.status();
  }
  ASSIGN_OR_RETURN(RecordedAction recorded, store_->Append(*prepared));
  FillResponse(std::move(recorded), response);
  return absl::OkStatus();
}

void ActionsServiceImpl::FillResponse(RecordedAction recorded,
                                      v1::RecordActionResponse* response) const {
  for (const std::string& id : recorded.new_badges) {
    v1::BadgeAward* award = response->add_new_badges();
    award->set_badge_id(id);
    award->set_entry_id(recorded.entry.entry_id());
    *award->mutable_awarded_at() = recorded.entry.recorded_at();
    // A rule removed since the award keeps its id (awards are for good),
    // as in RewardsService.ListMyBadges.
    award->set_title(id);
    if (std::optional<v1::Badge> badge = recorder_->DescribeBadge(id)) {
      award->set_title(badge->title());
      award->set_description(badge->description());
    }
  }
  *response->mutable_streak() =
      rewards::StreakView(recorded.streak, recorder_->Now(), recorder_->calendar());
  *response->mutable_entry() = std::move(recorded.entry);
  response->set_replayed(recorded.replayed);
  for (auto& totals : recorded.totals) *response->add_totals() = std::move(totals);
}

absl::Status ActionsServiceImpl::DoList(const grpc::ServerContext& context,
                                        const v1::ListMyActionsRequest& request,
                                        v1::ListMyActionsResponse* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  ASSIGN_OR_RETURN(auto paging, ParsePaging(request.page_size(), request.page_token()));
  ASSIGN_OR_RETURN(HistoryPage page, store_->History(claims.subject, paging.first, paging.second));
  for (auto& entry : page.entries) *response->add_entries() = std::move(entry);
  for (auto& id : page.archived_entry_ids) response->add_archived_entry_ids(std::move(id));
  int64_t next = paging.first + paging.second;
  if (next < page.total) response->set_next_page_token(absl::StrCat(next));
  return absl::OkStatus();
}

absl::Status ActionsServiceImpl::DoImpact(const grpc::ServerContext& context,
                                          v1::GetMyImpactResponse* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  PeriodKeys periods = recorder_->calendar().KeysAt(recorder_->Now());
  ASSIGN_OR_RETURN(ImpactSnapshot snapshot, store_->Impact(claims.subject, periods));
  for (auto& totals : snapshot.totals) *response->add_totals() = std::move(totals);
  for (auto& cat : snapshot.by_category) *response->add_by_category() = std::move(cat);
  return absl::OkStatus();
}

grpc::Status ActionsServiceImpl::RecordAction(grpc::ServerContext* context,
                                              const v1::RecordActionRequest* request,
                                              v1::RecordActionResponse* response) {
  return ToGrpcStatus(DoRecord(*context, *request, response));
}

grpc::Status ActionsServiceImpl::ListMyActions(grpc::ServerContext* context,
                                               const v1::ListMyActionsRequest* request,
                                               v1::ListMyActionsResponse* response) {
  return ToGrpcStatus(DoList(*context, *request, response));
}

grpc::Status ActionsServiceImpl::GetMyImpact(grpc::ServerContext* context,
                                             const v1::GetMyImpactRequest*,
                                             v1::GetMyImpactResponse* response) {
  return ToGrpcStatus(DoImpact(*context, response));
}

}  // namespace ecoact::actions
