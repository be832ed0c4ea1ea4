// The commands of surveys (`ecoact survey ...`): design from a JSON file,
// publish, list, show, answer a wave, and the results.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/cli.h"
#include "google/protobuf/util/json_util.h"

namespace ecoact::cli {
namespace {

std::string WaveLabel(v1::SurveyWave wave) {
  return Label(absl::StripPrefix(v1::SurveyWave_Name(wave), "SURVEY_WAVE_"));
}

std::string TypeLabel(v1::QuestionType type) {
  return Label(absl::StripPrefix(v1::QuestionType_Name(type), "QUESTION_TYPE_"));
}

void PrintSurvey(const v1::Survey& s) {
  Rows rows = {{"survey", s.survey_id()},
               {"title", s.title()},
               {"status", Label(absl::StripPrefix(v1::SurveyStatus_Name(s.status()),
                                                  "SURVEY_STATUS_"))},
               {"version", absl::StrCat(s.version(), s.supersedes().empty()
                                                         ? ""
                                                         : absl::StrCat(" (replaces ",
                                                                        s.supersedes(), ")"))},
               {s.event_id().empty() ? "campaign" : "event",
                s.event_id().empty() ? s.campaign_id() : s.event_id()}};
  for (const auto& w : s.waves()) {
    rows.push_back({absl::StrCat(WaveLabel(w.wave()), " wave"),
                    absl::StrCat(ShowTime(w.opens_at()), " to ", ShowTime(w.closes_at()))});
  }
  PrintTable(rows);
  std::printf("\n");
  Rows questions = {{"QUESTION", "TYPE", "REQUIRED", "TEXT / OPTIONS"}};
  for (const auto& q : s.questions()) {
    std::string detail = q.text();
    if (q.type() == v1::QUESTION_TYPE_NUMBER) {
      absl::StrAppend(&detail, absl::StrFormat(" [%g to %g]", q.min_number(), q.max_number()));
    }
    questions.push_back({q.question_id(), TypeLabel(q.type()), q.required() ? "yes" : "no", detail});
    for (const auto& o : q.options()) questions.push_back({"", "", "", absl::StrCat("  ", o.option_id(), ": ", o.label())});
  }
  PrintTable(questions);
}

}  // namespace

int SurveyCreate(Client& client, const Invocation& in) {
  std::ifstream file(in.Arg(0), std::ios::binary);
  if (!file) return UsageError(in, absl::StrCat("cannot read ", in.Arg(0)));
  std::stringstream text;
  text << file.rdbuf();
  v1::CreateSurveyRequest request;
  auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), &request);
  if (!parsed.ok()) {
    return UsageError(in, absl::StrCat(in.Arg(0), " is not a CreateSurveyRequest in JSON: ",
                                       parsed.ToString()));
  }
  if (in.Has("request_id") || request.request_id().empty()) {
    request.set_request_id(in.Str("request_id", NewRequestId()));
  }
  return Exchange<v1::Survey>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.surveys().CreateSurvey(c, request, out); },
      PrintSurvey, RetryOption("request_id", request.request_id()));
}

int SurveyPublish(Client& client, const Invocation& in) {
  v1::PublishSurveyRequest request;
  request.set_survey_id(in.Arg(0));
  return Exchange<v1::Survey>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.surveys().PublishSurvey(c, request, out); },
      PrintSurvey);
}

int SurveyList(Client& client, const Invocation& in) {
  v1::ListSurveysRequest request;
  request.set_event_id(in.Str("event"));
  request.set_campaign_id(in.Str("campaign"));
  request.set_include_all(in.Flag("all"));
  return Exchange<v1::ListSurveysResponse>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.surveys().ListSurveys(c, request, out); },
      [](const v1::ListSurveysResponse& r) {
        if (r.surveys().empty()) {
          std::printf("No surveys.\n");
          return;
        }
        Rows rows = {{"SURVEY", "VERSION", "STATUS", "FOR", "TITLE"}};
        for (const auto& s : r.surveys()) {
          rows.push_back({s.survey_id(), absl::StrCat(s.version()),
                          Label(absl::StripPrefix(v1::SurveyStatus_Name(s.status()),
                                                  "SURVEY_STATUS_")),
                          s.event_id().empty() ? absl::StrCat("campaign ", s.campaign_id())
                                               : absl::StrCat("event ", s.event_id()),
                          s.title()});
        }
        PrintTable(rows);
      });
}

int SurveyShow(Client& client, const Invocation& in) {
  v1::GetSurveyRequest request;
  request.set_survey_id(in.Arg(0));
  return Exchange<v1::Survey>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.surveys().GetSurvey(c, request, out); },
      PrintSurvey);
}

int SurveyAnswer(Client& client, const Invocation& in) {
  // The survey's question types say how each ANSWER is read.
  v1::GetSurveyRequest get;
  get.set_survey_id(in.Arg(0));
  v1::Survey survey;
  if (!client.Call(Auth::kToken, [&](grpc::ClientContext* c) {
        return client.surveys().GetSurvey(c, get, &survey);
      })) {
    return kExitError;
  }
  v1::SubmitResponseRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  request.set_survey_id(in.Arg(0));
  request.set_wave(static_cast<v1::SurveyWave>(in.Choice("wave", "before")));
  for (size_t i = 1; i < in.ArgCount(); ++i) {
    std::pair<std::string, std::string> kv = absl::StrSplit(in.Arg(i), absl::MaxSplits('=', 1));
    const v1::SurveyQuestion* question = nullptr;
    for (const auto& q : survey.questions()) {
      if (q.question_id() == kv.first) question = &q;
    }
    if (question == nullptr) {
      return UsageError(in, absl::StrCat("'", in.Arg(i), "': the survey has no question '",
                                         kv.first, "' (see `ecoact survey show`)"));
    }
    v1::SurveyAnswer* answer = request.add_answers();
    answer->set_question_id(kv.first);
    switch (question->type()) {
      case v1::QUESTION_TYPE_SINGLE_CHOICE:
      case v1::QUESTION_TYPE_MULTIPLE_CHOICE:
        for (absl::string_view o : absl::StrSplit(kv.second, ',', absl::SkipWhitespace())) {
          answer->add_option_ids(std::string(absl::StripAsciiWhitespace(o)));
        }
        break;
      case v1::QUESTION_TYPE_SCALE: {
        int scale = 0;
        if (!absl::SimpleAtoi(kv.second, &scale)) {
          return UsageError(in, absl::StrCat("'", in.Arg(i), "': a scale answer is 1 to 5"));
        }
        answer->set_scale(scale);
        break;
      }
      case v1::QUESTION_TYPE_NUMBER: {
        double number = 0;
        if (!absl::SimpleAtod(kv.second, &number)) {
          return UsageError(in, absl::StrCat("'", in.Arg(i), "': the answer is a number"));
        }
        answer->set_number(number);
        break;
      }
      default:
        answer->set_text(kv.second);
    }
  }
  return Exchange<v1::SubmitResponseResult>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.surveys().SubmitResponse(c, request, out); },
      [](const v1::SubmitResponseResult& r) {
        std::printf("%s answers to the %s wave saved%s (revision %d).\n",
                    r.replayed() ? "Your earlier" : "Your", WaveLabel(r.wave()).c_str(),
                    r.amended() ? ", replacing the earlier ones" : "", r.revision());
      },
      RetryOption("request_id", request.request_id()));
}

int SurveyResults(Client& client, const Invocation& in) {
  v1::GetSurveyResultsRequest request;
  request.set_survey_id(in.Arg(0));
  return Exchange<v1::SurveyResults>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.surveys().GetSurveyResults(c, request, out); },
      [](const v1::SurveyResults& r) {
        for (const auto& w : r.waves()) {
          std::printf("%s wave: %lld responses", WaveLabel(w.wave()).c_str(),
                      static_cast<long long>(w.responses()));
          if (r.checked_in_participants() > 0) {
            std::printf(", %lld of %lld checked-in participants (%.1f %%)",
                        static_cast<long long>(w.checked_in_respondents()),
                        static_cast<long long>(r.checked_in_participants()),
                        w.response_rate() * 100);
          }
          std::printf("\n");
          Rows rows = {{"QUESTION", "ANSWERED", "RESULT"}};
          for (const auto& q : w.questions()) {
            std::string result;
            for (const auto& o : q.options()) {
              absl::StrAppend(&result, result.empty() ? "" : ", ", o.option_id(), " ", o.count());
            }
            if (q.type() == v1::QUESTION_TYPE_SCALE) {
              result = absl::StrFormat("mean %.2f, 1-5:", q.mean());
              for (int64_t n : q.scale_distribution()) absl::StrAppend(&result, " ", n);
            }
            if (q.type() == v1::QUESTION_TYPE_NUMBER) {
              result = absl::StrFormat("mean %g, median %g", q.mean(), q.median());
            }
            rows.push_back({q.question_id(), absl::StrCat(q.answered()), result});
          }
          PrintTable(rows);
          std::printf("\n");
        }
        if (r.paired_size() > 0) {
          std::printf("Before/after, %lld citizens answered both waves:\n",
                      static_cast<long long>(r.paired_respondents()));
          Rows rows = {{"QUESTION", "PAIRS", "MEAN CHANGE (AFTER - BEFORE)"}};
          for (const auto& p : r.paired()) {
            rows.push_back({p.question_id(), absl::StrCat(p.pairs()),
                            absl::StrFormat("%+.2f", p.mean_change())});
          }
          PrintTable(rows);
        }
      });
}

namespace {

// "both waves", "before only", ...
std::string GroupLabel(v1::RespondentGroup group) {
  std::string label(absl::StripPrefix(v1::RespondentGroup_Name(group), "RESPONDENT_GROUP_"));
  for (char& c : label) c = c == '_' ? ' ' : static_cast<char>(std::tolower(c));
  return label;
}

}  // namespace

int SurveyBehaviour(Client& client, const Invocation& in) {
  v1::GetBehaviourChangeRequest request;
  request.set_survey_id(in.Arg(0));
  request.set_weeks(in.Int("weeks", 0));
  if (auto reference = in.Time("reference")) *request.mutable_reference_time() = ToTimestamp(*reference);
  return Exchange<v1::BehaviourChange>(
      client, Auth::kToken,
      [&](auto* c, auto* out) { return client.surveys().GetBehaviourChange(c, request, out); },
      [](const v1::BehaviourChange& r) {
        std::printf("Actions and CO2 of respondents, %d weeks before and after %s\n", r.weeks(),
                    ShowTime(r.reference_time()).c_str());
        std::printf("(%s to %s); %lld of %lld respondents analysed", ShowTime(r.before_from()).c_str(),
                    ShowTime(r.after_until()).c_str(),
                    static_cast<long long>(r.respondents_analysed()),
                    static_cast<long long>(r.respondents_total()));
        if (r.respondents_capped() > 0) {
          std::printf(", %lld capped at 500 entries a window",
                      static_cast<long long>(r.respondents_capped()));
        }
        std::printf(".\n\n");
        Rows rows = {{"GROUP", "PEOPLE", "ACTIONS/PERSON BEFORE", "AFTER", "CHANGE (SD)",
                      "CO2 G/PERSON BEFORE", "AFTER", "UP/DOWN/SAME"}};
        for (const auto& g : r.groups()) {
          rows.push_back({GroupLabel(g.group()), absl::StrCat(g.respondents()),
                          absl::StrFormat("%.2f", g.before().mean_actions()),
                          absl::StrFormat("%.2f", g.after().mean_actions()),
                          absl::StrFormat("%+.2f (%.2f)", g.mean_action_change(), g.sd_action_change()),
                          absl::StrFormat("%.0f", g.before().mean_co2_grams()),
                          absl::StrFormat("%.0f", g.after().mean_co2_grams()),
                          absl::StrCat(g.increased(), "/", g.decreased(), "/", g.unchanged())});
        }
        PrintTable(rows);
      });
}

int SurveyExport(Client& client, const Invocation& in) {
  v1::ExportSurveyCsvRequest request;
  request.set_survey_id(in.Arg(0));
  request.set_format(in.Flag("aggregates") ? v1::SURVEY_CSV_FORMAT_AGGREGATES
                                           : v1::SURVEY_CSV_FORMAT_RESPONSES);
  request.set_include_free_text(in.Flag("free_text"));
  const std::string path = in.Str("out");
  int64_t rows = 0;
  if (!SaveExport(client, path, in.Flag("excel"), [&](grpc::ClientContext* c, std::ostream& out) {
        rows = 0;
        auto reader = client.surveys().ExportSurveyCsv(c, request);
        v1::SurveyCsvChunk chunk;
        while (reader->Read(&chunk)) {
          out << chunk.csv();
          rows += chunk.rows();
        }
        return reader->Finish();
      })) {
    return kExitError;
  }
  std::printf("Saved %lld %s of survey %s to %s.\n", static_cast<long long>(rows),
              in.Flag("aggregates") ? "result rows" : "responses", request.survey_id().c_str(),
              path.c_str());
  return kExitOk;
}

}  // namespace ecoact::cli
