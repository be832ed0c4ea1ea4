// IdentityService handlers of a citizen's personal data: export everything
// held about the caller, and delete the account (DESIGN invariant 7,
// docs/security.md).
#include "absl/time/civil_time.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/grpc_status.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"
#include "services/identity/identity_service.h"
#include "services/rewards/streak.h"
#include "services/surveys/surveys.h"

namespace ecoact::identity {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp Millis(int64_t ms) { return TimeUtil::MillisecondsToTimestamp(ms); }


}  // namespace

absl::Status IdentityServiceImpl::DoExport(const grpc::ServerContext& context,
                                           v1::ExportMyDataResponse* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  RETURN_IF_ERROR(LoadProfile(claims.subject, response->mutable_profile()));
  ASSIGN_OR_RETURN(AccountActivity activity,
                   privacy_->Activity(claims.subject, kMaxExportedEntries));
  for (StoredEntry& stored : activity.entries) {
    *response->add_entries() = std::move(stored.entry);
  }
  response->set_entries_total(activity.entries_total);
  response->set_entries_truncated(activity.entries_total > response->entries_size());
  for (const rewards::StoredAward& award : activity.badges) {
    v1::ExportedBadge* out = response->add_badges();
    out->set_badge_id(award.badge_id);
    *out->mutable_awarded_at() = Millis(award.at_ms);
    out->set_entry_id(award.entry_id);
  }
  v1::ExportedStreak* streak = response->mutable_streak();
  streak->set_current_days(activity.streak_current);
  streak->set_best_days(activity.streak_best);
  if (activity.streak_last_day >= 0) streak->set_last_active_day(
      absl::FormatCivilTime(rewards::DayFromNumber(activity.streak_last_day)));
  response->mutable_all_time_totals()->insert(activity.all_time_totals.begin(),
                                              activity.all_time_totals.end());
  for (const SurveyResponseRecord& record : activity.survey_responses) {
    ASSIGN_OR_RETURN(surveys::StoredResponse stored,
                     surveys::DecodeResponse(record.answers_json));
    v1::ExportedSurveyResponse* out = response->add_survey_responses();
    out->set_survey_id(record.survey_id);
    out->set_wave(record.wave == "before" ? v1::SURVEY_WAVE_BEFORE : v1::SURVEY_WAVE_AFTER);
    out->set_revision(static_cast<int32_t>(record.revision));
    for (v1::SurveyAnswer& a : surveys::ToAnswers(stored)) *out->add_answers() = std::move(a);
  }
  response->set_survey_responses_truncated(activity.survey_responses_truncated);
  *response->mutable_exported_at() = Millis(absl::ToUnixMillis(auth_->Now()));
  return absl::OkStatus();
}

absl::Status IdentityServiceImpl::DoDelete(const grpc::ServerContext& context,
                                           const v1::DeleteMyAccountRequest& request,
                                           v1::DeleteMyAccountResponse* response) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  if (request.confirm_account_id() != claims.subject) {
    // The id itself is not echoed: messages may end up in client logs.
    return absl::FailedPreconditionError(
        "confirm_account_id must be the caller's own account id; deletion cannot be undone");
  }
  const absl::Time now = auth_->Now();
  ASSIGN_OR_RETURN(std::optional<AccountRecord> before, store_->Get(claims.subject));
  RETURN_IF_ERROR(privacy_->Delete(claims.subject, request.request_id(), now).status());
  // Every sign-in of the account ended in the deletion script itself. Its
  // OpenID Connect identity (another slot) no longer leads to it.
  if (before && !before->oidc.empty()) {
    RETURN_IF_ERROR(sessions_->UnlinkOidc(before->oidc, claims.subject));
  }
  response->set_account_id(claims.subject);
  *response->mutable_deleted_at() = Millis(absl::ToUnixMillis(now));
  return absl::OkStatus();
}

grpc::Status IdentityServiceImpl::ExportMyData(grpc::ServerContext* context,
                                               const v1::ExportMyDataRequest*,
                                               v1::ExportMyDataResponse* response) {
  return ToGrpcStatus(DoExport(*context, response));
}

grpc::Status IdentityServiceImpl::DeleteMyAccount(grpc::ServerContext* context,
                                                  const v1::DeleteMyAccountRequest* request,
                                                  v1::DeleteMyAccountResponse* response) {
  return ToGrpcStatus(DoDelete(*context, *request, response));
}

}  // namespace ecoact::identity
