// Calls any RPC of the linked protos by name, with JSON in and out: the
// method and its message types come from the generated descriptor pool, the
// request is proto3 JSON parsed by protobuf's own mapping, and the call goes
// through grpc::GenericStub as bytes. No RPC is listed by hand: linking
// ecoact_protos (every object file, see CMakeLists.txt) makes every service
// of protos/ reachable.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace ecoact::gateway {

// How responses are printed: lowerCamelCase names (the proto3 JSON mapping),
// enums as names, int64 as strings (JSON numbers lose precision past 2^53),
// and fields at their default value printed too (0, "", false, []), so a
// client never has to guess whether a field is missing or zero.
std::string MessageToJson(const google::protobuf::Message& message);

// The method `service`/`method` of the generated pool; NOT_FOUND naming what
// is unknown.
absl::StatusOr<const google::protobuf::MethodDescriptor*> FindMethod(absl::string_view service,
                                                                     absl::string_view method);

// `json` (an empty body counts as {}) as `method`'s request message, bytes on
// the wire. INVALID_ARGUMENT with protobuf's parse error: not JSON, a field
// the message does not have, a value of the wrong type.
absl::StatusOr<std::string> JsonToRequestBytes(const google::protobuf::MethodDescriptor& method,
                                               absl::string_view json);

// `bytes` as `method`'s response message printed by MessageToJson; INTERNAL
// if they do not parse.
absl::StatusOr<std::string> ResponseBytesToJson(const google::protobuf::MethodDescriptor& method,
                                                absl::string_view bytes);

// The single string or bytes field of `method`'s response type, or null when
// it has any other shape: a stream of such messages can be sent as raw text
// (e.g. CSV) instead of NDJSON.
const google::protobuf::FieldDescriptor* SingleTextField(
    const google::protobuf::MethodDescriptor& method);

// What every call carries from the HTTP request.
struct CallSettings {
  std::string authorization;  // the Authorization header, passed on as is; empty: none
  absl::Duration timeout = absl::Seconds(10);
};

// A unary call; the response's bytes, or the server's status.
grpc::Status CallUnary(grpc::GenericStub& stub, const google::protobuf::MethodDescriptor& method,
                       const std::string& request_bytes, const CallSettings& settings,
                       std::string* response_bytes);

// One server-streaming call, read message by message on the calling thread.
// Destroying it before Finish() cancels the call.
class ServerStream {
 public:
  ServerStream(grpc::GenericStub& stub, const google::protobuf::MethodDescriptor& method,
               const std::string& request_bytes, const CallSettings& settings);
  ~ServerStream();
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;

  // The next message's bytes; false once the stream has ended (then call
  // Finish()).
  bool Next(std::string* message_bytes);
  // The call's final status (after Next() returned false).
  grpc::Status Finish();
  // Ends the call early (the HTTP client went away).
  void Cancel();

 private:
  // Waits for the operation tagged `tag`; its ok flag.
  bool Await(void* tag);

  grpc::ClientContext context_;
  grpc::CompletionQueue queue_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool reading_ = false;  // the call started and may still deliver messages
  bool finished_ = false;
  grpc::Status status_;
};

}  // namespace ecoact::gateway
