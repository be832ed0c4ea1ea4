// Asymmetric tokens across processes: the real ecoact_server signs ES256
// with a private key; a separate actions_server that holds only the public
// key (and no HS256 secret) accepts those tokens, refuses HS256 ones, and a
// server that must issue tokens will not start without a signing key.
#include <unistd.h>

#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "openssl/ec.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "openssl/pem.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace ecoact::test {
namespace {

using ::testing::HasSubstr;

constexpr char kServerSecret[] = "e2e-server-secret-0123456789abcdef";

class AsymmetricTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ecoact-tokens-e2e-XXXXXX";
    dir_ = mkdtemp(pattern);
    EVP_PKEY* key = EVP_EC_gen("P-256");
    ASSERT_NE(key, nullptr);
    private_pem_ = dir_ + "/signing.pem";
    public_pem_ = dir_ + "/signing.pub.pem";
    FILE* file = fopen(private_pem_.c_str(), "w");
    PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
    fclose(file);
    file = fopen(public_pem_.c_str(), "w");
    PEM_write_PUBKEY(file, key);
    fclose(file);
    EVP_PKEY_free(key);

    auto redis = RedisServerProcess::Start(RedisServerOptions());
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    // The issuer: every service, signing with the private key.
    EcoactServerOptions issuer;
    issuer.binary = ECOACT_SERVER_BINARY;
    issuer.extra_args = {"--token_signing_key=" + private_pem_,
                         std::string("--server_secret=") + kServerSecret};
    auto server = EcoactServerProcess::Start(*redis_, issuer);
    ASSERT_TRUE(server.ok()) << server.status();
    issuer_ = *std::move(server);
    // A verifier: the actions service alone, with the public key only.
    auto port = PickFreePort();
    ASSERT_TRUE(port.ok()) << port.status();
    ProcessOptions verifier;
    verifier.binary = ECOACT_ACTIONS_BINARY;
    verifier.args = {absl::StrCat("--listen=127.0.0.1:", *port), "--token_keys=",
                     "--token_verify_keys=" + public_pem_,
                     std::string("--server_secret=") + kServerSecret};
    verifier.env = {{"ECOACT_REDIS", redis_->address()},
                    {"ECOACT_KEY_PREFIX", issuer_->options().key_prefix}};
    verifier.unset_env = {"ECOACT_TOKEN_KEYS"};
    auto process = ProcessHandle::Start(verifier);
    ASSERT_TRUE(process.ok()) << process.status();
    verifier_ = *std::move(process);
    absl::Status up = verifier_->WaitForPort("127.0.0.1", *port, absl::Seconds(10));
    ASSERT_TRUE(up.ok()) << up << "\n" << verifier_->LogTail();
    verifier_channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port),
                                            grpc::InsecureChannelCredentials());
  }
  void TearDown() override { std::system(absl::StrCat("rm -rf '", dir_, "'").c_str()); }

  grpc::Status Impact(const std::string& token) {
    v1::GetMyImpactResponse response;
    return v1::ActionsService::NewStub(verifier_channel_)
        ->GetMyImpact(CallContext(token).get(), v1::GetMyImpactRequest(), &response);
  }

  std::string dir_, private_pem_, public_pem_;
  std::unique_ptr<RedisServerProcess> redis_;
  std::unique_ptr<EcoactServerProcess> issuer_;
  std::unique_ptr<ProcessHandle> verifier_;
  std::shared_ptr<grpc::Channel> verifier_channel_;
};

TEST_F(AsymmetricTokensTest, TokensSignedByOneServerAreVerifiedByAnother) {
  auto identity = v1::IdentityService::NewStub(issuer_->channel());
  v1::RegisterRequest request;
  request.set_request_id("e2e-tokens-register-0001");
  request.set_nickname("Mika");
  request.set_ward("nakahara");
  v1::RegisterResponse registered;
  grpc::Status status = identity->Register(CallContext().get(), request, &registered);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << issuer_->process().LogTail();

  std::vector<std::string> parts = absl::StrSplit(registered.token(), '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string header;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[0], &header));
  EXPECT_EQ(nlohmann::json::parse(header)["alg"], "ES256");
  std::printf("issued: header %s, refresh token %zu characters\n", header.c_str(),
              registered.refresh_token().size());

  status = Impact(registered.token());
  EXPECT_TRUE(status.ok()) << status.error_message() << "\n" << verifier_->LogTail();

  // A refreshed token works there too.
  v1::RefreshTokenRequest refresh;
  refresh.set_refresh_token(registered.refresh_token());
  v1::RefreshTokenResponse refreshed;
  ASSERT_TRUE(identity->RefreshToken(CallContext().get(), refresh, &refreshed).ok());
  EXPECT_TRUE(Impact(refreshed.token()).ok());

  // An HS256 token, even with the secret every e2e server used to share, is
  // not accepted by a server that holds no HMAC key.
  std::string input = absl::StrCat(
      absl::WebSafeBase64Escape(R"({"alg":"HS256","typ":"JWT","kid":"e2e"})"), ".", parts[1]);
  const std::string secret = "0123456789abcdef0123456789abcdef0123";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), secret.size(),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  std::string forged = absl::StrCat(
      input, ".", absl::WebSafeBase64Escape(std::string(reinterpret_cast<char*>(mac), length)));
  status = Impact(forged);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("unknown key"));
}

TEST_F(AsymmetricTokensTest, AServerThatIssuesTokensNeedsASigningKey) {
  ProcessOptions options;
  options.binary = ECOACT_SERVER_BINARY;
  options.args = {"--listen=127.0.0.1:1", "--token_keys=", "--token_verify_keys=" + public_pem_,
                  std::string("--server_secret=") + kServerSecret};
  options.env = {{"ECOACT_REDIS", redis_->address()}};
  auto process = ProcessHandle::Start(options);
  ASSERT_TRUE(process.ok()) << process.status();
  auto exit = (*process)->Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->exit_code, 2);
  EXPECT_THAT((*process)->ReadLog(), HasSubstr("--token_signing_key"));
}

}  // namespace
}  // namespace ecoact::test
