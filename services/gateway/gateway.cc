#include "services/gateway/gateway.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "httplib.h"
#include "services/common/log.h"
#include "services/gateway/http_mapping.h"
#include "services/gateway/rpc_proxy.h"
#include "services/gateway/static_files.h"

namespace ecoact::gateway {
namespace {

constexpr char kJson[] = "application/json";
constexpr char kNdjson[] = "application/x-ndjson";

// Responses that come from the upstream server carry its status code as
// Grpc-Status (0 on success), so a client can tell the server's NOT_FOUND
// from the gateway's own "no such method".
void SetGrpcStatusHeader(httplib::Response& response, grpc::StatusCode code) {
  response.set_header("Grpc-Status", std::to_string(static_cast<int>(code)));
}

void SetUpstreamError(httplib::Response& response, const grpc::Status& status) {
  SetError(response, HttpStatusFor(status.error_code()), status.error_code(),
           status.error_message());
  SetGrpcStatusHeader(response, status.error_code());
}

bool Accepts(const httplib::Request& request, absl::string_view type) {
  return absl::StrContains(absl::AsciiStrToLower(request.get_header_value("Accept")), type);
}

}  // namespace

void SetError(httplib::Response& response, int http_status, grpc::StatusCode code,
              const std::string& message) {
  response.status = http_status;
  response.set_content(ErrorJson(code, message), kJson);
}

Gateway::Gateway(GatewayOptions options, std::shared_ptr<const RoutedChannels> upstreams)
    : options_(std::move(options)),
      upstreams_(std::move(upstreams)),
      server_(std::make_unique<httplib::Server>()) {
  auto add = [this](const std::shared_ptr<grpc::Channel>& channel) {
    auto& stub = stubs_[channel.get()];
    if (stub == nullptr) stub = std::make_unique<grpc::GenericStub>(channel);
  };
  add(upstreams_->Default());
  for (const auto& [service, target] : upstreams_->routes().services) add(upstreams_->For(service));
  Routes();
}

grpc::GenericStub& Gateway::StubFor(const google::protobuf::MethodDescriptor& method) {
  return *stubs_.at(upstreams_->For(method.service()->full_name()).get());
}

Gateway::~Gateway() { Stop(); }

void Gateway::Routes() {
  httplib::Server& server = *server_;
  const int threads = options_.http_threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(options_.max_body_bytes);
  const auto io = absl::ToChronoMicroseconds(options_.io_timeout);
  server.set_read_timeout(io);
  server.set_write_timeout(io);
  server.set_keep_alive_timeout(5);
  // httplib writes a reply's headers and body separately: with Nagle's
  // algorithm on, the body then waits for the client's delayed ACK (about
  // 40 ms per call, measured: 29 ms mean vs 0.3 ms with no delay).
  server.set_tcp_nodelay(true);
  // httplib closes a keep-alive connection after 5 requests by default; a
  // page that polls the API would reconnect all the time.
  server.set_keep_alive_max_count(1000);
  server.set_default_headers({{"X-Content-Type-Options", "nosniff"}});

  server.Post(R"(/api/.*)", [this](const httplib::Request& request, httplib::Response& response) {
    HandleApi(request, response);
  });
  auto not_allowed = [this](const httplib::Request& request, httplib::Response& response) {
    AddCorsHeaders(request, response);
    response.set_header("Allow", "POST");
    SetError(response, 405, grpc::StatusCode::UNIMPLEMENTED,
             absl::StrCat(request.method,
                          " is not allowed here: API calls are POST with a JSON "
                          "body (an empty body is an empty request)"));
  };
  server.Get(R"(/api(/.*)?)", not_allowed);
  server.Put(R"(/api(/.*)?)", not_allowed);
  server.Patch(R"(/api(/.*)?)", not_allowed);
  server.Delete(R"(/api(/.*)?)", not_allowed);
  server.Options(R"(/api(/.*)?)", [this, not_allowed](const httplib::Request& request,
                                                      httplib::Response& response) {
    if (options_.cors_origin.empty() ||
        request.get_header_value("Origin") != options_.cors_origin) {
      not_allowed(request, response);
      return;
    }
    AddCorsHeaders(request, response);
    response.set_header("Access-Control-Allow-Methods", "POST");
    response.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept");
    response.set_header("Access-Control-Max-Age", "600");
    response.status = 204;
  });
  server.Get("/healthz", [this](const httplib::Request&, httplib::Response& response) {
    HandleHealth(response);
  });
  // The gateway process itself serves HTTP, whatever its upstreams do: what
  // Kubernetes' probes ask, so that one service's outage does not take every
  // gateway pod out of its Service (/healthz reports that outage).
  server.Get("/livez", [](const httplib::Request&, httplib::Response& response) {
    response.set_header("Cache-Control", "no-store");
    response.set_content(R"({"status":"SERVING"})", kJson);
  });
  server.Get(R"(/vendor/(.*))",
             [this](const httplib::Request& request, httplib::Response& response) {
               HandleStatic(options_.vendor_root,
                            request.path.substr(std::string("/vendor").size()), request, response);
             });
  server.Get(R"(/.*)", [this](const httplib::Request& request, httplib::Response& response) {
    HandleStatic(options_.web_root, request.path, request, response);
  });

  // What httplib answers by itself (no route, a body over the limit, a
  // malformed request) gets a JSON body like every other error.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& request,
             httplib::Response& response) -> httplib::Server::HandlerResponse {
        if (!response.body.empty() || response.content_length_ > 0) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        AddCorsHeaders(request, response);
        if (response.status == 413) {
          SetError(response, 413, grpc::StatusCode::INVALID_ARGUMENT,
                   absl::StrCat("the request body is larger than the limit of ",
                                options_.max_body_bytes, " bytes"));
        } else if (response.status == 404) {
          SetError(response, 404, grpc::StatusCode::NOT_FOUND,
                   absl::StrCat("nothing at ", request.path));
        } else if (response.status == 400 && request.method == "POST" &&
                   !request.has_header("Content-Length") &&
                   !request.has_header("Transfer-Encoding")) {
          // curl -X POST without -d: HTTP/1.1 needs to know the body's length.
          SetError(response, 400, grpc::StatusCode::INVALID_ARGUMENT,
                   "a POST needs a body or Content-Length: 0; send {} for an empty request");
        } else {
          SetError(response, response.status, grpc::StatusCode::INVALID_ARGUMENT,
                   absl::StrCat("bad HTTP request (", response.status, ")"));
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [](const httplib::Request& request, httplib::Response& response, std::exception_ptr) {
        LogError("gateway: unexpected exception", {{"path", request.path}});
        SetError(response, 500, grpc::StatusCode::INTERNAL, "internal error in the gateway");
      });
  // API calls log themselves (with the RPC's outcome); other requests only
  // when they fail. Never headers or bodies: they carry tokens and personal
  // data.
  server.set_logger([](const httplib::Request& request, const httplib::Response& response) {
    if (absl::StartsWith(request.path, "/api/") && request.method == "POST") return;
    if (response.status < 400) return;
    LogInfo("http", {{"method", request.method},
                     {"path", request.path.substr(0, 200)},
                     {"status", static_cast<int64_t>(response.status)}});
  });
}

absl::Status Gateway::Bind() {
  if (options_.http_port == 0) {
    port_ = server_->bind_to_any_port(options_.http_host);
    if (port_ <= 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options_.http_host, " (any port)"));
    }
    return absl::OkStatus();
  }
  if (!server_->bind_to_port(options_.http_host, options_.http_port)) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.http_host, ":",
                                               options_.http_port,
                                               " (in use, or not an address "
                                               "of this machine?)"));
  }
  port_ = options_.http_port;
  return absl::OkStatus();
}

void Gateway::Serve() { server_->listen_after_bind(); }

void Gateway::Stop() {
  if (server_ != nullptr) server_->stop();
}

void Gateway::AddCorsHeaders(const httplib::Request& request, httplib::Response& response) const {
  if (options_.cors_origin.empty()) return;
  if (request.get_header_value("Origin") != options_.cors_origin) return;
  response.set_header("Access-Control-Allow-Origin", options_.cors_origin);
  response.set_header("Vary", "Origin");
}

void Gateway::HandleApi(const httplib::Request& request, httplib::Response& response) {
  const absl::Time start = absl::Now();
  AddCorsHeaders(request, response);
  response.set_header("Cache-Control", "no-store");
  grpc::StatusCode outcome = grpc::StatusCode::OK;
  std::string rpc = request.path.substr(0, 200);
  [&] {
    absl::StatusOr<ApiPath> path = ParseApiPath(request.path);
    if (!path.ok()) {
      SetError(response, 404, grpc::StatusCode::NOT_FOUND, std::string(path.status().message()));
      outcome = grpc::StatusCode::NOT_FOUND;
      return;
    }
    absl::StatusOr<const google::protobuf::MethodDescriptor*> method =
        FindMethod(path->service, path->method);
    if (!method.ok()) {
      SetError(response, 404, grpc::StatusCode::NOT_FOUND, std::string(method.status().message()));
      outcome = grpc::StatusCode::NOT_FOUND;
      return;
    }
    rpc = (*method)->full_name();
    if ((*method)->client_streaming()) {
      SetError(response, 501, grpc::StatusCode::UNIMPLEMENTED,
               absl::StrCat(rpc, " streams requests, which HTTP/JSON calls cannot; use gRPC"));
      outcome = grpc::StatusCode::UNIMPLEMENTED;
      return;
    }
    absl::StatusOr<std::string> request_bytes = JsonToRequestBytes(**method, request.body);
    if (!request_bytes.ok()) {
      SetError(response, 400, grpc::StatusCode::INVALID_ARGUMENT,
               std::string(request_bytes.status().message()));
      outcome = grpc::StatusCode::INVALID_ARGUMENT;
      return;
    }
    const std::string authorization = request.get_header_value("Authorization");
    if ((*method)->server_streaming()) {
      // A message of one string or bytes field (a CSV export's chunks) is
      // sent as raw text when the client asks for it.
      std::string text_type;
      if (SingleTextField(**method) != nullptr) {
        if (Accepts(request, "text/csv")) {
          text_type = "text/csv; charset=utf-8";
        } else if (Accepts(request, "text/plain")) {
          text_type = "text/plain; charset=utf-8";
        }
      }
      HandleStream(**method, *request_bytes, authorization, text_type, response, &outcome);
    } else {
      HandleUnary(**method, *request_bytes, authorization, response, &outcome);
    }
  }();
  LogInfo("api", {{"rpc", rpc},
                  {"status", static_cast<int64_t>(response.status)},
                  {"code", StatusCodeName(outcome)},
                  {"ms", absl::ToDoubleMilliseconds(absl::Now() - start)}});
}

void Gateway::HandleUnary(const google::protobuf::MethodDescriptor& method,
                          const std::string& request_bytes, const std::string& authorization,
                          httplib::Response& response, grpc::StatusCode* outcome) {
  std::string response_bytes;
  grpc::Status status = CallUnary(StubFor(method), method, request_bytes,
                                  {authorization, options_.call_timeout}, &response_bytes);
  *outcome = status.error_code();
  if (!status.ok()) {
    SetUpstreamError(response, status);
    return;
  }
  absl::StatusOr<std::string> json = ResponseBytesToJson(method, response_bytes);
  if (!json.ok()) {
    *outcome = grpc::StatusCode::INTERNAL;
    SetError(response, 500, grpc::StatusCode::INTERNAL, std::string(json.status().message()));
    return;
  }
  response.status = 200;
  SetGrpcStatusHeader(response, grpc::StatusCode::OK);
  response.set_content(*json, kJson);
}

void Gateway::HandleStream(const google::protobuf::MethodDescriptor& method,
                           const std::string& request_bytes, const std::string& authorization,
                           const std::string& text_type, httplib::Response& response,
                           grpc::StatusCode* outcome) {
  const bool raw_text = !text_type.empty();
  auto stream = std::make_shared<ServerStream>(
      StubFor(method), method, request_bytes, CallSettings{authorization, options_.stream_timeout});
  // The first message decides the HTTP status: an error before it (no
  // token, bad request) is an ordinary error response.
  auto first = std::make_shared<std::string>();
  if (!stream->Next(first.get())) {
    grpc::Status status = stream->Finish();
    *outcome = status.error_code();
    if (!status.ok()) {
      SetUpstreamError(response, status);
      return;
    }
    response.status = 200;
    SetGrpcStatusHeader(response, grpc::StatusCode::OK);
    response.set_content("", raw_text ? text_type : kNdjson);
    return;
  }
  response.status = 200;
  const google::protobuf::FieldDescriptor* text_field =
      raw_text ? SingleTextField(method) : nullptr;
  const std::string content_type = text_field != nullptr ? text_type : kNdjson;
  const google::protobuf::MethodDescriptor* rpc = &method;
  // Runs after this handler returns, on the same HTTP worker thread, while
  // the response is written chunk by chunk.
  response.set_chunked_content_provider(
      content_type, [stream, first, rpc, text_field](size_t, httplib::DataSink& sink) {
        auto encode = [&](const std::string& bytes, std::string* out) {
          if (text_field == nullptr) {
            absl::StatusOr<std::string> json = ResponseBytesToJson(*rpc, bytes);
            if (!json.ok()) return false;
            *out = *json + "\n";
            return true;
          }
          std::unique_ptr<google::protobuf::Message> message(
              google::protobuf::MessageFactory::generated_factory()
                  ->GetPrototype(rpc->output_type())
                  ->New());
          if (!message->ParseFromString(bytes)) return false;
          *out = message->GetReflection()->GetString(*message, text_field);
          return true;
        };
        std::string chunk;
        std::string bytes = std::move(*first);
        bool more = true;
        while (more) {
          if (!encode(bytes, &chunk)) {
            stream->Cancel();
            break;
          }
          if (!chunk.empty() && !sink.write(chunk.data(), chunk.size())) {
            stream->Cancel();  // the client went away
            return false;
          }
          more = stream->Next(&bytes);
        }
        grpc::Status status = stream->Finish();
        LogInfo("api stream end",
                {{"rpc", rpc->full_name()}, {"code", StatusCodeName(status.error_code())}});
        if (!status.ok()) {
          if (text_field != nullptr) return false;  // cut the transfer: no silent truncation
          std::string line = StreamErrorLine(status.error_code(), status.error_message());
          sink.write(line.data(), line.size());
        }
        sink.done();
        return true;
      });
  *outcome = grpc::StatusCode::OK;
}

void Gateway::HandleHealth(httplib::Response& response) {
  response.set_header("Cache-Control", "no-store");
  // Every server behind the gateway: the one target of the all-in-one
  // server, or each service's own in a split deployment.
  std::map<std::string, std::string> targets;  // target -> a service it serves
  for (const std::string& service : ApiServices()) {
    targets.emplace(upstreams_->routes().TargetFor(service), service);
  }
  for (const auto& [target, service] : targets) {
    auto health = grpc::health::v1::Health::NewStub(upstreams_->For(service));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse reply;
    grpc::Status status = health->Check(&context, request, &reply);
    if (status.ok() && reply.status() == grpc::health::v1::HealthCheckResponse::SERVING) continue;
    std::string why =
        status.ok() ? absl::StrCat("the server of ", service, " (", target,
                                   ") reports NOT_SERVING (is Redis up?)")
                    : absl::StrCat("the server of ", service, " (", target, ") does not answer: ",
                                   StatusCodeName(status.error_code()), " ",
                                   status.error_message());
    response.status = 503;
    response.set_content(ErrorJson(grpc::StatusCode::UNAVAILABLE, why), kJson);
    return;
  }
  response.status = 200;
  response.set_content(R"({"status":"SERVING"})", kJson);
}

void Gateway::HandleStatic(const std::string& root, const std::string& path,
                           const httplib::Request& request, httplib::Response& response) {
  for (const auto& [name, value] : StaticSecurityHeaders()) response.set_header(name, value);
  absl::StatusOr<std::string> file =
      root.empty() ? absl::NotFoundError("no static files") : ResolveStaticPath(root, path);
  if (!file.ok()) {
    // "/staff" for the directory "staff/": send the browser to "/staff/" so
    // that the page's relative links resolve inside it.
    if (!root.empty() && !path.empty() && path.back() != '/' &&
        ResolveStaticPath(root, path + "/").ok()) {
      response.set_redirect(request.path + "/", 301);
      return;
    }
    response.status = 404;
    response.set_content("not found\n", "text/plain; charset=utf-8");
    return;
  }
  struct stat info;
  if (stat(file->c_str(), &info) != 0) {
    response.status = 404;
    response.set_content("not found\n", "text/plain; charset=utf-8");
    return;
  }
  const std::string etag = absl::StrCat("\"", static_cast<int64_t>(info.st_size), "-",
                                        static_cast<int64_t>(info.st_mtim.tv_sec), "-",
                                        static_cast<int64_t>(info.st_mtim.tv_nsec), "\"");
  response.set_header("ETag", etag);
  response.set_header("Cache-Control", CacheControlFor(*file));
  if (request.get_header_value("If-None-Match") == etag) {
    response.status = 304;
    return;
  }
  std::ifstream in(*file, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in.good() && !in.eof()) {
    response.status = 500;
    response.set_content("cannot read the file\n", "text/plain; charset=utf-8");
    return;
  }
  response.status = 200;
  response.set_content(content.str(), ContentTypeFor(*file));
}

}  // namespace ecoact::gateway
