// Identity domain rules without Redis: profiles, secrets, credentials.
#include "services/identity/accounts.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/validation.h"
#include "services/identity/refresh_tokens.h"
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

TEST(RefreshTokenFormatTest, RoundTripsAndRefusesEverythingElse) {
  const std::string random(48, '\x5a');
  RefreshCredential token = NewRefreshToken("u7k2m9q4x8p3n5r6t1v0w", random);
  const std::string text = token.Format();
  EXPECT_THAT(text, ::testing::StartsWith("rt1."));
  std::optional<RefreshCredential> parsed = RefreshCredential::Parse(text);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->account_id, "u7k2m9q4x8p3n5r6t1v0w");
  EXPECT_EQ(parsed->family, token.family);
  EXPECT_EQ(parsed->secret, token.secret);
  // Staff logins may hold characters a dot-separated format must protect.
  RefreshCredential staff = NewRefreshToken("sato.k", random);
  ASSERT_TRUE(RefreshCredential::Parse(staff.Format()).has_value());
  EXPECT_EQ(RefreshCredential::Parse(staff.Format())->account_id, "sato.k");
  for (const std::string& bad :
       {std::string(""), std::string("rt1"), text + ".x", text + "A", "rt2" + text.substr(3),
        text.substr(0, text.size() - 1), std::string("rt1..") + token.family + "." + token.secret,
        std::string("rt1.dQ.") + token.family + "." + token.secret.substr(0, 42) + "!"}) {
    EXPECT_FALSE(RefreshCredential::Parse(bad).has_value()) << bad;
  }
}

TEST(RefreshTokenFormatTest, SuccessorsAreDerivedWithTheServerSecret) {
  RefreshCredential token = NewRefreshToken("u1", std::string(48, '\x01'));
  RefreshCredential next = NextRefreshToken("server-secret-one-0123456789abcdef", token);
  EXPECT_EQ(next.account_id, token.account_id);
  EXPECT_EQ(next.family, token.family);
  EXPECT_NE(next.secret, token.secret);
  EXPECT_EQ(next.secret.size(), token.secret.size());
  // Deterministic (a retried refresh gets the same token), keyed.
  EXPECT_EQ(NextRefreshToken("server-secret-one-0123456789abcdef", token).secret, next.secret);
  EXPECT_NE(NextRefreshToken("server-secret-two-0123456789abcdef", token).secret, next.secret);
  EXPECT_EQ(SecretHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace ecoact::identity
