// Events domain rules without Redis: event validation, check-in codes,
// weigh-in validation and conversion.
#include "services/events/events.h"

#include <cmath>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace ecoact::events {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

class EventsDomainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    calendar_ = std::make_unique<CityCalendar>(*CityCalendar::Create("Asia/Tokyo"));
    auto catalog = catalog::Catalog::Parse(catalog::EmbeddedCatalogText(), *calendar_);
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = std::make_unique<catalog::Catalog>(*std::move(catalog));
    now_ = absl::FromUnixSeconds(1796000000);
  }

  v1::CreateEventRequest Request() {
    v1::CreateEventRequest r;
    r.set_request_id("create-event-0001");
    r.set_kind(v1::EVENT_KIND_DRIVE);
    r.set_name("Frontale clothing drive");
    r.set_place("Todoroki Stadium");
    r.set_ward("nakahara");
    *r.mutable_starts_at() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(now_ - absl::Hours(1)));
    *r.mutable_ends_at() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(now_ + absl::Hours(3)));
    r.add_accepted_action_types("clothing_reuse");
    r.add_accepted_action_types("clothing_recycling");
    return r;
  }

  v1::WeighIn Weigh(double kg, std::string type = "clothing_reuse") {
    v1::WeighIn w;
    w.set_client_entry_id("entry-0001-abc");
    w.set_participant_id("uabc");
    w.set_action_type(std::move(type));
    w.set_weight_kg(kg);
    *w.mutable_occurred_at() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(now_));
    return w;
  }

  std::unique_ptr<CityCalendar> calendar_;
  std::unique_ptr<catalog::Catalog> catalog_;
  absl::Time now_;
  std::vector<std::string> wards_ = {"nakahara", "tama"};
};

TEST_F(EventsDomainTest, ValidEventGetsAStableId) {
  auto event = NewEvent(Request(), *catalog_, wards_);
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->id, EventIdFor("create-event-0001"));
  EXPECT_EQ(event->id.rfind("ev-", 0), 0u);
  EXPECT_TRUE(event->Accepts("clothing_recycling"));
  EXPECT_FALSE(event->Accepts("pet_bottles"));
}

TEST_F(EventsDomainTest, BadEventsAreRejected) {
  auto expect = [&](v1::CreateEventRequest r, absl::StatusCode code, const char* what) {
    EXPECT_EQ(NewEvent(r, *catalog_, wards_).status().code(), code) << what;
  };
  v1::CreateEventRequest r = Request();
  r.set_ward("atlantis");
  expect(r, absl::StatusCode::kNotFound, "ward");
  r = Request();
  r.add_accepted_action_types("plastic_bag_refused");
  expect(r, absl::StatusCode::kInvalidArgument, "not weighed in kg");
  r = Request();
  r.add_accepted_action_types("teleport");
  expect(r, absl::StatusCode::kNotFound, "unknown type");
  r = Request();
  *r.mutable_ends_at() = r.starts_at();
  expect(r, absl::StatusCode::kInvalidArgument, "ends before start");
  r = Request();
  r.clear_accepted_action_types();
  expect(r, absl::StatusCode::kInvalidArgument, "no types");
  r = Request();
  r.set_name("");
  expect(r, absl::StatusCode::kInvalidArgument, "no name");
  r = Request();
  r.set_kind(v1::EVENT_KIND_UNSPECIFIED);
  expect(r, absl::StatusCode::kInvalidArgument, "no kind");
}

TEST_F(EventsDomainTest, CheckInCodesAreSignedBoundAndExpire) {
  CheckInCodes codes("key", absl::Minutes(10));
  std::string code = codes.Issue("uaccount1", now_);
  auto account = codes.Verify(code, now_ + absl::Minutes(9));
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(*account, "uaccount1");
  EXPECT_EQ(codes.Verify(code, now_ + absl::Minutes(11)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::string other_account = code;
  other_account.replace(4, 9, "uaccount2");  // bound to the user: the MAC breaks
  EXPECT_EQ(codes.Verify(other_account, now_).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckInCodes("other-key", absl::Minutes(10)).Verify(code, now_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(codes.Verify("hello", now_).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(codes.Verify("", now_).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EventsDomainTest, WeighInIsValidatedAndConverted) {
  EventRecord event = *NewEvent(Request(), *catalog_, wards_);
  EntryRules rules;
  auto entry = PrepareWeighIn(event, Weigh(2.5), *catalog_, rules, now_);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->conversion.quantity_milli, 2500);
  auto direct = catalog_->Convert({"clothing_reuse", 2.5, v1::UNIT_KILOGRAM, now_});
  EXPECT_EQ(entry->conversion.co2e_grams, direct->co2e_grams);

  auto code_of = [&](v1::WeighIn w) {
    return PrepareWeighIn(event, w, *catalog_, rules, now_).status().code();
  };
  EXPECT_EQ(code_of(Weigh(0)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of(Weigh(-1)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of(Weigh(std::nan(""))), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of(Weigh(100.5)), absl::StatusCode::kInvalidArgument);  // above 100 kg
  EXPECT_EQ(code_of(Weigh(1, "teleport")), absl::StatusCode::kNotFound);
  EXPECT_EQ(code_of(Weigh(1, "pet_bottles")), absl::StatusCode::kFailedPrecondition);
  v1::WeighIn outside = Weigh(1);
  *outside.mutable_occurred_at() =
      TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(now_ - absl::Hours(5)));
  EXPECT_EQ(code_of(outside), absl::StatusCode::kInvalidArgument);
  v1::WeighIn no_id = Weigh(1);
  no_id.set_client_entry_id("x");
  EXPECT_THAT(PrepareWeighIn(event, no_id, *catalog_, rules, now_).status().message(),
              HasSubstr("client_entry_id"));
}

}  // namespace
}  // namespace ecoact::events
