// The shared input checks at their edges (the API test walks them through
// gRPC; these pin the boundaries).
#include "services/common/validation.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using ::ecoact::test::StatusIs;
using ::testing::HasSubstr;

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

TEST(TimeFromProto, AcceptsTheYears2000To2199Only) {
  constexpr int64_t kYear2000 = 946684800;
  constexpr int64_t kYear2200 = 7258118400;
  EXPECT_TRUE(TimeFromProto(Ts(kYear2000), "t").ok());
  EXPECT_TRUE(TimeFromProto(Ts(kYear2200 - 1, 999999999), "t").ok());
  EXPECT_EQ(*TimeFromProto(Ts(kYear2000, 5), "t"),
            absl::FromUnixSeconds(kYear2000) + absl::Nanoseconds(5));
  for (int64_t seconds : {kYear2000 - 1, kYear2200, int64_t{0}, int64_t{-62135596800},
                          std::numeric_limits<int64_t>::max(),
                          std::numeric_limits<int64_t>::min()}) {
    EXPECT_THAT(TimeFromProto(Ts(seconds), "starts_at").status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("starts_at is not a plausible time")))
        << seconds;
  }
  EXPECT_THAT(TimeFromProto(Ts(kYear2000, -1), "t").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t.nanos must be 0 to")));
  EXPECT_THAT(TimeFromProto(Ts(kYear2000, 1000000000), "t").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t.nanos must be 0 to")));
}

TEST(ValidateActionTypeId, FollowsTheCatalogueRule) {
  EXPECT_TRUE(ValidateActionTypeId("action_type", "clothing_reuse").ok());
  EXPECT_TRUE(ValidateActionTypeId("action_type", "ab").ok());
  EXPECT_TRUE(ValidateActionTypeId("action_type", "a" + std::string(39, '9')).ok());
  for (const std::string bad : {std::string(""), std::string("a"), "a" + std::string(40, 'b'), std::string("Clothing"),
                                std::string("9lives"), std::string("clothing-reuse"),
                                std::string("clothing.reuse"), std::string("a\nb")}) {
    EXPECT_THAT(ValidateActionTypeId("action_type", bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("action_type must be an action type id")))
        << bad;
  }
}

TEST(IsValidUtf8, RejectsMalformedOverlongAndSurrogates) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("Mika"));
  EXPECT_TRUE(IsValidUtf8("\xe4\xb8\xad\xe5\x8e\x9f\xe5\x8c\xba"));  // 中原区
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x8c\xb1"));                      // U+1F331
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3\x28"));          // bad continuation
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe4\xb8"));          // cut short
}

TEST(QuoteForMessage, CutsAndEscapes) {
  EXPECT_EQ(QuoteForMessage("nakahara"), "'nakahara'");
  EXPECT_EQ(QuoteForMessage("a\nb'c"), "'a\\x0ab\\x27c'");
  EXPECT_EQ(QuoteForMessage("\xe4\xb8\xad"), "'\\xe4\\xb8\\xad'");
  const std::string quoted = QuoteForMessage(std::string(1 << 20, 'x'));
  EXPECT_EQ(quoted, "'" + std::string(40, 'x') + "' (cut; 1048576 bytes in all)");
}

TEST(ValidateSlug, EchoesALongValueCut) {
  absl::Status status = ValidateSlug("ward", std::string(100000, 'W'), 2, 32);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("(cut; 100000 bytes in all)")));
  EXPECT_LT(status.message().size(), 200u);
}

}  // namespace
}  // namespace ecoact
