// ecoact.v1.SurveysService: questionnaires before and after a campaign or a
// collection drive, and their aggregated results.
//
// Validation and aggregation are pure (surveys.h); a response write is one
// script in the survey's slot (survey_store.h): idempotency by request id,
// the wave's window, and the write, atomically.
#pragma once

#include "ecoact/v1/surveys.grpc.pb.h"
#include "services/common/call_context.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "services/events/event_store.h"
#include "services/surveys/survey_store.h"

namespace ecoact::surveys {

struct SurveysOptions {
  // A citizen's responses to one wave: the first plus amendments.
  int max_revisions = 21;
};

class SurveysServiceImpl final : public v1::SurveysService::Service {
 public:
  SurveysServiceImpl(SurveyStore* store, events::EventStore* events, RedisClient* redis,
                     const KeySpace* keys, const Authenticator* auth, SurveysOptions options);

  grpc::Status CreateSurvey(grpc::ServerContext*, const v1::CreateSurveyRequest*,
                            v1::Survey*) override;
  grpc::Status PublishSurvey(grpc::ServerContext*, const v1::PublishSurveyRequest*,
                             v1::Survey*) override;
  grpc::Status GetSurvey(grpc::ServerContext*, const v1::GetSurveyRequest*, v1::Survey*) override;
  grpc::Status ListSurveys(grpc::ServerContext*, const v1::ListSurveysRequest*,
                           v1::ListSurveysResponse*) override;
  grpc::Status SubmitResponse(grpc::ServerContext*, const v1::SubmitResponseRequest*,
                              v1::SubmitResponseResult*) override;
  grpc::Status GetSurveyResults(grpc::ServerContext*, const v1::GetSurveyResultsRequest*,
                                v1::SurveyResults*) override;
  grpc::Status GetBehaviourChange(grpc::ServerContext*, const v1::GetBehaviourChangeRequest*,
                                  v1::BehaviourChange*) override;
  grpc::Status ExportSurveyCsv(grpc::ServerContext*, const v1::ExportSurveyCsvRequest*,
                               grpc::ServerWriter<v1::SurveyCsvChunk>*) override;

 private:
  // The survey, or NOT_FOUND (also for a draft when `drafts` is false).
  absl::StatusOr<StoredSurvey> Load(absl::string_view survey_id, bool drafts);
  absl::Status DoCreate(const grpc::ServerContext& c, const v1::CreateSurveyRequest& r,
                        v1::Survey* out);
  absl::Status DoPublish(const grpc::ServerContext& c, const v1::PublishSurveyRequest& r,
                         v1::Survey* out);
  absl::Status DoGet(const grpc::ServerContext& c, const v1::GetSurveyRequest& r, v1::Survey* out);
  absl::Status DoList(const grpc::ServerContext& c, const v1::ListSurveysRequest& r,
                      v1::ListSurveysResponse* out);
  absl::Status DoSubmit(const grpc::ServerContext& c, const v1::SubmitResponseRequest& r,
                        v1::SubmitResponseResult* out);
  absl::Status DoResults(const grpc::ServerContext& c, const v1::GetSurveyResultsRequest& r,
                         v1::SurveyResults* out);
  absl::StatusOr<v1::SurveyResults> Results(const v1::Survey& survey);
  // The event's start, or the campaign's, for the behaviour windows.
  absl::StatusOr<absl::Time> DefaultReference(const v1::Survey& survey);
  absl::Status DoBehaviour(const grpc::ServerContext& c, const v1::GetBehaviourChangeRequest& r,
                           v1::BehaviourChange* out);
  absl::Status DoExport(const grpc::ServerContext& c, const v1::ExportSurveyCsvRequest& r,
                        grpc::ServerWriter<v1::SurveyCsvChunk>* writer);

  SurveyStore* store_;
  events::EventStore* events_;
  RedisClient* redis_;
  const KeySpace* keys_;
  const Authenticator* auth_;
  SurveysOptions options_;
};

}  // namespace ecoact::surveys
