// Certificates for TLS tests, made at test time with the `openssl` command
// (the same commands docs/security.md shows): a CA, a server certificate for
// 127.0.0.1 and localhost, a client certificate, and a second, unrelated CA
// with a server and a client certificate of its own. EC P-256 keys, valid for
// two days. The files live in a temp dir removed with the object.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ecoact::test {

class TestPki {
 public:
  static absl::StatusOr<std::unique_ptr<TestPki>> Create();
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  // The path of `name` in dir(), e.g. Path("server.pem").
  std::string Path(absl::string_view name) const;

  // Files (PEM): ca.pem, server.pem + server.key, client.pem + client.key,
  // and their counterparts from the unrelated CA: other-ca.pem,
  // other-server.pem + other-server.key, other-client.pem + other-client.key.
  std::string ca() const { return Path("ca.pem"); }
  std::string other_ca() const { return Path("other-ca.pem"); }

 private:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}
  // Runs `openssl ARGS` in dir(); its output goes to dir()/openssl.log.
  absl::Status Openssl(absl::string_view args) const;
  absl::Status MakeCa(absl::string_view name, absl::string_view subject) const;
  // `extensions`: "server" or "client" (sections of the config file).
  absl::Status MakeLeaf(absl::string_view name, absl::string_view ca, absl::string_view subject,
                        absl::string_view extensions) const;

  std::string dir_;
};

}  // namespace ecoact::test
