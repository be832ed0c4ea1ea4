// Bad input through the whole stack (real gRPC, real Redis): one table, one
// row per limit, each row an RPC called by the role it is for with a request
// that breaks exactly one rule, and the status code and message fragment a
// client developer gets. After the table, Redis must hold exactly what it
// held before: no rejected call changed anything. docs/security.md ("Bad
// input") lists the same limits.
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using google::protobuf::Message;
using ::testing::HasSubstr;

enum class Caller { kNobody, kCitizen, kStaff, kAdmin };

struct Case {
  // "ecoact.v1.ActionsService/RecordAction".
  std::string method;
  Caller caller;
  // The request in protobuf text format; "$EVENT" stands for the open
  // event's id, "$NOW" and "$TOMORROW" for the server's now and a day later
  // in seconds since 1970.
  std::string request;
  grpc::StatusCode code;
  std::string fragment;
  // For what text format cannot say briefly: long lists, NaN.
  std::function<void(Message*)> edit = nullptr;
  // Wire bytes appended to the serialised request: a field the text format
  // cannot carry (bytes that are not UTF-8), or bytes that are not protobuf.
  std::string raw_suffix = "";
};

// Wire bytes of a length-delimited field.
std::string Field(int number, const std::string& bytes) {
  return absl::StrCat(std::string(1, static_cast<char>(number << 3 | 2)),
                      std::string(1, static_cast<char>(bytes.size())), bytes);
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// A repeated string field filled with `n` copies of `value`.
std::function<void(Message*)> FillStrings(const std::string& field, const std::string& value,
                                          int n) {
  return [=](Message* m) {
    const auto* f = m->GetDescriptor()->FindFieldByName(field);
    for (int i = 0; i < n; ++i) {
      m->GetReflection()->AddString(m, f, n > 1 ? absl::StrCat(value, i) : value);
    }
  };
}

// A repeated message field with `n` copies of `text`.
std::function<void(Message*)> FillMessages(const std::string& field, const std::string& text,
                                           int n) {
  return [=](Message* m) {
    const auto* f = m->GetDescriptor()->FindFieldByName(field);
    for (int i = 0; i < n; ++i) {
      Message* added = m->GetReflection()->AddMessage(m, f);
      ASSERT_TRUE(google::protobuf::TextFormat::MergeFromString(
          absl::StrReplaceAll(text, {{"$I", absl::StrCat(i)}}), added));
    }
  };
}

std::function<void(Message*)> SetDouble(const std::string& field, double value) {
  return [=](Message* m) {
    m->GetReflection()->SetDouble(m, m->GetDescriptor()->FindFieldByName(field), value);
  };
}

// Every key under the prefix with its DUMP bytes: equal maps mean that not
// one value changed.
std::map<std::string, std::string> Snapshot(Stack& stack) {
  std::map<std::string, std::string> dump;
  std::string cursor = "0";
  do {
    auto page = stack.redis().Command(
        {"SCAN", cursor, "MATCH", stack.keys().prefix() + "*", "COUNT", "1000"});
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok() || page->elements.size() != 2) return dump;
    cursor = page->elements[0].str;
    for (const RedisValue& key : page->elements[1].elements) {
      auto value = stack.redis().Command({"DUMP", key.str});
      EXPECT_TRUE(value.ok()) << value.status();
      dump[key.str] = value.ok() ? value->str : "";
    }
  } while (cursor != "0");
  return dump;
}

// What the brief of the table promises, counted by kind of key.
struct Counts {
  int64_t keys = 0;
  int64_t ledger_entries = 0;  // over every stream
  int64_t accounts = 0;        // hashes with a "role" field
  int64_t board_members = 0;   // over every sorted set
};

Counts Count(Stack& stack, const std::map<std::string, std::string>& snapshot) {
  Counts counts;
  for (const auto& [key, dump] : snapshot) {
    ++counts.keys;
    auto type = stack.redis().Command({"TYPE", key});
    if (!type.ok()) continue;
    if (type->str == "stream") {
      counts.ledger_entries += stack.redis().Command({"XLEN", key})->integer;
    } else if (type->str == "zset") {
      counts.board_members += stack.redis().Command({"ZCARD", key})->integer;
    } else if (type->str == "hash") {
      if (stack.redis().Command({"HEXISTS", key, "role"})->integer == 1) ++counts.accounts;
    }
  }
  return counts;
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    tokens_[Caller::kNobody] = "";
    tokens_[Caller::kAdmin] = stack_->AdminToken();
    tokens_[Caller::kStaff] = stack_->StaffToken("staff.aiko");
    tokens_[Caller::kCitizen] = stack_->Register("Mika", "nakahara").token;
    // Something in the ledger and on the boards, to see it stay as it is.
    v1::RecordActionResponse recorded;
    grpc::Status status = stack_->Record(tokens_[Caller::kCitizen], "clothing_reuse", 2.5,
                                         &recorded);
    ASSERT_TRUE(status.ok()) << status.error_message();
    first_request_id_ = recorded.entry().request_id();
    stack_->DrainProjector();
    event_id_ = OpenEvent();
  }

  std::string OpenEvent() {
    v1::CreateEventRequest request;
    request.set_request_id("bad-input-drive-1");
    request.set_kind(v1::EVENT_KIND_DRIVE);
    request.set_name("Frontale clothing drive");
    request.set_ward("nakahara");
    *request.mutable_starts_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
        absl::ToUnixSeconds(stack_->now() - absl::Hours(1)));
    *request.mutable_ends_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
        absl::ToUnixSeconds(stack_->now() + absl::Hours(3)));
    request.add_accepted_action_types("clothing_reuse");
    v1::Event event;
    auto events = stack_->events();
    grpc::Status status =
        events->CreateEvent(Stack::Context(tokens_[Caller::kAdmin]).get(), request, &event);
    EXPECT_TRUE(status.ok()) << status.error_message();
    v1::AssignStaffRequest assign;
    assign.set_event_id(event.event_id());
    assign.add_staff_logins("staff.aiko");
    status = events->AssignStaff(Stack::Context(tokens_[Caller::kAdmin]).get(), assign, &event);
    EXPECT_TRUE(status.ok()) << status.error_message();
    v1::EventTransitionRequest open;
    open.set_event_id(event.event_id());
    status = events->OpenEvent(Stack::Context(tokens_[Caller::kStaff]).get(), open, &event);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return event.event_id();
  }

  // Sends `bytes` as the request of `method` and returns the status.
  grpc::Status CallRaw(const std::string& method, const std::string& token,
                       const std::string& bytes) {
    grpc::GenericStub stub(stack_->channel());
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    auto context = Stack::Context(token);
    absl::Notification done;
    grpc::Status result;
    stub.UnaryCall(context.get(), absl::StrCat("/ecoact.v1.", method), grpc::StubOptions(),
                   &request, &response, [&](grpc::Status status) {
                     result = std::move(status);
                     done.Notify();
                   });
    done.WaitForNotification();
    return result;
  }

  // The request of `c` as wire bytes; fails the test if it does not build.
  std::string Build(const Case& c) {
    std::string full_name = absl::StrReplaceAll(absl::StrCat("ecoact.v1.", c.method), {{"/", "."}});
    const google::protobuf::MethodDescriptor* method =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full_name);
    EXPECT_NE(method, nullptr) << full_name;
    if (method == nullptr) return "";
    std::unique_ptr<Message> request(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->input_type())
            ->New());
    std::string text = absl::StrReplaceAll(
        c.request, {{"$EVENT", event_id_},
                  {"$NOW", absl::StrCat(absl::ToUnixSeconds(stack_->now()))},
                  {"$TOMORROW", absl::StrCat(absl::ToUnixSeconds(stack_->now() + absl::Hours(24)))}});
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, request.get())) << text;
    if (c.edit) c.edit(request.get());
    return request->SerializeAsString() + c.raw_suffix;
  }

  std::unique_ptr<Stack> stack_;
  std::map<Caller, std::string> tokens_;
  std::string first_request_id_;
  std::string event_id_;
};

constexpr auto kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
constexpr auto kNotFound = grpc::StatusCode::NOT_FOUND;

std::vector<Case> Table() {
  const std::string long_id(5000, 'a');
  const std::string rid = "request_id: \"bad-input-0001\" ";
  // Register's request id seeds the credentials: 16 characters at least.
  const std::string reg = "request_id: \"bad-input-register-0001\" ";
  return {
      // --- Wire format: checked before any handler, for every RPC.
      {"IdentityService/Register", Caller::kNobody, reg + "ward: \"nakahara\"", kInvalid,
       "nickname is not valid UTF-8", nullptr, Field(2, "Mi\xff" "ka")},
      {"EventsService/UploadBatch", Caller::kStaff,
       "event_id: \"$EVENT\" entries { client_entry_id: \"entry-0001\" action_type: "
       "\"clothing_reuse\" weight_kg: 1 }",
       kInvalid, "entries[1].action_type is not valid UTF-8", nullptr,
       Field(2, Field(4, "\xc3\x28"))},
      {"ActionsService/RecordAction", Caller::kCitizen, "", kInvalid,
       "not a valid ecoact.v1.RecordActionRequest message", nullptr, "\xff\xff\xff\xff"},

      // --- Text shown to other people: UTF-8, 1..N code points, no control
      // or bidi-override characters.
      {"IdentityService/Register", Caller::kNobody, reg + "nickname: \"\" ward: \"nakahara\"",
       kInvalid, "nickname must be 1 to 24 characters, got 0"},
      {"IdentityService/Register", Caller::kNobody,
       reg + "nickname: \"" + Repeat("\xe3\x81\x82", 25) + "\" ward: \"nakahara\"", kInvalid,
       "nickname must be 1 to 24 characters, got 25"},
      {"IdentityService/Register", Caller::kNobody,
       reg + "nickname: \"Mi\\x07ka\" ward: \"nakahara\"", kInvalid,
       "nickname must not contain control"},
      {"IdentityService/UpdateMyProfile", Caller::kCitizen,
       "request_id: \"bad-input-0002\" nickname: \"evil\xe2\x80\xaetxt\"", kInvalid,
       "nickname must not contain control or bidi-override characters"},
      {"IdentityService/CreateOrganisation", Caller::kAdmin,
       "request_id: \"bad-input-0003\" organisation_id: \"fujitsu\" name: \"" +
           std::string(61, 'x') + "\"",
       kInvalid, "name must be 1 to 60 characters, got 61"},
      {"EventsService/CorrectEntry", Caller::kStaff,
       "request_id: \"bad-input-0004\" event_id: \"$EVENT\" client_entry_id: \"entry-0001\" "
       "kind: CORRECTION_KIND_VOID reason: \"" + std::string(201, 'r') + "\"",
       kInvalid, "reason must be 1 to 200 characters, got 201"},
      {"RewardsService/CreateCampaign", Caller::kAdmin,
       "request_id: \"bad-input-0005\" id: \"denim\" title: \" Denim\\n\" badge_title: \"a\\tb\" "
       "starts_at { seconds: $NOW } ends_at { seconds: $TOMORROW }",
       kInvalid, "badge_title must not contain control"},

      // --- Ids and other strings: shape and length, checked before any
      // lookup; a rejected value is echoed cut to 40 bytes.
      {"ActionsService/RecordAction", Caller::kCitizen,
       "request_id: \"short\" action_type: \"clothing_reuse\" quantity: 1", kInvalid,
       "request_id must be 8 to 64 characters"},
      {"ActionsService/RecordAction", Caller::kCitizen,
       rid + "action_type: \"" + long_id + "\" quantity: 1", kInvalid,
       "(cut; 5000 bytes in all)"},
      {"CatalogService/GetFactor", Caller::kCitizen, "action_type: \"Clothing-Reuse\"", kInvalid,
       "action_type must be an action type id (2 to 40 characters"},
      {"CatalogService/PreviewImpact", Caller::kStaff,
       "action_type: \"clothing reuse\\n\" quantity: 1", kInvalid,
       "got 'clothing reuse\\x0a'"},
      {"IdentityService/Register", Caller::kNobody,
       reg + "nickname: \"Mika\" ward: \"" + long_id + "\"", kInvalid,
       "ward must be 2 to 32 characters"},
      {"IdentityService/UpdateMyProfile", Caller::kCitizen,
       "request_id: \"bad-input-0006\" ward: \"NAKAHARA\"", kInvalid,
       "ward must be 2 to 32 characters"},
      {"IdentityService/ListTeams", Caller::kCitizen, "organisation_id: \"Fujitsu Ltd\"",
       kInvalid, "organisation_id must be 2 to 32 characters"},
      {"IdentityService/JoinWithCode", Caller::kCitizen,
       "request_id: \"bad-input-0007\" join_code: \"" + std::string(100, '-') + "\"", kInvalid,
       "join_code must be at most 32 characters as typed, got 100"},
      {"IdentityService/JoinWithCode", Caller::kCitizen,
       "request_id: \"bad-input-0008\" join_code: \"7K3M-9Q4\"", kInvalid,
       "join_code must have 8 characters"},
      {"IdentityService/SignIn", Caller::kNobody,
       "account_id: \"" + std::string(65, 'u') + "\" secret: \"x\"",
       grpc::StatusCode::UNAUTHENTICATED, "unknown account or wrong secret"},
      {"IdentityService/CreateStaff", Caller::kAdmin,
       "request_id: \"bad-input-0009\" login: \"staff.ken\" password: \"" +
           std::string(129, 'p') + "\"",
       kInvalid, "password must be 12 to 128 characters"},
      {"IdentityService/SetTestAccount", Caller::kAdmin,
       "account_id: \"" + std::string(65, 'u') + "\" test: true", kInvalid,
       "account_id must be a citizen's account id"},
      {"EventsService/ListEvents", Caller::kCitizen, "ward: \"Nakahara-ku\"", kInvalid,
       "ward must be 2 to 32 characters"},
      {"EventsService/CreateEvent", Caller::kAdmin,
       "request_id: \"bad-input-0010\" kind: EVENT_KIND_DRIVE name: \"Drive\" ward: \"\" "
       "starts_at { seconds: $NOW } ends_at { seconds: $NOW } "
       "accepted_action_types: \"clothing_reuse\"",
       kInvalid, "ward must be 2 to 32 characters"},
      {"EventsService/GetEvent", Caller::kCitizen, "event_id: \"" + std::string(65, 'e') + "\"",
       kNotFound, "event ids are at most 64 characters"},
      {"EventsService/RecordWeighIn", Caller::kStaff,
       "event_id: \"$EVENT\" client_entry_id: \"entry-0002\" action_type: \"CLOTHING\" "
       "weight_kg: 1",
       kInvalid, "action_type must be an action type id"},
      {"EventsService/RecordWeighIn", Caller::kStaff,
       "event_id: \"$EVENT\" client_entry_id: \"entry-0003\" participant_id: \"" +
           std::string(65, 'p') + "\" action_type: \"clothing_reuse\" weight_kg: 1",
       kInvalid, "participant_id is not one CheckIn returned"},
      {"EventsService/CheckIn", Caller::kStaff,
       "event_id: \"$EVENT\" code: \"" + std::string(201, 'c') + "\"", kInvalid,
       "not an ecoact check-in code"},
      {"RewardsService/GetCampaignProgress", Caller::kCitizen, "campaign_id: \"Denim Nov\"",
       kInvalid, "campaign_id must be 2 to 32 characters"},
      {"SurveysService/CreateSurvey", Caller::kAdmin,
       "request_id: \"bad-input-0030\" title: \"Habits\" campaign_id: \"denim-nov\" "
       "questions { question_id: \"q1\" type: QUESTION_TYPE_SCALE text: \"How often?\" "
       "options { option_id: \"a\" label: \"A\" } } "
       "waves { wave: SURVEY_WAVE_BEFORE opens_at { seconds: $NOW } "
       "closes_at { seconds: $TOMORROW } }",
       kInvalid, "questions[0].options: only choice questions have options"},
      {"SurveysService/GetSurvey", Caller::kCitizen, "survey_id: \"" + std::string(65, 's') + "\"",
       kNotFound, "survey ids are at most 64 characters"},
      {"SurveysService/GetBehaviourChange", Caller::kAdmin,
       "survey_id: \"sv-unknown\" weeks: 27", kInvalid, "weeks must be 1 to 26, got 27"},
      {"SurveysService/GetBehaviourChange", Caller::kAdmin,
       "survey_id: \"" + std::string(65, 's') + "\" weeks: 4", kNotFound,
       "survey ids are at most 64 characters"},
      {"SurveysService/SubmitResponse", Caller::kCitizen,
       "request_id: \"bad-input-0031\" survey_id: \"sv-unknown\"", kInvalid,
       "wave must be BEFORE or AFTER"},
      {"LeaderboardService/GetLeaderboard", Caller::kCitizen,
       "board { scope: SCOPE_WARD scope_id: \"" + long_id +
           "\" period: PERIOD_ALL_TIME metric: METRIC_POINTS }",
       kInvalid, "board.scope_id must be 2 to 32 characters"},
      {"LeaderboardService/ListOutliers", Caller::kAdmin, "day: \"" + long_id + "\"", kInvalid,
       "day: expected a date as YYYY-MM-DD"},

      {"ReportsService/GetImpactReport", Caller::kNobody, "", kInvalid,
       "scope must be SCOPE_CITY, SCOPE_WARD"},
      {"ReportsService/GetImpactReport", Caller::kNobody, "scope: SCOPE_WARD", kInvalid,
       "scope_id is required for SCOPE_WARD"},
      {"ReportsService/GetImpactReport", Caller::kNobody,
       "scope: SCOPE_TEAM scope_id: \"" + long_id + "\"", kInvalid,
       "scope_id must be 2 to 32 characters"},
      {"ReportsService/GetImpactReport", Caller::kNobody, "scope: SCOPE_WARD scope_id: \"atlantis\"",
       kNotFound, "unknown ward 'atlantis'"},
      {"ReportsService/GetImpactReport", Caller::kNobody,
       "scope: SCOPE_CITY from_month: \"2026-12\" to_month: \"2026-01\"", kInvalid,
       "from_month 2026-12 is after to_month 2026-01; swap them"},
      {"ReportsService/GetImpactReport", Caller::kNobody,
       "scope: SCOPE_CITY from_month: \"2016-01\" to_month: \"2026-12\"", kInvalid,
       "is 132 months; at most 120"},
      {"ReportsService/GetImpactReport", Caller::kNobody,
       "scope: SCOPE_CITY from_month: \"2026/01\"", kInvalid,
       "from_month must be a month \"YYYY-MM\""},
      {"ReportsService/GetImpactReport", Caller::kNobody, "scope: SCOPE_CITY top_n: 51", kInvalid,
       "top_n must be 0 to 50"},
      {"ReportsService/ExportImpactCsv", Caller::kAdmin, "to_month: \"2026-11\"", kInvalid,
       "from_month is required"},
      {"ReportsService/ExportImpactCsv", Caller::kAdmin,
       "scope: SCOPE_EVENT scope_id: \"ev-none\" from_month: \"2026-11\" to_month: \"2026-11\"",
       kNotFound, "unknown event 'ev-none'"},

      // --- Lists: every repeated field has a size limit.
      {"EventsService/UploadBatch", Caller::kStaff, "event_id: \"$EVENT\"", kInvalid,
       "a batch holds 1 to 500 entries, got 501",
       FillMessages("entries",
                    "client_entry_id: \"entry-$I-xxxx\" action_type: \"clothing_reuse\" "
                    "weight_kg: 1",
                    501)},
      {"EventsService/UploadBatch", Caller::kStaff, "event_id: \"$EVENT\"", kInvalid,
       "a batch holds 1 to 500 entries, got 0"},
      {"EventsService/SetClosingTotals", Caller::kStaff, "event_id: \"$EVENT\"", kInvalid,
       "totals must list 1 to 20 closing totals",
       FillMessages("totals", "action_type: \"clothing_reuse\" weight_kg: $I", 21)},
      {"EventsService/AssignStaff", Caller::kAdmin, "event_id: \"$EVENT\"", kInvalid,
       "staff_logins must list 1 to 100 logins", FillStrings("staff_logins", "staff.x", 101)},
      {"EventsService/CreateEvent", Caller::kAdmin,
       "request_id: \"bad-input-0011\" kind: EVENT_KIND_DRIVE name: \"Drive\" "
       "ward: \"nakahara\" starts_at { seconds: $NOW } ends_at { seconds: $TOMORROW }",
       kInvalid, "accepted_action_types must list 1 to 20 action types",
       FillStrings("accepted_action_types", "clothing_reuse", 21)},
      {"RewardsService/CreateCampaign", Caller::kAdmin,
       "request_id: \"bad-input-0012\" id: \"denim\" title: \"Denim\"", kInvalid,
       "action_types lists at most 100 action types", FillStrings("action_types", "type_", 101)},

      // --- Quantities per unit and other numbers: finite, in range.
      {"ActionsService/RecordAction", Caller::kCitizen,
       rid + "action_type: \"clothing_reuse\" quantity: -1", kInvalid,
       "quantity must be between 0.1 and 200"},
      {"ActionsService/RecordAction", Caller::kCitizen,
       rid + "action_type: \"clothing_reuse\" quantity: 1e300", kInvalid,
       "quantity must be between 0.1 and 200"},
      {"ActionsService/RecordAction", Caller::kCitizen, rid + "action_type: \"clothing_reuse\"",
       kInvalid, "quantity must be a finite number",
       SetDouble("quantity", std::numeric_limits<double>::quiet_NaN())},
      {"ActionsService/RecordAction", Caller::kCitizen,
       rid + "action_type: \"plastic_bag_refused\" quantity: 1.5", kInvalid,
       "is counted in whole items"},
      {"ActionsService/RecordAction", Caller::kCitizen,
       rid + "action_type: \"clothing_reuse\" quantity: 1 unit: UNIT_ITEM", kInvalid,
       "is measured in"},
      {"EventsService/RecordWeighIn", Caller::kStaff,
       "event_id: \"$EVENT\" client_entry_id: \"entry-0004\" action_type: \"clothing_reuse\" "
       "weight_kg: 100.5",
       kInvalid, "weight_kg must be above 0 and at most 100 kg per entry"},
      {"EventsService/SetClosingTotals", Caller::kStaff,
       "event_id: \"$EVENT\" totals { action_type: \"clothing_reuse\" weight_kg: -1 }", kInvalid,
       "weight_kg must be a number of kg between 0 and 1000000"},
      {"RewardsService/CreateCampaign", Caller::kAdmin,
       "request_id: \"bad-input-0013\" id: \"denim\" title: \"Denim\" "
       "starts_at { seconds: $NOW } ends_at { seconds: $TOMORROW } multiplier_permille: 6000",
       kInvalid, "multiplier_permille must be 1000 (no bonus) to 5000 (5x), got 6000"},
      {"LeaderboardService/ListOutliers", Caller::kAdmin, "factor: 0.5", kInvalid,
       "factor must be 0 (default 5) or 1 to 1000"},
      {"LeaderboardService/GetMyRank", Caller::kCitizen,
       "board { scope: SCOPE_CITY period: PERIOD_ALL_TIME metric: METRIC_POINTS } "
       "neighbours: 11",
       kInvalid, "neighbours must be 0 to 10, got 11"},
      {"EventsService/GetEventLive", Caller::kCitizen, "event_id: \"$EVENT\" board_size: 51",
       kInvalid, "board_size must be 0 to 50"},

      // --- Pages.
      {"ActionsService/ListMyActions", Caller::kCitizen, "page_size: 101", kInvalid,
       "page_size must be 0 (default 20) to 100, got 101"},
      {"ActionsService/ListMyActions", Caller::kCitizen,
       "page_token: \"" + std::string(5000, '9') + "\"", kInvalid,
       "page_token is not one this service returned"},
      {"LeaderboardService/GetLeaderboard", Caller::kCitizen,
       "board { scope: SCOPE_CITY period: PERIOD_ALL_TIME metric: METRIC_POINTS } "
       "page_token: \"-20\"",
       kInvalid, "page_token is not one this service returned"},
      {"EventsService/ListEvents", Caller::kCitizen, "page_size: -1", kInvalid,
       "page_size must be 0 (default 20) to 100"},

      // --- Enums: a value outside the enum.
      {"LeaderboardService/GetLeaderboard", Caller::kCitizen,
       "board { scope: 99 period: PERIOD_ALL_TIME metric: METRIC_POINTS }", kInvalid,
       "board.scope must be CITY, WARD"},
      {"IdentityService/UpdateMyProfile", Caller::kCitizen,
       "request_id: \"bad-input-0014\" visibility: 7", kInvalid,
       "visibility must be UNCHANGED, HIDDEN or PUBLIC"},
      {"RewardsService/ListCampaigns", Caller::kCitizen, "state: 9", kInvalid,
       "state must be UPCOMING, RUNNING, ENDED or unspecified"},

      // --- Timestamps: nanos in range, years 2000 to 2199, then each
      // field's own window.
      {"ActionsService/RecordAction", Caller::kCitizen,
       rid + "action_type: \"clothing_reuse\" quantity: 1 occurred_at { seconds: $NOW nanos: -1 }",
       kInvalid, "occurred_at.nanos must be 0 to 999999999, got -1"},
      {"ActionsService/RecordAction", Caller::kCitizen,
       rid + "action_type: \"clothing_reuse\" quantity: 1 "
             "occurred_at { seconds: -62135596800 }",  // 0001-01-01
       kInvalid, "occurred_at is not a plausible time (years 2000 to 2199 UTC accepted)"},
      {"ActionsService/RecordAction", Caller::kCitizen,
       rid + "action_type: \"clothing_reuse\" quantity: 1 occurred_at { seconds: 4102444800 }",
       kInvalid, "occurred_at 2100-01-01T00:00:00Z is in the future"},
      {"CatalogService/PreviewImpact", Caller::kCitizen,
       "action_type: \"clothing_reuse\" quantity: 1 "
       "occurred_at { seconds: 253402300799 }",  // 9999-12-31
       kInvalid, "occurred_at is not a plausible time"},
      {"RewardsService/CreateCampaign", Caller::kAdmin,
       "request_id: \"bad-input-0015\" id: \"denim\" title: \"Denim\" "
       "starts_at { seconds: 9223372036854775807 } ends_at { seconds: 9223372036854775807 }",
       kInvalid, "starts_at is not a plausible time"},
      {"EventsService/CreateEvent", Caller::kAdmin,
       "request_id: \"bad-input-0016\" kind: EVENT_KIND_DRIVE name: \"Drive\" "
       "ward: \"nakahara\" starts_at { seconds: -9223372036854775807 } "
       "ends_at { seconds: $NOW } accepted_action_types: \"clothing_reuse\"",
       kInvalid, "starts_at is not a plausible time"},
      {"EventsService/RecordWeighIn", Caller::kStaff,
       "event_id: \"$EVENT\" client_entry_id: \"entry-0005\" action_type: \"clothing_reuse\" "
       "weight_kg: 1 occurred_at { seconds: 4102444800 }",
       kInvalid, "occurred_at is in the future"},

      // --- Unknown ids: NOT_FOUND, for well-formed ones only.
      {"ActionsService/RecordAction", Caller::kCitizen,
       rid + "action_type: \"no_such_type\" quantity: 1", kNotFound,
       "unknown action type 'no_such_type'"},
      {"IdentityService/Register", Caller::kNobody,
       reg + "nickname: \"Mika\" ward: \"atlantis\"", kNotFound, "unknown ward 'atlantis'"},
      {"EventsService/GetEventLive", Caller::kCitizen, "event_id: \"ev-nothing\"", kNotFound,
       "unknown event 'ev-nothing'"},
      {"IdentityService/JoinWithCode", Caller::kCitizen,
       "request_id: \"bad-input-0017\" join_code: \"0000-0000\"", kNotFound,
       "no team or organisation has join code"},

      // --- Tokens and replays (the policy walk covers every RPC x role).
      {"ActionsService/RecordAction", Caller::kNobody,
       rid + "action_type: \"clothing_reuse\" quantity: 1", grpc::StatusCode::UNAUTHENTICATED,
       ""},
      {"ActionsService/RecordAction", Caller::kStaff,
       rid + "action_type: \"clothing_reuse\" quantity: 1",
       grpc::StatusCode::PERMISSION_DENIED, ""},
  };
}

TEST_F(BadInputTest, EveryRuleHasItsStatusAndMessageAndChangesNothing) {
  const std::map<std::string, std::string> before = Snapshot(*stack_);
  const Counts counts_before = Count(*stack_, before);
  ASSERT_GT(counts_before.ledger_entries, 0);
  ASSERT_GT(counts_before.board_members, 0);
  ASSERT_GE(counts_before.accounts, 3);

  const std::vector<Case> table = Table();
  for (size_t i = 0; i < table.size(); ++i) {
    const Case& c = table[i];
    SCOPED_TRACE(absl::StrCat("row ", i, ": ", c.method, " ", c.request.substr(0, 120)));
    grpc::Status status = CallRaw(c.method, tokens_[c.caller], Build(c));
    EXPECT_THAT(status, StatusIs(c.code, HasSubstr(c.fragment)));
    // Echoes are cut: no message carries a long value back.
    EXPECT_LT(status.error_message().size(), 600u) << status.error_message();
  }

  // A retry of the first action with another payload: ALREADY_EXISTS.
  v1::RecordActionRequest replay;
  replay.set_request_id(first_request_id_);
  replay.set_action_type("clothing_reuse");
  replay.set_quantity(3);
  v1::RecordActionResponse response;
  EXPECT_THAT(stack_->actions()->RecordAction(Stack::Context(tokens_[Caller::kCitizen]).get(),
                                              replay, &response),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS));

  stack_->DrainProjector();
  const std::map<std::string, std::string> after = Snapshot(*stack_);
  const Counts counts_after = Count(*stack_, after);
  std::printf("bad input: %zu rejected calls; before/after: %lld/%lld keys, %lld/%lld ledger "
              "entries, %lld/%lld accounts, %lld/%lld board members\n",
              table.size() + 1, static_cast<long long>(counts_before.keys),
              static_cast<long long>(counts_after.keys),
              static_cast<long long>(counts_before.ledger_entries),
              static_cast<long long>(counts_after.ledger_entries),
              static_cast<long long>(counts_before.accounts),
              static_cast<long long>(counts_after.accounts),
              static_cast<long long>(counts_before.board_members),
              static_cast<long long>(counts_after.board_members));
  EXPECT_EQ(counts_after.ledger_entries, counts_before.ledger_entries);
  EXPECT_EQ(counts_after.accounts, counts_before.accounts);
  EXPECT_EQ(counts_after.board_members, counts_before.board_members);
  for (const auto& [key, dump] : after) {
    auto it = before.find(key);
    EXPECT_TRUE(it != before.end()) << "new key " << key;
    if (it != before.end()) {
      EXPECT_TRUE(it->second == dump) << "changed key " << key;
    }
  }
  for (const auto& [key, dump] : before) EXPECT_EQ(after.count(key), 1u) << "lost key " << key;
}

// gRPC itself refuses a request above --max_message_bytes (1 MiB here, the
// default) before it is read; the server keeps serving, and nothing changed.
TEST_F(BadInputTest, OversizedMessageIsResourceExhaustedAndTheServerKeepsServing) {
  const std::map<std::string, std::string> before = Snapshot(*stack_);
  v1::RegisterRequest request;
  request.set_request_id("bad-input-oversized-0001");
  request.set_nickname(std::string(2 << 20, 'x'));
  request.set_ward("nakahara");
  for (int attempt = 0; attempt < 3; ++attempt) {
    v1::RegisterResponse response;
    grpc::Status status =
        stack_->identity()->Register(Stack::Context().get(), request, &response);
    EXPECT_THAT(status, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 HasSubstr("larger than max")));
    std::printf("oversized request of %zu bytes: %d %s\n", request.ByteSizeLong(),
                status.error_code(), status.error_message().c_str());
  }
  // Just under the limit the same request is read and judged on its merits.
  request.set_nickname(std::string((1 << 20) - 100, 'x'));
  v1::RegisterResponse response;
  EXPECT_THAT(stack_->identity()->Register(Stack::Context().get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("nickname must be 1 to 24 characters")));
  // An oversized header (a 20 KB token) is refused by gRPC's metadata
  // limit (8 KiB by default) before the token is looked at. gRPC then
  // closes the connection: the next call on the channel may fail with
  // UNAVAILABLE ("Socket closed", "Broken pipe"); a retry that waits for the
  // channel to reconnect is served.
  {
    v1::Profile profile;
    auto context = Stack::Context(std::string(20000, 't'));
    grpc::Status status = stack_->identity()->GetMyProfile(context.get(),
                                                          v1::GetMyProfileRequest(), &profile);
    std::printf("20000-byte token: %d %s\n", status.error_code(),
                status.error_message().c_str());
    EXPECT_THAT(status, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 HasSubstr("metadata size exceeds limit")));
  }
  v1::Profile profile;
  grpc::Status after;
  int attempts = 0;
  do {
    // Waits for the channel to reconnect instead of failing fast while it
    // backs off.
    auto context = Stack::Context(tokens_[Caller::kCitizen]);
    context->set_wait_for_ready(true);
    after = stack_->identity()->GetMyProfile(context.get(), v1::GetMyProfileRequest(), &profile);
    ++attempts;
    if (!after.ok()) {
      std::printf("attempt %d: %d %s\n", attempts, after.error_code(),
                  after.error_message().c_str());
      EXPECT_EQ(after.error_code(), grpc::StatusCode::UNAVAILABLE) << after.error_message();
    }
  } while (!after.ok() && attempts < 10);
  EXPECT_TRUE(after.ok()) << after.error_code() << " " << after.error_message();
  std::printf("served again after %d attempt(s)\n", attempts);
  EXPECT_EQ(profile.nickname(), "Mika");
  EXPECT_TRUE(Snapshot(*stack_) == before);
}

}  // namespace
}  // namespace ecoact::test
