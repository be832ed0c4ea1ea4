#include "cli/demo.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/events.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "ecoact/v1/rewards.grpc.pb.h"
#include "ecoact/v1/surveys.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/status_macros.h"

namespace ecoact::demo {

namespace v1 = ::ecoact::v1;
using google::protobuf::util::TimeUtil;

uint64_t DemoRandom::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

namespace {

// The 7 wards of Kawasaki with their rough share of residents (percent).
struct Ward {
  const char* id;
  int weight;
};
constexpr Ward kWards[] = {{"kawasaki", 15}, {"saiwai", 11}, {"nakahara", 17}, {"takatsu", 15},
                           {"miyamae", 15},  {"tama", 14},   {"asao", 13}};

struct Group {
  const char* id;
  const char* name;
  const char* organisation;  // "" for a team without one; unused for organisations
};
// Partner organisations and their teams: fictional, in the style of a
// Kawasaki pilot (a shopping street, a co-op, a school, a factory, a club).
constexpr Group kOrganisations[] = {
    {"kosugi-shops", "小杉駅前商店会", ""},
    {"tamagawa-coop", "多摩川くらし生協", ""},
    {"miyamae-school", "宮前みなみ小学校", ""},
    {"saiwai-works", "幸区ものづくり工業会", ""},
    {"asao-green", "麻生みどりの会", ""},
};
constexpr Group kTeams[] = {
    {"kosugi-cafes", "小杉カフェ組", "kosugi-shops"},
    {"kosugi-bakers", "小杉パン屋組", "kosugi-shops"},
    {"coop-nakahara", "生協 中原支部", "tamagawa-coop"},
    {"coop-tama", "生協 多摩支部", "tamagawa-coop"},
    {"class-5a", "5年1組", "miyamae-school"},
    {"class-5b", "5年2組", "miyamae-school"},
    {"works-line-1", "第1製造ライン", "saiwai-works"},
    {"works-office", "事務所チーム", "saiwai-works"},
    {"green-hikers", "里山ハイカーズ", "asao-green"},
    {"green-gardens", "花壇ボランティア", "asao-green"},
    {"todoroki-runners", "等々力ランナーズ", ""},
    {"tamagawa-cyclists", "多摩川サイクリスト", ""},
};

constexpr const char* kGivenNames[] = {"Aoi",   "Haruto", "Yui",   "Sota",   "Hina",  "Ren",
                                       "Mei",   "Yuto",   "Sakura", "Riku",  "Mio",   "Kaito",
                                       "Rin",   "Hayato", "Koharu", "Daiki", "Akari", "Minato",
                                       "Tsumugi", "Kenta"};

// Everyday actions with a plausible amount (tenths of the unit).
struct Habit {
  const char* type;
  int low_tenths;
  int high_tenths;
  bool whole = false;
};
constexpr Habit kHabits[] = {
    {"plastic_bag_refused", 10, 39, true}, {"own_bottle", 10, 29, true},      {"pet_bottles", 2, 15},
    {"aluminium_cans", 1, 8},        {"paper_cardboard", 5, 40},  {"glass_bottles", 5, 30},
    {"train_instead_of_car", 50, 300}, {"bus_instead_of_car", 30, 150}, {"clothing_reuse", 5, 30},
};
// What the campaign rewards, and what is recorded during it.
constexpr const char* kCampaignTypes[] = {"clothing_reuse", "clothing_recycling",
                                          "plastic_bag_refused"};

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

absl::Status Failed(absl::string_view step, const grpc::Status& status) {
  std::string hint;
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    hint = " (the server's rate limits stop the demo: start it with ECOACT_RATE_LIMITS=0, "
           "see README \"See a living system\")";
  }
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
      absl::StrContains(status.error_message(), "occurred_at")) {
    hint = " (history older than the server's --max_backdate: use a smaller --days, or start "
           "the server with ECOACT_MAX_BACKDATE=2160h)";
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(step, ": ", status.error_message(), hint));
}

// One citizen of the pilot: everything about them follows from the seed and
// their number, whichever thread handles them.
struct CitizenPlan {
  int index = 0;
  std::string ward;
  int team = -1;  // index into kTeams
  std::string nickname;
  int engagement = 0;      // percent of days with actions
  bool answers_before = false;
  bool answers_after = false;  // also answered the after wave
  bool at_drive[2] = {false, false};
  bool in_campaign = false;
};

CitizenPlan PlanCitizen(uint64_t seed, int index) {
  DemoRandom rng(seed * 0x100000001B3ULL + static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ULL);
  CitizenPlan p;
  p.index = index;
  int pick = static_cast<int>(rng.Below(100));
  for (const Ward& w : kWards) {
    if (pick < w.weight) {
      p.ward = w.id;
      break;
    }
    pick -= w.weight;
  }
  if (p.ward.empty()) p.ward = kWards[0].id;
  if (rng.Percent(60)) p.team = static_cast<int>(rng.Below(std::size(kTeams)));
  p.nickname = absl::StrCat(kGivenNames[rng.Below(std::size(kGivenNames))], index + 1);
  p.engagement = 10 + static_cast<int>(rng.Below(60));
  p.answers_before = rng.Percent(30);
  p.answers_after = p.answers_before && rng.Percent(60);
  p.at_drive[0] = rng.Percent(5) || index == 0;
  p.at_drive[1] = rng.Percent(3) || index == 1;
  p.in_campaign = rng.Percent(40);
  return p;
}

class Demo {
 public:
  Demo(const RoutedChannels& channels, const DemoOptions& options)
      : options_(options),
        identity_(
            v1::IdentityService::NewStub(channels.For(v1::IdentityService::service_full_name()))),
        actions_(
            v1::ActionsService::NewStub(channels.For(v1::ActionsService::service_full_name()))),
        events_(v1::EventsService::NewStub(channels.For(v1::EventsService::service_full_name()))),
        rewards_(
            v1::RewardsService::NewStub(channels.For(v1::RewardsService::service_full_name()))),
        surveys_(
            v1::SurveysService::NewStub(channels.For(v1::SurveysService::service_full_name()))) {}

  absl::StatusOr<DemoSummary> Run();

 private:
  std::unique_ptr<grpc::ClientContext> Context(const std::string& token) const {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
    if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
    return c;
  }
  std::string Id(absl::string_view what) const {
    return absl::StrCat("demo-s", options_.seed, "-", what);
  }
  void Progress(const std::string& line) const {
    if (options_.progress) options_.progress(line);
  }

  absl::Status Campaign();
  absl::Status Groups();
  absl::Status Staff();
  absl::Status Drive(int which);
  absl::Status Survey();
  // Runs `step` for every citizen, options_.parallel at a time.
  absl::Status Citizens(absl::Status (Demo::*step)(const CitizenPlan&));
  absl::Status OneCitizen(const CitizenPlan& plan);
  absl::Status CampaignAction(const CitizenPlan& plan);
  absl::Status Record(const std::string& token, const std::string& request_id,
                      const std::string& type, int tenths, std::optional<absl::Time> at);

  DemoOptions options_;
  std::unique_ptr<v1::IdentityService::Stub> identity_;
  std::unique_ptr<v1::ActionsService::Stub> actions_;
  std::unique_ptr<v1::EventsService::Stub> events_;
  std::unique_ptr<v1::RewardsService::Stub> rewards_;
  std::unique_ptr<v1::SurveysService::Stub> surveys_;

  absl::Time anchor_;
  std::string team_codes_[std::size(kTeams)];
  std::string staff_token_;
  std::string drive_ids_[2];
  absl::Time drive_starts_[2];
  bool drive_open_[2] = {false, false};
  std::string survey_id_;
  std::vector<std::string> tokens_;  // citizen index -> access token
  DemoSummary summary_;
  std::atomic<int64_t> recorded_{0}, actions_new_{0}, check_ins_{0}, weigh_ins_{0},
      weigh_ins_new_{0}, responses_{0}, done_{0};
};

absl::Status Demo::Campaign() {
  summary_.campaign_id = absl::StrCat("demo-season-", options_.seed);
  v1::ListCampaignsResponse list;
  grpc::Status status =
      rewards_->ListCampaigns(Context(options_.admin_token).get(), {}, &list);
  if (!status.ok()) return Failed("ListCampaigns", status);
  for (const v1::Campaign& c : list.campaigns()) {
    if (c.id() == summary_.campaign_id) {
      // A second run: the pilot keeps the first run's times.
      anchor_ = absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(c.starts_at()));
      return absl::OkStatus();
    }
  }
  anchor_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  v1::CreateCampaignRequest request;
  request.set_request_id(Id("campaign"));
  request.set_id(summary_.campaign_id);
  request.set_title("かわさき 衣類とレジ袋チャレンジ (demo)");
  for (const char* t : kCampaignTypes) request.add_action_types(t);
  *request.mutable_starts_at() = Ts(anchor_);
  *request.mutable_ends_at() = Ts(anchor_ + absl::Hours(24 * 30));
  request.set_multiplier_permille(1500);
  request.set_metric(v1::METRIC_CO2E_GRAMS);
  request.set_collective_target(500000);
  v1::Campaign campaign;
  status = rewards_->CreateCampaign(Context(options_.admin_token).get(), request, &campaign);
  if (!status.ok()) return Failed("CreateCampaign", status);
  return absl::OkStatus();
}

absl::Status Demo::Groups() {
  for (const Group& o : kOrganisations) {
    v1::CreateOrganisationRequest request;
    request.set_request_id(Id(absl::StrCat("org-", o.id)));
    request.set_organisation_id(o.id);
    request.set_name(o.name);
    v1::Organisation out;
    grpc::Status status =
        identity_->CreateOrganisation(Context(options_.admin_token).get(), request, &out);
    if (!status.ok()) return Failed(absl::StrCat("CreateOrganisation ", o.id), status);
    ++summary_.organisations;
  }
  for (size_t i = 0; i < std::size(kTeams); ++i) {
    v1::CreateTeamRequest request;
    request.set_request_id(Id(absl::StrCat("team-", kTeams[i].id)));
    request.set_team_id(kTeams[i].id);
    request.set_name(kTeams[i].name);
    request.set_organisation_id(kTeams[i].organisation);
    v1::Team out;
    grpc::Status status = identity_->CreateTeam(Context(options_.admin_token).get(), request, &out);
    if (!status.ok()) return Failed(absl::StrCat("CreateTeam ", kTeams[i].id), status);
    team_codes_[i] = out.join_code();
    ++summary_.teams;
  }
  return absl::OkStatus();
}

// The staff account signs in with a random password, shown once by the run
// that creates it: a password derived from the seed would let anyone who
// read this file sign in as staff on any server the demo ever ran on.
std::string RandomPassword() {
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";  // no l, o, 0, 1
  std::random_device random;  // the kernel's CSPRNG on Linux
  std::string password;
  for (int i = 0; i < 20; ++i) password += kAlphabet[random() % 32];
  return password;
}

absl::Status Demo::Staff() {
  const std::string login = absl::StrCat("demo.staff", options_.seed);
  const std::string password = RandomPassword();
  summary_.staff_login = login;
  v1::CreateStaffRequest create;
  create.set_request_id(Id("staff"));
  create.set_login(login);
  create.set_password(password);
  create.set_display_name("デモ スタッフ");
  v1::Profile profile;
  grpc::Status status = identity_->CreateStaff(Context(options_.admin_token).get(), create, &profile);
  if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
    // An earlier run created the account (and showed its password). The
    // admin may do all of a drive's staff work; the replayed requests
    // (check-ins, weigh-ins by their ids) do not depend on who sends them.
    staff_token_ = options_.admin_token;
    return absl::OkStatus();
  }
  if (!status.ok()) return Failed("CreateStaff", status);
  summary_.staff_password = password;
  v1::SignInRequest sign_in;
  sign_in.set_account_id(login);
  sign_in.set_secret(password);
  v1::SignInResponse session;
  status = identity_->SignIn(Context("").get(), sign_in, &session);
  if (!status.ok()) return Failed("SignIn (staff)", status);
  staff_token_ = session.token();
  return absl::OkStatus();
}

// Drive 0: a clothing drive in Nakahara in the middle of the season (closed
// at the end of the run); drive 1: a children's clothes swap in Takatsu
// that started an hour before the anchor and stays open.
absl::Status Demo::Drive(int which) {
  const int middle_days = (options_.days + 1) / 2;
  drive_starts_[which] = which == 0 ? anchor_ - absl::Hours(24 * middle_days) + absl::Hours(1)
                                    : anchor_ - absl::Hours(1);
  v1::CreateEventRequest request;
  request.set_request_id(Id(which == 0 ? "drive-nakahara" : "drive-takatsu"));
  request.set_kind(v1::EVENT_KIND_DRIVE);
  request.set_name(which == 0 ? "中原区 衣類回収ドライブ (demo)" : "高津区 こども服交換会 (demo)");
  request.set_place(which == 0 ? "武蔵小杉駅 北口広場" : "溝の口駅前 キラリデッキ");
  request.set_ward(which == 0 ? "nakahara" : "takatsu");
  *request.mutable_starts_at() = Ts(drive_starts_[which]);
  *request.mutable_ends_at() = Ts(drive_starts_[which] + absl::Hours(6));
  request.add_accepted_action_types("clothing_reuse");
  request.add_accepted_action_types("clothing_recycling");
  v1::Event event;
  grpc::Status status = events_->CreateEvent(Context(options_.admin_token).get(), request, &event);
  if (!status.ok()) return Failed("CreateEvent", status);
  drive_ids_[which] = event.event_id();
  summary_.drive_ids[which] = event.event_id();
  if (event.status() == v1::EVENT_STATUS_CLOSED) return absl::OkStatus();  // an earlier run
  v1::AssignStaffRequest assign;
  assign.set_event_id(event.event_id());
  assign.add_staff_logins(absl::StrCat("demo.staff", options_.seed));
  status = events_->AssignStaff(Context(options_.admin_token).get(), assign, &event);
  if (!status.ok()) return Failed("AssignStaff", status);
  v1::EventTransitionRequest open;
  open.set_event_id(event.event_id());
  status = events_->OpenEvent(Context(staff_token_).get(), open, &event);
  if (!status.ok()) return Failed("OpenEvent", status);
  drive_open_[which] = true;
  return absl::OkStatus();
}

// A survey of the Nakahara drive, both waves open during the run; its
// behaviour link has a known effect: those who answer the after wave act
// twice as often after the drive.
absl::Status Demo::Survey() {
  v1::CreateSurveyRequest request;
  request.set_request_id(Id("survey"));
  request.set_title("衣類とごみの習慣アンケート (demo)");
  request.set_description("回収ドライブの前後で、暮らしの習慣がどう変わったかを伺います。");
  request.set_event_id(drive_ids_[0]);
  auto* often = request.add_questions();
  often->set_question_id("often");
  often->set_type(v1::QUESTION_TYPE_SINGLE_CHOICE);
  often->set_required(true);
  often->set_text("服を買う頻度は？");
  for (auto [id, label] : {std::pair{"monthly", "毎月"}, std::pair{"seasonal", "季節ごと"},
                           std::pair{"rarely", "ほとんど買わない"}}) {
    auto* o = often->add_options();
    o->set_option_id(id);
    o->set_label(label);
  }
  auto* care = request.add_questions();
  care->set_question_id("care");
  care->set_type(v1::QUESTION_TYPE_SCALE);
  care->set_required(true);
  care->set_text("不要な服はリユース・リサイクルに出している (1-5)");
  auto* kg = request.add_questions();
  kg->set_question_id("kg");
  kg->set_type(v1::QUESTION_TYPE_NUMBER);
  kg->set_text("1年に捨てる服はおよそ何kg？");
  kg->set_min_number(0);
  kg->set_max_number(200);
  auto* before = request.add_waves();
  before->set_wave(v1::SURVEY_WAVE_BEFORE);
  *before->mutable_opens_at() = Ts(anchor_ - absl::Hours(24 * options_.days));
  *before->mutable_closes_at() = Ts(anchor_ + absl::Hours(24 * 14));
  auto* after = request.add_waves();
  after->set_wave(v1::SURVEY_WAVE_AFTER);
  *after->mutable_opens_at() = Ts(anchor_ - absl::Hours(24 * options_.days) + absl::Hours(1));
  *after->mutable_closes_at() = Ts(anchor_ + absl::Hours(24 * 14));
  v1::Survey survey;
  grpc::Status status = surveys_->CreateSurvey(Context(options_.admin_token).get(), request, &survey);
  if (!status.ok()) return Failed("CreateSurvey", status);
  v1::PublishSurveyRequest publish;
  publish.set_survey_id(survey.survey_id());
  status = surveys_->PublishSurvey(Context(options_.admin_token).get(), publish, &survey);
  if (!status.ok()) return Failed("PublishSurvey", status);
  survey_id_ = survey.survey_id();
  summary_.survey_id = survey_id_;
  return absl::OkStatus();
}

absl::Status Demo::Record(const std::string& token, const std::string& request_id,
                          const std::string& type, int tenths, std::optional<absl::Time> at) {
  v1::RecordActionRequest request;
  request.set_request_id(request_id);
  request.set_action_type(type);
  request.set_quantity(tenths / 10.0);
  if (at) *request.mutable_occurred_at() = Ts(*at);
  v1::RecordActionResponse response;
  grpc::Status status = actions_->RecordAction(Context(token).get(), request, &response);
  if (!status.ok()) return Failed(absl::StrCat("RecordAction ", type), status);
  ++recorded_;
  if (!response.replayed()) ++actions_new_;
  return absl::OkStatus();
}

absl::Status Demo::OneCitizen(const CitizenPlan& plan) {
  DemoRandom rng(options_.seed ^ (0xD1B54A32D192ED03ULL * static_cast<uint64_t>(plan.index + 1)));
  const std::string me = absl::StrFormat("c%06d", plan.index);
  v1::RegisterRequest reg;
  reg.set_request_id(Id(absl::StrCat("citizen-", me)));
  reg.set_nickname(plan.nickname);
  reg.set_ward(plan.ward);
  if (plan.team >= 0) reg.set_join_code(team_codes_[plan.team]);
  v1::RegisterResponse account;
  grpc::Status status = identity_->Register(Context("").get(), reg, &account);
  if (!status.ok()) return Failed("Register", status);
  const std::string& token = account.token();

  // The season: on each day, with the citizen's engagement, one or two
  // everyday actions between 7:00 and 21:00 (relative to the anchor's time
  // of day). After the Nakahara drive, those who answer its after wave
  // act twice as often.
  const absl::Time pivot = drive_starts_[0];
  int n = 0;
  for (int day = options_.days - 1; day >= 0; --day) {
    if (!rng.Percent(plan.engagement)) continue;
    const absl::Time at = anchor_ - absl::Hours(24 * day) - absl::Minutes(30 + rng.Below(14 * 60));
    int count = 1 + static_cast<int>(rng.Below(2));
    if (plan.answers_after && at >= pivot) count *= 2;
    for (int k = 0; k < count; ++k) {
      const Habit& habit = kHabits[rng.Below(std::size(kHabits))];
      int tenths = habit.low_tenths +
                   static_cast<int>(rng.Below(habit.high_tenths - habit.low_tenths + 1));
      if (habit.whole) tenths = tenths / 10 * 10;  // items are counted whole
      RETURN_IF_ERROR(Record(token, Id(absl::StrCat(me, "-a", n++)), habit.type, tenths,
                             at + absl::Minutes(k)));
    }
  }

  // The drives: checked in by the staff with the citizen's code, then one
  // or two bags weighed. A drive closed by an earlier run is left alone.
  // (Each part draws from its own sequence: skipping one on a second run
  // must not change the others.)
  rng = DemoRandom(options_.seed ^ (0xA24BAED4963EE407ULL * static_cast<uint64_t>(plan.index + 1)));
  for (int d = 0; d < 2; ++d) {
    if (!plan.at_drive[d] || !drive_open_[d]) continue;
    v1::CheckInCode code;
    status = events_->GetCheckInCode(Context(token).get(), {}, &code);
    if (!status.ok()) return Failed("GetCheckInCode", status);
    v1::CheckInRequest check_in;
    check_in.set_event_id(drive_ids_[d]);
    check_in.set_code(code.code());
    v1::CheckInResponse checked;
    status = events_->CheckIn(Context(staff_token_).get(), check_in, &checked);
    // ALREADY_EXISTS: checked in by an earlier run; the participant id is
    // the account id either way.
    if (!status.ok() && status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      return Failed("CheckIn", status);
    }
    ++check_ins_;
    const int bags = 1 + static_cast<int>(rng.Below(2));
    for (int b = 0; b < bags; ++b) {
      v1::WeighIn weigh;
      weigh.set_event_id(drive_ids_[d]);
      weigh.set_client_entry_id(absl::StrCat("demo-", me, "-bag", b));
      weigh.set_participant_id(account.account_id());
      weigh.set_action_type(rng.Percent(70) ? "clothing_reuse" : "clothing_recycling");
      weigh.set_weight_kg((5 + rng.Below(60)) / 10.0);
      *weigh.mutable_occurred_at() =
          Ts(drive_starts_[d] + absl::Minutes(5 + plan.index % 50) + absl::Seconds(b));
      v1::EntryOutcome outcome;
      status = events_->RecordWeighIn(Context(staff_token_).get(), weigh, &outcome);
      if (!status.ok()) return Failed("RecordWeighIn", status);
      ++weigh_ins_;
      if (outcome.status() == v1::ENTRY_STATUS_ACCEPTED) ++weigh_ins_new_;
    }
  }

  // The survey: before, and for some also after, with more care for reuse.
  rng = DemoRandom(options_.seed ^ (0x9FB21C651E98DF25ULL * static_cast<uint64_t>(plan.index + 1)));
  if (plan.answers_before) {
    const char* often[] = {"monthly", "seasonal", "rarely"};
    const int care = 1 + static_cast<int>(rng.Below(4));
    const int kg = static_cast<int>(rng.Below(30));
    for (v1::SurveyWave wave : {v1::SURVEY_WAVE_BEFORE, v1::SURVEY_WAVE_AFTER}) {
      if (wave == v1::SURVEY_WAVE_AFTER && !plan.answers_after) break;
      const bool after = wave == v1::SURVEY_WAVE_AFTER;
      v1::SubmitResponseRequest r;
      r.set_request_id(Id(absl::StrCat(me, after ? "-after" : "-before")));
      r.set_survey_id(survey_id_);
      r.set_wave(wave);
      auto* a = r.add_answers();
      a->set_question_id("often");
      a->add_option_ids(often[std::min<int64_t>(2, rng.Below(3) + (after ? 1 : 0))]);
      a = r.add_answers();
      a->set_question_id("care");
      a->set_scale(std::min(5, care + (after ? 1 + static_cast<int>(rng.Below(2)) : 0)));
      a = r.add_answers();
      a->set_question_id("kg");
      a->set_number(after ? kg / 2 : kg);
      v1::SubmitResponseResult result;
      status = surveys_->SubmitResponse(Context(token).get(), r, &result);
      if (!status.ok()) return Failed("SubmitResponse", status);
      ++responses_;
    }
  }

  tokens_[plan.index] = token;
  return absl::OkStatus();
}

// The campaign, running since the anchor: one action a second after its
// start (a fixed time, so that a second run's retry has the same content).
absl::Status Demo::CampaignAction(const CitizenPlan& plan) {
  if (!plan.in_campaign) return absl::OkStatus();
  DemoRandom rng(options_.seed ^ (0x8CB92BA72F3D8DD7ULL * static_cast<uint64_t>(plan.index + 1)));
  const char* type = kCampaignTypes[rng.Below(std::size(kCampaignTypes))];
  return Record(tokens_[plan.index], Id(absl::StrFormat("c%06d-campaign", plan.index)), type,
                std::string(type) == "plastic_bag_refused" ? 20 : 15,
                anchor_ + absl::Seconds(1));
}

absl::Status Demo::Citizens(absl::Status (Demo::*step)(const CitizenPlan&)) {
  std::atomic<int> next{0};
  std::mutex mu;
  absl::Status first_error;
  std::vector<std::thread> workers;
  const int threads = std::max(1, std::min(options_.parallel, options_.citizens));
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (;;) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (!first_error.ok()) return;
        }
        const int i = next.fetch_add(1);
        if (i >= options_.citizens) return;
        absl::Status s = (this->*step)(PlanCitizen(options_.seed, i));
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.ok()) first_error = s;
          return;
        }
        const int64_t done = ++done_;
        if (step == &Demo::OneCitizen && done % 500 == 0) {
          Progress(absl::StrCat("  ", done, " of ", options_.citizens, " citizens, ",
                                recorded_.load(), " actions"));
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  return first_error;
}

absl::StatusOr<DemoSummary> Demo::Run() {
  if (options_.citizens < 2 || options_.citizens > 1000000) {
    return absl::InvalidArgumentError("citizens must be 2 to 1,000,000");
  }
  if (options_.days < 2 || options_.days > 365) {
    return absl::InvalidArgumentError("days must be 2 to 365");
  }
  const absl::Time start = absl::Now();
  RETURN_IF_ERROR(Campaign());
  summary_.anchor = anchor_;
  Progress(absl::StrCat("Seeding the pilot of campaign ", summary_.campaign_id, ", anchored at ",
                        absl::FormatTime(absl::RFC3339_sec, anchor_, absl::UTCTimeZone())));
  RETURN_IF_ERROR(Groups());
  RETURN_IF_ERROR(Staff());
  RETURN_IF_ERROR(Drive(0));
  RETURN_IF_ERROR(Drive(1));
  RETURN_IF_ERROR(Survey());
  Progress(absl::StrCat("Created ", summary_.organisations, " organisations, ", summary_.teams,
                        " teams, drives ", drive_ids_[0], " and ", drive_ids_[1], ", survey ",
                        survey_id_, "; now ", options_.citizens, " citizens"));
  const absl::Time citizens_start = absl::Now();
  tokens_.assign(options_.citizens, "");
  RETURN_IF_ERROR(Citizens(&Demo::OneCitizen));
  // Throughput of the main phase (sign-ups, actions, drives, answers).
  const double seconds = absl::ToDoubleSeconds(absl::Now() - citizens_start);
  summary_.actions_per_second = seconds > 0 ? static_cast<double>(recorded_) / seconds : 0;
  // The actions service sees a new campaign within 2 s (its cache): the
  // campaign's actions wait for that on a first run.
  const absl::Time campaign_seen = anchor_ + absl::Seconds(3);
  if (absl::Now() < campaign_seen) absl::SleepFor(campaign_seen - absl::Now());
  RETURN_IF_ERROR(Citizens(&Demo::CampaignAction));
  if (drive_open_[0]) {
    v1::EventTransitionRequest close;
    close.set_event_id(drive_ids_[0]);
    v1::Event event;
    grpc::Status status = events_->CloseEvent(Context(staff_token_).get(), close, &event);
    if (!status.ok()) return Failed("CloseEvent", status);
  }
  summary_.citizens = options_.citizens;
  summary_.actions = recorded_;
  summary_.actions_new = actions_new_;
  summary_.check_ins = check_ins_;
  summary_.weigh_ins = weigh_ins_;
  summary_.weigh_ins_new = weigh_ins_new_;
  summary_.survey_responses = responses_;
  summary_.elapsed = absl::Now() - start;
  return summary_;
}

}  // namespace

absl::StatusOr<DemoSummary> RunDemo(const RoutedChannels& channels, const DemoOptions& options) {
  Demo demo(channels, options);
  return demo.Run();
}

}  // namespace ecoact::demo
