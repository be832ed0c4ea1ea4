#include "services/surveys/surveys_service.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/grpc_status.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"
#include "services/rewards/campaign_definition.h"

namespace ecoact::surveys {
namespace {

using google::protobuf::util::TimeUtil;

absl::Status CheckSurveyId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("survey_id is required (see ListSurveys)");
  if (id.size() > 64) {
    return absl::NotFoundError("unknown survey (survey ids are at most 64 characters)");
  }
  return absl::OkStatus();
}

bool SameTarget(const v1::Survey& a, const v1::Survey& b) {
  return a.campaign_id() == b.campaign_id() && a.event_id() == b.event_id();
}

}  // namespace

SurveysServiceImpl::SurveysServiceImpl(SurveyStore* store, events::EventStore* events,
                                       RedisClient* redis, const KeySpace* keys,
                                       const Authenticator* auth, SurveysOptions options)
    : store_(store), events_(events), redis_(redis), keys_(keys), auth_(auth),
      options_(options) {}

absl::StatusOr<StoredSurvey> SurveysServiceImpl::Load(absl::string_view survey_id, bool drafts) {
  RETURN_IF_ERROR(CheckSurveyId(survey_id));
  ASSIGN_OR_RETURN(std::optional<StoredSurvey> stored, store_->Get(survey_id));
  if (!stored || (!drafts && stored->survey.status() != v1::SURVEY_STATUS_PUBLISHED)) {
    return absl::NotFoundError(absl::StrCat("unknown survey ", QuoteForMessage(survey_id)));
  }
  return *std::move(stored);
}

absl::Status SurveysServiceImpl::DoCreate(const grpc::ServerContext& context,
                                          const v1::CreateSurveyRequest& request,
                                          v1::Survey* out) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  ASSIGN_OR_RETURN(v1::Survey survey, NewSurvey(request, auth_->Now()));
  if (!survey.campaign_id().empty()) {
    ASSIGN_OR_RETURN(RedisValue exists,
                     redis_->Command({"HEXISTS", keys_->Campaigns(), survey.campaign_id()}));
    if (exists.integer != 1) {
      return absl::NotFoundError(absl::StrCat("unknown campaign '", survey.campaign_id(), "'"));
    }
  } else {
    ASSIGN_OR_RETURN(std::optional<events::EventRecord> event, events_->Get(survey.event_id()));
    if (!event) {
      return absl::NotFoundError(
          absl::StrCat("unknown event ", QuoteForMessage(survey.event_id())));
    }
  }
  ASSIGN_OR_RETURN(std::optional<StoredSurvey> existing, store_->Get(survey.survey_id()));
  if (!existing && !survey.supersedes().empty()) {
    ASSIGN_OR_RETURN(std::optional<StoredSurvey> old, store_->Get(survey.supersedes()));
    if (!old) {
      return absl::NotFoundError(
          absl::StrCat("supersedes: unknown survey ", QuoteForMessage(survey.supersedes())));
    }
    if (!SameTarget(old->survey, survey)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "supersedes: survey '", survey.supersedes(),
          "' belongs to another campaign or event; a new version keeps its target"));
    }
    survey.set_version(old->survey.version() + 1);
    RETURN_IF_ERROR(store_->ClaimSupersede(survey.supersedes(), survey.survey_id()));
  }
  RETURN_IF_ERROR(store_->Create(survey, CreateFingerprint(request)));
  ASSIGN_OR_RETURN(StoredSurvey stored, Load(survey.survey_id(), true));
  *out = std::move(stored.survey);
  return absl::OkStatus();
}

absl::Status SurveysServiceImpl::DoPublish(const grpc::ServerContext& context,
                                           const v1::PublishSurveyRequest& request,
                                           v1::Survey* out) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  ASSIGN_OR_RETURN(StoredSurvey stored, Load(request.survey_id(), true));
  if (stored.survey.status() != v1::SURVEY_STATUS_PUBLISHED) {
    v1::Survey published = stored.survey;
    published.set_status(v1::SURVEY_STATUS_PUBLISHED);
    *published.mutable_published_at() =
        TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(auth_->Now()));
    RETURN_IF_ERROR(store_->Publish(published).status());
    // Reread: a concurrent publish may have won; its time is the one kept.
    ASSIGN_OR_RETURN(stored, Load(request.survey_id(), true));
  }
  *out = std::move(stored.survey);
  return absl::OkStatus();
}

absl::Status SurveysServiceImpl::DoGet(const grpc::ServerContext& context,
                                       const v1::GetSurveyRequest& request, v1::Survey* out) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->RequireAny(context));
  ASSIGN_OR_RETURN(StoredSurvey stored,
                   Load(request.survey_id(), claims.role == v1::ROLE_ADMIN));
  *out = std::move(stored.survey);
  return absl::OkStatus();
}

absl::Status SurveysServiceImpl::DoList(const grpc::ServerContext& context,
                                        const v1::ListSurveysRequest& request,
                                        v1::ListSurveysResponse* out) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->RequireAny(context));
  if (!request.campaign_id().empty() && !request.event_id().empty()) {
    return absl::InvalidArgumentError("filter by campaign_id or by event_id, not both");
  }
  if (request.include_all() && claims.role != v1::ROLE_ADMIN) {
    return absl::PermissionDeniedError("include_all is for admins");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> ids, store_->ListIds());
  ASSIGN_OR_RETURN(std::vector<StoredSurvey> surveys, store_->GetMany(ids));
  std::map<std::string, StoredSurvey> all;
  for (StoredSurvey& s : surveys) {
    const std::string id = s.survey.survey_id();
    all[id] = std::move(s);
  }
  auto published = [&](const std::string& id) {
    auto it = all.find(id);
    return it != all.end() && it->second.survey.status() == v1::SURVEY_STATUS_PUBLISHED;
  };
  for (const std::string& id : ids) {  // newest first
    auto it = all.find(id);
    if (it == all.end()) continue;
    const StoredSurvey& s = it->second;
    if (!request.campaign_id().empty() && s.survey.campaign_id() != request.campaign_id()) continue;
    if (!request.event_id().empty() && s.survey.event_id() != request.event_id()) continue;
    if (!request.include_all()) {
      if (s.survey.status() != v1::SURVEY_STATUS_PUBLISHED) continue;
      if (!s.superseded_by.empty() && published(s.superseded_by)) continue;
    }
    *out->add_surveys() = s.survey;
  }
  return absl::OkStatus();
}

absl::Status SurveysServiceImpl::DoSubmit(const grpc::ServerContext& context,
                                          const v1::SubmitResponseRequest& request,
                                          v1::SubmitResponseResult* out) {
  ASSIGN_OR_RETURN(TokenClaims claims, auth_->Require(context, {v1::ROLE_CITIZEN}));
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  const std::string wave = WaveName(request.wave());
  if (wave.empty()) return absl::InvalidArgumentError("wave must be BEFORE or AFTER");
  ASSIGN_OR_RETURN(StoredSurvey stored, Load(request.survey_id(), false));
  if (FindWave(stored.survey, request.wave()) == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("the survey has no ", wave, " wave"));
  }
  ASSIGN_OR_RETURN(std::string answers, EncodeResponse(stored.survey, request.answers()));
  // A token issued before DeleteMyAccount is still signed: the account hash
  // says whether the citizen still exists (the erasure must stay erased).
  ASSIGN_OR_RETURN(RedisValue role, redis_->Command({"HGET", keys_->Account(claims.subject), "role"}));
  if (role.str != "citizen") return absl::NotFoundError("this account was deleted");
  ASSIGN_OR_RETURN(SubmitOutcome outcome,
                   store_->Submit(stored.survey.survey_id(), request.wave(), claims.subject,
                                  request.request_id(), Fingerprint({wave, answers}), answers,
                                  auth_->Now(), options_.max_revisions));
  out->set_survey_id(stored.survey.survey_id());
  out->set_wave(request.wave());
  out->set_revision(outcome.revision);
  out->set_amended(outcome.amended);
  out->set_replayed(outcome.replayed);
  *out->mutable_submitted_at() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(outcome.submitted_at));
  return absl::OkStatus();
}

absl::StatusOr<v1::SurveyResults> SurveysServiceImpl::Results(const v1::Survey& survey) {
  ASSIGN_OR_RETURN(ResponsesByWave responses, store_->Responses(survey));
  std::set<std::string> checked_in;
  if (!survey.event_id().empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> accounts, events_->CheckedIn(survey.event_id()));
    checked_in.insert(accounts.begin(), accounts.end());
  }
  return Aggregate(survey, responses, survey.event_id().empty() ? nullptr : &checked_in);
}

absl::Status SurveysServiceImpl::DoResults(const grpc::ServerContext& context,
                                           const v1::GetSurveyResultsRequest& request,
                                           v1::SurveyResults* out) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  ASSIGN_OR_RETURN(StoredSurvey stored, Load(request.survey_id(), true));
  ASSIGN_OR_RETURN(*out, Results(stored.survey));
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> SurveysServiceImpl::DefaultReference(const v1::Survey& survey) {
  if (!survey.event_id().empty()) {
    ASSIGN_OR_RETURN(std::optional<events::EventRecord> event, events_->Get(survey.event_id()));
    if (!event) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the survey's event ", QuoteForMessage(survey.event_id()),
          " no longer exists; pass reference_time"));
    }
    return event->starts_at;
  }
  ASSIGN_OR_RETURN(RedisValue json,
                   redis_->Command({"HGET", keys_->Campaigns(), survey.campaign_id()}));
  absl::StatusOr<rewards::CampaignDefinition> campaign =
      json.IsNil() ? absl::NotFoundError("missing") : rewards::CampaignFromJson(json.str);
  if (!campaign.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "campaign '", survey.campaign_id(), "' has no readable definition to take its start "
        "from; pass reference_time"));
  }
  return campaign->starts_at;
}

absl::Status SurveysServiceImpl::DoBehaviour(const grpc::ServerContext& context,
                                             const v1::GetBehaviourChangeRequest& request,
                                             v1::BehaviourChange* out) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  if (request.weeks() < 1 || request.weeks() > kMaxBehaviourWeeks) {
    return absl::InvalidArgumentError(
        absl::StrCat("weeks must be 1 to ", kMaxBehaviourWeeks, ", got ", request.weeks()));
  }
  ASSIGN_OR_RETURN(StoredSurvey stored, Load(request.survey_id(), true));
  absl::Time reference;
  if (request.has_reference_time()) {
    ASSIGN_OR_RETURN(reference, TimeFromProto(request.reference_time(), "reference_time"));
  } else {
    ASSIGN_OR_RETURN(reference, DefaultReference(stored.survey));
  }
  const absl::Duration window = absl::Hours(24 * 7) * request.weeks();
  // account -> {answered before, answered after}; std::map keeps account
  // ids sorted, so the analysed sample is the lowest (random) ids.
  std::map<std::string, RespondentActivity> respondents;
  for (v1::SurveyWave wave : {v1::SURVEY_WAVE_BEFORE, v1::SURVEY_WAVE_AFTER}) {
    if (FindWave(stored.survey, wave) == nullptr) continue;
    RETURN_IF_ERROR(store_->ScanWave(
        stored.survey, wave, [&](std::vector<SurveyStore::ScannedResponse> batch) {
          for (const auto& r : batch) {
            RespondentActivity& a = respondents[r.account];
            (wave == v1::SURVEY_WAVE_BEFORE ? a.answered_before : a.answered_after) = true;
          }
          return absl::OkStatus();
        }));
  }
  std::vector<std::string> accounts;
  std::vector<RespondentActivity> answered;
  for (const auto& [account, a] : respondents) {
    if (accounts.size() >= static_cast<size_t>(kMaxBehaviourRespondents)) break;
    accounts.push_back(account);
    answered.push_back(a);
  }
  int64_t capped = 0;
  ASSIGN_OR_RETURN(std::vector<RespondentActivity> activity,
                   store_->LedgerActivity(*keys_, accounts, reference - window, reference,
                                          reference + window, &capped));
  for (size_t i = 0; i < activity.size(); ++i) {
    activity[i].answered_before = answered[i].answered_before;
    activity[i].answered_after = answered[i].answered_after;
  }
  out->set_survey_id(stored.survey.survey_id());
  *out->mutable_reference_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(reference));
  *out->mutable_before_from() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(reference - window));
  *out->mutable_after_until() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(reference + window));
  out->set_weeks(request.weeks());
  out->set_respondents_total(static_cast<int64_t>(respondents.size()));
  out->set_respondents_analysed(static_cast<int64_t>(accounts.size()));
  out->set_respondents_capped(capped);
  AggregateBehaviour(activity, stored.survey.waves_size() == 2, out);
  return absl::OkStatus();
}

namespace {

// Collects CSV rows and sends them in chunks of at most kChunkBytes (a
// single row longer than that goes alone).
class CsvStream {
 public:
  static constexpr size_t kChunkBytes = 64 * 1024;
  explicit CsvStream(grpc::ServerWriter<v1::SurveyCsvChunk>* writer) : writer_(writer) {}

  absl::Status Add(std::string row, bool data) {
    if (!chunk_.csv().empty() && chunk_.csv().size() + row.size() > kChunkBytes) {
      RETURN_IF_ERROR(Flush());
    }
    chunk_.mutable_csv()->append(row);
    if (data) chunk_.set_rows(chunk_.rows() + 1);
    return absl::OkStatus();
  }
  absl::Status Flush() {
    if (chunk_.csv().empty()) return absl::OkStatus();
    if (!writer_->Write(chunk_)) {
      return absl::CancelledError("the client stopped reading the export");
    }
    chunk_.Clear();
    return absl::OkStatus();
  }

 private:
  grpc::ServerWriter<v1::SurveyCsvChunk>* writer_;
  v1::SurveyCsvChunk chunk_;
};

}  // namespace

absl::Status SurveysServiceImpl::DoExport(const grpc::ServerContext& context,
                                          const v1::ExportSurveyCsvRequest& request,
                                          grpc::ServerWriter<v1::SurveyCsvChunk>* writer) {
  RETURN_IF_ERROR(auth_->Require(context, {v1::ROLE_ADMIN}).status());
  if (request.format() != v1::SURVEY_CSV_FORMAT_RESPONSES &&
      request.format() != v1::SURVEY_CSV_FORMAT_AGGREGATES) {
    return absl::InvalidArgumentError("format must be RESPONSES or AGGREGATES");
  }
  if (request.include_free_text() && request.format() != v1::SURVEY_CSV_FORMAT_RESPONSES) {
    return absl::InvalidArgumentError("include_free_text applies to the RESPONSES format only");
  }
  ASSIGN_OR_RETURN(StoredSurvey stored, Load(request.survey_id(), true));
  const v1::Survey& survey = stored.survey;
  CsvStream csv(writer);
  if (request.format() == v1::SURVEY_CSV_FORMAT_AGGREGATES) {
    ASSIGN_OR_RETURN(v1::SurveyResults results, Results(survey));
    std::vector<std::string> rows = AggregatesCsvRows(results);
    for (size_t i = 0; i < rows.size(); ++i) RETURN_IF_ERROR(csv.Add(std::move(rows[i]), i > 0));
    return csv.Flush();
  }
  ASSIGN_OR_RETURN(std::string salt, store_->PseudonymSalt(survey.survey_id()));
  RETURN_IF_ERROR(csv.Add(ResponsesCsvHeader(survey), false));
  for (const auto& window : survey.waves()) {
    // A resized hash may hand an account to two HSCAN batches: one row each.
    std::set<std::string> written;
    RETURN_IF_ERROR(store_->ScanWave(
        survey, window.wave(),
        [&](std::vector<SurveyStore::ScannedResponse> batch) -> absl::Status {
          for (const auto& r : batch) {
            if (!written.insert(r.account).second) continue;
            RETURN_IF_ERROR(csv.Add(ResponsesCsvRow(survey, Pseudonym(salt, r.account),
                                                    window.wave(), r.revision, r.response,
                                                    request.include_free_text()),
                                    true));
          }
          return absl::OkStatus();
        }));
  }
  return csv.Flush();
}

grpc::Status SurveysServiceImpl::CreateSurvey(grpc::ServerContext* c,
                                              const v1::CreateSurveyRequest* r, v1::Survey* out) {
  return ToGrpcStatus(DoCreate(*c, *r, out));
}
grpc::Status SurveysServiceImpl::PublishSurvey(grpc::ServerContext* c,
                                               const v1::PublishSurveyRequest* r,
                                               v1::Survey* out) {
  return ToGrpcStatus(DoPublish(*c, *r, out));
}
grpc::Status SurveysServiceImpl::GetSurvey(grpc::ServerContext* c, const v1::GetSurveyRequest* r,
                                           v1::Survey* out) {
  return ToGrpcStatus(DoGet(*c, *r, out));
}
grpc::Status SurveysServiceImpl::ListSurveys(grpc::ServerContext* c,
                                             const v1::ListSurveysRequest* r,
                                             v1::ListSurveysResponse* out) {
  return ToGrpcStatus(DoList(*c, *r, out));
}
grpc::Status SurveysServiceImpl::SubmitResponse(grpc::ServerContext* c,
                                                const v1::SubmitResponseRequest* r,
                                                v1::SubmitResponseResult* out) {
  return ToGrpcStatus(DoSubmit(*c, *r, out));
}
grpc::Status SurveysServiceImpl::GetBehaviourChange(grpc::ServerContext* c,
                                                    const v1::GetBehaviourChangeRequest* r,
                                                    v1::BehaviourChange* out) {
  return ToGrpcStatus(DoBehaviour(*c, *r, out));
}
grpc::Status SurveysServiceImpl::ExportSurveyCsv(grpc::ServerContext* c,
                                                 const v1::ExportSurveyCsvRequest* r,
                                                 grpc::ServerWriter<v1::SurveyCsvChunk>* writer) {
  return ToGrpcStatus(DoExport(*c, *r, writer));
}
grpc::Status SurveysServiceImpl::GetSurveyResults(grpc::ServerContext* c,
                                                  const v1::GetSurveyResultsRequest* r,
                                                  v1::SurveyResults* out) {
  return ToGrpcStatus(DoResults(*c, *r, out));
}

}  // namespace ecoact::surveys
