// End to end through the command-line client, as the README's tour does it:
// redis-server and ecoact_server run as processes, and every step is an
// `ecoact` command whose printed output is checked. It covers a team race
// between a school class and a company department, badges, a streak, a
// campaign with its bonus and reward badge, and a citizen hiding from the
// public boards while still counting for their team.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/clock.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace ecoact::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAdminPassword[] = "cli-tour-admin-password";

class CliTourTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServerProcess::Start({});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    EcoactServerOptions options;
    options.binary = ECOACT_SERVER_BINARY;
    options.admin_password = kAdminPassword;
    if (SplitRequested()) options.split_binaries = SplitBinaries(ECOACT_SERVICES_DIR);
    auto server = EcoactServerProcess::Start(*redis_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    dir_ = absl::StrCat(::testing::TempDir(), "cli-tour-", Base32(RandomBytes(6)));
    ASSERT_EQ(std::system(absl::StrCat("mkdir -p ", dir_).c_str()), 0);
  }

  // Runs `ecoact --session=<dir>/<session>.json ARGS` and returns what it
  // printed (stdout and stderr); `exit_code` receives its exit status.
  std::string Ecoact(const std::string& session, const std::string& args,
                     int* exit_code = nullptr) {
    const std::string command =
        absl::StrCat(ECOACT_CLI_BINARY, " --server=", server_->server_target(),
                     server_->split() ? " --routes=" + server_->routes_flag() : "",
                     " --session=", dir_, "/", session, ".json ", args, " 2>&1");
    FILE* pipe = popen(command.c_str(), "r");
    EXPECT_NE(pipe, nullptr);
    std::string out;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
    const int status = pclose(pipe);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (exit_code != nullptr) {
      *exit_code = code;
    } else {
      EXPECT_EQ(code, 0) << "ecoact " << args << "\n" << out;
    }
    std::printf("$ ecoact %s\n%s\n", args.c_str(), out.c_str());
    // Split deployment: the actions and events processes see a new campaign
    // at their next campaign cache refresh (every 2 s, docs/deploy.md), not
    // at once like the all-in-one process that created it.
    if (server_->split() && absl::StartsWith(args, "campaign create")) {
      absl::SleepFor(absl::Seconds(3));
    }
    return out;
  }

  // The value printed after `label` on its line ("join code     W9N8C2QF").
  static std::string Field(const std::string& out, const std::string& label) {
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      if (absl::ConsumePrefix(&line, label)) return std::string(absl::StripAsciiWhitespace(line));
    }
    ADD_FAILURE() << "no '" << label << "' in:\n" << out;
    return "";
  }

  // Boards are projected a few milliseconds after the write: repeat a read
  // until it shows `expected` (or give up after 5 s and return the last).
  std::string EcoactUntil(const std::string& session, const std::string& args,
                          const std::string& expected) {
    std::string out;
    for (int i = 0; i < 50; ++i) {
      out = Ecoact(session, args);
      if (absl::StrContains(out, expected)) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return out;
  }

  std::unique_ptr<RedisServerProcess> redis_;
  std::unique_ptr<EcoactServerProcess> server_;
  std::string dir_;
};

TEST_F(CliTourTest, TeamRaceBadgesAndACampaign) {
  Ecoact("admin", absl::StrCat("login --account=admin --secret=", kAdminPassword));
  // The admin sets up a partner organisation with a department, and a class.
  Ecoact("admin", "org create fujitsu 富士通川崎");
  const std::string hr = Field(Ecoact("admin", "team create fujitsu-hr 人事部 --org=fujitsu"),
                               "join code");
  const std::string class3b = Field(Ecoact("admin", "team create class-3b 中原小3年B組"),
                                    "join code");
  ASSERT_EQ(hr.size(), 8u);
  // A campaign: reused or recycled clothes count double this month, and
  // 20 kg CO2e each earns a badge.
  const std::string campaign = Ecoact(
      "admin", absl::StrCat("campaign create denim --title=デニム回収月間 --starts=",
                            absl::FormatTime(absl::RFC3339_sec, absl::Now(),
                                             absl::UTCTimeZone()),
                            " --ends=",
                            absl::FormatTime(absl::RFC3339_sec, absl::Now() + absl::Hours(72),
                                             absl::UTCTimeZone()),
                            " --types=clothing_reuse,clothing_recycling --multiplier=2"
                            " --metric=co2 --target=100000 --my_target=20000"
                            " --badge_title=デニム名人"));
  EXPECT_THAT(campaign, HasSubstr("reward badge       campaign:denim (デニム名人)"));

  // Two pupils join the class with its code at sign-up, one employee joins
  // the department later (the code is forgiving about case and hyphens).
  Ecoact("mika", absl::StrCat("register --nickname=Mika --ward=nakahara --join_code=", class3b));
  Ecoact("sora", absl::StrCat("register --nickname=Sora --ward=nakahara --join_code=", class3b));
  Ecoact("ken", "register --nickname=Ken --ward=kawasaki");
  const std::string lower = absl::AsciiStrToLower(hr);
  EXPECT_THAT(Ecoact("ken", absl::StrCat("join ", lower.substr(0, 4), "-", lower.substr(4))),
              HasSubstr("fujitsu-hr"));

  // 2.5 kg of reused clothes: 33085 g CO2e, 25 points doubled to 50; the
  // first action and the campaign target each earn a badge.
  const std::string mika = Ecoact("mika", "record clothing_reuse 2.5");
  EXPECT_THAT(mika, HasSubstr("33085 g"));
  EXPECT_THAT(mika, HasSubstr("campaign bonus  25 points included (denim)"));
  EXPECT_THAT(mika, HasSubstr("new badge: はじめの一歩 (first_action)"));
  EXPECT_THAT(mika, HasSubstr("new badge: デニム名人 (campaign:denim)"));
  EXPECT_THAT(mika, HasSubstr("Streak: 1 day"));
  EXPECT_THAT(Ecoact("mika", "record clothing_reuse 2.5 --request_id=mika-denim-0002"),
              HasSubstr("replayed        no"));
  // A retry: the first result, no second badge.
  const std::string retry = Ecoact("mika", "record clothing_reuse 2.5 --request_id=mika-denim-0002");
  EXPECT_THAT(retry, HasSubstr("replayed        yes"));
  EXPECT_THAT(retry, Not(HasSubstr("new badge")));
  Ecoact("sora", "record plastic_bag_refused 2");
  Ecoact("ken", "record train_instead_of_car 30");
  Ecoact("ken", "record pet_bottles 2");

  // The team race: the class leads on CO2 in total.
  const std::string race = EcoactUntil("ken", "board --level=teams --metric=co2", "fujitsu-hr");
  const size_t class_at = race.find("class-3b"), hr_at = race.find("fujitsu-hr");
  ASSERT_NE(class_at, std::string::npos) << race;
  EXPECT_LT(class_at, hr_at) << race;
  EXPECT_THAT(race, HasSubstr("<- yours"));
  // Per active member, small teams get a fair chance too.
  EXPECT_THAT(Ecoact("ken", "board --level=teams --metric=co2 --per_member"), HasSubstr("class-3b"));
  EXPECT_THAT(Ecoact("ken", "ranks"), HasSubstr("organisation fujitsu"));
  // The ward race shows the wards' names.
  EXPECT_THAT(Ecoact("ken", "board --level=wards"), HasSubstr("中原区"));

  EXPECT_THAT(Ecoact("mika", "badges"), HasSubstr("campaign:denim"));
  EXPECT_THAT(Ecoact("mika", "streak"), HasSubstr("Streak: 1 day"));
  const std::string progress = Ecoact("mika", "campaign progress denim");
  EXPECT_THAT(progress, HasSubstr("everyone           66170 g"));
  EXPECT_THAT(progress, HasSubstr("(badge earned)"));

  // Mika hides from the public boards: gone from the city board, still
  // counted in the class's total (her 66170 g and Sora's 122 g).
  EXPECT_THAT(EcoactUntil("ken", "board --metric=co2", "Mika"), HasSubstr("Mika"));
  Ecoact("mika", "profile --visibility=hidden");
  std::string city;
  for (int i = 0; i < 50; ++i) {
    city = Ecoact("ken", "board --metric=co2");
    if (!absl::StrContains(city, "Mika")) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(city, Not(HasSubstr("Mika")));
  EXPECT_THAT(Ecoact("ken", "board --level=teams --metric=co2"), HasSubstr("66292 g"));

  // A citizen cannot create a campaign.
  int code = 0;
  EXPECT_THAT(Ecoact("ken", "campaign create mine --title=x --starts=2026-12-01T00:00:00Z "
                            "--ends=2026-12-02T00:00:00Z", &code),
              HasSubstr("PERMISSION_DENIED"));
  EXPECT_EQ(code, 1);
}

// A survey for a campaign through the CLI: designed from a JSON file,
// published, answered in both waves by two citizens (one amends), and the
// results with the paired before/after change. Both waves are open at once
// here, since the real server runs on the real clock.
TEST_F(CliTourTest, SurveyDesignAnswersAndResults) {
  Ecoact("admin", absl::StrCat("login --account=admin --secret=", kAdminPassword));
  const auto at = [](absl::Duration d) {
    return absl::FormatTime(absl::RFC3339_sec, absl::Now() + d, absl::UTCTimeZone());
  };
  Ecoact("admin", absl::StrCat("campaign create denim --title=Denim --starts=", at(absl::ZeroDuration()),
                               " --ends=", at(absl::Hours(72))));
  const std::string path = absl::StrCat(dir_, "/survey.json");
  std::ofstream(path) << absl::StrCat(R"({"title": "服の習慣", "campaignId": "denim",
    "questions": [
      {"questionId": "often", "type": "QUESTION_TYPE_SINGLE_CHOICE", "required": true,
       "text": "How often do you buy clothes?",
       "options": [{"optionId": "weekly", "label": "Weekly"},
                   {"optionId": "rarely", "label": "Rarely"}]},
      {"questionId": "care", "type": "QUESTION_TYPE_SCALE", "required": true,
       "text": "I try to reuse clothes"},
      {"questionId": "kg", "type": "QUESTION_TYPE_NUMBER", "text": "Kg thrown away per year",
       "minNumber": 0, "maxNumber": 500}],
    "waves": [
      {"wave": "SURVEY_WAVE_BEFORE", "opensAt": ")", at(-absl::Hours(1)), R"(", "closesAt": ")",
                                      at(absl::Hours(1)), R"("},
      {"wave": "SURVEY_WAVE_AFTER", "opensAt": ")", at(-absl::Minutes(30)), R"(", "closesAt": ")",
                                      at(absl::Hours(2)), R"("}]})");
  const std::string created = Ecoact("admin", absl::StrCat("survey create ", path));
  EXPECT_THAT(created, HasSubstr("draft"));
  const std::string id = Field(created, "survey");
  ASSERT_THAT(id, ::testing::StartsWith("sv-"));
  EXPECT_THAT(Ecoact("admin", "survey publish " + id), HasSubstr("published"));

  Ecoact("mika", "register --nickname=Mika --ward=nakahara");
  Ecoact("ken", "register --nickname=Ken --ward=kawasaki");
  EXPECT_THAT(Ecoact("mika", "survey list"), HasSubstr(id));
  EXPECT_THAT(Ecoact("mika", "survey answer " + id + " often=weekly care=2 kg=12 --wave=before"),
              HasSubstr("revision 1"));
  Ecoact("ken", "survey answer " + id + " often=weekly care=1 --wave=before");
  // Mika changes her mind before the wave closes.
  EXPECT_THAT(Ecoact("mika", "survey answer " + id + " often=rarely care=3 kg=8 --wave=before"),
              HasSubstr("replacing the earlier ones (revision 2)"));
  Ecoact("mika", "survey answer " + id + " often=rarely care=5 --wave=after");
  Ecoact("ken", "survey answer " + id + " often=rarely care=4 --wave=after");
  int code = 0;
  EXPECT_THAT(Ecoact("ken", "survey answer " + id + " often=rarely care=9 --wave=after", &code),
              HasSubstr("question 'care': scale answer must be 1 to 5, got 9"));
  EXPECT_EQ(code, 1);

  const std::string results = Ecoact("admin", "survey results " + id);
  EXPECT_THAT(results, HasSubstr("before wave: 2 responses"));
  EXPECT_THAT(results, HasSubstr("mean 2.00, 1-5: 1 0 1 0 0"));
  EXPECT_THAT(results, HasSubstr("Before/after, 2 citizens answered both waves"));
  // (5 - 3 + 4 - 1) / 2
  EXPECT_THAT(results, ::testing::ContainsRegex("care +2 +\\+2\\.50"));

  // The behaviour link: Mika refused two bags an hour ago, before the
  // campaign started, and three since; Ken one since.
  Ecoact("mika", "record plastic_bag_refused 1 --at=" + at(-absl::Hours(1)));
  Ecoact("mika", "record plastic_bag_refused 1 --at=" + at(-absl::Minutes(50)));
  for (int i = 0; i < 3; ++i) Ecoact("mika", "record plastic_bag_refused 1");
  Ecoact("ken", "record plastic_bag_refused 1");
  const std::string behaviour = Ecoact("admin", "survey behaviour " + id + " --weeks=1");
  EXPECT_THAT(behaviour, HasSubstr("2 of 2 respondents analysed"));
  // all: before 2 / 2 = 1.00, after 4 / 2 = 2.00; both waves the same two.
  EXPECT_THAT(behaviour, ::testing::ContainsRegex("all +2 +1\\.00 +2\\.00 +\\+1\\.00"));
  EXPECT_THAT(behaviour, ::testing::ContainsRegex("both waves +2 +1\\.00 +2\\.00"));
  EXPECT_THAT(Ecoact("admin", "survey behaviour " + id + " --weeks=27", &code),
              HasSubstr("weeks must be 1 to 26"));
  EXPECT_EQ(code, 1);

  // The CSV export: pseudonyms only, one row per citizen and wave.
  const std::string csv_path = absl::StrCat(dir_, "/responses.csv");
  EXPECT_THAT(Ecoact("admin", "survey export " + id + " --out=" + csv_path),
              HasSubstr("Saved 4 responses"));
  std::ifstream csv_file(csv_path, std::ios::binary);
  const std::string csv((std::istreambuf_iterator<char>(csv_file)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines = absl::StrSplit(csv, "\r\n", absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u) << csv;
  EXPECT_EQ(lines[0], "respondent,wave,revision,often,care,kg");
  EXPECT_THAT(lines, ::testing::Contains(::testing::MatchesRegex("r-[0-9a-f]{16},before,2,rarely,3,8")));
  EXPECT_THAT(lines, ::testing::Contains(::testing::MatchesRegex("r-[0-9a-f]{16},after,1,rarely,4,")));
  EXPECT_FALSE(absl::StrContains(csv, "Mika"));
  const std::string aggregates_path = absl::StrCat(dir_, "/aggregates.csv");
  Ecoact("admin", "survey export " + id + " --aggregates --out=" + aggregates_path);
  std::ifstream aggregates_file(aggregates_path, std::ios::binary);
  const std::string aggregates((std::istreambuf_iterator<char>(aggregates_file)),
                               std::istreambuf_iterator<char>());
  EXPECT_THAT(aggregates, HasSubstr("both,care,scale,paired_mean_change,,2.5\r\n"));
  EXPECT_THAT(Ecoact("mika", "survey export " + id + " --out=" + csv_path + ".x", &code),
              HasSubstr("PERMISSION_DENIED"));
  EXPECT_EQ(code, 1);
  EXPECT_FALSE(std::ifstream(csv_path + ".x").good());
  EXPECT_FALSE(std::ifstream(csv_path + ".x.partial").good());

  // Mika's own export carries her answers.
  EXPECT_THAT(Ecoact("mika", "export"), HasSubstr("\"surveyResponses\""));
}

}  // namespace
}  // namespace ecoact::test
