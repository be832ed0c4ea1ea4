// ReportsService through the real gRPC client on a real Redis: citizens of
// two wards, a team in a partner organisation and a collection drive record
// actions; the reports projector counts them; every scope's report matches
// the sums of the ledger itself. Then exactly-once: the consumer group
// replayed from the start, a crashed consumer's pending entries taken over,
// a fenced-off projector; and the rebuild gives the same numbers. The CSV
// export is read as a stream.
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/reports/report_model.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

// What the ledger itself says, summed here independently of the projector.
struct Sums {
  int64_t co2 = 0, weight = 0, actions = 0;
  std::set<std::string> accounts;
};

class ReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    admin_ = stack_->AdminToken();
    staff_ = stack_->StaffToken("staff.aiko");
    stack_->CreateOrganisation("o-frontale");
    team_code_ = stack_->CreateTeam("t-blue", "o-frontale");
    aki_ = stack_->Register("Aki", "nakahara");
    ben_ = stack_->Register("Ben", "nakahara");
    chie_ = stack_->Register("Chie", "tama");
    ASSERT_TRUE(stack_->JoinWithCode(aki_.token, team_code_).ok());
    ASSERT_TRUE(stack_->JoinWithCode(chie_.token, team_code_).ok());
    month_ = stack_->calendar().KeysAt(stack_->now()).month;
  }

  std::string CreateOpenEvent() {
    v1::CreateEventRequest request;
    request.set_request_id("drive-request-0001");
    request.set_kind(v1::EVENT_KIND_DRIVE);
    request.set_name("Frontale clothing drive");
    request.set_ward("nakahara");
    *request.mutable_starts_at() = Ts(stack_->now() - absl::Hours(1));
    *request.mutable_ends_at() = Ts(stack_->now() + absl::Hours(3));
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

  // Aki brings 3.2 kg of clothing to the drive; staff weigh it.
  void WeighIn(const std::string& event_id, const Citizen& citizen, double kg) {
    v1::CheckInCode code;
    ASSERT_TRUE(
        stack_->events()->GetCheckInCode(Stack::Context(citizen.token).get(), {}, &code).ok());
    v1::CheckInRequest check_in;
    check_in.set_event_id(event_id);
    check_in.set_code(code.code());
    v1::CheckInResponse checked;
    ASSERT_TRUE(stack_->events()->CheckIn(Stack::Context(staff_).get(), check_in, &checked).ok());
    v1::WeighIn w;
    w.set_event_id(event_id);
    w.set_client_entry_id(absl::StrCat("bag-", citizen.account_id.substr(0, 6)));
    w.set_participant_id(checked.participant_id());
    w.set_action_type("clothing_reuse");
    w.set_weight_kg(kg);
    *w.mutable_occurred_at() = Ts(stack_->now() - absl::Minutes(5));
    v1::EntryOutcome outcome;
    grpc::Status status = stack_->events()->RecordWeighIn(Stack::Context(staff_).get(), w, &outcome);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void RecordSeason() {
    ASSERT_TRUE(stack_->Record(aki_.token, "clothing_reuse", 2).ok());
    ASSERT_TRUE(stack_->Record(aki_.token, "plastic_bag_refused", 3).ok());
    ASSERT_TRUE(stack_->Record(ben_.token, "pet_bottles", 0.5).ok());
    ASSERT_TRUE(stack_->Record(ben_.token, "plastic_bag_refused", 1).ok());
    ASSERT_TRUE(stack_->Record(chie_.token, "clothing_reuse", 1.5).ok());
    event_id_ = CreateOpenEvent();
    WeighIn(event_id_, aki_, 3.2);
  }

  // scope key ("city", "ward:nakahara", ...) -> category ("" = all) -> sums.
  std::map<std::string, std::map<std::string, Sums>> LedgerSums() {
    std::map<std::string, std::map<std::string, Sums>> out;
    for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
      absl::Status read = ForEachLedgerEntry(
          &stack_->redis(), stack_->keys().Ledger(shard), [&](const StoredEntry& s) {
            const v1::LedgerEntry& e = s.entry;
            std::vector<std::string> scopes = {"city"};
            if (!e.ward().empty()) scopes.push_back("ward:" + e.ward());
            if (!e.team().empty()) scopes.push_back("team:" + e.team());
            if (!e.organisation().empty()) scopes.push_back("org:" + e.organisation());
            if (!e.event_id().empty()) scopes.push_back("event:" + e.event_id());
            for (const std::string& scope : scopes) {
              for (const std::string& cat : {std::string(), e.category()}) {
                Sums& sums = out[scope][cat];
                sums.co2 += e.co2e_grams();
                if (e.unit() == v1::UNIT_KILOGRAM) sums.weight += e.quantity_milli();
                sums.actions += s.count_delta;
                if (s.count_delta == 1) sums.accounts.insert(s.account_id);
              }
            }
            return absl::OkStatus();
          });
      EXPECT_TRUE(read.ok()) << read;
    }
    return out;
  }

  v1::ImpactReport Report(v1::Scope scope, const std::string& id = "",
                          const std::string& token = "") {
    v1::GetImpactReportRequest request;
    request.set_scope(scope);
    request.set_scope_id(id);
    request.set_from_month(month_);
    request.set_to_month(month_);
    v1::ImpactReport report;
    grpc::Status status =
        stack_->reports()->GetImpactReport(Stack::Context(token).get(), request, &report);
    EXPECT_TRUE(status.ok()) << status.error_message();
    report.clear_generated_at();
    return report;
  }

  void ExpectMatches(const v1::ImpactFigures& figures, const Sums& sums) {
    EXPECT_EQ(figures.co2e_grams(), sums.co2);
    EXPECT_EQ(figures.weight_grams(), sums.weight);
    EXPECT_EQ(figures.actions(), sums.actions);
    EXPECT_EQ(figures.active_participants(), static_cast<int64_t>(sums.accounts.size()));
  }

  std::string Export(const v1::ExportImpactCsvRequest& request, grpc::Status* status,
                     int* chunks = nullptr) {
    auto context = Stack::Context(admin_);
    auto reader = stack_->reports()->ExportImpactCsv(context.get(), request);
    std::string csv;
    v1::CsvChunk chunk;
    int n = 0;
    while (reader->Read(&chunk)) {
      csv += chunk.text();
      ++n;
    }
    *status = reader->Finish();
    if (chunks != nullptr) *chunks = n;
    return csv;
  }

  std::unique_ptr<Stack> stack_;
  std::string admin_, staff_, month_, event_id_, team_code_;
  Citizen aki_, ben_, chie_;
};

TEST_F(ReportsTest, EveryScopeMatchesTheLedgerSums) {
  RecordSeason();
  EXPECT_EQ(stack_->DrainReports(), 6);
  auto sums = LedgerSums();
  // Known figures first: the weights are exact grams of the kg actions
  // (2 + 1.5 + 3.2 kg of clothing, 0.5 kg of bottles).
  EXPECT_EQ(sums["city"]["clothing"].weight, 6700);
  EXPECT_EQ(sums["city"][""].actions, 6);
  EXPECT_EQ(sums["city"][""].accounts.size(), 3u);
  ASSERT_EQ(sums.count("org:o-frontale"), 1u) << "team members count in their organisation";

  const std::vector<std::pair<v1::Scope, std::string>> scopes = {
      {v1::SCOPE_CITY, ""},          {v1::SCOPE_WARD, "nakahara"},
      {v1::SCOPE_WARD, "tama"},      {v1::SCOPE_TEAM, "t-blue"},
      {v1::SCOPE_ORGANISATION, "o-frontale"}, {v1::SCOPE_EVENT, event_id_}};
  for (const auto& [scope, id] : scopes) {
    const std::string key = reports::ScopeKey(scope, id);
    SCOPED_TRACE(key);
    // As an admin: these groups are small (see SmallGroupsShowTotalsOnly).
    v1::ImpactReport report = Report(scope, id, admin_);
    EXPECT_FALSE(report.totals_only());
    ExpectMatches(report.total(), sums[key][""]);
    ASSERT_EQ(report.months_size(), 1);
    EXPECT_EQ(report.months(0).month(), month_);
    ExpectMatches(report.months(0).figures(), sums[key][""]);
    int64_t category_co2 = 0;
    for (const v1::CategoryImpact& c : report.categories()) {
      ExpectMatches(c.figures(), sums[key][c.category()]);
      category_co2 += c.figures().co2e_grams();
    }
    EXPECT_EQ(category_co2, report.total().co2e_grams());
    EXPECT_EQ(static_cast<size_t>(report.categories_size()), sums[key].size() - 1);
    // Every figure traced to its factor version and source.
    int64_t factor_co2 = 0;
    for (const v1::FactorUse& f : report.factors()) {
      factor_co2 += f.co2e_grams();
      EXPECT_GT(f.factor().sources_size(), 0) << f.factor_version();
      EXPECT_FALSE(f.name_ja().empty());
    }
    EXPECT_EQ(factor_co2, report.total().co2e_grams());
    ASSERT_EQ(report.equivalents_size(), 2);
    EXPECT_EQ(report.equivalents(0).quantity_milli(),
              reports::EquivalentQuantityMilli(report.total().co2e_grams(), 8800));
    EXPECT_EQ(report.equivalents(1).quantity_milli(), report.total().co2e_grams() * 1000 / 125);
  }
  EXPECT_EQ(Report(v1::SCOPE_WARD, "nakahara").scope_name(), "中原区");
  EXPECT_EQ(Report(v1::SCOPE_EVENT, event_id_).scope_name(), "Frontale clothing drive");
  EXPECT_EQ(Report(v1::SCOPE_EVENT, event_id_).total().active_participants(), 1);

  // The city report ranks the wards, teams and organisations.
  v1::ImpactReport city = Report(v1::SCOPE_CITY);
  ASSERT_EQ(city.wards_size(), 2);
  for (const v1::GroupImpact& ward : city.wards()) {
    ExpectMatches(ward.figures(), sums["ward:" + ward.group_id()][""]);
  }
  EXPECT_GE(city.wards(0).figures().co2e_grams(), city.wards(1).figures().co2e_grams());
  ASSERT_EQ(city.top_teams_size(), 1);
  EXPECT_EQ(city.top_teams(0).group_id(), "t-blue");
  EXPECT_EQ(city.top_teams(0).name(), "t-blue");
  ExpectMatches(city.top_teams(0).figures(), sums["team:t-blue"][""]);
  ASSERT_EQ(city.top_organisations_size(), 1);
  ExpectMatches(city.top_organisations(0).figures(), sums["org:o-frontale"][""]);
  // No personal identifier anywhere in the public report.
  const std::string text = city.DebugString();
  for (const Citizen* c : {&aki_, &ben_, &chie_}) {
    EXPECT_THAT(text, ::testing::Not(HasSubstr(c->account_id)));
  }
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Aki")));
}

// The boards' small-group rule: a public report of a group with fewer active
// participants in the range than --board_min_members (5 by default) has its
// totals only; from the fifth participant on, the whole breakdown.
TEST_F(ReportsTest, SmallGroupsShowTotalsOnly) {
  RecordSeason();
  stack_->DrainReports();
  auto sums = LedgerSums();
  const std::vector<std::pair<v1::Scope, std::string>> small = {
      {v1::SCOPE_WARD, "nakahara"}, {v1::SCOPE_TEAM, "t-blue"},
      {v1::SCOPE_ORGANISATION, "o-frontale"}, {v1::SCOPE_EVENT, event_id_}};
  for (const auto& [scope, id] : small) {
    const std::string key = reports::ScopeKey(scope, id);
    SCOPED_TRACE(key);
    for (const std::string& token : {std::string(), aki_.token, staff_}) {
      const v1::ImpactReport report = Report(scope, id, token);
      EXPECT_TRUE(report.totals_only());
      ExpectMatches(report.total(), sums[key][""]);
      EXPECT_EQ(report.equivalents_size(), 2);
      EXPECT_EQ(report.categories_size(), 0);
      EXPECT_EQ(report.months_size(), 0);
      EXPECT_EQ(report.factors_size(), 0);
    }
    const v1::ImpactReport whole = Report(scope, id, admin_);
    EXPECT_FALSE(whole.totals_only());
    EXPECT_GT(whole.categories_size(), 0);
  }
  EXPECT_FALSE(Report(v1::SCOPE_CITY).totals_only()) << "the city is never a small group";
  EXPECT_GT(Report(v1::SCOPE_CITY).categories_size(), 0);

  // Team t-blue: Aki and Chie, and now three more who act: five. Nakahara:
  // Aki and Ben, and the same three.
  for (const char* name : {"Dai", "Emi", "Fumi"}) {
    Citizen c = stack_->Register(name, "nakahara");
    ASSERT_TRUE(stack_->JoinWithCode(c.token, team_code_).ok());
    ASSERT_TRUE(stack_->Record(c.token, "plastic_bag_refused", 1).ok());
  }
  stack_->DrainReports();
  sums = LedgerSums();
  for (const auto& [scope, id] :
       std::vector<std::pair<v1::Scope, std::string>>{{v1::SCOPE_TEAM, "t-blue"},
                                                      {v1::SCOPE_WARD, "nakahara"}}) {
    const std::string key = reports::ScopeKey(scope, id);
    SCOPED_TRACE(key);
    const v1::ImpactReport report = Report(scope, id);
    EXPECT_FALSE(report.totals_only());
    EXPECT_EQ(report.total().active_participants(), 5);
    ExpectMatches(report.total(), sums[key][""]);
    EXPECT_EQ(static_cast<size_t>(report.categories_size()), sums[key].size() - 1);
    EXPECT_EQ(report.months_size(), 1);
  }
}

TEST_F(ReportsTest, ReplayedAndTakenOverEntriesCountOnce) {
  RecordSeason();
  // A consumer that read half of the entries and crashed before counting.
  std::vector<std::string> read = {"XREADGROUP", "GROUP", "reports", "crashed", "COUNT", "1",
                                   "STREAMS"};
  ASSERT_TRUE(stack_->report_projector().EnsureGroups().ok());
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
    read.push_back(stack_->keys().Ledger(shard));
  }
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) read.push_back(">");
  auto crashed = stack_->redis().Command(read);
  ASSERT_TRUE(crashed.ok()) << crashed.status();
  ASSERT_FALSE(crashed->elements.empty());
  // The projector takes the lease and the crashed consumer's entries.
  EXPECT_EQ(stack_->DrainReports(), 6);
  const v1::ImpactReport once = Report(v1::SCOPE_CITY);
  ExpectMatches(once.total(), LedgerSums()["city"][""]);
  // Nothing pending anywhere.
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
    auto pending = stack_->redis().Command({"XPENDING", stack_->keys().Ledger(shard), "reports"});
    ASSERT_TRUE(pending.ok());
    EXPECT_EQ(pending->elements[0].integer, 0) << "shard " << shard;
  }
  // The group recreated from the start delivers every entry again: each is
  // acknowledged, none counted twice.
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
    ASSERT_TRUE(stack_->redis()
                    .Command({"XGROUP", "SETID", stack_->keys().Ledger(shard), "reports", "0"})
                    .ok());
  }
  EXPECT_EQ(stack_->DrainReports(), 6);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Report(v1::SCOPE_CITY), once));
  // A projector that lost its lease (here: another took it) is fenced off
  // by the shards' owner key: its batch is refused and stays pending. The
  // new holder counts later entries first; the refused one is a hole, which
  // the holder claims once it has been idle for a lease's time and counts
  // then, once.
  reports::ReportProjectorOptions options;
  options.consumer = "usurper";
  options.block = absl::Milliseconds(20);
  options.lease_ttl = absl::Seconds(2);
  reports::ReportProjector usurper(&stack_->redis(), &stack_->keys(), &stack_->calendar(), options);
  ASSERT_TRUE(stack_->redis().Command({"DEL", reports::ReportsLeaseKey(stack_->keys())}).ok());
  ASSERT_TRUE(usurper.RunOnce().ok());  // takes the lease and the shards
  ASSERT_TRUE(stack_->Record(ben_.token, "plastic_bag_refused", 2).ok());
  // The stack's projector still believes it holds the lease (renewed less
  // than a third of its time to live ago): it reads the entry, is refused.
  auto fenced = stack_->report_projector().RunOnce();
  ASSERT_TRUE(fenced.ok()) << fenced.status();
  EXPECT_EQ(*fenced, 0);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Report(v1::SCOPE_CITY), once));
  // The same citizen, so the same shard: the later entry moves the shard's
  // last-counted id past the refused one.
  ASSERT_TRUE(stack_->Record(ben_.token, "plastic_bag_refused", 1).ok());
  auto later = usurper.RunOnce();
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(*later, 1);
  auto sums = LedgerSums();
  EXPECT_EQ(Report(v1::SCOPE_CITY).total().actions(), sums["city"][""].actions - 1)
      << "the refused entry is not counted yet";
  absl::SleepFor(options.lease_ttl + absl::Milliseconds(100));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(usurper.RunOnce().ok());
  ExpectMatches(Report(v1::SCOPE_CITY).total(), sums["city"][""]);
  ExpectMatches(Report(v1::SCOPE_WARD, "nakahara").total(), sums["ward:nakahara"][""]);
}

// The projector read a batch and its call to count it failed (a timeout):
// the batch stays pending under the projector's own name. It reads on, and
// a later entry of the same shard is counted first; the failed one, read
// again (here by the projector restarted under the same name), must still
// be counted, once.
TEST_F(ReportsTest, EntriesOfAFailedCallAreCountedWhenReadAgain) {
  RecordSeason();
  stack_->DrainReports();
  ASSERT_TRUE(stack_->Record(ben_.token, "plastic_bag_refused", 2).ok());
  std::vector<std::string> read = {"XREADGROUP", "GROUP", "reports", "test-reports",
                                   "COUNT", "1", "STREAMS"};
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
    read.push_back(stack_->keys().Ledger(shard));
  }
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) read.push_back(">");
  auto failed = stack_->redis().Command(read);  // read, never counted
  ASSERT_TRUE(failed.ok()) << failed.status();
  ASSERT_FALSE(failed->elements.empty());
  // Same citizen, same shard: this one moves the shard's last-counted id
  // past the failed one.
  ASSERT_TRUE(stack_->Record(ben_.token, "plastic_bag_refused", 1).ok());
  EXPECT_EQ(stack_->DrainReports(), 1);
  reports::ReportProjectorOptions options;
  options.consumer = "test-reports";
  options.block = absl::Milliseconds(20);
  reports::ReportProjector restarted(&stack_->redis(), &stack_->keys(), &stack_->calendar(),
                                     options);
  ASSERT_TRUE(stack_->redis().Command({"DEL", reports::ReportsLeaseKey(stack_->keys())}).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(restarted.RunOnce().ok());
  auto sums = LedgerSums();
  ExpectMatches(Report(v1::SCOPE_CITY).total(), sums["city"][""]);
  ExpectMatches(Report(v1::SCOPE_WARD, "nakahara").total(), sums["ward:nakahara"][""]);
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
    auto pending = stack_->redis().Command({"XPENDING", stack_->keys().Ledger(shard), "reports"});
    ASSERT_TRUE(pending.ok());
    EXPECT_EQ(pending->elements[0].integer, 0) << "shard " << shard;
  }
}

TEST_F(ReportsTest, RebuildGivesTheSameReports) {
  RecordSeason();
  stack_->DrainReports();
  const std::vector<std::pair<v1::Scope, std::string>> scopes = {
      {v1::SCOPE_CITY, ""}, {v1::SCOPE_WARD, "nakahara"}, {v1::SCOPE_TEAM, "t-blue"},
      {v1::SCOPE_ORGANISATION, "o-frontale"}, {v1::SCOPE_EVENT, event_id_}};
  std::vector<v1::ImpactReport> before;
  for (const auto& [scope, id] : scopes) before.push_back(Report(scope, id));
  // Wipe every report key, then rebuild from the ledger alone.
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
    auto keys = stack_->redis().Command(
        {"KEYS", absl::StrCat(stack_->keys().ShardPrefix(shard), "rpt*")});
    ASSERT_TRUE(keys.ok());
    for (const RedisValue& key : keys->elements) {
      ASSERT_TRUE(stack_->redis().Command({"DEL", key.str}).ok());
    }
  }
  EXPECT_EQ(Report(v1::SCOPE_CITY).total().co2e_grams(), 0);
  auto rebuilt = reports::RebuildReports(&stack_->redis(), stack_->keys(), stack_->calendar());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(rebuilt->entries, 6);
  for (size_t i = 0; i < scopes.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
        Report(scopes[i].first, scopes[i].second), before[i]))
        << reports::ScopeKey(scopes[i].first, scopes[i].second);
  }
  // The projector goes on after the rebuild without counting anything twice:
  // it finds itself fenced off (the rebuild owned the shards), takes the
  // lease and the shards again, and of the entries delivered again (all,
  // after a replay) counts only the one recorded after the rebuild.
  for (int shard = 0; shard < stack_->keys().shards(); ++shard) {
    ASSERT_TRUE(stack_->redis()
                    .Command({"XGROUP", "SETID", stack_->keys().Ledger(shard), "reports", "0"})
                    .ok());
  }
  ASSERT_TRUE(stack_->Record(chie_.token, "plastic_bag_refused", 1).ok());
  stack_->DrainReports();
  ExpectMatches(Report(v1::SCOPE_CITY).total(), LedgerSums()["city"][""]);
}

// A rebuild that takes longer than its lease's time to live keeps the lease
// (renewed after every chunk): a projector trying meanwhile is kept out, and
// the rebuild completes. One that stalls past it and loses the lease stops
// at the next chunk with ABORTED instead of writing on, and a rebuild run
// again gives the right figures.
TEST_F(ReportsTest, RebuildKeepsItsLeaseAndStopsOnceItLostIt) {
  RecordSeason();
  stack_->DrainReports();
  const v1::ImpactReport before = Report(v1::SCOPE_CITY);
  reports::RebuildOptions options;
  options.lease_ttl = absl::Milliseconds(300);
  options.chunk = 1;
  int chunks = 0;
  options.after_chunk = [&] {
    ++chunks;
    absl::SleepFor(absl::Milliseconds(150));  // 6 chunks: 900 ms, 3 times the lease
    auto tried = stack_->report_projector().RunOnce();
    EXPECT_TRUE(tried.ok()) << tried.status();
  };
  auto rebuilt =
      reports::RebuildReports(&stack_->redis(), stack_->keys(), stack_->calendar(), options);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(rebuilt->entries, 6);
  EXPECT_EQ(chunks, 6);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Report(v1::SCOPE_CITY), before));

  // Stalled past the lease after the second chunk: a projector takes the
  // lease and the shards.
  reports::ReportProjectorOptions other_options;
  other_options.consumer = "other-reports";
  other_options.block = absl::Milliseconds(20);
  reports::ReportProjector other(&stack_->redis(), &stack_->keys(), &stack_->calendar(),
                                 other_options);
  chunks = 0;
  options.after_chunk = [&] {
    if (++chunks != 2) return;
    ASSERT_TRUE(stack_->redis().Command({"DEL", reports::ReportsLeaseKey(stack_->keys())}).ok());
    auto took = other.RunOnce();
    EXPECT_TRUE(took.ok()) << took.status();
  };
  auto stalled =
      reports::RebuildReports(&stack_->redis(), stack_->keys(), stack_->calendar(), options);
  EXPECT_THAT(stalled.status(),
              test::StatusIs(absl::StatusCode::kAborted, HasSubstr("run the rebuild again")));
  EXPECT_EQ(chunks, 2) << "stops at once";
  other.Stop();
  ASSERT_TRUE(stack_->redis().Command({"DEL", reports::ReportsLeaseKey(stack_->keys())}).ok());
  auto again = reports::RebuildReports(&stack_->redis(), stack_->keys(), stack_->calendar());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Report(v1::SCOPE_CITY), before));
}

TEST_F(ReportsTest, CsvExportStreamsOneRowPerScopeMonthAndCategory) {
  RecordSeason();
  stack_->DrainReports();
  auto sums = LedgerSums();
  v1::ExportImpactCsvRequest request;
  request.set_from_month(reports::MonthKey(
      absl::CivilMonth(stack_->calendar().LocalDay(stack_->now())) - 2));
  request.set_to_month(month_);
  grpc::Status status;
  int chunks = 0;
  const std::string csv = Export(request, &status, &chunks);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(chunks, 2);  // the header, then this month's rows (earlier months are empty)
  std::vector<std::string> lines = absl::StrSplit(csv, "\r\n", absl::SkipEmpty());
  ASSERT_GT(lines.size(), 1u);
  EXPECT_EQ(lines[0] + "\r\n", std::string(reports::kCsvHeader));
  size_t expected_rows = 0;
  for (const auto& [scope, categories] : sums) expected_rows += categories.size() - 1;
  EXPECT_EQ(lines.size() - 1, expected_rows);
  EXPECT_EQ(lines[1].substr(0, 5), "city,");
  // Each row's figures are the ledger's.
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(cells.size(), 10u) << lines[i];
    const std::string scope = cells[0] == "city" ? "city"
                              : cells[0] == "organisation" ? "org:" + cells[1]
                                                           : cells[0] + ":" + cells[1];
    const Sums& s = sums[scope][cells[4]];
    EXPECT_EQ(cells[3], month_);
    EXPECT_EQ(cells[5], absl::StrCat(s.co2)) << lines[i];
    EXPECT_EQ(cells[6], absl::StrCat(s.weight)) << lines[i];
    EXPECT_EQ(cells[7], absl::StrCat(s.actions)) << lines[i];
    EXPECT_EQ(cells[8], absl::StrCat(s.accounts.size())) << lines[i];
    EXPECT_THAT(cells[9], HasSubstr("@v")) << lines[i];
  }
  EXPECT_THAT(csv, HasSubstr("ward,nakahara,中原区,"));
  // One scope only.
  request.set_scope(v1::SCOPE_TEAM);
  request.set_scope_id("t-blue");
  const std::string team = Export(request, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> team_lines = absl::StrSplit(team, "\r\n", absl::SkipEmpty());
  EXPECT_EQ(team_lines.size() - 1, sums["team:t-blue"].size() - 1);
  // Citizens may not export: the policy gate answers before the handler.
  auto context = Stack::Context(aki_.token);
  auto reader = stack_->reports()->ExportImpactCsv(context.get(), request);
  v1::CsvChunk chunk;
  EXPECT_FALSE(reader->Read(&chunk));
  EXPECT_THAT(reader->Finish(), StatusIs(grpc::StatusCode::PERMISSION_DENIED));
}

TEST_F(ReportsTest, BadRequestsNameTheRule) {
  struct Bad {
    v1::Scope scope;
    std::string id, from, to;
    grpc::StatusCode code;
    std::string fragment;
  };
  const std::vector<Bad> cases = {
      {v1::SCOPE_UNSPECIFIED, "", "", "", grpc::StatusCode::INVALID_ARGUMENT, "scope must be"},
      {v1::SCOPE_WARD, "", "", "", grpc::StatusCode::INVALID_ARGUMENT, "scope_id is required"},
      {v1::SCOPE_CITY, "x", "", "", grpc::StatusCode::INVALID_ARGUMENT,
       "scope_id must be empty for SCOPE_CITY"},
      {v1::SCOPE_WARD, "atlantis", "", "", grpc::StatusCode::NOT_FOUND, "unknown ward 'atlantis'"},
      {v1::SCOPE_TEAM, "t-nobody", "", "", grpc::StatusCode::NOT_FOUND, "unknown team"},
      {v1::SCOPE_ORGANISATION, "o-none", "", "", grpc::StatusCode::NOT_FOUND,
       "unknown organisation"},
      {v1::SCOPE_EVENT, "ev-none", "", "", grpc::StatusCode::NOT_FOUND, "unknown event"},
      {v1::SCOPE_CAMPAIGN, "none", "", "", grpc::StatusCode::NOT_FOUND, "unknown campaign"},
      {v1::SCOPE_CITY, "", "2026-12", "2026-01", grpc::StatusCode::INVALID_ARGUMENT,
       "is after to_month"},
      {v1::SCOPE_CITY, "", "2010-01", "2026-01", grpc::StatusCode::INVALID_ARGUMENT,
       "at most 120"},
      {v1::SCOPE_CITY, "", "2026-1", "", grpc::StatusCode::INVALID_ARGUMENT,
       "from_month must be a month \"YYYY-MM\""},
  };
  for (const Bad& bad : cases) {
    v1::GetImpactReportRequest request;
    request.set_scope(bad.scope);
    request.set_scope_id(bad.id);
    request.set_from_month(bad.from);
    request.set_to_month(bad.to);
    v1::ImpactReport report;
    EXPECT_THAT(stack_->reports()->GetImpactReport(Stack::Context().get(), request, &report),
                StatusIs(bad.code, HasSubstr(bad.fragment)))
        << bad.id << " " << bad.from;
  }
  v1::ExportImpactCsvRequest request;
  request.set_to_month("2026-11");
  grpc::Status status;
  Export(request, &status);
  EXPECT_THAT(status, StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("from_month is required")));
}

}  // namespace
}  // namespace ecoact::test
