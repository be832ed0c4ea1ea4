// Refresh tokens and OpenID Connect sign-in through the real gRPC API on a
// real Redis: rotation, reuse detection, the retry grace, sign-out,
// expiry, deletion; ID tokens signed by a test "provider" with its own RSA
// key and JWKS file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "openssl/bn.h"
#include "openssl/core_names.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "openssl/sha.h"
#include "openssl/rsa.h"
#include "services/identity/privacy_store.h"
#include "tests/support/stack.h"
#include "tests/support/status_matchers.h"

namespace ecoact::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr grpc::StatusCode kUnauthenticated = grpc::StatusCode::UNAUTHENTICATED;

std::string B64(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

class SessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stack = Stack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  v1::SignInResponse SignIn(const Citizen& citizen) {
    v1::SignInRequest request;
    request.set_account_id(citizen.account_id);
    request.set_secret(citizen.secret);
    v1::SignInResponse response;
    EXPECT_THAT(stack_->identity()->SignIn(Stack::Context().get(), request, &response),
                StatusIs(grpc::StatusCode::OK));
    return response;
  }

  grpc::Status Refresh(const std::string& refresh_token, v1::RefreshTokenResponse* response) {
    v1::RefreshTokenRequest request;
    request.set_refresh_token(refresh_token);
    return stack_->identity()->RefreshToken(Stack::Context().get(), request, response);
  }

  grpc::Status Profile(const std::string& token) {
    v1::Profile profile;
    return stack_->identity()->GetMyProfile(Stack::Context(token).get(), v1::GetMyProfileRequest(),
                                            &profile);
  }

  std::unique_ptr<Stack> stack_;
};

TEST_F(SessionsTest, SignInReturnsShortAccessAndLongRefreshTokens) {
  Citizen citizen = stack_->Register("Mika", "nakahara");
  v1::SignInResponse session = SignIn(citizen);
  EXPECT_THAT(session.refresh_token(), ::testing::StartsWith("rt1."));
  const int64_t now_s = absl::ToUnixSeconds(stack_->now());
  EXPECT_EQ(session.token_expires_at().seconds() - now_s,
            absl::ToInt64Seconds(stack_->tokens().lifetime()));
  EXPECT_EQ(session.refresh_token_expires_at().seconds() - now_s, 30 * 24 * 3600);
  // Redis keeps a hash, never the token or its secret.
  auto stored = stack_->redis().Command(
      {"HGETALL", stack_->keys().RefreshFamilies(citizen.account_id)});
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->elements.size(), 4u);  // Register's family and SignIn's
  const std::string secret = session.refresh_token().substr(session.refresh_token().rfind('.') + 1);
  for (const auto& element : stored->elements) EXPECT_THAT(element.str, Not(HasSubstr(secret)));
}

TEST_F(SessionsTest, RefreshRotatesAndTheNewAccessTokenWorks) {
  Citizen citizen = stack_->Register("Mika", "nakahara");
  v1::SignInResponse session = SignIn(citizen);
  stack_->set_now(stack_->now() + stack_->tokens().lifetime() + absl::Minutes(1));  // expired
  EXPECT_THAT(Profile(session.token()), StatusIs(kUnauthenticated, HasSubstr("expired")));

  v1::RefreshTokenResponse first;
  ASSERT_THAT(Refresh(session.refresh_token(), &first), StatusIs(grpc::StatusCode::OK));
  EXPECT_NE(first.refresh_token(), session.refresh_token());
  EXPECT_THAT(Profile(first.token()), StatusIs(grpc::StatusCode::OK));
  EXPECT_EQ(first.refresh_token_expires_at().seconds(),
            absl::ToUnixSeconds(stack_->now() + absl::Hours(24 * 30)));

  // And the next one: a chain of single-use tokens.
  v1::RefreshTokenResponse second;
  ASSERT_THAT(Refresh(first.refresh_token(), &second), StatusIs(grpc::StatusCode::OK));
  EXPECT_NE(second.refresh_token(), first.refresh_token());
  EXPECT_THAT(Profile(second.token()), StatusIs(grpc::StatusCode::OK));
}

TEST_F(SessionsTest, ARetryWithinTheGraceGetsTheSameNewToken) {
  Citizen citizen = stack_->Register("Mika", "nakahara");
  v1::SignInResponse session = SignIn(citizen);
  v1::RefreshTokenResponse lost, retried;
  ASSERT_THAT(Refresh(session.refresh_token(), &lost), StatusIs(grpc::StatusCode::OK));
  stack_->set_now(stack_->now() + absl::Seconds(20));
  ASSERT_THAT(Refresh(session.refresh_token(), &retried), StatusIs(grpc::StatusCode::OK));
  EXPECT_EQ(retried.refresh_token(), lost.refresh_token());
  EXPECT_THAT(Profile(retried.token()), StatusIs(grpc::StatusCode::OK));
  // The chain goes on from that token.
  v1::RefreshTokenResponse next;
  EXPECT_THAT(Refresh(retried.refresh_token(), &next), StatusIs(grpc::StatusCode::OK));
}

TEST_F(SessionsTest, ReuseRevokesTheWholeChain) {
  Citizen citizen = stack_->Register("Mika", "nakahara");
  v1::SignInResponse phone = SignIn(citizen);
  v1::SignInResponse tablet = SignIn(citizen);
  v1::RefreshTokenResponse legit, ignored;
  ASSERT_THAT(Refresh(phone.refresh_token(), &legit), StatusIs(grpc::StatusCode::OK));
  // A thief replays the old token after the grace period.
  stack_->set_now(stack_->now() + absl::Minutes(1));
  EXPECT_THAT(Refresh(phone.refresh_token(), &ignored),
              StatusIs(kUnauthenticated, HasSubstr("already used")));
  // The legitimate holder's newer token died with the chain...
  EXPECT_THAT(Refresh(legit.refresh_token(), &ignored),
              StatusIs(kUnauthenticated, HasSubstr("unknown or revoked")));
  // ...and the other device's sign-in is untouched.
  EXPECT_THAT(Refresh(tablet.refresh_token(), &ignored), StatusIs(grpc::StatusCode::OK));

  // Within the grace, an old token whose successor was already used is
  // reuse as well.
  v1::SignInResponse laptop = SignIn(citizen);
  v1::RefreshTokenResponse a, b;
  ASSERT_THAT(Refresh(laptop.refresh_token(), &a), StatusIs(grpc::StatusCode::OK));
  ASSERT_THAT(Refresh(a.refresh_token(), &b), StatusIs(grpc::StatusCode::OK));
  EXPECT_THAT(Refresh(laptop.refresh_token(), &ignored),
              StatusIs(kUnauthenticated, HasSubstr("already used")));
  EXPECT_THAT(Refresh(b.refresh_token(), &ignored), StatusIs(kUnauthenticated));
}

TEST_F(SessionsTest, ForgedMalformedAndExpiredRefreshTokens) {
  Citizen citizen = stack_->Register("Mika", "nakahara");
  v1::SignInResponse session = SignIn(citizen);
  v1::RefreshTokenResponse ignored;
  for (const std::string& bad :
       {std::string(""), std::string("rt1.abc"), session.token(),
        absl::StrCat(session.refresh_token(), "x"), std::string("rt2.") + session.refresh_token().substr(4)}) {
    EXPECT_THAT(Refresh(bad, &ignored),
                StatusIs(kUnauthenticated, HasSubstr("not an ecoact refresh token")))
        << bad;
  }
  // Another account's id with this family: unknown there.
  std::string other = absl::StrCat("rt1.", B64("u0000000000000000000"),
                                   session.refresh_token().substr(session.refresh_token().find('.', 4)));
  EXPECT_THAT(Refresh(other, &ignored), StatusIs(kUnauthenticated, HasSubstr("unknown")));

  stack_->set_now(stack_->now() + absl::Hours(24 * 30) + absl::Seconds(1));
  EXPECT_THAT(Refresh(session.refresh_token(), &ignored),
              StatusIs(kUnauthenticated, HasSubstr("expired")));
}

TEST_F(SessionsTest, SignOutRevokesAndIsIdempotent) {
  Citizen citizen = stack_->Register("Mika", "nakahara");
  v1::SignInResponse session = SignIn(citizen);
  v1::SignOutRequest request;
  request.set_refresh_token(session.refresh_token());
  v1::SignOutResponse out;
  ASSERT_THAT(stack_->identity()->SignOut(Stack::Context().get(), request, &out),
              StatusIs(grpc::StatusCode::OK));
  EXPECT_THAT(stack_->identity()->SignOut(Stack::Context().get(), request, &out),
              StatusIs(grpc::StatusCode::OK));
  v1::RefreshTokenResponse ignored;
  EXPECT_THAT(Refresh(session.refresh_token(), &ignored),
              StatusIs(kUnauthenticated, HasSubstr("unknown or revoked")));
  request.set_refresh_token("not-a-token");
  EXPECT_THAT(stack_->identity()->SignOut(Stack::Context().get(), request, &out),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
}

// Every old token of a chain carries the account and family ids: only the
// current secret (or the previous one within the retry grace) signs out.
TEST_F(SessionsTest, AnOldTokenOfTheChainCannotSignOut) {
  Citizen citizen = stack_->Register("Mika", "nakahara");
  v1::SignInResponse session = SignIn(citizen);
  v1::RefreshTokenResponse current;
  ASSERT_THAT(Refresh(session.refresh_token(), &current), StatusIs(grpc::StatusCode::OK));
  stack_->set_now(stack_->now() + absl::Minutes(1));  // past the grace
  v1::SignOutRequest request;
  request.set_refresh_token(session.refresh_token());
  v1::SignOutResponse out;
  EXPECT_THAT(stack_->identity()->SignOut(Stack::Context().get(), request, &out),
              StatusIs(kUnauthenticated, HasSubstr("not the current token")));
  // A forged secret neither.
  std::string forged = current.refresh_token();
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  request.set_refresh_token(forged);
  EXPECT_THAT(stack_->identity()->SignOut(Stack::Context().get(), request, &out),
              StatusIs(kUnauthenticated));
  // The owner is still signed in, and the sign-out attempt was no refresh:
  // the chain was not revoked as a reuse either.
  v1::RefreshTokenResponse next;
  ASSERT_THAT(Refresh(current.refresh_token(), &next), StatusIs(grpc::StatusCode::OK));

  // Within the grace, the token just replaced still signs out (a client
  // that lost the refresh reply).
  request.set_refresh_token(current.refresh_token());
  EXPECT_THAT(stack_->identity()->SignOut(Stack::Context().get(), request, &out),
              StatusIs(grpc::StatusCode::OK));
  v1::RefreshTokenResponse ignored;
  EXPECT_THAT(Refresh(next.refresh_token(), &ignored),
              StatusIs(kUnauthenticated, HasSubstr("unknown or revoked")));
}

TEST_F(SessionsTest, DeletingTheAccountRevokesEveryRefreshToken) {
  Citizen citizen = stack_->Register("Mika", "nakahara");
  v1::SignInResponse a = SignIn(citizen), b = SignIn(citizen);
  v1::DeleteMyAccountRequest request;
  request.set_request_id("delete-0001-0002");
  request.set_confirm_account_id(citizen.account_id);
  v1::DeleteMyAccountResponse deleted;
  ASSERT_THAT(stack_->identity()->DeleteMyAccount(Stack::Context(a.token()).get(), request, &deleted),
              StatusIs(grpc::StatusCode::OK));
  v1::RefreshTokenResponse ignored;
  EXPECT_THAT(Refresh(a.refresh_token(), &ignored), StatusIs(kUnauthenticated, HasSubstr("deleted")));
  EXPECT_THAT(Refresh(b.refresh_token(), &ignored), StatusIs(kUnauthenticated, HasSubstr("deleted")));
  auto exists = stack_->redis().Command({"EXISTS", stack_->keys().RefreshFamilies(citizen.account_id)});
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->integer, 0);
}

// The deletion script itself ends every sign-in (DESIGN invariant 4: a
// multi-key update is one script), not a later step that may never run.
TEST_F(SessionsTest, TheDeletionScriptRevokesTheSignInsInTheSameStep) {
  Citizen citizen = stack_->Register("Mika", "nakahara");
  v1::SignInResponse session = SignIn(citizen);
  const std::string families = stack_->keys().RefreshFamilies(citizen.account_id);
  identity::RedisPrivacyStore privacy(&stack_->redis(), stack_->keys());
  ASSERT_TRUE(privacy.Delete(citizen.account_id, "delete-0003-0004", stack_->now()).ok());
  auto exists = stack_->redis().Command({"EXISTS", families});
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->integer, 0);
  // A retry of the same deletion is still a success.
  auto retried = privacy.Delete(citizen.account_id, "delete-0003-0004", stack_->now());
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(*retried, identity::DeleteOutcome::kReplayed);
}

TEST_F(SessionsTest, StaffKeepTheirRoleThroughRefresh) {
  v1::SignInRequest request;
  request.set_account_id("admin");
  request.set_secret(Stack::kAdminPassword);
  v1::SignInResponse admin;
  ASSERT_THAT(stack_->identity()->SignIn(Stack::Context().get(), request, &admin),
              StatusIs(grpc::StatusCode::OK));
  v1::RefreshTokenResponse refreshed;
  ASSERT_THAT(Refresh(admin.refresh_token(), &refreshed), StatusIs(grpc::StatusCode::OK));
  auto claims = stack_->tokens().Verify(refreshed.token(), stack_->now());
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->role, v1::ROLE_ADMIN);
  EXPECT_EQ(claims->subject, "admin");
}

// However often it is refreshed, a staff or admin sign-in ends 12 hours
// after it began (--session_max_age_staff), a citizen's after 90 days.
TEST_F(SessionsTest, AStaffSignInEndsAfterItsMaximumAgeDespiteRefreshes) {
  v1::SignInRequest request;
  request.set_account_id("admin");
  request.set_secret(Stack::kAdminPassword);
  v1::SignInResponse admin;
  ASSERT_THAT(stack_->identity()->SignIn(Stack::Context().get(), request, &admin),
              StatusIs(grpc::StatusCode::OK));
  const absl::Time born = stack_->now();
  // The refresh token says so from the start.
  EXPECT_EQ(admin.refresh_token_expires_at().seconds(),
            absl::ToUnixSeconds(born + absl::Hours(12)));
  std::string token = admin.refresh_token();
  for (int hour = 4; hour <= 12; hour += 4) {
    stack_->set_now(born + absl::Hours(hour) - absl::Seconds(1));
    v1::RefreshTokenResponse refreshed;
    ASSERT_THAT(Refresh(token, &refreshed), StatusIs(grpc::StatusCode::OK)) << hour;
    EXPECT_EQ(refreshed.refresh_token_expires_at().seconds(),
              absl::ToUnixSeconds(born + absl::Hours(12)));
    token = refreshed.refresh_token();
  }
  stack_->set_now(born + absl::Hours(12) + absl::Seconds(1));
  v1::RefreshTokenResponse ignored;
  EXPECT_THAT(Refresh(token, &ignored),
              StatusIs(kUnauthenticated, HasSubstr("this sign-in is older than 12h")));
  // The family is gone.
  EXPECT_THAT(Refresh(token, &ignored), StatusIs(kUnauthenticated, HasSubstr("unknown")));
}

TEST_F(SessionsTest, ACitizenSignInEndsAfterNinetyDaysDespiteRefreshes) {
  Citizen citizen = stack_->Register("Mika", "nakahara");
  v1::SignInResponse session = SignIn(citizen);
  const absl::Time born = stack_->now();
  std::string token = session.refresh_token();
  for (int day = 20; day <= 80; day += 20) {
    stack_->set_now(born + absl::Hours(24 * day));
    v1::RefreshTokenResponse refreshed;
    ASSERT_THAT(Refresh(token, &refreshed), StatusIs(grpc::StatusCode::OK)) << day;
    token = refreshed.refresh_token();
    // Never beyond the sign-in's 90 days.
    EXPECT_EQ(refreshed.refresh_token_expires_at().seconds(),
              absl::ToUnixSeconds(std::min(stack_->now() + absl::Hours(24 * 30),
                                           born + absl::Hours(24 * 90))));
  }
  stack_->set_now(born + absl::Hours(24 * 90) + absl::Seconds(1));
  v1::RefreshTokenResponse ignored;
  EXPECT_THAT(Refresh(token, &ignored),
              StatusIs(kUnauthenticated, HasSubstr("this sign-in is older than 2160h")));
}

// A family stored before families recorded their birth counts as too old:
// the safe choice (docs/security.md, "Upgrading").
TEST_F(SessionsTest, AFamilyWithoutBirthTimeIsRefused) {
  Citizen citizen = stack_->Register("Mika", "nakahara");
  v1::SignInResponse session = SignIn(citizen);
  const std::string key = stack_->keys().RefreshFamilies(citizen.account_id);
  const std::string& rt = session.refresh_token();
  const size_t secret_dot = rt.rfind('.');
  const std::string family = rt.substr(rt.rfind('.', secret_dot - 1) + 1,
                                       secret_dot - rt.rfind('.', secret_dot - 1) - 1);
  auto stored = stack_->redis().Command({"HGET", key, family});
  ASSERT_TRUE(stored.ok());
  nlohmann::json f = nlohmann::json::parse(stored->str);
  ASSERT_TRUE(f.contains("born"));
  f.erase("born");
  ASSERT_TRUE(stack_->redis().Command({"HSET", key, family, f.dump()}).ok());
  v1::RefreshTokenResponse ignored;
  EXPECT_THAT(Refresh(rt, &ignored), StatusIs(kUnauthenticated, HasSubstr("older than")));
}

TEST_F(SessionsTest, OidcIsUnimplementedWithoutAProvider) {
  v1::SignInWithOidcRequest request;
  request.set_id_token("a.b.c");
  v1::SignInWithOidcResponse response;
  EXPECT_THAT(stack_->identity()->SignInWithOidc(Stack::Context().get(), request, &response),
              StatusIs(grpc::StatusCode::UNIMPLEMENTED, HasSubstr("--oidc_issuer")));
}

// ------------------------------------------------------------------ OIDC

constexpr char kIssuer[] = "https://login.example-city.jp";
constexpr char kAudience[] = "ecoact-app";

class OidcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ecoact-oidc-XXXXXX";
    dir_ = mkdtemp(pattern);
    key_.reset(EVP_RSA_gen(2048), EVP_PKEY_free);
    other_key_.reset(EVP_RSA_gen(2048), EVP_PKEY_free);
    jwks_path_ = dir_ + "/jwks.json";
    WriteJwks({{"p-1", key_.get()}});
    auto provider = identity::OidcProvider::Create(kIssuer, kAudience, jwks_path_);
    ASSERT_TRUE(provider.ok()) << provider.status();
    auto stack = Stack::Start(nullptr, "0", std::shared_ptr<identity::OidcProvider>(*std::move(provider)));
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }
  void TearDown() override { std::system(absl::StrCat("rm -rf '", dir_, "'").c_str()); }

  static std::string BigNum(EVP_PKEY* key, const char* name) {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(key, name, &bn);
    std::string out(BN_num_bytes(bn), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    BN_free(bn);
    return out;
  }

  void WriteJwks(const std::vector<std::pair<std::string, EVP_PKEY*>>& keys) {
    nlohmann::json jwks = {{"keys", nlohmann::json::array()}};
    for (const auto& [kid, key] : keys) {
      jwks["keys"].push_back({{"kty", "RSA"}, {"kid", kid}, {"use", "sig"}, {"alg", "RS256"},
                              {"n", B64(BigNum(key, OSSL_PKEY_PARAM_RSA_N))},
                              {"e", B64(BigNum(key, OSSL_PKEY_PARAM_RSA_E))}});
    }
    std::string temp = jwks_path_ + ".tmp";
    std::ofstream(temp) << jwks.dump();
    std::rename(temp.c_str(), jwks_path_.c_str());
  }

  nlohmann::json Claims(const std::string& sub) {
    const int64_t now = absl::ToUnixSeconds(stack_->now());
    return {{"iss", kIssuer}, {"aud", kAudience}, {"sub", sub}, {"iat", now},
            {"exp", now + 300}, {"email", "mika@example.jp"}};
  }

  // Signed RS256 by the test's provider key (or another).
  static std::string IdToken(const nlohmann::json& claims, const std::string& kid, EVP_PKEY* key) {
    std::string input = absl::StrCat(
        B64(nlohmann::json({{"alg", "RS256"}, {"typ", "JWT"}, {"kid", kid}}).dump()), ".",
        B64(claims.dump()));
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t length = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    std::string signature(length, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    return absl::StrCat(input, ".", B64(signature.substr(0, length)));
  }

  grpc::Status SignIn(const std::string& id_token, v1::SignInWithOidcResponse* response,
                      const std::string& nickname = "", const std::string& ward = "") {
    v1::SignInWithOidcRequest request;
    request.set_id_token(id_token);
    request.set_nickname(nickname);
    request.set_ward(ward);
    return stack_->identity()->SignInWithOidc(Stack::Context().get(), request, response);
  }

  // The link key of a subject of the test provider, computed here:
  // HMAC-SHA256 keyed with the stack's server secret, domain-separated.
  static std::string LinkKey(const std::string& sub) {
    const std::string key(40, 'k');  // tests/support/stack.cc
    const std::string input = absl::StrCat("oidc:", kIssuer, "\n", sub);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
    return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), length));
  }

  std::string dir_;
  std::string jwks_path_;
  std::shared_ptr<EVP_PKEY> key_, other_key_;
  std::unique_ptr<Stack> stack_;
};

TEST_F(OidcTest, FirstSignInCreatesTheAccountLaterOnesFindIt) {
  const std::string token = IdToken(Claims("google-oauth2|1234"), "p-1", key_.get());
  v1::SignInWithOidcResponse response;
  EXPECT_THAT(SignIn(token, &response),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("nickname and ward")));
  EXPECT_THAT(SignIn(token, &response, "Mika"),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("give ward")));
  EXPECT_THAT(SignIn(token, &response, "Mika", "atlantis"), StatusIs(grpc::StatusCode::NOT_FOUND));

  ASSERT_THAT(SignIn(token, &response, "Mika", "nakahara"), StatusIs(grpc::StatusCode::OK));
  EXPECT_TRUE(response.created());
  const std::string account = response.profile().account_id();
  EXPECT_EQ(response.profile().nickname(), "Mika");
  EXPECT_EQ(response.profile().role(), v1::ROLE_CITIZEN);
  v1::Profile profile;
  EXPECT_THAT(stack_->identity()->GetMyProfile(Stack::Context(response.token()).get(),
                                               v1::GetMyProfileRequest(), &profile),
              StatusIs(grpc::StatusCode::OK));
  v1::RefreshTokenRequest refresh;
  refresh.set_refresh_token(response.refresh_token());
  v1::RefreshTokenResponse refreshed;
  EXPECT_THAT(stack_->identity()->RefreshToken(Stack::Context().get(), refresh, &refreshed),
              StatusIs(grpc::StatusCode::OK));

  // Again, with and without profile fields: the same account, unchanged.
  v1::SignInWithOidcResponse again;
  ASSERT_THAT(SignIn(token, &again, "Other", "kawasaki"), StatusIs(grpc::StatusCode::OK));
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.profile().account_id(), account);
  EXPECT_EQ(again.profile().nickname(), "Mika");
  ASSERT_THAT(SignIn(token, &again), StatusIs(grpc::StatusCode::OK));
  EXPECT_EQ(again.profile().account_id(), account);

  // Another subject is another account. Nothing of the ID token but the
  // hashed identity is stored.
  v1::SignInWithOidcResponse other;
  ASSERT_THAT(SignIn(IdToken(Claims("google-oauth2|5678"), "p-1", key_.get()), &other, "Ken",
                     "saiwai"),
              StatusIs(grpc::StatusCode::OK));
  EXPECT_NE(other.profile().account_id(), account);
  auto fields = stack_->redis().Command({"HGETALL", stack_->keys().Account(account)});
  ASSERT_TRUE(fields.ok());
  for (const auto& field : fields->elements) {
    // The subject, not "1234" alone: a millisecond timestamp field holds
    // those digits now and then (it failed a CI run at 1796035912345).
    EXPECT_THAT(field.str, Not(HasSubstr("oauth2|1234")));
    EXPECT_THAT(field.str, Not(HasSubstr("oauth2")));
    EXPECT_THAT(field.str, Not(HasSubstr("example")));
  }
}

// Knowing a person's provider subject (often public, or shared with other
// services) must not find their ecoact account: the link key is keyed with
// the server secret, not a plain hash of the identity.
TEST_F(OidcTest, TheLinkKeyIsKeyedWithTheServerSecret) {
  v1::SignInWithOidcResponse response;
  ASSERT_THAT(SignIn(IdToken(Claims("public-subject"), "p-1", key_.get()), &response, "Mika",
                     "nakahara"),
              StatusIs(grpc::StatusCode::OK));
  auto linked = stack_->redis().Command({"GET", stack_->keys().OidcLink(LinkKey("public-subject"))});
  ASSERT_TRUE(linked.ok());
  EXPECT_EQ(linked->str, response.profile().account_id());
  // What anyone could compute from the identity alone leads nowhere.
  const std::string identity = absl::StrCat(kIssuer, "\n", "public-subject");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(identity.data()), identity.size(), digest);
  const std::string plain = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  auto unkeyed = stack_->redis().Command({"EXISTS", stack_->keys().OidcLink(plain)});
  ASSERT_TRUE(unkeyed.ok());
  EXPECT_EQ(unkeyed->integer, 0);
}

TEST_F(OidcTest, InvalidIdTokensAreRejected) {
  v1::SignInWithOidcResponse response;
  struct Case {
    std::string what;
    std::string token;
    std::string message;
  };
  nlohmann::json wrong_issuer = Claims("s"), wrong_audience = Claims("s"), expired = Claims("s"),
                 no_subject = Claims("s"), audience_list = Claims("s");
  wrong_issuer["iss"] = "https://evil.example";
  wrong_audience["aud"] = "another-client";
  expired["exp"] = absl::ToUnixSeconds(stack_->now() - absl::Minutes(5));
  no_subject.erase("sub");
  std::vector<Case> cases = {
      {"wrong issuer", IdToken(wrong_issuer, "p-1", key_.get()), "wrong issuer"},
      {"wrong audience", IdToken(wrong_audience, "p-1", key_.get()), "wrong audience"},
      {"expired", IdToken(expired, "p-1", key_.get()), "expired"},
      {"unknown kid", IdToken(Claims("s"), "p-2", other_key_.get()), "unknown key"},
      {"another key, our kid", IdToken(Claims("s"), "p-1", other_key_.get()), "bad signature"},
      {"no subject", IdToken(no_subject, "p-1", key_.get()), "no subject"},
      {"garbage", "not-a-jwt", "not a JWT"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(SignIn(c.token, &response, "Mika", "nakahara"),
                StatusIs(kUnauthenticated, ::testing::AllOf(HasSubstr("invalid ID token"),
                                                            HasSubstr(c.message))))
        << c.what;
  }
  // An ecoact access token is not an ID token of the provider.
  Citizen citizen = stack_->Register("Mika", "nakahara");
  EXPECT_THAT(SignIn(citizen.token, &response, "Mika", "nakahara"),
              StatusIs(kUnauthenticated, HasSubstr("unknown key")));
  // An audience list naming us is accepted.
  audience_list["aud"] = nlohmann::json::array({"someone", kAudience});
  EXPECT_THAT(SignIn(IdToken(audience_list, "p-1", key_.get()), &response, "Mika", "nakahara"),
              StatusIs(grpc::StatusCode::OK));
}

TEST_F(OidcTest, ProviderKeyRotationIsPickedUpFromTheFile) {
  const std::string token = IdToken(Claims("rotating"), "p-2", other_key_.get());
  v1::SignInWithOidcResponse response;
  EXPECT_THAT(SignIn(token, &response, "Mika", "nakahara"),
              StatusIs(kUnauthenticated, HasSubstr("unknown key")));
  // The provider publishes its new key; a job rewrites the file.
  sleep(1);  // a new modification time even on coarse file systems
  WriteJwks({{"p-1", key_.get()}, {"p-2", other_key_.get()}});
  EXPECT_THAT(SignIn(token, &response, "Mika", "nakahara"), StatusIs(grpc::StatusCode::OK));
}

// A key the provider withdrew stops being trusted: the file is checked at
// most every 30 s even when tokens name only keys it already holds.
TEST_F(OidcTest, AWithdrawnProviderKeyStopsBeingTrusted) {
  v1::SignInWithOidcResponse response;
  ASSERT_THAT(SignIn(IdToken(Claims("withdrawn"), "p-1", key_.get()), &response, "Mika",
                     "nakahara"),
              StatusIs(grpc::StatusCode::OK));
  sleep(1);  // a new modification time even on coarse file systems
  WriteJwks({{"p-2", other_key_.get()}});  // p-1 withdrawn (say, it leaked)
  stack_->set_now(stack_->now() + absl::Seconds(31));
  EXPECT_THAT(SignIn(IdToken(Claims("withdrawn"), "p-1", key_.get()), &response),
              StatusIs(kUnauthenticated, HasSubstr("unknown key")));
  EXPECT_THAT(SignIn(IdToken(Claims("withdrawn"), "p-2", other_key_.get()), &response),
              StatusIs(grpc::StatusCode::OK));
}

// A file that fails to load (a job halfway through writing it) keeps the
// previous keys and is tried again at the next check, even if the good file
// that replaces it has the same modification time.
TEST_F(OidcTest, ABrokenKeyFileKeepsTheOldKeysAndIsRetried) {
  const struct timespec fixed[2] = {{1700000000, 0}, {1700000000, 0}};
  std::ofstream(jwks_path_, std::ios::trunc) << "{\"keys\": [";
  ASSERT_EQ(utimensat(AT_FDCWD, jwks_path_.c_str(), fixed, 0), 0);
  v1::SignInWithOidcResponse response;
  // An unknown key makes it read the file now: broken, the old keys stay.
  EXPECT_THAT(SignIn(IdToken(Claims("broken"), "p-9", other_key_.get()), &response),
              StatusIs(kUnauthenticated, HasSubstr("unknown key")));
  EXPECT_THAT(SignIn(IdToken(Claims("broken"), "p-1", key_.get()), &response, "Mika",
                     "nakahara"),
              StatusIs(grpc::StatusCode::OK));
  WriteJwks({{"p-2", other_key_.get()}});
  ASSERT_EQ(utimensat(AT_FDCWD, jwks_path_.c_str(), fixed, 0), 0);
  EXPECT_THAT(SignIn(IdToken(Claims("broken"), "p-2", other_key_.get()), &response),
              StatusIs(grpc::StatusCode::OK));
  EXPECT_THAT(SignIn(IdToken(Claims("broken"), "p-1", key_.get()), &response),
              StatusIs(kUnauthenticated, HasSubstr("unknown key")));
}

TEST_F(OidcTest, AfterDeletionTheIdentityStartsANewAccount) {
  const std::string token = IdToken(Claims("leaving"), "p-1", key_.get());
  v1::SignInWithOidcResponse first;
  ASSERT_THAT(SignIn(token, &first, "Mika", "nakahara"), StatusIs(grpc::StatusCode::OK));
  auto linked = stack_->redis().Command(
      {"GET", stack_->keys().OidcLink(LinkKey("leaving"))});
  ASSERT_TRUE(linked.ok());
  EXPECT_EQ(linked->str, first.profile().account_id());
  v1::DeleteMyAccountRequest request;
  request.set_request_id("delete-oidc-0001");
  request.set_confirm_account_id(first.profile().account_id());
  v1::DeleteMyAccountResponse deleted;
  ASSERT_THAT(stack_->identity()->DeleteMyAccount(Stack::Context(first.token()).get(), request,
                                                  &deleted),
              StatusIs(grpc::StatusCode::OK));
  // The link (the hashed identity) went with the account.
  auto link = stack_->redis().Command(
      {"EXISTS", stack_->keys().OidcLink(LinkKey("leaving"))});
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->integer, 0);
  v1::SignInWithOidcResponse again;
  EXPECT_THAT(SignIn(token, &again),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("nickname")));
  ASSERT_THAT(SignIn(token, &again, "Mika2", "nakahara"), StatusIs(grpc::StatusCode::OK));
  EXPECT_TRUE(again.created());
  EXPECT_NE(again.profile().account_id(), first.profile().account_id());
}

}  // namespace
}  // namespace ecoact::test
