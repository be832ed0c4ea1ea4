#include "services/surveys/surveys.h"

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"
#include "services/common/clock.h"
#include "services/common/csv.h"
#include "services/common/status_macros.h"
#include "services/common/validation.h"

namespace ecoact::surveys {
namespace {

using google::protobuf::util::TimeUtil;

std::string QuestionName(const v1::SurveyQuestion& q) {
  return absl::StrCat("question '", q.question_id(), "'");
}

absl::Status Invalid(const v1::SurveyQuestion& q, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(QuestionName(q), ": ", what));
}

bool IsChoice(v1::QuestionType type) {
  return type == v1::QUESTION_TYPE_SINGLE_CHOICE || type == v1::QUESTION_TYPE_MULTIPLE_CHOICE;
}

absl::Status ValidateQuestion(const v1::SurveyQuestion& q, int index, v1::SurveyQuestion* out) {
  const std::string field = absl::StrCat("questions[", index, "]");
  RETURN_IF_ERROR(ValidateSlug(field + ".question_id", q.question_id(), 1, 32));
  out->set_question_id(q.question_id());
  if (q.type() < v1::QUESTION_TYPE_SINGLE_CHOICE || q.type() > v1::QUESTION_TYPE_FREE_TEXT) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".type must be set"));
  }
  out->set_type(q.type());
  std::string text;
  RETURN_IF_ERROR(ValidateDisplayText(field + ".text", q.text(), 500, &text));
  out->set_text(text);
  out->set_required(q.required());
  if (IsChoice(q.type())) {
    if (q.options_size() < 2 || q.options_size() > kMaxOptions) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".options: a choice question needs 2 to ", kMaxOptions, " options"));
    }
    std::set<std::string> seen;
    for (int i = 0; i < q.options_size(); ++i) {
      const std::string of = absl::StrCat(field, ".options[", i, "]");
      RETURN_IF_ERROR(ValidateSlug(of + ".option_id", q.options(i).option_id(), 1, 32));
      if (!seen.insert(q.options(i).option_id()).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(of, ".option_id '", q.options(i).option_id(), "' is listed twice"));
      }
      v1::SurveyOption* o = out->add_options();
      o->set_option_id(q.options(i).option_id());
      std::string label;
      RETURN_IF_ERROR(ValidateDisplayText(of + ".label", q.options(i).label(), 200, &label));
      o->set_label(label);
    }
  } else if (q.options_size() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".options: only choice questions have options"));
  }
  if (q.type() == v1::QUESTION_TYPE_NUMBER) {
    if (!std::isfinite(q.min_number()) || !std::isfinite(q.max_number()) ||
        std::abs(q.min_number()) > 1e9 || std::abs(q.max_number()) > 1e9 ||
        !(q.min_number() < q.max_number())) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": min_number must be below max_number, both within +-1e9"));
    }
    out->set_min_number(q.min_number());
    out->set_max_number(q.max_number());
  } else if (q.min_number() != 0 || q.max_number() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": only NUMBER questions have min_number/max_number"));
  }
  return absl::OkStatus();
}

double Mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

std::string SurveyIdFor(absl::string_view request_id) {
  std::string input = absl::StrCat("ecoact-survey:", request_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return "sv-" + Base32(std::string(reinterpret_cast<const char*>(digest), 8)).substr(0, 12);
}

std::string WaveName(v1::SurveyWave wave) {
  switch (wave) {
    case v1::SURVEY_WAVE_BEFORE: return "before";
    case v1::SURVEY_WAVE_AFTER: return "after";
    default: return "";
  }
}

const v1::SurveyWaveWindow* FindWave(const v1::Survey& survey, v1::SurveyWave wave) {
  for (const auto& w : survey.waves()) {
    if (w.wave() == wave) return &w;
  }
  return nullptr;
}

std::string CreateFingerprint(const v1::CreateSurveyRequest& request) {
  v1::CreateSurveyRequest copy = request;
  copy.clear_request_id();
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  copy.SerializeToCodedStream(&coded);
  coded.Trim();
  return Fingerprint({"survey", bytes});
}

absl::StatusOr<v1::Survey> NewSurvey(const v1::CreateSurveyRequest& request, absl::Time now) {
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  v1::Survey survey;
  survey.set_survey_id(SurveyIdFor(request.request_id()));
  std::string text;
  RETURN_IF_ERROR(ValidateDisplayText("title", request.title(), 200, &text));
  survey.set_title(text);
  if (!request.description().empty()) {
    RETURN_IF_ERROR(ValidateDisplayText("description", request.description(), 2000, &text));
    survey.set_description(text);
  }
  if (request.campaign_id().empty() == request.event_id().empty()) {
    return absl::InvalidArgumentError("set exactly one of campaign_id and event_id");
  }
  if (!request.campaign_id().empty()) {
    RETURN_IF_ERROR(ValidateSlug("campaign_id", request.campaign_id(), 2, 32));
    survey.set_campaign_id(request.campaign_id());
  } else {
    if (request.event_id().size() > 64 || !IsValidUtf8(request.event_id())) {
      return absl::InvalidArgumentError("event_id is at most 64 characters");
    }
    survey.set_event_id(request.event_id());
  }
  if (request.questions().empty() || request.questions_size() > kMaxQuestions) {
    return absl::InvalidArgumentError(
        absl::StrCat("questions: a survey has 1 to ", kMaxQuestions, " questions"));
  }
  std::set<std::string> ids;
  for (int i = 0; i < request.questions_size(); ++i) {
    v1::SurveyQuestion* q = survey.add_questions();
    RETURN_IF_ERROR(ValidateQuestion(request.questions(i), i, q));
    if (!ids.insert(q->question_id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "questions[", i, "].question_id '", q->question_id(), "' is used twice"));
    }
  }
  if (request.waves().empty() || request.waves_size() > 2) {
    return absl::InvalidArgumentError("waves: a survey has 1 or 2 waves (BEFORE, AFTER)");
  }
  std::map<v1::SurveyWave, std::pair<absl::Time, absl::Time>> windows;
  for (int i = 0; i < request.waves_size(); ++i) {
    const auto& w = request.waves(i);
    const std::string field = absl::StrCat("waves[", i, "]");
    if (w.wave() != v1::SURVEY_WAVE_BEFORE && w.wave() != v1::SURVEY_WAVE_AFTER) {
      return absl::InvalidArgumentError(field + ".wave must be BEFORE or AFTER");
    }
    if (windows.count(w.wave())) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": wave ", WaveName(w.wave()),
                                                     " is listed twice"));
    }
    ASSIGN_OR_RETURN(absl::Time opens, TimeFromProto(w.opens_at(), field + ".opens_at"));
    ASSIGN_OR_RETURN(absl::Time closes, TimeFromProto(w.closes_at(), field + ".closes_at"));
    if (!(opens < closes)) {
      return absl::InvalidArgumentError(field + ": opens_at must be before closes_at");
    }
    windows[w.wave()] = {opens, closes};
  }
  if (windows.size() == 2 &&
      !(windows[v1::SURVEY_WAVE_BEFORE].first < windows[v1::SURVEY_WAVE_AFTER].first)) {
    return absl::InvalidArgumentError("waves: the BEFORE wave must open before the AFTER wave");
  }
  for (const auto& [wave, window] : windows) {  // BEFORE first
    v1::SurveyWaveWindow* w = survey.add_waves();
    w->set_wave(wave);
    *w->mutable_opens_at() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(window.first));
    *w->mutable_closes_at() =
        TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(window.second));
  }
  if (!request.supersedes().empty()) {
    if (request.supersedes().size() > 64) {
      return absl::InvalidArgumentError("supersedes is at most 64 characters");
    }
    survey.set_supersedes(request.supersedes());
  }
  survey.set_status(v1::SURVEY_STATUS_DRAFT);
  survey.set_version(1);
  *survey.mutable_created_at() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(now));
  return survey;
}

absl::StatusOr<std::string> EncodeResponse(
    const v1::Survey& survey,
    const google::protobuf::RepeatedPtrField<v1::SurveyAnswer>& answers) {
  std::map<std::string, const v1::SurveyQuestion*> questions;
  for (const auto& q : survey.questions()) questions[q.question_id()] = &q;
  if (answers.size() > static_cast<int>(questions.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "answers: ", answers.size(), " answers for ", questions.size(), " questions"));
  }
  nlohmann::json out = nlohmann::json::object();
  for (const v1::SurveyAnswer& a : answers) {
    auto it = questions.find(a.question_id());
    if (it == questions.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown question ", QuoteForMessage(a.question_id())));
    }
    const v1::SurveyQuestion& q = *it->second;
    if (out.contains(q.question_id())) return Invalid(q, "answered twice");
    const bool has_options = !a.option_ids().empty();
    const bool has_scale = a.scale() != 0;
    const bool has_number = a.number() != 0;
    const bool has_text = !a.text().empty();
    auto only = [&](bool allowed_options, bool allowed_scale, bool allowed_number,
                    bool allowed_text) -> absl::Status {
      if ((has_options && !allowed_options) || (has_scale && !allowed_scale) ||
          (has_number && !allowed_number) || (has_text && !allowed_text)) {
        return Invalid(q, "answer has a field its question type does not take");
      }
      return absl::OkStatus();
    };
    switch (q.type()) {
      case v1::QUESTION_TYPE_SINGLE_CHOICE:
      case v1::QUESTION_TYPE_MULTIPLE_CHOICE: {
        RETURN_IF_ERROR(only(true, false, false, false));
        const bool single = q.type() == v1::QUESTION_TYPE_SINGLE_CHOICE;
        if (single && a.option_ids_size() != 1) return Invalid(q, "pick exactly one option");
        if (!single && a.option_ids().empty()) return Invalid(q, "pick at least one option");
        std::set<std::string> picked;
        for (const std::string& id : a.option_ids()) {
          bool known = false;
          for (const auto& o : q.options()) known = known || o.option_id() == id;
          if (!known) return Invalid(q, absl::StrCat("unknown option ", QuoteForMessage(id)));
          if (!picked.insert(id).second) {
            return Invalid(q, absl::StrCat("option '", id, "' picked twice"));
          }
        }
        out[q.question_id()] = std::vector<std::string>(picked.begin(), picked.end());
        break;
      }
      case v1::QUESTION_TYPE_SCALE:
        RETURN_IF_ERROR(only(false, true, false, false));
        if (a.scale() < 1 || a.scale() > 5) {
          return Invalid(q, absl::StrCat("scale answer must be 1 to 5, got ", a.scale()));
        }
        out[q.question_id()] = a.scale();
        break;
      case v1::QUESTION_TYPE_NUMBER:
        // 0 is a valid number, so `number` is taken as the answer whenever
        // the question is listed.
        RETURN_IF_ERROR(only(false, false, true, false));
        if (!std::isfinite(a.number()) || a.number() < q.min_number() ||
            a.number() > q.max_number()) {
          return Invalid(q, absl::StrCat("number must be ", q.min_number(), " to ",
                                         q.max_number(), ", got ", a.number()));
        }
        out[q.question_id()] = nlohmann::json::object({{"n", a.number()}});
        break;
      case v1::QUESTION_TYPE_FREE_TEXT: {
        RETURN_IF_ERROR(only(false, false, false, true));
        std::string text;
        absl::Status valid = ValidateDisplayText("text", a.text(), kMaxTextChars, &text);
        if (!valid.ok()) return Invalid(q, valid.message());
        out[q.question_id()] = nlohmann::json::object({{"t", text}});
        break;
      }
      default:
        return absl::InternalError("survey has a question without a type");
    }
  }
  for (const auto& q : survey.questions()) {
    if (q.required() && !out.contains(q.question_id())) {
      return Invalid(q, "is required");
    }
  }
  return out.dump();
}

absl::StatusOr<StoredResponse> DecodeResponse(absl::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return absl::InternalError("stored survey response is not a JSON object");
  StoredResponse out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    StoredAnswer a;
    const auto& v = it.value();
    if (v.is_array()) {
      for (const auto& o : v) {
        if (o.is_string()) a.options.push_back(o.get<std::string>());
      }
    } else if (v.is_number_integer()) {
      a.scale = v.get<int>();
    } else if (v.is_object() && v.contains("n") && v["n"].is_number()) {
      a.number = v["n"].get<double>();
    } else if (v.is_object() && v.contains("t") && v["t"].is_string()) {
      a.text = v["t"].get<std::string>();
    } else {
      return absl::InternalError("stored survey answer has an unknown form");
    }
    out[it.key()] = std::move(a);
  }
  return out;
}

v1::SurveyResults Aggregate(const v1::Survey& survey, const ResponsesByWave& responses,
                            const std::set<std::string>* checked_in) {
  v1::SurveyResults results;
  results.set_survey_id(survey.survey_id());
  if (checked_in != nullptr) results.set_checked_in_participants(checked_in->size());
  static const std::map<std::string, StoredResponse> kNone;
  for (const auto& window : survey.waves()) {
    auto found = responses.find(window.wave());
    const auto& by_account = found == responses.end() ? kNone : found->second;
    v1::WaveResult* wave = results.add_waves();
    wave->set_wave(window.wave());
    wave->set_responses(by_account.size());
    if (checked_in != nullptr) {
      int64_t present = 0;
      for (const auto& [account, response] : by_account) present += checked_in->count(account);
      wave->set_checked_in_respondents(present);
      wave->set_response_rate(checked_in->empty() ? 0
                                                  : static_cast<double>(present) /
                                                        static_cast<double>(checked_in->size()));
    }
    for (const auto& q : survey.questions()) {
      v1::QuestionResult* r = wave->add_questions();
      r->set_question_id(q.question_id());
      r->set_type(q.type());
      std::map<std::string, int64_t> counts;
      std::vector<double> values;
      int64_t scale[5] = {0, 0, 0, 0, 0};
      int64_t answered = 0;
      for (const auto& [account, response] : by_account) {
        auto a = response.find(q.question_id());
        if (a == response.end()) continue;
        switch (q.type()) {
          case v1::QUESTION_TYPE_SINGLE_CHOICE:
          case v1::QUESTION_TYPE_MULTIPLE_CHOICE:
            if (a->second.options.empty()) continue;
            for (const auto& o : a->second.options) ++counts[o];
            break;
          case v1::QUESTION_TYPE_SCALE:
            if (a->second.scale < 1 || a->second.scale > 5) continue;
            ++scale[a->second.scale - 1];
            values.push_back(a->second.scale);
            break;
          case v1::QUESTION_TYPE_NUMBER:
            values.push_back(a->second.number);
            break;
          default:
            break;
        }
        ++answered;
      }
      r->set_answered(answered);
      if (IsChoice(q.type())) {
        for (const auto& o : q.options()) {
          v1::OptionCount* c = r->add_options();
          c->set_option_id(o.option_id());
          c->set_count(counts[o.option_id()]);
        }
      }
      if (q.type() == v1::QUESTION_TYPE_SCALE) {
        for (int64_t n : scale) r->add_scale_distribution(n);
      }
      if (q.type() == v1::QUESTION_TYPE_SCALE || q.type() == v1::QUESTION_TYPE_NUMBER) {
        r->set_mean(Mean(values));
      }
      if (q.type() == v1::QUESTION_TYPE_NUMBER) r->set_median(Median(values));
    }
  }
  const auto before = responses.find(v1::SURVEY_WAVE_BEFORE);
  const auto after = responses.find(v1::SURVEY_WAVE_AFTER);
  if (FindWave(survey, v1::SURVEY_WAVE_BEFORE) != nullptr &&
      FindWave(survey, v1::SURVEY_WAVE_AFTER) != nullptr) {
    int64_t paired = 0;
    if (before != responses.end() && after != responses.end()) {
      for (const auto& [account, response] : before->second) paired += after->second.count(account);
    }
    results.set_paired_respondents(paired);
    for (const auto& q : survey.questions()) {
      if (q.type() != v1::QUESTION_TYPE_SCALE) continue;
      v1::PairedScaleChange* change = results.add_paired();
      change->set_question_id(q.question_id());
      std::vector<double> deltas;
      if (before != responses.end() && after != responses.end()) {
        for (const auto& [account, b] : before->second) {
          auto a = after->second.find(account);
          if (a == after->second.end()) continue;
          auto qb = b.find(q.question_id());
          auto qa = a->second.find(q.question_id());
          if (qb == b.end() || qa == a->second.end()) continue;
          if (qb->second.scale < 1 || qa->second.scale < 1) continue;
          deltas.push_back(qa->second.scale - qb->second.scale);
        }
      }
      change->set_pairs(deltas.size());
      change->set_mean_change(Mean(deltas));
    }
  }
  return results;
}

std::vector<v1::SurveyAnswer> ToAnswers(const StoredResponse& response) {
  std::vector<v1::SurveyAnswer> out;
  for (const auto& [question, stored] : response) {  // std::map: by question id
    v1::SurveyAnswer a;
    a.set_question_id(question);
    for (const std::string& o : stored.options) a.add_option_ids(o);
    a.set_scale(stored.scale);
    a.set_number(stored.number);
    a.set_text(stored.text);
    out.push_back(std::move(a));
  }
  return out;
}

namespace {

// Mean and sample standard deviation.
std::pair<double, double> MeanSd(const std::vector<double>& v) {
  const double mean = Mean(v);
  if (v.size() < 2) return {mean, 0};
  double sq = 0;
  for (double x : v) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / static_cast<double>(v.size() - 1))};
}

void FillGroup(v1::RespondentGroup group, const std::vector<const RespondentActivity*>& members,
               v1::BehaviourGroup* out) {
  out->set_group(group);
  const int64_t n = static_cast<int64_t>(members.size());
  out->set_respondents(n);
  std::vector<double> action_changes, co2_changes;
  v1::BehaviourWindow* before = out->mutable_before();
  v1::BehaviourWindow* after = out->mutable_after();
  for (const RespondentActivity* r : members) {
    before->set_actions(before->actions() + r->actions_before);
    before->set_co2_grams(before->co2_grams() + r->co2_before);
    after->set_actions(after->actions() + r->actions_after);
    after->set_co2_grams(after->co2_grams() + r->co2_after);
    before->set_active_respondents(before->active_respondents() + (r->actions_before > 0));
    after->set_active_respondents(after->active_respondents() + (r->actions_after > 0));
    const int64_t change = r->actions_after - r->actions_before;
    action_changes.push_back(static_cast<double>(change));
    co2_changes.push_back(static_cast<double>(r->co2_after - r->co2_before));
    if (change > 0) out->set_increased(out->increased() + 1);
    if (change < 0) out->set_decreased(out->decreased() + 1);
    if (change == 0) out->set_unchanged(out->unchanged() + 1);
  }
  if (n > 0) {
    for (v1::BehaviourWindow* w : {before, after}) {
      w->set_mean_actions(static_cast<double>(w->actions()) / static_cast<double>(n));
      w->set_mean_co2_grams(static_cast<double>(w->co2_grams()) / static_cast<double>(n));
    }
  }
  auto [action_mean, action_sd] = MeanSd(action_changes);
  auto [co2_mean, co2_sd] = MeanSd(co2_changes);
  out->set_mean_action_change(action_mean);
  out->set_sd_action_change(action_sd);
  out->set_mean_co2_change_grams(co2_mean);
  out->set_sd_co2_change_grams(co2_sd);
}

}  // namespace

void AggregateBehaviour(const std::vector<RespondentActivity>& respondents, bool two_waves,
                        v1::BehaviourChange* out) {
  std::vector<const RespondentActivity*> all, both, before_only, after_only;
  for (const RespondentActivity& r : respondents) {
    all.push_back(&r);
    if (r.answered_before && r.answered_after) both.push_back(&r);
    if (r.answered_before && !r.answered_after) before_only.push_back(&r);
    if (!r.answered_before && r.answered_after) after_only.push_back(&r);
  }
  FillGroup(v1::RESPONDENT_GROUP_ALL, all, out->add_groups());
  if (!two_waves) return;
  FillGroup(v1::RESPONDENT_GROUP_BOTH_WAVES, both, out->add_groups());
  FillGroup(v1::RESPONDENT_GROUP_BEFORE_ONLY, before_only, out->add_groups());
  FillGroup(v1::RESPONDENT_GROUP_AFTER_ONLY, after_only, out->add_groups());
}

std::string Pseudonym(absl::string_view salt, absl::string_view account_id) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()),
       reinterpret_cast<const unsigned char*>(account_id.data()), account_id.size(), digest,
       &length);
  return "r-" + absl::BytesToHexString(
                    absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

namespace {

std::string CsvLine(const std::vector<std::string>& fields) {
  return absl::StrCat(absl::StrJoin(fields, ","), "\r\n");
}

std::string FormatNumber(double v) { return absl::StrCat(v); }

}  // namespace

std::string ResponsesCsvHeader(const v1::Survey& survey) {
  std::vector<std::string> fields = {"respondent", "wave", "revision"};
  for (const auto& q : survey.questions()) fields.push_back(CsvCell(q.question_id(), false));
  return CsvLine(fields);
}

std::string ResponsesCsvRow(const v1::Survey& survey, absl::string_view pseudonym,
                            v1::SurveyWave wave, int64_t revision,
                            const StoredResponse& response, bool include_free_text) {
  std::vector<std::string> fields = {std::string(pseudonym), WaveName(wave),
                                     absl::StrCat(revision)};
  for (const auto& q : survey.questions()) {
    auto a = response.find(q.question_id());
    if (a == response.end()) {
      fields.emplace_back();
      continue;
    }
    switch (q.type()) {
      case v1::QUESTION_TYPE_SINGLE_CHOICE:
      case v1::QUESTION_TYPE_MULTIPLE_CHOICE:
        fields.push_back(CsvCell(absl::StrJoin(a->second.options, ";"), false));
        break;
      case v1::QUESTION_TYPE_SCALE:
        fields.push_back(absl::StrCat(a->second.scale));
        break;
      case v1::QUESTION_TYPE_NUMBER:
        fields.push_back(FormatNumber(a->second.number));
        break;
      case v1::QUESTION_TYPE_FREE_TEXT:
        fields.push_back(include_free_text ? CsvCell(a->second.text, true) : "");
        break;
      default:
        fields.emplace_back();
    }
  }
  return CsvLine(fields);
}

std::vector<std::string> AggregatesCsvRows(const v1::SurveyResults& results) {
  std::vector<std::string> rows = {
      CsvLine({"wave", "question_id", "type", "measure", "key", "value"})};
  auto row = [&](const std::string& wave, const std::string& question, const std::string& type,
                 const std::string& measure, const std::string& key, const std::string& value) {
    rows.push_back(CsvLine({wave, CsvCell(question, false), type, measure,
                            CsvCell(key, false), value}));
  };
  for (const v1::WaveResult& w : results.waves()) {
    const std::string wave = WaveName(w.wave());
    row(wave, "", "", "responses", "", absl::StrCat(w.responses()));
    if (results.checked_in_participants() > 0) {
      row(wave, "", "", "checked_in_respondents", "", absl::StrCat(w.checked_in_respondents()));
      row(wave, "", "", "response_rate", "", FormatNumber(w.response_rate()));
    }
    for (const v1::QuestionResult& q : w.questions()) {
      std::string type(absl::StripPrefix(v1::QuestionType_Name(q.type()), "QUESTION_TYPE_"));
      for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      row(wave, q.question_id(), type, "answered", "", absl::StrCat(q.answered()));
      for (const v1::OptionCount& o : q.options()) {
        row(wave, q.question_id(), type, "option", o.option_id(), absl::StrCat(o.count()));
      }
      for (int i = 0; i < q.scale_distribution_size(); ++i) {
        row(wave, q.question_id(), type, "scale", absl::StrCat(i + 1),
            absl::StrCat(q.scale_distribution(i)));
      }
      if (q.type() == v1::QUESTION_TYPE_SCALE || q.type() == v1::QUESTION_TYPE_NUMBER) {
        row(wave, q.question_id(), type, "mean", "", FormatNumber(q.mean()));
      }
      if (q.type() == v1::QUESTION_TYPE_NUMBER) {
        row(wave, q.question_id(), type, "median", "", FormatNumber(q.median()));
      }
    }
  }
  if (results.waves_size() == 2) {
    row("both", "", "", "paired_respondents", "", absl::StrCat(results.paired_respondents()));
    for (const v1::PairedScaleChange& p : results.paired()) {
      row("both", p.question_id(), "scale", "paired_pairs", "", absl::StrCat(p.pairs()));
      row("both", p.question_id(), "scale", "paired_mean_change", "",
          FormatNumber(p.mean_change()));
    }
  }
  return rows;
}

}  // namespace ecoact::surveys
