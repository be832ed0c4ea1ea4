// End to end over TLS: redis-server and the real ecoact_server run as
// processes with certificates made for the test (TestPki: a CA, a server and
// a client certificate, and an unrelated CA with its own). Real gRPC clients
// and the `ecoact` CLI connect with the right trust roots, the wrong ones,
// none, and with or without a client certificate; bad TLS flags must stop
// the server naming the flag; renewed certificate files must apply without
// a restart.
#include <cstdio>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ecoact/v1/actions.grpc.pb.h"
#include "ecoact/v1/identity.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/common/clock.h"
#include "services/common/tls.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"
#include "tests/support/test_pki.h"

namespace ecoact::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kAdminPassword[] = "tls-admin-password";

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServerProcess::Start({});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    auto pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
  }

  // Starts ecoact_server with TLS from server.pem, and mutual TLS when
  // `client_ca` is set; server_->channel() trusts ca.pem and, for mutual
  // TLS, presents client.pem.
  void StartServer(const std::string& client_ca = "", std::vector<std::string> extra_args = {}) {
    const bool mutual = !client_ca.empty();
    EcoactServerOptions options;
    options.binary = ECOACT_SERVER_BINARY;
    options.admin_password = kAdminPassword;
    options.extra_args = {"--tls_cert_file=" + pki_->Path("server.pem"),
                          "--tls_key_file=" + pki_->Path("server.key")};
    if (mutual) options.extra_args.push_back("--tls_client_ca_file=" + client_ca);
    options.extra_args.insert(options.extra_args.end(), extra_args.begin(), extra_args.end());
    options.client_tls.ca_file = pki_->ca();
    if (mutual) options.client_tls.cert_file = pki_->Path("client.pem");
    if (mutual) options.client_tls.key_file = pki_->Path("client.key");
    auto server = EcoactServerProcess::Start(*redis_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::string Target() const { return absl::StrCat("127.0.0.1:", server_->options().port); }

  // Client TLS options: trust `ca`, present `cert` (.pem and .key) if set.
  ChannelTlsOptions Tls(const std::string& ca, const std::string& cert = "",
                        const std::string& server_name = "") const {
    ChannelTlsOptions tls;
    tls.ca_file = ca;
    if (!cert.empty()) tls.cert_file = pki_->Path(cert + ".pem");
    if (!cert.empty()) tls.key_file = pki_->Path(cert + ".key");
    tls.server_name = server_name;
    return tls;
  }

  // A new channel to the server with `tls`.
  std::shared_ptr<grpc::Channel> Channel(const ChannelTlsOptions& tls) const {
    auto channel = OpenChannel(Target(), tls);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return channel.ok() ? *channel : nullptr;
  }

  // The server's log once it contains `text` (the start-up line is written
  // just after the port opens), or after 5 s.
  std::string LogWith(const std::string& text) const {
    std::string log;
    for (int i = 0; i < 50; ++i) {
      log = server_->process().ReadLog();
      if (log.find(text) != std::string::npos) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return log;
  }

  // A public call: how far a client gets without an account.
  static grpc::Status ListWards(const std::shared_ptr<grpc::Channel>& channel) {
    v1::ListWardsResponse response;
    return v1::IdentityService::NewStub(channel)->ListWards(
        CallContext("", absl::Seconds(5)).get(), v1::ListWardsRequest(), &response);
  }

  // Registers a citizen and records an action over `channel`.
  static void RegisterAndRecord(const std::shared_ptr<grpc::Channel>& channel) {
    v1::RegisterRequest request;
    request.set_request_id(absl::StrCat("tls-register-", Base32(RandomBytes(10))));
    request.set_nickname("Mika");
    request.set_ward("nakahara");
    v1::RegisterResponse registered;
    grpc::Status status =
        v1::IdentityService::NewStub(channel)->Register(CallContext().get(), request, &registered);
    ASSERT_TRUE(status.ok()) << status.error_message();
    v1::RecordActionRequest record;
    record.set_request_id(absl::StrCat("tls-record-", Base32(RandomBytes(10))));
    record.set_action_type("clothing_reuse");
    record.set_quantity(2.5);
    v1::RecordActionResponse recorded;
    status = v1::ActionsService::NewStub(channel)->RecordAction(
        CallContext(registered.token()).get(), record, &recorded);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Runs the CLI with `args` (shell words; `env` is put before the command)
  // and returns its output; `exit_code` receives its exit status.
  std::string Ecoact(const std::string& args, int* exit_code, const std::string& env = "") {
    const std::string command =
        absl::StrCat(env, " ", ECOACT_CLI_BINARY, " --server=", Target(), " --session=",
                     pki_->dir(), "/session.json ", args, " 2>&1");
    FILE* pipe = popen(command.c_str(), "r");
    EXPECT_NE(pipe, nullptr);
    std::string out;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
    const int status = pclose(pipe);
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::printf("$ %s ecoact %s\n%s\n", env.c_str(), args.c_str(), out.c_str());
    return out;
  }

  std::unique_ptr<RedisServerProcess> redis_;
  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<EcoactServerProcess> server_;
};

TEST_F(TlsTest, ClientTrustingTheCaSignsUpAndRecords) {
  StartServer();
  RegisterAndRecord(server_->channel());
  v1::SignInRequest request;
  request.set_account_id("admin");
  request.set_secret(kAdminPassword);
  v1::SignInResponse response;
  grpc::Status status = v1::IdentityService::NewStub(server_->channel())
                            ->SignIn(CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.token().empty());
  // The name checked in the certificate may differ from the address dialled.
  EXPECT_TRUE(ListWards(Channel(Tls(pki_->ca(), "", "localhost"))).ok());
  EXPECT_THAT(LogWith(R"("transport":"tls")"),
              AllOf(HasSubstr(R"("msg":"server started")"), HasSubstr(R"("transport":"tls")")));
}

TEST_F(TlsTest, PlaintextAndWrongTrustAreRefused) {
  StartServer();
  EXPECT_EQ(ListWards(Channel(ChannelTlsOptions())).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ListWards(Channel(Tls(pki_->other_ca()))).error_code(), grpc::StatusCode::UNAVAILABLE);
  // The certificate holds 127.0.0.1 and localhost, not this name.
  EXPECT_EQ(ListWards(Channel(Tls(pki_->ca(), "", "ecoact.example"))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(ListWards(server_->channel()).ok());
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificateFromTheClientCa) {
  StartServer(pki_->ca());
  RegisterAndRecord(server_->channel());
  EXPECT_EQ(ListWards(Channel(Tls(pki_->ca()))).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "no client certificate";
  EXPECT_EQ(ListWards(Channel(Tls(pki_->ca(), "other-client"))).error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "a client certificate from another CA";
  EXPECT_EQ(ListWards(Channel(ChannelTlsOptions())).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "plaintext";
  EXPECT_TRUE(ListWards(Channel(Tls(pki_->ca(), "client"))).ok());
  EXPECT_THAT(LogWith(R"("transport":"mtls")"), HasSubstr(R"("transport":"mtls")"));
}

TEST_F(TlsTest, BadTlsFlagsStopTheServerNamingTheFlag) {
  const std::string missing = pki_->Path("missing.pem");
  const std::string cert = "--tls_cert_file=", key = "--tls_key_file=";
  struct Case {
    std::vector<std::string> args;
    std::string expected;
    std::map<std::string, std::string> env;
  };
  const std::vector<Case> cases = {
      {{cert + pki_->Path("server.pem")}, "--tls_key_file", {}},
      {{cert + missing, key + pki_->Path("server.key")},
       "--tls_cert_file (ECOACT_TLS_CERT_FILE): cannot read", {}},
      {{cert + pki_->Path("server.key"), key + pki_->Path("server.key")},
       "--tls_cert_file (ECOACT_TLS_CERT_FILE): no PEM certificate", {}},
      {{cert + pki_->Path("server.pem"), key + pki_->Path("client.key")},
       "--tls_key_file (ECOACT_TLS_KEY_FILE): the key in", {}},
      {{cert + pki_->Path("server.pem"), key + pki_->Path("server.key"),
        "--tls_client_ca_file=" + pki_->Path("ca.key")},
       "--tls_client_ca_file (ECOACT_TLS_CLIENT_CA_FILE): no PEM certificate", {}},
      {{"--tls_client_ca_file=" + pki_->ca()}, "--tls_client_ca_file", {}},
      // The environment, as for every flag: a key of another certificate.
      {{},
       "--tls_key_file (ECOACT_TLS_KEY_FILE): the key in",
       {{"ECOACT_TLS_CERT_FILE", pki_->Path("client.pem")},
        {"ECOACT_TLS_KEY_FILE", pki_->Path("other-client.key")}}},
  };
  for (const Case& c : cases) {
    ProcessOptions process;
    process.binary = ECOACT_SERVER_BINARY;
    process.args = {"--listen=127.0.0.1:0", "--redis=" + redis_->address()};
    process.args.insert(process.args.end(), c.args.begin(), c.args.end());
    process.env = c.env;
    auto started = ProcessHandle::Start(process);
    ASSERT_TRUE(started.ok()) << started.status();
    auto exit = (*started)->Wait(absl::Seconds(10));
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->exit_code, 2) << exit->ToString();
    EXPECT_THAT((*started)->ReadLog(), HasSubstr(c.expected));
  }
}

TEST_F(TlsTest, CliConnectsWithTheCaAndAClientCertificate) {
  StartServer(pki_->ca());
  const std::string client = absl::StrCat("--tls_cert_file=", pki_->Path("client.pem"),
                                          " --tls_key_file=", pki_->Path("client.key"));
  int code = 0;
  std::string out =
      Ecoact(absl::StrCat("--tls_ca_file=", pki_->ca(), " ", client, " wards"), &code);
  EXPECT_EQ(code, 0);
  EXPECT_THAT(out, HasSubstr("nakahara"));
  // The trust roots from the environment, as for --server.
  out = Ecoact(absl::StrCat(client, " login --account=admin --secret=", kAdminPassword), &code,
               absl::StrCat("ECOACT_TLS_CA_FILE=", pki_->ca()));
  EXPECT_EQ(code, 0);
  EXPECT_THAT(out, HasSubstr("Signed in as admin"));

  out = Ecoact("wards", &code);
  EXPECT_EQ(code, 1) << "plaintext to a TLS port";
  EXPECT_THAT(out, HasSubstr("UNAVAILABLE"));
  out = Ecoact(absl::StrCat("--tls_ca_file=", pki_->ca(), " wards"), &code);
  EXPECT_EQ(code, 1) << "no client certificate";
  out = Ecoact(absl::StrCat("--tls_ca_file=", pki_->Path("missing.pem"), " wards"), &code);
  EXPECT_EQ(code, 2);
  EXPECT_THAT(out, HasSubstr("--tls_ca_file: cannot read"));
}

// The server reads its certificate files again every --tls_reload_interval:
// a certificate renewed in place (here: one from another CA, so that the
// change is visible to clients) serves new connections without a restart.
TEST_F(TlsTest, RenewedCertificateFilesApplyWithoutRestart) {
  const std::string live = pki_->Path("live");
  std::filesystem::create_directory(live);
  std::filesystem::copy_file(pki_->Path("server.pem"), live + "/tls.crt");
  std::filesystem::copy_file(pki_->Path("server.key"), live + "/tls.key");
  EcoactServerOptions options;
  options.binary = ECOACT_SERVER_BINARY;
  options.extra_args = {"--tls_cert_file=" + live + "/tls.crt",
                        "--tls_key_file=" + live + "/tls.key", "--tls_reload_interval=1s"};
  options.client_tls.ca_file = pki_->ca();
  auto server = EcoactServerProcess::Start(*redis_, options);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  ASSERT_TRUE(ListWards(Channel(Tls(pki_->ca()))).ok());
  ASSERT_EQ(ListWards(Channel(Tls(pki_->other_ca()))).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // Replace each file by a rename, as cert-manager's secret volume does.
  std::filesystem::copy_file(pki_->Path("other-server.key"), live + "/tls.key.new");
  std::filesystem::copy_file(pki_->Path("other-server.pem"), live + "/tls.crt.new");
  std::filesystem::rename(live + "/tls.key.new", live + "/tls.key");
  std::filesystem::rename(live + "/tls.crt.new", live + "/tls.crt");
  grpc::Status renewed;
  for (absl::Time until = absl::Now() + absl::Seconds(10); absl::Now() < until;) {
    renewed = ListWards(Channel(Tls(pki_->other_ca())));
    if (renewed.ok()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(renewed.ok()) << renewed.error_message();
  EXPECT_EQ(ListWards(Channel(Tls(pki_->ca()))).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "the old certificate still served";
  EXPECT_TRUE(server_->process().IsRunning());
}

// The client CA file is watched too: after it is replaced by another CA,
// that CA's client certificates are accepted and the old ones refused.
TEST_F(TlsTest, RenewedClientCaAppliesWithoutRestart) {
  const std::string client_ca = pki_->Path("client-ca.pem");
  std::filesystem::copy_file(pki_->ca(), client_ca);
  StartServer(client_ca, {"--tls_reload_interval=1s"});
  ASSERT_TRUE(ListWards(Channel(Tls(pki_->ca(), "client"))).ok());
  ASSERT_EQ(ListWards(Channel(Tls(pki_->ca(), "other-client"))).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  std::filesystem::copy_file(pki_->other_ca(), client_ca + ".new");
  std::filesystem::rename(client_ca + ".new", client_ca);
  grpc::Status renewed;
  for (absl::Time until = absl::Now() + absl::Seconds(10); absl::Now() < until;) {
    renewed = ListWards(Channel(Tls(pki_->ca(), "other-client")));
    if (renewed.ok()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(renewed.ok()) << renewed.error_message();
  EXPECT_EQ(ListWards(Channel(Tls(pki_->ca(), "client"))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace ecoact::test
