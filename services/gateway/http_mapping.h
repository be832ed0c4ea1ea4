// How the gateway maps between HTTP and gRPC: the path of an API call, the
// HTTP status for a gRPC status, and the JSON error body. Pure functions, no
// I/O (tests/gateway/http_mapping_test.cc).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace ecoact::gateway {

// "/api/ecoact.v1.LeaderboardService/GetLeaderboard" ->
// {"ecoact.v1.LeaderboardService", "GetLeaderboard"}.
struct ApiPath {
  std::string service;  // full name, package included
  std::string method;
};

// NOT_FOUND unless `path` is "/api/<package.Service>/<Method>" with names
// made of letters, digits, '_' (and '.' in the service name).
absl::StatusOr<ApiPath> ParseApiPath(absl::string_view path);

// The HTTP status of a gRPC status code: INVALID_ARGUMENT, FAILED_PRECONDITION
// and OUT_OF_RANGE 400, UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND
// 404, ALREADY_EXISTS and ABORTED 409, RESOURCE_EXHAUSTED 429, UNIMPLEMENTED
// 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, OK 200, anything else 500.
int HttpStatusFor(grpc::StatusCode code);

// "INVALID_ARGUMENT": the canonical name, as the JSON error body carries it.
std::string StatusCodeName(grpc::StatusCode code);

// {"code":"INVALID_ARGUMENT","message":"..."}: the body of every error the
// gateway answers, whether the server's or its own.
std::string ErrorJson(grpc::StatusCode code, absl::string_view message);

// The same error as one NDJSON line ending a stream that had already started
// when it failed: {"error":{"code":...,"message":...}}.
std::string StreamErrorLine(grpc::StatusCode code, absl::string_view message);

}  // namespace ecoact::gateway
