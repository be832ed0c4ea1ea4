// Identity domain rules without Redis: profiles, secrets, credentials.
#include "services/identity/accounts.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/validation.h"
#include "services/identity/teams.h"

namespace ecoact::identity {
namespace {

WardDirectory Wards() { return *WardDirectory::Parse(kKawasakiWards); }

TEST(AccountsTest, KawasakiHasSevenWards) {
  EXPECT_EQ(Wards().wards().size(), 7u);
  EXPECT_TRUE(Wards().Contains("nakahara"));
  EXPECT_EQ(WardDirectory::Parse("a:b").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WardDirectory::Parse("kawasaki:x,kawasaki:y").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AccountsTest, ProfileRules) {
  std::string nickname;
  EXPECT_TRUE(ValidateProfile(Wards(), "  みか  ", "tama", &nickname).ok());
  EXPECT_EQ(nickname, "みか");
  EXPECT_EQ(ValidateProfile(Wards(), "Mika", "atlantis", &nickname).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ValidateProfile(Wards(), "", "tama", &nickname).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateProfile(Wards(), "Mi\x01ka", "tama", &nickname).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateProfile(Wards(), "\xff\xfe", "tama", &nickname).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateProfile(Wards(), std::string(25, 'a'), "tama", &nickname).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateProfile(Wards(), "Mika", "", &nickname).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AccountsTest, SecretsAreSaltedAndVerifiedInConstantTime) {
  std::string a = HashSecret("correct horse battery", 1000);
  std::string b = HashSecret("correct horse battery", 1000);
  EXPECT_NE(a, b);  // random salt
  EXPECT_TRUE(VerifySecret("correct horse battery", a));
  EXPECT_FALSE(VerifySecret("correct horse batterz", a));
  EXPECT_FALSE(VerifySecret("anything", "plain-text"));
  EXPECT_FALSE(VerifySecret("anything", "pbkdf2-sha256$0$AA==$AA=="));
}

TEST(AccountsTest, CredentialsFollowFromTheRequestIdAndKey) {
  CitizenCredentials one = DeriveCitizenCredentials("key-1", "request-0001-abcdef");
  CitizenCredentials again = DeriveCitizenCredentials("key-1", "request-0001-abcdef");
  CitizenCredentials other = DeriveCitizenCredentials("key-1", "request-0002-abcdef");
  CitizenCredentials other_key = DeriveCitizenCredentials("key-2", "request-0001-abcdef");
  EXPECT_EQ(one.account_id, again.account_id);
  EXPECT_EQ(one.secret, again.secret);
  EXPECT_NE(one.account_id, other.account_id);
  EXPECT_NE(one.secret, other_key.secret);
  EXPECT_EQ(one.account_id.size(), 21u);
  EXPECT_EQ(one.account_id[0], 'u');
  EXPECT_GE(one.secret.size(), 50u);
}

TEST(ValidationTest, RequestIdsAndFingerprints) {
  EXPECT_TRUE(ValidateRequestId("0b7c9e2a-1f3d-4c5e").ok());
  EXPECT_FALSE(ValidateRequestId("short").ok());
  EXPECT_FALSE(ValidateRequestId(std::string(65, 'a')).ok());
  EXPECT_FALSE(ValidateRequestId("has space here").ok());
  EXPECT_FALSE(ValidateRequestId("short-but-ok", 16).ok());
  // Framing: ("ab","c") and ("a","bc") differ.
  EXPECT_NE(Fingerprint({"ab", "c"}), Fingerprint({"a", "bc"}));
  EXPECT_EQ(Fingerprint({"x", "y"}), Fingerprint({"x", "y"}));
}

TEST(TeamsTest, JoinCodesAreEightCrockfordCharacters) {
  EXPECT_EQ(JoinCodeFromBytes(std::string(5, '\0')), "00000000");
  EXPECT_EQ(JoinCodeFromBytes(std::string(5, '\xff')), "ZZZZZZZZ");
  // 0x0842108421: every 5-bit group is 00001, then 00010 ... spelled out.
  EXPECT_EQ(JoinCodeFromBytes(std::string("\x08\x42\x10\x84\x21", 5)), "11111111");
}

TEST(TeamsTest, TypedCodesAreNormalised) {
  EXPECT_EQ(*NormaliseJoinCode("7k3m-9q4x"), "7K3M9Q4X");
  EXPECT_EQ(*NormaliseJoinCode(" 7K3M 9Q4X "), "7K3M9Q4X");
  // Crockford reads I and L as 1, O as 0.
  EXPECT_EQ(*NormaliseJoinCode("iLoO-0000"), "11000000");
  EXPECT_EQ(NormaliseJoinCode("7K3M9Q4").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NormaliseJoinCode("7K3M9Q4XY").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NormaliseJoinCode("7K3M9Q4U").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NormaliseJoinCode("7K3M_Q4X").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TeamsTest, MembershipHistoryRoundTripsAndSkipsDamage) {
  std::vector<Membership> history = {{absl::FromUnixMillis(1000), "class-3b", "school"},
                                     {absl::FromUnixMillis(1764514800001), "", ""}};
  const std::string json = MembershipHistoryJson(history);
  EXPECT_EQ(json, R"([[1000,"class-3b","school"],[1764514800001,"",""]])");
  std::vector<Membership> parsed = ParseMembershipHistory(json);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[1].since, absl::FromUnixMillis(1764514800001));
  EXPECT_EQ(parsed[0].team_id, "class-3b");
  EXPECT_EQ(parsed[0].organisation_id, "school");
  EXPECT_EQ(ParseMembershipHistory(R"([[1,"a"],"x",[2,"b","c"]])").size(), 1u);
  EXPECT_TRUE(ParseMembershipHistory("not json").empty());
}

}  // namespace
}  // namespace ecoact::identity
