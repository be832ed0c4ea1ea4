// The one place where absl::Status becomes grpc::Status.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace ecoact {

// Keeps the canonical code and the message; the numeric codes of absl and
// gRPC are the same canonical codes.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace ecoact
