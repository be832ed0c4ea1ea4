// TLS on the gRPC port, from PEM files named by flags, and the client side
// of it for the CLI and the tests. Files are checked once at start-up, so
// that a wrong path or a key that belongs to another certificate stops the
// process naming the flag, instead of every handshake failing later.
//
// Flags (server): --tls_cert_file, --tls_key_file, --tls_client_ca_file,
// --tls_reload_interval. Flags (clients): --tls_ca_file, --tls_cert_file,
// --tls_key_file, --tls_server_name. docs/security.md has the how-to.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/tls_certificate_provider.h"

namespace ecoact {

struct ServerTlsOptions {
  std::string cert_file;       // PEM certificate chain, the server's first
  std::string key_file;        // its PEM private key, not encrypted
  std::string client_ca_file;  // set: mutual TLS, clients need a certificate it signed
  // How often the files are read again (renewed certificates apply to new
  // connections without a restart).
  absl::Duration reload_interval = absl::Minutes(1);

  bool enabled() const { return !cert_file.empty(); }
  // "plaintext", "tls" or "mtls": for the start-up log.
  const char* mode() const;
};

// OK when TLS is off, or both files are set and hold a certificate chain and
// the private key that matches its first certificate, and the client CA file
// (if set) holds at least one certificate. Otherwise INVALID_ARGUMENT naming
// the flag and its environment variable.
absl::Status CheckServerTls(const ServerTlsOptions& options);

// The listening port's credentials: insecure when TLS is off; otherwise TLS
// from a provider that watches the files, requiring and verifying a client
// certificate when client_ca_file is set. `provider` receives the watcher,
// to be kept as long as the server runs.
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const ServerTlsOptions& options,
    std::shared_ptr<grpc::experimental::CertificateProviderInterface>* provider);

struct ChannelTlsOptions {
  std::string ca_file;      // trust roots for the server certificate; set: TLS
  std::string cert_file;    // client certificate chain, for mutual TLS
  std::string key_file;     // its private key
  std::string server_name;  // name to check in the certificate; empty: the target's host

  bool enabled() const { return !ca_file.empty(); }
};

// A channel to `target` (HOST:PORT): plaintext, or TLS when tls.enabled().
// INVALID_ARGUMENT naming the flag when a file cannot be read or does not
// hold what it should.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& target,
                                                          const ChannelTlsOptions& tls);
// The same with channel arguments (keepalive, a service config: routes.h).
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& target,
                                                          const ChannelTlsOptions& tls,
                                                          grpc::ChannelArguments args);

}  // namespace ecoact
