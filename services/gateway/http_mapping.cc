#include "services/gateway/http_mapping.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace ecoact::gateway {
namespace {

constexpr absl::string_view kApiPrefix = "/api/";

bool IsName(absl::string_view text, bool allow_dots) {
  if (text.empty() || text.size() > 200) return false;
  for (char c : text) {
    if (absl::ascii_isalnum(c) || c == '_' || (allow_dots && c == '.')) continue;
    return false;
  }
  return text.front() != '.' && text.back() != '.';
}

}  // namespace

absl::StatusOr<ApiPath> ParseApiPath(absl::string_view path) {
  if (!absl::StartsWith(path, kApiPrefix)) {
    return absl::NotFoundError(absl::StrCat("not an API path: ", path));
  }
  absl::string_view rest = path.substr(kApiPrefix.size());
  size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) {
    return absl::NotFoundError(
        "API paths are /api/<package.Service>/<Method>, e.g. "
        "/api/ecoact.v1.IdentityService/ListWards");
  }
  absl::string_view service = rest.substr(0, slash);
  absl::string_view method = rest.substr(slash + 1);
  if (!IsName(service, /*allow_dots=*/true) || !IsName(method, /*allow_dots=*/false)) {
    return absl::NotFoundError(
        "API paths are /api/<package.Service>/<Method>, e.g. "
        "/api/ecoact.v1.IdentityService/ListWards");
  }
  return ApiPath{std::string(service), std::string(method)};
}

int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

std::string ErrorJson(grpc::StatusCode code, absl::string_view message) {
  nlohmann::json body = {{"code", StatusCodeName(code)}, {"message", std::string(message)}};
  // `replace`: a server message is not guaranteed to be valid UTF-8.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string StreamErrorLine(grpc::StatusCode code, absl::string_view message) {
  nlohmann::json line = {
      {"error", {{"code", StatusCodeName(code)}, {"message", std::string(message)}}}};
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace ecoact::gateway
