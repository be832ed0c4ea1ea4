#include "tests/support/test_pki.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "tests/support/redis_server.h"

namespace ecoact::test {
namespace {

// Extensions of each kind of certificate; the subject comes from -subj.
constexpr char kOpensslConfig[] = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
)";

}  // namespace

absl::StatusOr<std::unique_ptr<TestPki>> TestPki::Create() {
  auto dir = MakeTempDir("pki");
  if (!dir.ok()) return dir.status();
  std::unique_ptr<TestPki> pki(new TestPki(*dir));
  std::ofstream(pki->Path("openssl.cnf")) << kOpensslConfig;
  for (absl::Status made :
       {pki->MakeCa("ca", "/CN=ecoact test CA"),
        pki->MakeLeaf("server", "ca", "/CN=ecoact test server", "server"),
        pki->MakeLeaf("client", "ca", "/CN=ecoact test client", "client"),
        pki->MakeCa("other-ca", "/CN=unrelated test CA"),
        pki->MakeLeaf("other-server", "other-ca", "/CN=unrelated test server", "server"),
        pki->MakeLeaf("other-client", "other-ca", "/CN=unrelated test client", "client")}) {
    if (!made.ok()) return made;
  }
  return pki;
}

TestPki::~TestPki() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string TestPki::Path(absl::string_view name) const { return absl::StrCat(dir_, "/", name); }

absl::Status TestPki::Openssl(absl::string_view args) const {
  auto openssl = FindExecutable("openssl", {"/usr/bin/openssl"});
  if (!openssl.ok()) return openssl.status();
  const std::string command =
      absl::StrCat("cd '", dir_, "' && '", *openssl, "' ", args, " >>openssl.log 2>&1");
  if (std::system(command.c_str()) != 0) {
    std::ifstream log(Path("openssl.log"));
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    return absl::InternalError(absl::StrCat("openssl ", args, " failed:\n", text));
  }
  return absl::OkStatus();
}

absl::Status TestPki::MakeCa(absl::string_view name, absl::string_view subject) const {
  return Openssl(absl::StrCat(
      "req -x509 -config openssl.cnf -extensions ca -newkey ec -pkeyopt "
      "ec_paramgen_curve:P-256 -nodes -days 2 -subj '", subject, "' -keyout ", name,
      ".key -out ", name, ".pem"));
}

absl::Status TestPki::MakeLeaf(absl::string_view name, absl::string_view ca,
                               absl::string_view subject, absl::string_view extensions) const {
  absl::Status request = Openssl(absl::StrCat(
      "req -new -config openssl.cnf -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '",
      subject, "' -keyout ", name, ".key -out ", name, ".csr"));
  if (!request.ok()) return request;
  return Openssl(absl::StrCat("x509 -req -in ", name, ".csr -CA ", ca, ".pem -CAkey ", ca,
                              ".key -CAcreateserial -days 2 -extfile openssl.cnf -extensions ",
                              extensions, " -out ", name, ".pem"));
}

}  // namespace ecoact::test
