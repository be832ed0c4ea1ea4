// SurveysService through gRPC on a real Redis: design -> publish -> answers
// from several citizens in both waves -> results with known numbers
// (including a paired before/after change with a known effect), replays,
// amendments, closed waves, roles, unknown ids and bad answers.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

class SurveysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    t0_ = stack_->now();
    admin_ = stack_->AdminToken();
    staff_ = stack_->StaffToken("staff.aiko");
    event_id_ = CreateOpenEvent();
    // A campaign to attach surveys to (only its existence is checked).
    ASSERT_TRUE(stack_->redis()
                    .Command({"HSET", stack_->keys().Campaigns(), "denim-nov", "{}"})
                    .ok());
  }

  std::string CreateOpenEvent() {
    v1::CreateEventRequest request;
    request.set_request_id("drive-request-0001");
    request.set_kind(v1::EVENT_KIND_DRIVE);
    request.set_name("Frontale clothing drive");
    request.set_ward("nakahara");
    *request.mutable_starts_at() = Ts(t0_ - absl::Hours(1));
    *request.mutable_ends_at() = Ts(t0_ + absl::Hours(3));
    request.add_accepted_action_types("clothing_reuse");
    v1::Event event;
    grpc::Status status =
        stack_->events()->CreateEvent(Stack::Context(admin_).get(), request, &event);
    EXPECT_TRUE(status.ok()) << status.error_message();
    v1::AssignStaffRequest assign;
    assign.set_event_id(event.event_id());
    assign.add_staff_logins("staff.aiko");
    EXPECT_TRUE(stack_->events()->AssignStaff(Stack::Context(admin_).get(), assign, &event).ok());
    v1::EventTransitionRequest open;
    open.set_event_id(event.event_id());
    EXPECT_TRUE(stack_->events()->OpenEvent(Stack::Context(staff_).get(), open, &event).ok());
    return event.event_id();
  }

  void CheckIn(const Citizen& citizen) {
    v1::CheckInCode code;
    ASSERT_TRUE(
        stack_->events()->GetCheckInCode(Stack::Context(citizen.token).get(), {}, &code).ok());
    v1::CheckInRequest request;
    request.set_event_id(event_id_);
    request.set_code(code.code());
    v1::CheckInResponse response;
    grpc::Status status =
        stack_->events()->CheckIn(Stack::Context(staff_).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // BEFORE open [t0 - 1h, t0 + 1h), AFTER [t0 + 2h, t0 + 4h).
  v1::CreateSurveyRequest Design(const std::string& request_id) {
    v1::CreateSurveyRequest r;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
      title: "Clothing habits"
      questions {
        question_id: "often" type: QUESTION_TYPE_SINGLE_CHOICE required: true
        text: "How often do you buy clothes?"
        options { option_id: "weekly" label: "Weekly" }
        options { option_id: "monthly" label: "Monthly" }
        options { option_id: "rarely" label: "Rarely" }
      }
      questions { question_id: "care" type: QUESTION_TYPE_SCALE text: "I try to reuse" required: true }
      questions {
        question_id: "kg" type: QUESTION_TYPE_NUMBER text: "Kg thrown away per year"
        min_number: 0 max_number: 500
      }
      questions { question_id: "note" type: QUESTION_TYPE_FREE_TEXT text: "Anything else?" }
    )pb", &r));
    r.set_request_id(request_id);
    r.set_event_id(event_id_);
    auto* before = r.add_waves();
    before->set_wave(v1::SURVEY_WAVE_BEFORE);
    *before->mutable_opens_at() = Ts(t0_ - absl::Hours(1));
    *before->mutable_closes_at() = Ts(t0_ + absl::Hours(1));
    auto* after = r.add_waves();
    after->set_wave(v1::SURVEY_WAVE_AFTER);
    *after->mutable_opens_at() = Ts(t0_ + absl::Hours(2));
    *after->mutable_closes_at() = Ts(t0_ + absl::Hours(4));
    return r;
  }

  grpc::Status Create(const v1::CreateSurveyRequest& r, v1::Survey* out,
                      const std::string& token = "") {
    return stack_->surveys()->CreateSurvey(Stack::Context(token.empty() ? admin_ : token).get(),
                                           r, out);
  }

  v1::Survey CreatePublished(const std::string& request_id) {
    v1::Survey survey;
    grpc::Status status = Create(Design(request_id), &survey);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return Publish(survey.survey_id());
  }

  v1::Survey Publish(const std::string& id) {
    v1::PublishSurveyRequest request;
    request.set_survey_id(id);
    v1::Survey out;
    grpc::Status status = stack_->surveys()->PublishSurvey(Stack::Context(admin_).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  grpc::Status Submit(const std::string& token, const std::string& survey_id, v1::SurveyWave wave,
                      const std::string& request_id, const std::string& often, int care,
                      double kg = -1, v1::SubmitResponseResult* out = nullptr) {
    v1::SubmitResponseRequest r;
    r.set_request_id(request_id);
    r.set_survey_id(survey_id);
    r.set_wave(wave);
    auto* a = r.add_answers();
    a->set_question_id("often");
    if (!often.empty()) a->add_option_ids(often);
    if (care != 0) {
      a = r.add_answers();
      a->set_question_id("care");
      a->set_scale(care);
    }
    if (kg >= 0) {
      a = r.add_answers();
      a->set_question_id("kg");
      a->set_number(kg);
    }
    v1::SubmitResponseResult ignored;
    return stack_->surveys()->SubmitResponse(Stack::Context(token).get(), r, out ? out : &ignored);
  }

  v1::SurveyResults Results(const std::string& id) {
    v1::GetSurveyResultsRequest request;
    request.set_survey_id(id);
    v1::SurveyResults out;
    grpc::Status status =
        stack_->surveys()->GetSurveyResults(Stack::Context(admin_).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  // Moves the clock and signs the admin and `citizens` in again (access
  // tokens last 15 minutes).
  void MoveTo(absl::Time t, std::vector<Citizen*> citizens = {}) {
    stack_->set_now(t);
    admin_ = stack_->AdminToken();
    for (Citizen* c : citizens) {
      v1::SignInRequest request;
      request.set_account_id(c->account_id);
      request.set_secret(c->secret);
      v1::SignInResponse response;
      grpc::Status status =
          stack_->identity()->SignIn(Stack::Context().get(), request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      c->token = response.token();
    }
  }

  std::unique_ptr<Stack> stack_;
  absl::Time t0_;
  std::string admin_, staff_, event_id_;
};

TEST_F(SurveysTest, DesignPublishAnswerBothWavesAndGetKnownResults) {
  v1::Survey draft;
  ASSERT_TRUE(Create(Design("survey-request-01"), &draft).ok());
  EXPECT_EQ(draft.status(), v1::SURVEY_STATUS_DRAFT);
  EXPECT_EQ(draft.version(), 1);
  EXPECT_EQ(draft.event_id(), event_id_);

  Citizen a = stack_->Register("Aoi", "nakahara");
  Citizen b = stack_->Register("Ben", "nakahara");
  Citizen c = stack_->Register("Chie", "tama");
  Citizen d = stack_->Register("Dai", "nakahara");
  // A draft is invisible to citizens.
  v1::GetSurveyRequest get;
  get.set_survey_id(draft.survey_id());
  v1::Survey seen;
  EXPECT_THAT(stack_->surveys()->GetSurvey(Stack::Context(a.token).get(), get, &seen),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::ListSurveysResponse list;
  ASSERT_TRUE(stack_->surveys()->ListSurveys(Stack::Context(a.token).get(), {}, &list).ok());
  EXPECT_EQ(list.surveys_size(), 0);
  EXPECT_THAT(Submit(a.token, draft.survey_id(), v1::SURVEY_WAVE_BEFORE, "resp-a-before", "weekly", 2),
              StatusIs(grpc::StatusCode::NOT_FOUND));

  v1::Survey published = Publish(draft.survey_id());
  EXPECT_EQ(published.status(), v1::SURVEY_STATUS_PUBLISHED);
  EXPECT_TRUE(published.has_published_at());
  // Publishing again changes nothing.
  EXPECT_EQ(Publish(draft.survey_id()).published_at().seconds(), published.published_at().seconds());
  ASSERT_TRUE(stack_->surveys()->ListSurveys(Stack::Context(a.token).get(), {}, &list).ok());
  ASSERT_EQ(list.surveys_size(), 1);
  EXPECT_EQ(list.surveys(0).survey_id(), draft.survey_id());
  ASSERT_TRUE(stack_->surveys()->GetSurvey(Stack::Context(a.token).get(), get, &seen).ok());
  EXPECT_EQ(seen.questions_size(), 4);

  // a, b and d are checked in at the event; c is not; d never answers.
  CheckIn(a);
  CheckIn(b);
  CheckIn(d);
  const std::string id = draft.survey_id();
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-a-before", "weekly", 2, 10).ok());
  ASSERT_TRUE(Submit(b.token, id, v1::SURVEY_WAVE_BEFORE, "resp-b-before", "weekly", 1, 20).ok());
  ASSERT_TRUE(Submit(c.token, id, v1::SURVEY_WAVE_BEFORE, "resp-c-before", "monthly", 3, 60).ok());
  // The AFTER wave is not open yet.
  EXPECT_THAT(Submit(a.token, id, v1::SURVEY_WAVE_AFTER, "resp-a-after", "rarely", 4),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("after wave opens at")));

  MoveTo(t0_ + absl::Hours(2) + absl::Minutes(30), {&a, &b});
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_AFTER, "resp-a-after", "rarely", 4).ok());
  ASSERT_TRUE(Submit(b.token, id, v1::SURVEY_WAVE_AFTER, "resp-b-after", "monthly", 3).ok());

  v1::SurveyResults r = Results(id);
  EXPECT_EQ(r.survey_id(), id);
  EXPECT_EQ(r.checked_in_participants(), 3);
  ASSERT_EQ(r.waves_size(), 2);
  const v1::WaveResult& before = r.waves(0);
  EXPECT_EQ(before.wave(), v1::SURVEY_WAVE_BEFORE);
  EXPECT_EQ(before.responses(), 3);
  EXPECT_EQ(before.checked_in_respondents(), 2);
  EXPECT_DOUBLE_EQ(before.response_rate(), 2.0 / 3);
  ASSERT_EQ(before.questions_size(), 4);
  EXPECT_EQ(before.questions(0).options(0).count(), 2);  // weekly
  EXPECT_EQ(before.questions(0).options(1).count(), 1);  // monthly
  EXPECT_EQ(before.questions(0).options(2).count(), 0);  // rarely
  EXPECT_THAT(before.questions(1).scale_distribution(), ::testing::ElementsAre(1, 1, 1, 0, 0));
  EXPECT_DOUBLE_EQ(before.questions(1).mean(), 2.0);
  EXPECT_DOUBLE_EQ(before.questions(2).mean(), 30.0);
  EXPECT_DOUBLE_EQ(before.questions(2).median(), 20.0);
  EXPECT_EQ(before.questions(3).answered(), 0);
  const v1::WaveResult& after = r.waves(1);
  EXPECT_EQ(after.responses(), 2);
  EXPECT_DOUBLE_EQ(after.response_rate(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(after.questions(1).mean(), 3.5);
  EXPECT_EQ(r.paired_respondents(), 2);
  ASSERT_EQ(r.paired_size(), 1);
  EXPECT_EQ(r.paired(0).question_id(), "care");
  EXPECT_EQ(r.paired(0).pairs(), 2);
  EXPECT_DOUBLE_EQ(r.paired(0).mean_change(), 2.0);  // (4-2 + 3-1) / 2
}

TEST_F(SurveysTest, PairedChangeOnGeneratedDataWithAKnownEffect) {
  const std::string id = CreatePublished("survey-request-02").survey_id();
  // Twelve citizens; everyone's AFTER answer is one point above BEFORE
  // except every fourth, who stays the same: effect = 9/12 = 0.75. Two
  // more answer only one wave and must not count as pairs.
  std::vector<Citizen> citizens;
  for (int i = 0; i < 14; ++i) {
    citizens.push_back(stack_->Register(absl::StrCat("Citizen", i), "nakahara"));
  }
  for (int i = 0; i < 13; ++i) {
    grpc::Status status = Submit(citizens[i].token, id, v1::SURVEY_WAVE_BEFORE,
                                 absl::StrCat("before-resp-", i), "weekly", 1 + i % 4);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
  }
  std::vector<Citizen*> all;
  for (Citizen& c : citizens) all.push_back(&c);
  MoveTo(t0_ + absl::Hours(3), all);
  for (int i = 0; i < 14; ++i) {
    if (i == 12) continue;
    const int before = 1 + i % 4;
    const int after = i < 12 && i % 4 != 3 ? before + 1 : before;
    grpc::Status status = Submit(citizens[i].token, id, v1::SURVEY_WAVE_AFTER,
                                 absl::StrCat("after-resp-", i), "rarely", after);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
  }
  v1::SurveyResults r = Results(id);
  EXPECT_EQ(r.waves(0).responses(), 13);
  EXPECT_EQ(r.waves(1).responses(), 13);
  EXPECT_EQ(r.paired_respondents(), 12);
  ASSERT_EQ(r.paired_size(), 1);
  EXPECT_EQ(r.paired(0).pairs(), 12);
  EXPECT_DOUBLE_EQ(r.paired(0).mean_change(), 0.75);
}

TEST_F(SurveysTest, ReplayAmendAndClosedWave) {
  const std::string id = CreatePublished("survey-request-03").survey_id();
  Citizen a = stack_->Register("Aoi", "nakahara");
  v1::SubmitResponseResult first, replay, amended, late_replay;
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-0001", "weekly", 2, -1, &first).ok());
  EXPECT_EQ(first.revision(), 1);
  EXPECT_FALSE(first.amended());
  EXPECT_FALSE(first.replayed());
  // The same request again: the first result, nothing stored twice.
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-0001", "weekly", 2, -1, &replay).ok());
  EXPECT_TRUE(replay.replayed());
  EXPECT_EQ(replay.revision(), 1);
  EXPECT_EQ(replay.submitted_at().seconds(), first.submitted_at().seconds());
  // The same request id with other answers is refused.
  EXPECT_THAT(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-0001", "monthly", 2),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("use a new request_id")));
  // A new request id amends while the wave is open.
  MoveTo(t0_ + absl::Minutes(14), {&a});
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-0002", "rarely", 5, -1, &amended).ok());
  EXPECT_EQ(amended.revision(), 2);
  EXPECT_TRUE(amended.amended());
  v1::SurveyResults r = Results(id);
  EXPECT_EQ(r.waves(0).responses(), 1);
  EXPECT_EQ(r.waves(0).questions(0).options(0).count(), 0);  // weekly replaced
  EXPECT_EQ(r.waves(0).questions(0).options(2).count(), 1);  // by rarely
  EXPECT_DOUBLE_EQ(r.waves(0).questions(1).mean(), 5.0);
  EXPECT_EQ(r.checked_in_participants(), 0);
  EXPECT_DOUBLE_EQ(r.waves(0).response_rate(), 0);

  // After the wave closes, responses are final; a retry still gets its result.
  MoveTo(t0_ + absl::Hours(1), {&a});
  EXPECT_THAT(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-0003", "weekly", 1),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("before wave closed at")));
  ASSERT_TRUE(
      Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-0002", "rarely", 5, -1, &late_replay).ok());
  EXPECT_TRUE(late_replay.replayed());
  EXPECT_EQ(late_replay.revision(), 2);
  EXPECT_DOUBLE_EQ(Results(id).waves(0).questions(1).mean(), 5.0);
}

TEST_F(SurveysTest, BadAnswersNameTheQuestion) {
  const std::string id = CreatePublished("survey-request-04").survey_id();
  Citizen a = stack_->Register("Aoi", "nakahara");
  EXPECT_THAT(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-0001", "weekly", 7),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("question 'care': scale answer must be 1 to 5, got 7")));
  EXPECT_THAT(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-0002", "daily", 3),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("question 'often': unknown option 'daily'")));
  EXPECT_THAT(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-0003", "weekly", 0),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("question 'care': is required")));
  EXPECT_THAT(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-0004", "weekly", 3, 900),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("question 'kg': number must be 0 to 500, got 900")));
  EXPECT_THAT(Submit(a.token, id, v1::SURVEY_WAVE_UNSPECIFIED, "resp-0005", "weekly", 3),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("wave must be BEFORE or AFTER")));
  // Nothing was stored by the rejected calls.
  EXPECT_EQ(Results(id).waves(0).responses(), 0);
}

TEST_F(SurveysTest, RolesAndUnknownIds) {
  const std::string id = CreatePublished("survey-request-05").survey_id();
  Citizen a = stack_->Register("Aoi", "nakahara");
  v1::Survey out;
  EXPECT_THAT(Create(Design("survey-request-06"), &out, a.token),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  v1::GetSurveyResultsRequest results;
  results.set_survey_id(id);
  v1::SurveyResults r;
  EXPECT_THAT(stack_->surveys()->GetSurveyResults(Stack::Context(a.token).get(), results, &r),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(stack_->surveys()->GetSurveyResults(Stack::Context(staff_).get(), results, &r),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(Submit(staff_, id, v1::SURVEY_WAVE_BEFORE, "resp-0001", "weekly", 3),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  v1::ListSurveysRequest all;
  all.set_include_all(true);
  v1::ListSurveysResponse list;
  EXPECT_THAT(stack_->surveys()->ListSurveys(Stack::Context(a.token).get(), all, &list),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));

  results.set_survey_id("sv-unknown");
  EXPECT_THAT(stack_->surveys()->GetSurveyResults(Stack::Context(admin_).get(), results, &r),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::GetSurveyRequest get;
  get.set_survey_id("sv-unknown");
  EXPECT_THAT(stack_->surveys()->GetSurvey(Stack::Context(admin_).get(), get, &out),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::PublishSurveyRequest publish;
  publish.set_survey_id("sv-unknown");
  EXPECT_THAT(stack_->surveys()->PublishSurvey(Stack::Context(admin_).get(), publish, &out),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(Submit(a.token, "sv-unknown", v1::SURVEY_WAVE_BEFORE, "resp-0002", "weekly", 3),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::CreateSurveyRequest design = Design("survey-request-07");
  design.set_event_id("ev-unknown");
  EXPECT_THAT(Create(design, &out), StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("unknown event")));
  design.clear_event_id();
  design.set_campaign_id("no-such-campaign");
  EXPECT_THAT(Create(design, &out),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("unknown campaign 'no-such-campaign'")));
  design = Design("survey-request-08");
  design.set_supersedes("sv-unknown");
  EXPECT_THAT(Create(design, &out), StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("supersedes")));
}

TEST_F(SurveysTest, CreateIsIdempotentAndANewVersionReplacesTheOldOnce) {
  v1::Survey v1_survey, retry;
  ASSERT_TRUE(Create(Design("survey-request-09"), &v1_survey).ok());
  ASSERT_TRUE(Create(Design("survey-request-09"), &retry).ok());
  EXPECT_EQ(retry.survey_id(), v1_survey.survey_id());
  v1::CreateSurveyRequest other = Design("survey-request-09");
  other.set_title("Another title");
  EXPECT_THAT(Create(other, &retry), StatusIs(grpc::StatusCode::ALREADY_EXISTS));
  Publish(v1_survey.survey_id());

  v1::CreateSurveyRequest next = Design("survey-request-10");
  next.set_supersedes(v1_survey.survey_id());
  next.mutable_questions(0)->set_text("How often do you buy new clothes?");
  v1::Survey v2_survey;
  ASSERT_TRUE(Create(next, &v2_survey).ok());
  EXPECT_EQ(v2_survey.version(), 2);
  EXPECT_EQ(v2_survey.supersedes(), v1_survey.survey_id());
  // A second new version of the same survey is refused.
  v1::CreateSurveyRequest fork = Design("survey-request-11");
  fork.set_supersedes(v1_survey.survey_id());
  EXPECT_THAT(Create(fork, &retry),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("already superseded")));
  // A new version must keep the target.
  v1::CreateSurveyRequest moved = Design("survey-request-12");
  moved.clear_event_id();
  moved.set_campaign_id("denim-nov");
  moved.set_supersedes(v2_survey.survey_id());
  EXPECT_THAT(Create(moved, &retry), StatusIs(grpc::StatusCode::INVALID_ARGUMENT));

  Citizen a = stack_->Register("Aoi", "nakahara");
  auto listed = [&](const std::string& token, bool include_all) {
    v1::ListSurveysRequest request;
    request.set_event_id(event_id_);
    request.set_include_all(include_all);
    v1::ListSurveysResponse response;
    EXPECT_TRUE(stack_->surveys()->ListSurveys(Stack::Context(token).get(), request, &response).ok());
    std::vector<std::string> ids;
    for (const auto& s : response.surveys()) ids.push_back(s.survey_id());
    return ids;
  };
  // Until v2 is published citizens keep seeing v1; then only v2.
  EXPECT_THAT(listed(a.token, false), ::testing::ElementsAre(v1_survey.survey_id()));
  Publish(v2_survey.survey_id());
  EXPECT_THAT(listed(a.token, false), ::testing::ElementsAre(v2_survey.survey_id()));
  EXPECT_THAT(listed(admin_, true),
              ::testing::UnorderedElementsAre(v1_survey.survey_id(), v2_survey.survey_id()));
}

TEST_F(SurveysTest, DeleteMyAccountErasesTheResponses) {
  const std::string id = CreatePublished("survey-request-13").survey_id();
  Citizen a = stack_->Register("Aoi", "nakahara");
  Citizen b = stack_->Register("Ben", "nakahara");
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-a-0001", "weekly", 2).ok());
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "resp-a-0002", "weekly", 3).ok());
  ASSERT_TRUE(Submit(b.token, id, v1::SURVEY_WAVE_BEFORE, "resp-b-0001", "rarely", 5).ok());
  MoveTo(t0_ + absl::Hours(3), {&a, &b});
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_AFTER, "resp-a-0003", "rarely", 4).ok());
  ASSERT_EQ(Results(id).paired_respondents(), 1);

  v1::DeleteMyAccountRequest erase;
  erase.set_request_id("delete-aoi-0001");
  erase.set_confirm_account_id(a.account_id);
  v1::DeleteMyAccountResponse erased;
  grpc::Status status =
      stack_->identity()->DeleteMyAccount(Stack::Context(a.token).get(), erase, &erased);
  ASSERT_TRUE(status.ok()) << status.error_message();

  v1::SurveyResults r = Results(id);
  EXPECT_EQ(r.waves(0).responses(), 1);
  EXPECT_DOUBLE_EQ(r.waves(0).questions(1).mean(), 5.0);
  EXPECT_EQ(r.waves(1).responses(), 0);
  EXPECT_EQ(r.paired_respondents(), 0);
  // No survey key names the account any more.
  auto keys = stack_->redis().Command({"KEYS", "*{sv:*"});
  ASSERT_TRUE(keys.ok());
  for (const RedisValue& key : keys->elements) {
    EXPECT_THAT(key.str, ::testing::Not(HasSubstr(a.account_id)));
    auto type = stack_->redis().Command({"TYPE", key.str});
    if (type.ok() && type->str == "hash") {
      auto fields = stack_->redis().Command({"HKEYS", key.str});
      ASSERT_TRUE(fields.ok());
      for (const RedisValue& f : fields->elements) {
        EXPECT_THAT(f.str, ::testing::Not(HasSubstr(a.account_id))) << key.str;
      }
    }
  }
  // The still-signed token of the deleted account cannot answer again.
  EXPECT_THAT(Submit(a.token, id, v1::SURVEY_WAVE_AFTER, "resp-a-0004", "rarely", 4),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("this account was deleted")));
}

TEST_F(SurveysTest, AmendmentLimitAndMissingWave) {
  const std::string id = CreatePublished("survey-request-14").survey_id();
  Citizen a = stack_->Register("Aoi", "nakahara");
  // The first response and 20 amendments are stored; the 21st amendment is not.
  for (int i = 0; i < 21; ++i) {
    grpc::Status status = Submit(a.token, id, v1::SURVEY_WAVE_BEFORE,
                                 absl::StrCat("amend-resp-", i), "weekly", 1 + i % 5);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
  }
  EXPECT_THAT(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "amend-resp-21", "weekly", 5),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, HasSubstr("20 times")));
  EXPECT_DOUBLE_EQ(Results(id).waves(0).questions(1).mean(), 1.0);  // the 21st: 1 + 20 % 5

  v1::CreateSurveyRequest one_wave = Design("survey-request-15");
  one_wave.mutable_waves()->RemoveLast();  // BEFORE only
  v1::Survey survey;
  ASSERT_TRUE(Create(one_wave, &survey).ok());
  Publish(survey.survey_id());
  EXPECT_THAT(Submit(a.token, survey.survey_id(), v1::SURVEY_WAVE_AFTER, "after-resp-0001",
                     "weekly", 3),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("has no after wave")));
  EXPECT_EQ(Results(survey.survey_id()).paired_size(), 0);
}

// ------------------------------------------------- behaviour link, CSV

// Records one "refused a plastic bag" (61 g CO2) at `at`.
void RecordAt(Stack& stack, const Citizen& c, absl::Time at, const std::string& request_id) {
  v1::RecordActionRequest request;
  request.set_request_id(request_id);
  request.set_action_type("plastic_bag_refused");
  request.set_quantity(1);
  *request.mutable_occurred_at() = Ts(at);
  v1::RecordActionResponse response;
  grpc::Status status =
      stack.actions()->RecordAction(Stack::Context(c.token).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

const v1::BehaviourGroup* FindGroup(const v1::BehaviourChange& change, v1::RespondentGroup g) {
  for (const auto& group : change.groups()) {
    if (group.group() == g) return &group;
  }
  return nullptr;
}

// Generated data with a known effect: the four citizens who answered both
// waves record twice as many actions in the week after the drive as in the
// week before; the two who answered only BEFORE record the same number; a
// non-respondent records a lot (must not count), and an action after the
// after window must not count either.
TEST_F(SurveysTest, BehaviourChangeFindsAKnownEffectInTheLedger) {
  const std::string id = CreatePublished("survey-request-20").survey_id();
  std::vector<Citizen> both, before_only;
  for (int i = 0; i < 4; ++i) both.push_back(stack_->Register(absl::StrCat("Both", i), "nakahara"));
  for (int i = 0; i < 2; ++i) before_only.push_back(stack_->Register(absl::StrCat("Once", i), "tama"));
  Citizen outsider = stack_->Register("Outsider", "tama");
  // The drive started at t0 - 1h: that is the reference. Two actions each
  // in the week before it.
  int n = 0;
  for (auto* group : {&both, &before_only}) {
    for (const Citizen& c : *group) {
      RecordAt(*stack_, c, t0_ - absl::Hours(50), absl::StrCat("behaviour-", n++));
      RecordAt(*stack_, c, t0_ - absl::Hours(75), absl::StrCat("behaviour-", n++));
      ASSERT_TRUE(Submit(c.token, id, v1::SURVEY_WAVE_BEFORE, absl::StrCat("bresp-000", n), "weekly", 2).ok());
    }
  }
  for (int i = 0; i < 5; ++i) RecordAt(*stack_, outsider, t0_ - absl::Hours(30), absl::StrCat("behaviour-", n++));

  std::vector<Citizen*> everyone = {&outsider};
  for (auto& c : both) everyone.push_back(&c);
  for (auto& c : before_only) everyone.push_back(&c);
  MoveTo(t0_ + absl::Hours(3), everyone);
  for (const Citizen& c : both) {
    ASSERT_TRUE(Submit(c.token, id, v1::SURVEY_WAVE_AFTER, absl::StrCat("aresp-000", n++), "rarely", 4).ok());
  }
  // In the week after: four actions each for those who answered both waves
  // (twice as many), two for the others.
  MoveTo(t0_ + absl::Hours(48), everyone);
  for (const Citizen& c : both) {
    for (int i = 0; i < 4; ++i) RecordAt(*stack_, c, stack_->now(), absl::StrCat("behaviour-", n++));
  }
  for (const Citizen& c : before_only) {
    for (int i = 0; i < 2; ++i) RecordAt(*stack_, c, stack_->now(), absl::StrCat("behaviour-", n++));
  }
  for (int i = 0; i < 10; ++i) RecordAt(*stack_, outsider, stack_->now(), absl::StrCat("behaviour-", n++));
  // After the one-week after window (it ends at t0 - 1h + 7 days).
  MoveTo(t0_ + absl::Hours(24 * 8), everyone);
  for (int i = 0; i < 5; ++i) RecordAt(*stack_, both[0], stack_->now(), absl::StrCat("behaviour-", n++));

  v1::GetBehaviourChangeRequest request;
  request.set_survey_id(id);
  request.set_weeks(1);
  v1::BehaviourChange change;
  grpc::Status status =
      stack_->surveys()->GetBehaviourChange(Stack::Context(admin_).get(), request, &change);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(change.reference_time()),
            absl::ToUnixMillis(t0_ - absl::Hours(1)));
  EXPECT_EQ(change.respondents_total(), 6);
  EXPECT_EQ(change.respondents_analysed(), 6);
  EXPECT_EQ(change.respondents_capped(), 0);
  ASSERT_EQ(change.groups_size(), 4);

  const v1::BehaviourGroup* all = FindGroup(change, v1::RESPONDENT_GROUP_ALL);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(all->respondents(), 6);
  EXPECT_EQ(all->before().actions(), 12);
  EXPECT_EQ(all->after().actions(), 4 * 4 + 2 * 2);

  const v1::BehaviourGroup* paired = FindGroup(change, v1::RESPONDENT_GROUP_BOTH_WAVES);
  ASSERT_NE(paired, nullptr);
  EXPECT_EQ(paired->respondents(), 4);
  EXPECT_DOUBLE_EQ(paired->before().mean_actions(), 2.0);
  EXPECT_DOUBLE_EQ(paired->after().mean_actions(), 4.0);
  EXPECT_DOUBLE_EQ(paired->mean_action_change(), 2.0);
  EXPECT_DOUBLE_EQ(paired->sd_action_change(), 0.0);
  EXPECT_EQ(paired->increased(), 4);
  EXPECT_GT(paired->before().co2_grams(), 0);
  EXPECT_EQ(paired->after().co2_grams(), 2 * paired->before().co2_grams());
  EXPECT_DOUBLE_EQ(paired->mean_co2_change_grams(),
                   static_cast<double>(paired->before().co2_grams()) / 4);
  EXPECT_EQ(paired->after().active_respondents(), 4);

  const v1::BehaviourGroup* once = FindGroup(change, v1::RESPONDENT_GROUP_BEFORE_ONLY);
  ASSERT_NE(once, nullptr);
  EXPECT_EQ(once->respondents(), 2);
  EXPECT_DOUBLE_EQ(once->mean_action_change(), 0.0);
  EXPECT_EQ(once->unchanged(), 2);
  const v1::BehaviourGroup* late = FindGroup(change, v1::RESPONDENT_GROUP_AFTER_ONLY);
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->respondents(), 0);
  EXPECT_DOUBLE_EQ(late->before().mean_actions(), 0.0);

  // An explicit reference time moves the windows: from t0 + 30 h, the
  // "before" week holds every earlier action of the respondents (12) and
  // the "after" week the later ones, the late five of both[0] included.
  request.mutable_reference_time()->CopyFrom(Ts(t0_ + absl::Hours(30)));
  ASSERT_TRUE(stack_->surveys()
                  ->GetBehaviourChange(Stack::Context(admin_).get(), request, &change)
                  .ok());
  all = FindGroup(change, v1::RESPONDENT_GROUP_ALL);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(all->before().actions(), 12);
  EXPECT_EQ(all->after().actions(), 20 + 5);
}

TEST_F(SurveysTest, BehaviourChangeBadInputAndRoles) {
  const std::string id = CreatePublished("survey-request-21").survey_id();
  Citizen a = stack_->Register("Aoi", "nakahara");
  v1::GetBehaviourChangeRequest request;
  request.set_survey_id(id);
  v1::BehaviourChange out;
  for (int weeks : {0, -1, 27}) {
    request.set_weeks(weeks);
    EXPECT_THAT(stack_->surveys()->GetBehaviourChange(Stack::Context(admin_).get(), request, &out),
                StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("weeks must be 1 to 26")));
  }
  request.set_weeks(2);
  EXPECT_THAT(stack_->surveys()->GetBehaviourChange(Stack::Context(a.token).get(), request, &out),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  request.set_survey_id("sv-unknown");
  EXPECT_THAT(stack_->surveys()->GetBehaviourChange(Stack::Context(admin_).get(), request, &out),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("unknown survey")));
  // A campaign survey whose campaign definition cannot be read (the fixture
  // stores "{}") needs an explicit reference time.
  v1::CreateSurveyRequest design = Design("survey-request-22");
  design.clear_event_id();
  design.set_campaign_id("denim-nov");
  v1::Survey survey;
  ASSERT_TRUE(Create(design, &survey).ok());
  request.set_survey_id(survey.survey_id());
  EXPECT_THAT(stack_->surveys()->GetBehaviourChange(Stack::Context(admin_).get(), request, &out),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("pass reference_time")));
  *request.mutable_reference_time() = Ts(t0_);
  ASSERT_TRUE(
      stack_->surveys()->GetBehaviourChange(Stack::Context(admin_).get(), request, &out).ok());
  EXPECT_EQ(out.respondents_total(), 0);
  EXPECT_EQ(out.groups(0).respondents(), 0);
}

// Reads a whole CSV export; the status of the stream.
grpc::Status ExportCsv(Stack& stack, const std::string& token,
                       const v1::ExportSurveyCsvRequest& request, std::string* csv,
                       int64_t* rows = nullptr) {
  auto context = Stack::Context(token);
  auto reader = stack.surveys()->ExportSurveyCsv(context.get(), request);
  v1::SurveyCsvChunk chunk;
  csv->clear();
  int64_t n = 0;
  while (reader->Read(&chunk)) {
    csv->append(chunk.csv());
    n += chunk.rows();
  }
  if (rows) *rows = n;
  return reader->Finish();
}

std::vector<std::string> Lines(const std::string& csv) {
  std::vector<std::string> lines = absl::StrSplit(csv, "\r\n", absl::SkipEmpty());
  return lines;
}

TEST_F(SurveysTest, CsvExportHasPseudonymsAnswersAndAggregates) {
  const std::string id = CreatePublished("survey-request-23").survey_id();
  Citizen a = stack_->Register("Aoi", "nakahara");
  Citizen b = stack_->Register("Ben", "nakahara");
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "csv-resp-0001", "weekly", 2, 12.5).ok());
  // Free text a spreadsheet would run as a formula, with a comma and quotes.
  v1::SubmitResponseRequest r;
  r.set_request_id("csv-resp-0002");
  r.set_survey_id(id);
  r.set_wave(v1::SURVEY_WAVE_BEFORE);
  auto* q = r.add_answers();
  q->set_question_id("often");
  q->add_option_ids("monthly");
  q = r.add_answers();
  q->set_question_id("care");
  q->set_scale(5);
  q = r.add_answers();
  q->set_question_id("note");
  q->set_text("=HYPERLINK(\"x\"), ok");
  v1::SubmitResponseResult ignored;
  ASSERT_TRUE(stack_->surveys()->SubmitResponse(Stack::Context(b.token).get(), r, &ignored).ok());
  // Amended once: revision 2.
  r.set_request_id("csv-resp-0003");
  ASSERT_TRUE(stack_->surveys()->SubmitResponse(Stack::Context(b.token).get(), r, &ignored).ok());
  MoveTo(t0_ + absl::Hours(3), {&a});
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_AFTER, "csv-resp-0004", "rarely", 4).ok());

  v1::ExportSurveyCsvRequest request;
  request.set_survey_id(id);
  request.set_format(v1::SURVEY_CSV_FORMAT_RESPONSES);
  std::string csv;
  int64_t rows = 0;
  ASSERT_TRUE(ExportCsv(*stack_, admin_, request, &csv, &rows).ok());
  EXPECT_EQ(rows, 3);
  std::vector<std::string> lines = Lines(csv);
  ASSERT_EQ(lines.size(), 4u) << csv;
  EXPECT_EQ(lines[0], "respondent,wave,revision,often,care,kg,note");
  // No account id and no nickname anywhere.
  for (const std::string& secret : {a.account_id, b.account_id, std::string("Aoi"),
                                    std::string("Ben")}) {
    EXPECT_EQ(csv.find(secret), std::string::npos) << secret;
  }
  std::map<std::string, std::vector<std::string>> by_row;  // "<wave> <often>" -> fields
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f = absl::StrSplit(lines[i], ',');
    ASSERT_GE(f.size(), 7u) << lines[i];
    EXPECT_THAT(f[0], ::testing::MatchesRegex("r-[0-9a-f]{16}"));
    by_row[absl::StrCat(f[1], " ", f[3])] = f;
  }
  ASSERT_EQ(by_row.size(), 3u) << csv;
  const auto& a_before = by_row["before weekly"];
  const auto& a_after = by_row["after rarely"];
  const auto& b_before = by_row["before monthly"];
  EXPECT_EQ(a_before[0], a_after[0]);  // one pseudonym for both waves
  EXPECT_NE(a_before[0], b_before[0]);
  EXPECT_EQ(a_before[2], "1");
  EXPECT_EQ(a_before[4], "2");
  EXPECT_EQ(a_before[5], "12.5");
  EXPECT_EQ(b_before[2], "2");  // amended once
  EXPECT_EQ(b_before[4], "5");
  EXPECT_EQ(b_before[6], "");   // free text withheld by default
  EXPECT_EQ(csv.find("HYPERLINK"), std::string::npos);

  // Pseudonyms are stable across exports; free text on request, quoted and
  // guarded against formula injection.
  request.set_include_free_text(true);
  std::string with_text;
  ASSERT_TRUE(ExportCsv(*stack_, admin_, request, &with_text).ok());
  EXPECT_NE(with_text.find(absl::StrCat(b_before[0], ",before,2,monthly,5,,\"'=HYPERLINK(\"\"x\"\"), ok\"")),
            std::string::npos)
      << with_text;

  // Another survey gives the same citizen another pseudonym.
  const std::string other = CreatePublished("survey-request-24").survey_id();
  MoveTo(t0_, {&a});
  ASSERT_TRUE(Submit(a.token, other, v1::SURVEY_WAVE_BEFORE, "csv-resp-0005", "weekly", 3).ok());
  v1::ExportSurveyCsvRequest other_request = request;
  other_request.set_survey_id(other);
  std::string other_csv;
  ASSERT_TRUE(ExportCsv(*stack_, admin_, other_request, &other_csv).ok());
  EXPECT_EQ(other_csv.find(a_before[0]), std::string::npos);

  // Aggregates: GetSurveyResults as rows.
  MoveTo(t0_ + absl::Hours(5));
  request.set_format(v1::SURVEY_CSV_FORMAT_AGGREGATES);
  request.set_include_free_text(false);
  ASSERT_TRUE(ExportCsv(*stack_, admin_, request, &csv, &rows).ok());
  lines = Lines(csv);
  EXPECT_EQ(lines[0], "wave,question_id,type,measure,key,value");
  EXPECT_EQ(rows, static_cast<int64_t>(lines.size()) - 1);
  EXPECT_THAT(lines, ::testing::Contains("before,,,responses,,2"));
  EXPECT_THAT(lines, ::testing::Contains("after,,,responses,,1"));
  EXPECT_THAT(lines, ::testing::Contains("before,often,single_choice,option,weekly,1"));
  EXPECT_THAT(lines, ::testing::Contains("before,care,scale,scale,5,1"));
  EXPECT_THAT(lines, ::testing::Contains("before,care,scale,mean,,3.5"));
  EXPECT_THAT(lines, ::testing::Contains("both,,,paired_respondents,,1"));
  EXPECT_THAT(lines, ::testing::Contains("both,care,scale,paired_mean_change,,2"));
}

TEST_F(SurveysTest, CsvExportBadInputAndRoles) {
  const std::string id = CreatePublished("survey-request-25").survey_id();
  Citizen a = stack_->Register("Aoi", "nakahara");
  v1::ExportSurveyCsvRequest request;
  request.set_survey_id(id);
  std::string csv;
  EXPECT_THAT(ExportCsv(*stack_, admin_, request, &csv),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("format must be RESPONSES or AGGREGATES")));
  request.set_format(v1::SURVEY_CSV_FORMAT_AGGREGATES);
  request.set_include_free_text(true);
  EXPECT_THAT(ExportCsv(*stack_, admin_, request, &csv),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("RESPONSES format only")));
  request.set_include_free_text(false);
  EXPECT_THAT(ExportCsv(*stack_, a.token, request, &csv),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(ExportCsv(*stack_, "", request, &csv),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  request.set_survey_id("sv-unknown");
  EXPECT_THAT(ExportCsv(*stack_, admin_, request, &csv),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("unknown survey")));
  // No responses: the header row alone.
  request.set_survey_id(id);
  request.set_format(v1::SURVEY_CSV_FORMAT_RESPONSES);
  int64_t rows = -1;
  ASSERT_TRUE(ExportCsv(*stack_, admin_, request, &csv, &rows).ok());
  EXPECT_EQ(csv, "respondent,wave,revision,often,care,kg,note\r\n");
  EXPECT_EQ(rows, 0);
}

TEST_F(SurveysTest, ExportMyDataIncludesTheCallersResponses) {
  const std::string id = CreatePublished("survey-request-26").survey_id();
  Citizen a = stack_->Register("Aoi", "nakahara");
  Citizen b = stack_->Register("Ben", "nakahara");
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "my-resp-0001", "weekly", 2, 7).ok());
  ASSERT_TRUE(Submit(a.token, id, v1::SURVEY_WAVE_BEFORE, "my-resp-0002", "monthly", 3, 7).ok());
  ASSERT_TRUE(Submit(b.token, id, v1::SURVEY_WAVE_BEFORE, "my-resp-0003", "rarely", 5).ok());
  v1::ExportMyDataResponse data;
  ASSERT_TRUE(stack_->identity()->ExportMyData(Stack::Context(a.token).get(), {}, &data).ok());
  ASSERT_EQ(data.survey_responses_size(), 1);
  EXPECT_FALSE(data.survey_responses_truncated());
  const v1::ExportedSurveyResponse& mine = data.survey_responses(0);
  EXPECT_EQ(mine.survey_id(), id);
  EXPECT_EQ(mine.wave(), v1::SURVEY_WAVE_BEFORE);
  EXPECT_EQ(mine.revision(), 2);
  ASSERT_EQ(mine.answers_size(), 3);  // by question id: care, kg, often
  EXPECT_EQ(mine.answers(0).question_id(), "care");
  EXPECT_EQ(mine.answers(0).scale(), 3);
  EXPECT_EQ(mine.answers(1).question_id(), "kg");
  EXPECT_DOUBLE_EQ(mine.answers(1).number(), 7);
  EXPECT_EQ(mine.answers(2).question_id(), "often");
  EXPECT_THAT(mine.answers(2).option_ids(), ::testing::ElementsAre("monthly"));
}

}  // namespace
}  // namespace ecoact::test
