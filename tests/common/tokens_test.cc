#include "services/common/tokens.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "tests/support/status_matchers.h"

namespace ecoact {
namespace {

using ::ecoact::test::IsOk;
using ::ecoact::test::StatusIs;
using ::testing::HasSubstr;

constexpr absl::StatusCode kUnauthenticated = absl::StatusCode::kUnauthenticated;
const std::string kSecret1 = "0123456789abcdef0123456789abcdef";  // 32 bytes
const std::string kSecret2 = "fedcba9876543210fedcba9876543210-second";
const std::string kIssuer = "ecoact-test";
const absl::Time kNow = absl::FromUnixSeconds(1795000000);  // 2026-11-18

TokenService MakeService(std::map<std::string, std::string> keys, std::string current) {
  auto service = TokenService::Create(std::move(keys), std::move(current), kIssuer,
                                      absl::Hours(1));
  EXPECT_THAT(service, IsOk());
  return *std::move(service);
}

struct Parts {
  nlohmann::json header;
  nlohmann::json payload;
  std::string signature;  // raw bytes
};

Parts Decode(const std::string& token) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  Parts decoded;
  if (parts.size() != 3) {
    ADD_FAILURE() << "not three parts: " << token;
    return decoded;
  }
  std::string header, payload;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(parts[0], &header));
  EXPECT_TRUE(absl::WebSafeBase64Unescape(parts[1], &payload));
  EXPECT_TRUE(absl::WebSafeBase64Unescape(parts[2], &decoded.signature));
  decoded.header = nlohmann::json::parse(header);
  decoded.payload = nlohmann::json::parse(payload);
  return decoded;
}

std::string HmacSha256(const std::string& key, const std::string& input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  return std::string(reinterpret_cast<const char*>(mac), length);
}

// A token with any header and payload, correctly signed with `key`: lets a
// test reach the checks that come after the signature.
std::string SignedToken(const std::string& header, const std::string& payload,
                        const std::string& key) {
  std::string input = absl::StrCat(absl::WebSafeBase64Escape(header), ".",
                                   absl::WebSafeBase64Escape(payload));
  return absl::StrCat(input, ".", absl::WebSafeBase64Escape(HmacSha256(key, input)));
}

nlohmann::json ValidPayload() {
  return {{"iss", kIssuer},
          {"aud", "ecoact"},
          {"sub", "acct-1"},
          {"role", "citizen"},
          {"iat", absl::ToUnixSeconds(kNow)},
          {"exp", absl::ToUnixSeconds(kNow + absl::Hours(1))}};
}

const nlohmann::json kK1Header = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "k1"}};

TEST(TokenServiceTest, IssuedTokenVerifiesWithItsClaims) {
  TokenService service = MakeService({{"k1", kSecret1}}, "k1");
  std::string token = service.Issue("acct-42", v1::ROLE_STAFF, kNow);

  auto claims = service.Verify(token, kNow + absl::Minutes(5));
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->subject, "acct-42");
  EXPECT_EQ(claims->role, v1::ROLE_STAFF);
  EXPECT_EQ(claims->issued_at, kNow);
  EXPECT_EQ(claims->expires_at, kNow + absl::Hours(1));
  EXPECT_EQ(service.lifetime(), absl::Hours(1));
}

TEST(TokenServiceTest, EveryRoleRoundTrips) {
  TokenService service = MakeService({{"k1", kSecret1}}, "k1");
  for (v1::Role role : {v1::ROLE_CITIZEN, v1::ROLE_STAFF, v1::ROLE_ADMIN}) {
    auto claims = service.Verify(service.Issue("a", role, kNow), kNow);
    ASSERT_THAT(claims, IsOk()) << RoleName(role);
    EXPECT_EQ(claims->role, role);
  }
}

TEST(TokenServiceTest, TokenIsAStandardHs256JwtWithKeyId) {
  TokenService service = MakeService({{"k1", kSecret1}}, "k1");
  std::string token = service.Issue("acct-1", v1::ROLE_CITIZEN, kNow);
  EXPECT_THAT(token, ::testing::Not(HasSubstr("=")));  // base64url without padding
  Parts parts = Decode(token);
  EXPECT_EQ(parts.header["alg"], "HS256");
  EXPECT_EQ(parts.header["kid"], "k1");
  EXPECT_EQ(parts.payload["sub"], "acct-1");
  EXPECT_EQ(parts.payload["iss"], kIssuer);
  EXPECT_EQ(parts.payload["role"], "citizen");
}

TEST(TokenServiceTest, ExpiredTokenIsRejected) {
  TokenService service = MakeService({{"k1", kSecret1}}, "k1");
  std::string token = service.Issue("acct-1", v1::ROLE_CITIZEN, kNow);

  EXPECT_THAT(service.Verify(token, kNow + absl::Hours(1) - absl::Seconds(1)), IsOk());
  EXPECT_THAT(service.Verify(token, kNow + absl::Hours(2)),
              StatusIs(kUnauthenticated, HasSubstr("expired")));
  EXPECT_THAT(service.Verify(token, kNow + absl::Hours(24 * 365)),
              StatusIs(kUnauthenticated, HasSubstr("expired")));
}

TEST(TokenServiceTest, TokenFromTheFarFutureIsRejected) {
  TokenService service = MakeService({{"k1", kSecret1}}, "k1");
  std::string token = service.Issue("acct-1", v1::ROLE_CITIZEN, kNow + absl::Minutes(10));
  EXPECT_THAT(service.Verify(token, kNow),
              StatusIs(kUnauthenticated, HasSubstr("future")));
}

TEST(TokenServiceTest, TamperedPayloadIsRejected) {
  TokenService service = MakeService({{"k1", kSecret1}}, "k1");
  std::string token = service.Issue("acct-1", v1::ROLE_CITIZEN, kNow);
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);

  // A citizen promoting itself to admin, keeping the original signature.
  nlohmann::json payload = Decode(token).payload;
  payload["role"] = "admin";
  std::string forged = absl::StrCat(parts[0], ".", absl::WebSafeBase64Escape(payload.dump()),
                                    ".", parts[2]);
  EXPECT_THAT(service.Verify(forged, kNow),
              StatusIs(kUnauthenticated, HasSubstr("bad signature")));

  // A longer lifetime, same trick.
  payload = Decode(token).payload;
  payload["exp"] = absl::ToUnixSeconds(kNow + absl::Hours(24 * 365));
  forged = absl::StrCat(parts[0], ".", absl::WebSafeBase64Escape(payload.dump()), ".", parts[2]);
  EXPECT_THAT(service.Verify(forged, kNow), StatusIs(kUnauthenticated));

  // One flipped bit in the signature.
  std::string signature = Decode(token).signature;
  signature[0] ^= 1;
  forged = absl::StrCat(parts[0], ".", parts[1], ".", absl::WebSafeBase64Escape(signature));
  EXPECT_THAT(service.Verify(forged, kNow),
              StatusIs(kUnauthenticated, HasSubstr("bad signature")));

  // A truncated signature.
  forged = absl::StrCat(parts[0], ".", parts[1], ".",
                        absl::WebSafeBase64Escape(Decode(token).signature.substr(0, 16)));
  EXPECT_THAT(service.Verify(forged, kNow),
              StatusIs(kUnauthenticated, HasSubstr("bad signature")));
}

TEST(TokenServiceTest, SignatureFromAnotherSecretWithTheSameKeyIdIsRejected) {
  TokenService ours = MakeService({{"k1", kSecret1}}, "k1");
  TokenService theirs = MakeService({{"k1", kSecret2}}, "k1");
  std::string token = theirs.Issue("acct-1", v1::ROLE_ADMIN, kNow);
  EXPECT_THAT(ours.Verify(token, kNow), StatusIs(kUnauthenticated, HasSubstr("bad signature")));
}

TEST(TokenServiceTest, UnknownKeyIdIsRejected) {
  TokenService ours = MakeService({{"k1", kSecret1}}, "k1");
  TokenService theirs = MakeService({{"k9", kSecret1}}, "k9");
  std::string token = theirs.Issue("acct-1", v1::ROLE_CITIZEN, kNow);
  EXPECT_THAT(ours.Verify(token, kNow), StatusIs(kUnauthenticated, HasSubstr("unknown key")));
}

TEST(TokenServiceTest, KeyRotation) {
  TokenService before = MakeService({{"k1", kSecret1}}, "k1");
  TokenService during = MakeService({{"k1", kSecret1}, {"k2", kSecret2}}, "k2");
  TokenService after = MakeService({{"k2", kSecret2}}, "k2");

  std::string old_token = before.Issue("acct-1", v1::ROLE_CITIZEN, kNow);
  std::string new_token = during.Issue("acct-1", v1::ROLE_CITIZEN, kNow);

  EXPECT_EQ(Decode(new_token).header["kid"], "k2");
  // While k1 is still configured, tokens it signed keep working.
  EXPECT_THAT(during.Verify(old_token, kNow), IsOk());
  EXPECT_THAT(during.Verify(new_token, kNow), IsOk());
  // Servers not yet rotated reject the new key; rotated-out k1 is rejected.
  EXPECT_THAT(before.Verify(new_token, kNow),
              StatusIs(kUnauthenticated, HasSubstr("unknown key")));
  EXPECT_THAT(after.Verify(old_token, kNow),
              StatusIs(kUnauthenticated, HasSubstr("unknown key")));
  EXPECT_THAT(after.Verify(new_token, kNow), IsOk());
}

TEST(TokenServiceTest, AlgNoneIsRejected) {
  TokenService service = MakeService({{"k1", kSecret1}}, "k1");
  std::string payload = absl::WebSafeBase64Escape(ValidPayload().dump());
  for (const char* alg : {"none", "None", "NONE"}) {
    nlohmann::json header = {{"alg", alg}, {"typ", "JWT"}, {"kid", "k1"}};
    std::string head = absl::WebSafeBase64Escape(header.dump());
    // Unsigned, as RFC 7519 writes it: empty third part.
    EXPECT_THAT(service.Verify(absl::StrCat(head, ".", payload, "."), kNow),
                StatusIs(kUnauthenticated, HasSubstr("unsupported header")))
        << alg;
    // And with a valid HS256 signature over the same input.
    EXPECT_THAT(service.Verify(SignedToken(header.dump(), ValidPayload().dump(), kSecret1), kNow),
                StatusIs(kUnauthenticated, HasSubstr("unsupported header")))
        << alg;
  }
}

TEST(TokenServiceTest, OtherAlgorithmsAndMalformedHeadersAreRejected) {
  TokenService service = MakeService({{"k1", kSecret1}}, "k1");
  const std::string payload = ValidPayload().dump();
  const std::vector<std::string> headers = {
      R"({"alg":"HS512","kid":"k1"})",
      R"({"alg":"RS256","kid":"k1"})",
      R"({"alg":"HS256"})",                // no key id
      R"({"alg":"HS256","kid":1})",        // key id not a string
      R"({"alg":256,"kid":"k1"})",         // alg not a string
      R"({"alg":null,"kid":"k1"})",
      R"({"alg":["HS256"],"kid":"k1"})",
      R"(["HS256","k1"])",
      R"("HS256")",
      R"(not json)",
      R"()",
  };
  for (const std::string& header : headers) {
    EXPECT_THAT(service.Verify(SignedToken(header, payload, kSecret1), kNow),
                StatusIs(kUnauthenticated, HasSubstr("unsupported header")))
        << header;
  }
}

TEST(TokenServiceTest, GarbageIsRejected) {
  TokenService service = MakeService({{"k1", kSecret1}}, "k1");
  const std::vector<std::string> garbage = {
      "",
      "Bearer",
      "abc",
      "a.b",
      "a.b.c.d",
      "..",
      "...",
      "!!!.###.$$$",
      "eyJhbGciOiJIUzI1NiJ9",
      "eyJhbGciOiJIUzI1NiJ9..",
      std::string(10000, 'A'),
      std::string("\0.\0.\0", 5),
      "e30.e30.e30",  // {}.{}.{}
  };
  for (const std::string& token : garbage) {
    EXPECT_THAT(service.Verify(token, kNow), StatusIs(kUnauthenticated, HasSubstr("invalid token")))
        << "token: " << token.substr(0, 40);
  }
  // A valid token with a space or a newline glued on is not silently accepted.
  std::string token = service.Issue("acct-1", v1::ROLE_CITIZEN, kNow);
  EXPECT_THAT(service.Verify(absl::StrCat("Bearer ", token), kNow), StatusIs(kUnauthenticated));
  EXPECT_THAT(service.Verify(absl::StrCat(token, ".x"), kNow), StatusIs(kUnauthenticated));
}

TEST(TokenServiceTest, CorrectlySignedTokensWithBadClaimsAreRejected) {
  TokenService service = MakeService({{"k1", kSecret1}}, "k1");
  const std::string header = kK1Header.dump();
  ASSERT_THAT(service.Verify(SignedToken(header, ValidPayload().dump(), kSecret1), kNow), IsOk());

  struct Case {
    std::string what;
    nlohmann::json payload;
    std::string message;
  };
  std::vector<Case> cases;
  for (const char* claim : {"sub", "role", "exp", "iat", "iss"}) {
    nlohmann::json p = ValidPayload();
    p.erase(claim);
    cases.push_back({absl::StrCat("without ", claim), p, "missing claims"});
  }
  {
    nlohmann::json p = ValidPayload();
    p["exp"] = "tomorrow";
    cases.push_back({"exp as a string", p, "missing claims"});
  }
  {
    nlohmann::json p = ValidPayload();
    p["exp"] = 1.5e12;
    cases.push_back({"exp as a float", p, "missing claims"});
  }
  {
    nlohmann::json p = ValidPayload();
    p["sub"] = 42;
    cases.push_back({"sub as a number", p, "missing claims"});
  }
  {
    nlohmann::json p = ValidPayload();
    p["iss"] = "someone-else";
    cases.push_back({"foreign issuer", p, "wrong issuer"});
  }
  {
    nlohmann::json p = ValidPayload();
    p["role"] = "superuser";
    cases.push_back({"unknown role", p, "unknown role"});
  }
  {
    nlohmann::json p = ValidPayload();
    p["sub"] = "";
    cases.push_back({"empty subject", p, "empty subject"});
  }
  {
    nlohmann::json p = ValidPayload();
    p.erase("aud");
    cases.push_back({"without aud", p, "wrong audience"});
    p["aud"] = "another-app";
    cases.push_back({"another audience", p, "wrong audience"});
    p["aud"] = nlohmann::json::array({"another-app", "ecoact"});
    // An audience list that names us is fine: checked below, not a case.
  }
  {
    nlohmann::json p = ValidPayload();
    p["nbf"] = absl::ToUnixSeconds(kNow + absl::Minutes(5));
    cases.push_back({"not yet valid", p, "not valid before"});
  }
  cases.push_back({"payload an array", nlohmann::json::array({1, 2}), "missing claims"});
  for (const Case& c : cases) {
    EXPECT_THAT(service.Verify(SignedToken(header, c.payload.dump(), kSecret1), kNow),
                StatusIs(kUnauthenticated, HasSubstr(c.message)))
        << c.what;
  }
  EXPECT_THAT(service.Verify(SignedToken(header, "not json", kSecret1), kNow),
              StatusIs(kUnauthenticated, HasSubstr("missing claims")));
  nlohmann::json listed = ValidPayload();
  listed["aud"] = nlohmann::json::array({"another-app", "ecoact"});
  EXPECT_THAT(service.Verify(SignedToken(header, listed.dump(), kSecret1), kNow), IsOk());
}

TEST(TokenServiceTest, CreateRefusesTooShortSecrets) {
  EXPECT_THAT(TokenService::Create({{"k1", std::string(31, 'x')}}, "k1", kIssuer, absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'k1'")));
  EXPECT_THAT(TokenService::Create({{"k1", ""}}, "k1", kIssuer, absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A short secret is refused even if it is not the current key.
  EXPECT_THAT(TokenService::Create({{"k1", kSecret1}, {"old", "short"}}, "k1", kIssuer,
                                   absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'old'")));
  EXPECT_THAT(TokenService::Create({{"k1", std::string(32, 'x')}}, "k1", kIssuer, absl::Hours(1)),
              IsOk());
}

TEST(TokenServiceTest, CreateRefusesMissingCurrentKeyAndBadLifetime) {
  EXPECT_THAT(TokenService::Create({{"k1", kSecret1}}, "k2", kIssuer, absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'k2'")));
  EXPECT_THAT(TokenService::Create({}, "k1", kIssuer, absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TokenService::Create({{"k1", kSecret1}}, "k1", kIssuer, absl::ZeroDuration()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lifetime")));
  EXPECT_THAT(TokenService::Create({{"k1", kSecret1}}, "k1", kIssuer, -absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lifetime")));
}

TEST(TokenServiceTest, TokenFromAnotherIssuerWithTheSameKeyIsRejected) {
  TokenService ours = MakeService({{"k1", kSecret1}}, "k1");
  auto theirs = TokenService::Create({{"k1", kSecret1}}, "k1", "other-city", absl::Hours(1));
  ASSERT_THAT(theirs, IsOk());
  EXPECT_THAT(ours.Verify(theirs->Issue("acct-1", v1::ROLE_ADMIN, kNow), kNow),
              StatusIs(kUnauthenticated, HasSubstr("wrong issuer")));
}

}  // namespace
}  // namespace ecoact
