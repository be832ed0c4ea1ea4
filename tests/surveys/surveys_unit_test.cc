// Survey domain rules without Redis or gRPC: what a valid survey is, answer
// validation per question type, the stored form, and aggregation with known
// numbers (counts, scale distribution and mean, number median, response
// rate, paired before/after change).
#include "services/surveys/surveys.h"

#include <cmath>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace ecoact::surveys {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1795000000);  // 2026-11-18

v1::CreateSurveyRequest Request() {
  v1::CreateSurveyRequest r;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    request_id: "survey-request-01"
    title: "Clothing habits"
    campaign_id: "denim-nov"
    questions {
      question_id: "often" type: QUESTION_TYPE_SINGLE_CHOICE text: "How often do you buy clothes?"
      required: true
      options { option_id: "weekly" label: "Weekly" }
      options { option_id: "monthly" label: "Monthly" }
      options { option_id: "rarely" label: "Rarely" }
    }
    questions {
      question_id: "where" type: QUESTION_TYPE_MULTIPLE_CHOICE text: "Where do old clothes go?"
      options { option_id: "bin" label: "Bin" }
      options { option_id: "shop" label: "Second-hand shop" }
      options { option_id: "drive" label: "Collection drive" }
    }
    questions { question_id: "care" type: QUESTION_TYPE_SCALE text: "I try to reuse" required: true }
    questions {
      question_id: "kg" type: QUESTION_TYPE_NUMBER text: "Kg thrown away per year"
      min_number: 0 max_number: 500
    }
    questions { question_id: "note" type: QUESTION_TYPE_FREE_TEXT text: "Anything else?" }
    waves { wave: SURVEY_WAVE_AFTER opens_at { seconds: 1795100000 } closes_at { seconds: 1795200000 } }
    waves { wave: SURVEY_WAVE_BEFORE opens_at { seconds: 1795000000 } closes_at { seconds: 1795050000 } }
  )pb", &r));
  return r;
}

v1::Survey Valid() {
  auto survey = NewSurvey(Request(), kNow);
  EXPECT_TRUE(survey.ok()) << survey.status();
  return *survey;
}

v1::SurveyAnswer Answer(const std::string& text) {
  v1::SurveyAnswer a;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &a)) << text;
  return a;
}

google::protobuf::RepeatedPtrField<v1::SurveyAnswer> Answers(std::vector<std::string> texts) {
  google::protobuf::RepeatedPtrField<v1::SurveyAnswer> out;
  for (const auto& t : texts) *out.Add() = Answer(t);
  return out;
}

TEST(NewSurveyTest, ValidSurveyIsADraftWithWavesInOrder) {
  v1::Survey s = Valid();
  EXPECT_EQ(s.survey_id(), SurveyIdFor("survey-request-01"));
  EXPECT_THAT(s.survey_id(), ::testing::StartsWith("sv-"));
  EXPECT_EQ(s.status(), v1::SURVEY_STATUS_DRAFT);
  EXPECT_EQ(s.version(), 1);
  ASSERT_EQ(s.waves_size(), 2);
  EXPECT_EQ(s.waves(0).wave(), v1::SURVEY_WAVE_BEFORE);
  EXPECT_EQ(s.questions_size(), 5);
}

TEST(NewSurveyTest, RejectsBadShapesNamingTheField) {
  struct Case {
    std::function<void(v1::CreateSurveyRequest*)> edit;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {[](auto* r) { r->set_event_id("ev-1"); }, "exactly one of campaign_id and event_id"},
      {[](auto* r) { r->clear_campaign_id(); }, "exactly one of campaign_id and event_id"},
      {[](auto* r) { r->clear_questions(); }, "1 to 50 questions"},
      {[](auto* r) { r->mutable_questions(0)->mutable_options()->DeleteSubrange(1, 2); },
       "questions[0].options: a choice question needs 2 to 20 options"},
      {[](auto* r) { r->mutable_questions(0)->mutable_options(1)->set_option_id("weekly"); },
       "questions[0].options[1].option_id 'weekly' is listed twice"},
      {[](auto* r) { r->mutable_questions(1)->set_question_id("often"); },
       "questions[1].question_id 'often' is used twice"},
      {[](auto* r) { r->mutable_questions(2)->set_type(v1::QUESTION_TYPE_UNSPECIFIED); },
       "questions[2].type must be set"},
      {[](auto* r) { r->mutable_questions(3)->set_max_number(-1); },
       "questions[3]: min_number must be below max_number"},
      {[](auto* r) { r->mutable_questions(4)->set_text(""); }, "questions[4].text"},
      {[](auto* r) { r->clear_waves(); }, "1 or 2 waves"},
      {[](auto* r) { r->mutable_waves(0)->set_wave(v1::SURVEY_WAVE_BEFORE); },
       "is listed twice"},
      {[](auto* r) { *r->mutable_waves(1)->mutable_closes_at() = r->waves(1).opens_at(); },
       "waves[1]: opens_at must be before closes_at"},
      {[](auto* r) {
         r->mutable_waves(1)->mutable_opens_at()->set_seconds(1795150000);
         r->mutable_waves(1)->mutable_closes_at()->set_seconds(1795160000);
       },
       "the BEFORE wave must open before the AFTER wave"},
      {[](auto* r) { r->set_request_id("x"); }, "request_id"},
  };
  for (const Case& c : cases) {
    v1::CreateSurveyRequest r = Request();
    c.edit(&r);
    auto survey = NewSurvey(r, kNow);
    EXPECT_THAT(survey.status(), test::StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr(c.fragment)))
        << c.fragment;
  }
}

TEST(NewSurveyTest, FingerprintIgnoresRequestIdButNotContent) {
  v1::CreateSurveyRequest a = Request();
  v1::CreateSurveyRequest b = Request();
  b.set_request_id("survey-request-02");
  EXPECT_EQ(CreateFingerprint(a), CreateFingerprint(b));
  b.set_title("Other");
  EXPECT_NE(CreateFingerprint(a), CreateFingerprint(b));
}

TEST(EncodeResponseTest, ValidAnswersRoundTrip) {
  v1::Survey s = Valid();
  auto json = EncodeResponse(s, Answers({R"pb(question_id: "often" option_ids: "rarely")pb",
                                         R"pb(question_id: "where" option_ids: "shop" option_ids: "bin")pb",
                                         R"pb(question_id: "care" scale: 4)pb",
                                         R"pb(question_id: "kg" number: 0)pb",
                                         R"pb(question_id: "note" text: " ok ")pb"}));
  ASSERT_TRUE(json.ok()) << json.status();
  auto decoded = DecodeResponse(*json);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_THAT(decoded->at("often").options, ::testing::ElementsAre("rarely"));
  EXPECT_THAT(decoded->at("where").options, ::testing::ElementsAre("bin", "shop"));
  EXPECT_EQ(decoded->at("care").scale, 4);
  EXPECT_EQ(decoded->at("kg").number, 0);
  EXPECT_EQ(decoded->at("note").text, "ok");
  // Order of answers does not change the stored form (and so the fingerprint).
  auto reordered = EncodeResponse(s, Answers({R"pb(question_id: "care" scale: 4)pb",
                                              R"pb(question_id: "often" option_ids: "rarely")pb",
                                              R"pb(question_id: "where" option_ids: "bin" option_ids: "shop")pb",
                                              R"pb(question_id: "kg" number: 0)pb",
                                              R"pb(question_id: "note" text: "ok")pb"}));
  ASSERT_TRUE(reordered.ok());
  EXPECT_EQ(*json, *reordered);
}

TEST(EncodeResponseTest, BadAnswersNameTheQuestion) {
  v1::Survey s = Valid();
  const std::string often = R"pb(question_id: "often" option_ids: "weekly")pb";
  const std::string care = R"pb(question_id: "care" scale: 3)pb";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{often, R"pb(question_id: "care" scale: 6)pb"},
       "question 'care': scale answer must be 1 to 5, got 6"},
      {{often, R"pb(question_id: "care" scale: -1)pb"}, "question 'care': scale answer"},
      {{R"pb(question_id: "often" option_ids: "daily")pb", care},
       "question 'often': unknown option 'daily'"},
      {{R"pb(question_id: "often" option_ids: "weekly" option_ids: "rarely")pb", care},
       "question 'often': pick exactly one option"},
      {{often, care, R"pb(question_id: "where" option_ids: "bin" option_ids: "bin")pb"},
       "question 'where': option 'bin' picked twice"},
      {{often, care, R"pb(question_id: "kg" number: 501)pb"},
       "question 'kg': number must be 0 to 500, got 501"},
      {{often, care, R"pb(question_id: "kg" scale: 2)pb"},
       "question 'kg': answer has a field its question type does not take"},
      {{often, care, R"pb(question_id: "note" text: "   ")pb"}, "question 'note'"},
      {{often}, "question 'care': is required"},
      {{care}, "question 'often': is required"},
      {{often, care, care}, "question 'care': answered twice"},
      {{often, care, R"pb(question_id: "nope" scale: 1)pb"}, "unknown question 'nope'"},
  };
  for (const auto& [answers, fragment] : cases) {
    EXPECT_THAT(EncodeResponse(s, Answers(answers)).status(),
                test::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(fragment)))
        << fragment;
  }
}

StoredResponse Resp(const std::string& often, int care, double kg = -1) {
  StoredResponse r;
  r["often"].options = {often};
  r["care"].scale = care;
  if (kg >= 0) r["kg"].number = kg;
  return r;
}

TEST(AggregateTest, KnownNumbers) {
  v1::Survey s = Valid();
  ResponsesByWave responses;
  auto& before = responses[v1::SURVEY_WAVE_BEFORE];
  before["a"] = Resp("weekly", 2, 10);
  before["b"] = Resp("weekly", 1, 20);
  before["c"] = Resp("monthly", 3, 40);
  before["d"] = Resp("rarely", 5);  // no AFTER answer: not paired
  before["d"]["where"].options = {"bin", "drive"};
  auto& after = responses[v1::SURVEY_WAVE_AFTER];
  after["a"] = Resp("monthly", 4);  // +2
  after["b"] = Resp("rarely", 2);   // +1
  after["c"] = Resp("rarely", 3);   // 0
  after["e"] = Resp("rarely", 5);   // no BEFORE answer
  const std::set<std::string> checked_in = {"a", "b", "e", "x", "y"};

  v1::SurveyResults r = Aggregate(s, responses, &checked_in);
  EXPECT_EQ(r.checked_in_participants(), 5);
  ASSERT_EQ(r.waves_size(), 2);
  const v1::WaveResult& b = r.waves(0);
  EXPECT_EQ(b.wave(), v1::SURVEY_WAVE_BEFORE);
  EXPECT_EQ(b.responses(), 4);
  EXPECT_EQ(b.checked_in_respondents(), 2);
  EXPECT_DOUBLE_EQ(b.response_rate(), 0.4);
  const v1::QuestionResult& often = b.questions(0);
  EXPECT_EQ(often.answered(), 4);
  ASSERT_EQ(often.options_size(), 3);
  EXPECT_EQ(often.options(0).option_id(), "weekly");
  EXPECT_EQ(often.options(0).count(), 2);
  EXPECT_EQ(often.options(1).count(), 1);
  EXPECT_EQ(often.options(2).count(), 1);
  const v1::QuestionResult& where = b.questions(1);
  EXPECT_EQ(where.answered(), 1);
  EXPECT_EQ(where.options(0).count(), 1);  // bin
  EXPECT_EQ(where.options(1).count(), 0);  // shop
  EXPECT_EQ(where.options(2).count(), 1);  // drive
  const v1::QuestionResult& care = b.questions(2);
  EXPECT_THAT(care.scale_distribution(), ::testing::ElementsAre(1, 1, 1, 0, 1));
  EXPECT_DOUBLE_EQ(care.mean(), 11.0 / 4);
  const v1::QuestionResult& kg = b.questions(3);
  EXPECT_EQ(kg.answered(), 3);
  EXPECT_DOUBLE_EQ(kg.mean(), 70.0 / 3);
  EXPECT_DOUBLE_EQ(kg.median(), 20);
  EXPECT_EQ(b.questions(4).answered(), 0);

  EXPECT_EQ(r.waves(1).responses(), 4);
  EXPECT_EQ(r.waves(1).checked_in_respondents(), 3);
  EXPECT_EQ(r.paired_respondents(), 3);
  ASSERT_EQ(r.paired_size(), 1);
  EXPECT_EQ(r.paired(0).question_id(), "care");
  EXPECT_EQ(r.paired(0).pairs(), 3);
  EXPECT_DOUBLE_EQ(r.paired(0).mean_change(), 1.0);
}

TEST(AggregateTest, EvenMedianAndNoEventAndNoResponses) {
  v1::Survey s = Valid();
  ResponsesByWave responses;
  responses[v1::SURVEY_WAVE_AFTER]["a"] = Resp("weekly", 1, 1);
  responses[v1::SURVEY_WAVE_AFTER]["b"] = Resp("weekly", 1, 4);
  v1::SurveyResults r = Aggregate(s, responses, nullptr);
  EXPECT_EQ(r.checked_in_participants(), 0);
  EXPECT_EQ(r.waves(0).responses(), 0);
  EXPECT_DOUBLE_EQ(r.waves(0).response_rate(), 0);
  EXPECT_DOUBLE_EQ(r.waves(1).questions(3).median(), 2.5);
  EXPECT_EQ(r.paired_respondents(), 0);
  EXPECT_EQ(r.paired(0).pairs(), 0);
  EXPECT_DOUBLE_EQ(r.paired(0).mean_change(), 0);
}

RespondentActivity Activity(bool before, bool after, int64_t n_before, int64_t n_after) {
  RespondentActivity a;
  a.answered_before = before;
  a.answered_after = after;
  a.actions_before = n_before;
  a.actions_after = n_after;
  a.co2_before = 100 * n_before;
  a.co2_after = 100 * n_after;
  return a;
}

TEST(BehaviourTest, GroupsMeansAndPairedChange) {
  // Both waves: changes +1, +3 (mean 2, sample sd sqrt(2)); before only: -1.
  std::vector<RespondentActivity> people = {Activity(true, true, 1, 2), Activity(true, true, 2, 5),
                                            Activity(true, false, 3, 2)};
  v1::BehaviourChange out;
  AggregateBehaviour(people, true, &out);
  ASSERT_EQ(out.groups_size(), 4);
  const v1::BehaviourGroup& all = out.groups(0);
  EXPECT_EQ(all.group(), v1::RESPONDENT_GROUP_ALL);
  EXPECT_EQ(all.respondents(), 3);
  EXPECT_EQ(all.before().actions(), 6);
  EXPECT_EQ(all.after().actions(), 9);
  EXPECT_DOUBLE_EQ(all.before().mean_actions(), 2);
  EXPECT_DOUBLE_EQ(all.after().mean_co2_grams(), 300);
  EXPECT_EQ(all.increased(), 2);
  EXPECT_EQ(all.decreased(), 1);
  const v1::BehaviourGroup& both = out.groups(1);
  EXPECT_EQ(both.group(), v1::RESPONDENT_GROUP_BOTH_WAVES);
  EXPECT_DOUBLE_EQ(both.mean_action_change(), 2);
  EXPECT_DOUBLE_EQ(both.sd_action_change(), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(both.mean_co2_change_grams(), 200);
  EXPECT_EQ(out.groups(2).group(), v1::RESPONDENT_GROUP_BEFORE_ONLY);
  EXPECT_DOUBLE_EQ(out.groups(2).mean_action_change(), -1);
  EXPECT_DOUBLE_EQ(out.groups(2).sd_action_change(), 0);  // one person: no spread
  EXPECT_EQ(out.groups(3).respondents(), 0);
  EXPECT_DOUBLE_EQ(out.groups(3).before().mean_actions(), 0);

  v1::BehaviourChange one_wave;
  AggregateBehaviour(people, false, &one_wave);
  EXPECT_EQ(one_wave.groups_size(), 1);
}

TEST(CsvTest, PseudonymsAreKeyedAndStable) {
  const std::string p = Pseudonym("salt-1", "account-a");
  EXPECT_THAT(p, ::testing::MatchesRegex("r-[0-9a-f]{16}"));
  EXPECT_EQ(p, Pseudonym("salt-1", "account-a"));
  EXPECT_NE(p, Pseudonym("salt-2", "account-a"));
  EXPECT_NE(p, Pseudonym("salt-1", "account-b"));
  EXPECT_EQ(p.find("account"), std::string::npos);
}

TEST(CsvTest, ResponseRowsFollowTheQuestions) {
  v1::Survey survey;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    questions { question_id: "pick" type: QUESTION_TYPE_MULTIPLE_CHOICE }
    questions { question_id: "scale" type: QUESTION_TYPE_SCALE }
    questions { question_id: "num" type: QUESTION_TYPE_NUMBER }
    questions { question_id: "text" type: QUESTION_TYPE_FREE_TEXT }
  )pb", &survey));
  EXPECT_EQ(ResponsesCsvHeader(survey), "respondent,wave,revision,pick,scale,num,text\r\n");
  StoredResponse r;
  r["pick"].options = {"a", "c"};
  r["num"].number = -2.5;
  r["text"].text = "+call me";
  EXPECT_EQ(ResponsesCsvRow(survey, "r-00", v1::SURVEY_WAVE_AFTER, 3, r, false),
            "r-00,after,3,a;c,,-2.5,\r\n");
  EXPECT_EQ(ResponsesCsvRow(survey, "r-00", v1::SURVEY_WAVE_AFTER, 3, r, true),
            "r-00,after,3,a;c,,-2.5,'+call me\r\n");
}

}  // namespace
}  // namespace ecoact::surveys
