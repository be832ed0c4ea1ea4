#include "services/gateway/rpc_proxy.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor_database.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/json_util.h"

namespace ecoact::gateway {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MessageFactory;
using google::protobuf::MethodDescriptor;

std::unique_ptr<Message> NewMessage(const google::protobuf::Descriptor* type) {
  const Message* prototype = MessageFactory::generated_factory()->GetPrototype(type);
  return std::unique_ptr<Message>(prototype->New());
}

std::string RpcPath(const MethodDescriptor& method) {
  return absl::StrCat("/", method.service()->full_name(), "/", method.name());
}

void Prepare(grpc::ClientContext& context, const CallSettings& settings) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + settings.timeout));
  if (!settings.authorization.empty()) {
    context.AddMetadata("authorization", settings.authorization);
  }
}

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool ToString(const grpc::ByteBuffer& buffer, std::string* out) {
  grpc::Slice slice;
  if (!buffer.DumpToSingleSlice(&slice).ok()) return false;
  out->assign(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return true;
}

}  // namespace

std::string MessageToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  // Printing a valid message cannot fail; an empty object is the fallback.
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) return "{}";
  return json;
}

std::set<std::string> ApiServices() {
  std::vector<std::string> files;
  DescriptorPool::internal_generated_database()->FindAllFileNames(&files);
  std::set<std::string> services;
  for (const std::string& name : files) {
    if (!absl::StartsWith(name, "ecoact/")) continue;
    const google::protobuf::FileDescriptor* file =
        DescriptorPool::generated_pool()->FindFileByName(name);
    if (file == nullptr) continue;
    for (int i = 0; i < file->service_count(); ++i) {
      services.insert(file->service(i)->full_name());
    }
  }
  return services;
}

absl::StatusOr<const MethodDescriptor*> FindMethod(absl::string_view service,
                                                   absl::string_view method) {
  const google::protobuf::ServiceDescriptor* found =
      DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
  if (found == nullptr) {
    return absl::NotFoundError(absl::StrCat("no service '", service, "' here"));
  }
  const MethodDescriptor* rpc = found->FindMethodByName(std::string(method));
  if (rpc == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("service '", service, "' has no method '", method, "'"));
  }
  return rpc;
}

absl::StatusOr<std::string> JsonToRequestBytes(const MethodDescriptor& method,
                                               absl::string_view json) {
  std::unique_ptr<Message> request = NewMessage(method.input_type());
  if (json.find_first_not_of(" \t\r\n") != absl::string_view::npos) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto parsed = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(json.data(), json.size()), request.get(), options);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("request body is not a valid ",
                                                     method.input_type()->full_name(),
                                                     " in JSON: ", parsed.message().ToString()));
    }
  }
  return request->SerializeAsString();
}

absl::StatusOr<std::string> ResponseBytesToJson(const MethodDescriptor& method,
                                                absl::string_view bytes) {
  std::unique_ptr<Message> response = NewMessage(method.output_type());
  if (!response->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InternalError(
        absl::StrCat("the server's reply is not a ", method.output_type()->full_name()));
  }
  return MessageToJson(*response);
}

const FieldDescriptor* SingleTextField(const MethodDescriptor& method) {
  const google::protobuf::Descriptor* type = method.output_type();
  if (type->field_count() != 1) return nullptr;
  const FieldDescriptor* field = type->field(0);
  if (field->is_repeated()) return nullptr;
  if (field->type() != FieldDescriptor::TYPE_STRING &&
      field->type() != FieldDescriptor::TYPE_BYTES) {
    return nullptr;
  }
  return field;
}

grpc::Status CallUnary(grpc::GenericStub& stub, const MethodDescriptor& method,
                       const std::string& request_bytes, const CallSettings& settings,
                       std::string* response_bytes) {
  grpc::ClientContext context;
  Prepare(context, settings);
  grpc::ByteBuffer request = ToByteBuffer(request_bytes);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, RpcPath(method), grpc::StubOptions(), &request, &response,
                 [&](grpc::Status result) {
                   status = std::move(result);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (status.ok() && !ToString(response, response_bytes)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "unreadable reply from the server");
  }
  return status;
}

ServerStream::ServerStream(grpc::GenericStub& stub, const MethodDescriptor& method,
                           const std::string& request_bytes, const CallSettings& settings) {
  Prepare(context_, settings);
  call_ = stub.PrepareCall(&context_, RpcPath(method), &queue_);
  if (call_ == nullptr) {
    finished_ = true;
    status_ = grpc::Status(grpc::StatusCode::INTERNAL, "could not start the call");
    return;
  }
  int start_tag = 0;
  call_->StartCall(&start_tag);
  if (!Await(&start_tag)) return;  // the call failed at once; Finish() tells why
  int write_tag = 0;
  call_->WriteLast(ToByteBuffer(request_bytes), grpc::WriteOptions(), &write_tag);
  Await(&write_tag);  // a failed write shows as the call's status
  reading_ = true;
}

ServerStream::~ServerStream() {
  if (call_ != nullptr && !finished_) {
    context_.TryCancel();
    Finish();
  }
  queue_.Shutdown();
  void* tag;
  bool ok;
  while (queue_.Next(&tag, &ok)) {
  }
}

bool ServerStream::Await(void* tag) {
  void* got = nullptr;
  bool ok = false;
  // Operations are issued one at a time, so the next event is `tag`'s.
  if (!queue_.Next(&got, &ok)) return false;
  return got == tag && ok;
}

bool ServerStream::Next(std::string* message_bytes) {
  if (!reading_ || finished_) return false;
  grpc::ByteBuffer buffer;
  int read_tag = 0;
  call_->Read(&buffer, &read_tag);
  if (!Await(&read_tag)) {
    reading_ = false;
    return false;
  }
  if (!ToString(buffer, message_bytes)) {
    reading_ = false;
    context_.TryCancel();
    return false;
  }
  return true;
}

grpc::Status ServerStream::Finish() {
  if (finished_) return status_;
  finished_ = true;
  reading_ = false;
  int finish_tag = 0;
  call_->Finish(&status_, &finish_tag);
  Await(&finish_tag);
  return status_;
}

void ServerStream::Cancel() { context_.TryCancel(); }

}  // namespace ecoact::gateway
