// The HTTP/JSON gateway: POST /api/<package.Service>/<Method> calls that RPC
// on the upstream gRPC server with the request body as proto3 JSON; GET
// /healthz reports the upstream's health; everything else under / is a
// static file of the web console (and /vendor/ of a second directory).
// README.md "HTTP/JSON gateway" documents the mapping for client developers.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace ecoact::gateway {

struct GatewayOptions {
  std::string http_host = "127.0.0.1";  // --http_listen
  int http_port = 8080;                 // 0: any free port (see Gateway::port())
  std::string web_root;                 // --web_root; empty: no static files
  std::string vendor_root;              // --vendor_root, served at /vendor/; empty: none
  absl::Duration call_timeout = absl::Seconds(10);   // deadline of a unary call
  absl::Duration stream_timeout = absl::Minutes(5);  // deadline of a streaming call
  size_t max_body_bytes = 1 << 20;                   // larger request bodies get 413
  absl::Duration io_timeout = absl::Seconds(10);     // reading a request, writing a reply
  int http_threads = 16;                             // concurrent HTTP requests
  std::string cors_origin;  // one origin allowed to call /api from elsewhere; empty: none
};

class Gateway {
 public:
  // `upstream`: the channel to the gRPC server.
  Gateway(GatewayOptions options, std::shared_ptr<grpc::Channel> upstream);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds the HTTP port; UNAVAILABLE naming the address when it cannot.
  absl::Status Bind();
  // The bound port (after Bind()).
  int port() const { return port_; }
  // Serves until Stop(); call after Bind().
  void Serve();
  // Stops serving; in-flight requests finish. Safe from any thread.
  void Stop();

 private:
  void Routes();
  void HandleApi(const httplib::Request& request, httplib::Response& response);
  void HandleUnary(const google::protobuf::MethodDescriptor& method,
                   const std::string& request_bytes, const std::string& authorization,
                   httplib::Response& response, grpc::StatusCode* outcome);
  void HandleStream(const google::protobuf::MethodDescriptor& method,
                    const std::string& request_bytes, const std::string& authorization,
                    const std::string& text_type, httplib::Response& response,
                    grpc::StatusCode* outcome);
  void HandleHealth(httplib::Response& response);
  void HandleStatic(const std::string& root, const std::string& path,
                    const httplib::Request& request, httplib::Response& response);
  void AddCorsHeaders(const httplib::Request& request, httplib::Response& response) const;

  GatewayOptions options_;
  std::shared_ptr<grpc::Channel> upstream_;
  grpc::GenericStub stub_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
};

// The JSON error body of a response the gateway answers itself.
void SetError(httplib::Response& response, int http_status, grpc::StatusCode code,
              const std::string& message);

}  // namespace ecoact::gateway
