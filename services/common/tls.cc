#include "services/common/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace ecoact {
namespace {

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Certificate = std::unique_ptr<X509, X509Free>;
using PrivateKey = std::unique_ptr<EVP_PKEY, KeyFree>;

// An encrypted key is reported as unusable instead of OpenSSL asking for a
// passphrase on the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

// `flag` names the flag in messages, e.g. "--tls_cert_file (ECOACT_TLS_CERT_FILE)".
absl::StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read '", path, "': ", std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (content.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": '", path, "' is empty"));
  }
  return content.str();
}

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in the PEM text, in order; INVALID_ARGUMENT when none.
absl::StatusOr<std::vector<Certificate>> ParseCertificates(const std::string& flag,
                                                           const std::string& path,
                                                           const std::string& pem) {
  std::vector<Certificate> certificates;
  auto bio = MemoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    certificates.emplace_back(cert);
  }
  ERR_clear_error();  // the end of the text reads as an error
  if (certificates.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": no PEM certificate in '", path, "'"));
  }
  return certificates;
}

// OK when `key_pem` holds an unencrypted private key that belongs to the
// first certificate of `cert_pem`.
absl::Status CheckKeyPair(const std::string& cert_flag, const std::string& cert_path,
                          const std::string& key_flag, const std::string& key_path) {
  auto cert_pem = ReadPemFile(cert_flag, cert_path);
  if (!cert_pem.ok()) return cert_pem.status();
  auto certificates = ParseCertificates(cert_flag, cert_path, *cert_pem);
  if (!certificates.ok()) return certificates.status();
  auto key_pem = ReadPemFile(key_flag, key_path);
  if (!key_pem.ok()) return key_pem.status();
  auto bio = MemoryBio(*key_pem);
  PrivateKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        key_flag, ": no unencrypted PEM private key in '", key_path, "'"));
  }
  bool matches = X509_check_private_key(certificates->front().get(), key.get()) == 1;
  ERR_clear_error();
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat(key_flag, ": the key in '", key_path,
                                                   "' does not belong to the certificate in ",
                                                   cert_flag, " '", cert_path, "'"));
  }
  return absl::OkStatus();
}

// Set both or neither of a certificate and its key.
absl::Status CheckBothOrNeither(const std::string& cert_flag, const std::string& cert_path,
                                const std::string& key_flag, const std::string& key_path) {
  if (cert_path.empty() && !key_path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(key_flag, " is set but ", cert_flag, " is not"));
  }
  if (!cert_path.empty() && key_path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(cert_flag, " is set but ", key_flag, " is not"));
  }
  return absl::OkStatus();
}

}  // namespace

const char* ServerTlsOptions::mode() const {
  if (!enabled()) return "plaintext";
  return client_ca_file.empty() ? "tls" : "mtls";
}

absl::Status CheckServerTls(const ServerTlsOptions& options) {
  const std::string cert_flag = "--tls_cert_file (ECOACT_TLS_CERT_FILE)";
  const std::string key_flag = "--tls_key_file (ECOACT_TLS_KEY_FILE)";
  const std::string ca_flag = "--tls_client_ca_file (ECOACT_TLS_CLIENT_CA_FILE)";
  absl::Status both = CheckBothOrNeither(cert_flag, options.cert_file, key_flag, options.key_file);
  if (!both.ok()) return both;
  if (!options.enabled()) {
    if (options.client_ca_file.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(ca_flag, " needs --tls_cert_file and --tls_key_file"));
  }
  if (options.reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--tls_reload_interval must be at least 1s");
  }
  absl::Status pair = CheckKeyPair(cert_flag, options.cert_file, key_flag, options.key_file);
  if (!pair.ok() || options.client_ca_file.empty()) return pair;
  auto ca_pem = ReadPemFile(ca_flag, options.client_ca_file);
  if (!ca_pem.ok()) return ca_pem.status();
  return ParseCertificates(ca_flag, options.client_ca_file, *ca_pem).status();
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const ServerTlsOptions& options,
    std::shared_ptr<grpc::experimental::CertificateProviderInterface>* provider) {
  if (!options.enabled()) return grpc::InsecureServerCredentials();
  const auto interval = static_cast<unsigned int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(options.reload_interval)));
  // Reads the files now and again every interval; a changed file applies to
  // the handshakes that follow (cert-manager renewals, a rotated client CA).
  *provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.key_file, options.cert_file, options.client_ca_file, interval);
  grpc::experimental::TlsServerCredentialsOptions tls(*provider);
  tls.watch_identity_key_cert_pairs();
  if (!options.client_ca_file.empty()) {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& target,
                                                          const ChannelTlsOptions& tls) {
  return OpenChannel(target, tls, grpc::ChannelArguments());
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& target,
                                                          const ChannelTlsOptions& tls,
                                                          grpc::ChannelArguments args) {
  if (!tls.enabled()) {
    if (!tls.cert_file.empty() || !tls.key_file.empty() || !tls.server_name.empty()) {
      return absl::InvalidArgumentError(
          "--tls_cert_file, --tls_key_file and --tls_server_name need --tls_ca_file");
    }
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  auto roots = ReadPemFile("--tls_ca_file", tls.ca_file);
  if (!roots.ok()) return roots.status();
  absl::Status parsed = ParseCertificates("--tls_ca_file", tls.ca_file, *roots).status();
  if (!parsed.ok()) return parsed;
  ssl.pem_root_certs = *std::move(roots);
  absl::Status both =
      CheckBothOrNeither("--tls_cert_file", tls.cert_file, "--tls_key_file", tls.key_file);
  if (!both.ok()) return both;
  if (!tls.cert_file.empty()) {
    absl::Status pair =
        CheckKeyPair("--tls_cert_file", tls.cert_file, "--tls_key_file", tls.key_file);
    if (!pair.ok()) return pair;
    auto chain = ReadPemFile("--tls_cert_file", tls.cert_file);
    auto key = ReadPemFile("--tls_key_file", tls.key_file);
    if (!chain.ok()) return chain.status();
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(chain);
    ssl.pem_private_key = *std::move(key);
  }
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args);
}

}  // namespace ecoact
