// DecodeStreamEntry on entries as Redis returns them: what the RecordAction
// script writes decodes, and a corrupt entry is an error, never a crash.
#include "services/common/ledger_format.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using ::ecoact::test::StatusIs;
using ::testing::HasSubstr;

RedisValue Entry(const std::vector<std::string>& fields_and_values) {
  RedisValue entry;
  entry.type = RedisValue::Type::kArray;
  entry.elements.resize(2);
  entry.elements[0].type = RedisValue::Type::kString;
  entry.elements[0].str = "1763175600000-0";
  entry.elements[1].type = RedisValue::Type::kArray;
  for (const std::string& text : fields_and_values) {
    RedisValue value;
    value.type = RedisValue::Type::kString;
    value.str = text;
    entry.elements[1].elements.push_back(value);
  }
  return entry;
}

TEST(LedgerFormatTest, DecodesAnEntryOfTheRecordActionScript) {
  absl::StatusOr<StoredEntry> stored =
      DecodeStreamEntry(Entry({"acct", "a-1", "req", "r-1", "type", "pet_bottles", "qty", "350",
                               "unit", "1", "co2", "1", "pts", "3", "occ", "1763000000123",
                               "src", "self", "camp", "c1,c2", "bonus", "1"}));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->account_id, "a-1");
  EXPECT_EQ(stored->entry.quantity_milli(), 350);
  EXPECT_EQ(stored->entry.occurred_at().seconds(), 1763000000);
  EXPECT_EQ(stored->entry.occurred_at().nanos(), 123000000);
  EXPECT_EQ(stored->entry.recorded_at().seconds(), 1763000000);  // no rec: occ
  EXPECT_EQ(stored->entry.campaign_ids_size(), 2);
}

// Found by fuzz/ledger_entry_fuzzer: a time beyond year 9999 made protobuf's
// TimeUtil abort the whole process (a projector would crash-loop on it).
TEST(LedgerFormatTest, TimesBeyondWhatATimestampHoldsAreMalformed) {
  for (const char* field : {"occ", "rec"}) {
    std::vector<std::string> fields = {"acct", "a-1", "qty", "1", "co2", "1", "pts", "1",
                                       "occ", "1763000000000"};
    fields.insert(fields.end(), {field, "1763000000176317000"});
    EXPECT_THAT(DecodeStreamEntry(Entry(fields)),
                StatusIs(absl::StatusCode::kInternal, HasSubstr(std::string("'") + field + "'")))
        << field;
  }
  // The last millisecond of year 9999 is still a time.
  EXPECT_TRUE(DecodeStreamEntry(Entry({"acct", "a-1", "qty", "1", "co2", "1", "pts", "1", "occ",
                                       "253402300799999"}))
                  .ok());
}

}  // namespace
}  // namespace ecoact
