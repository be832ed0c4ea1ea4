// A citizen's personal data through `ecoact` (IdentityService.ExportMyData
// and DeleteMyAccount): save everything held about you as JSON, and delete
// your account.
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/cli.h"
#include "google/protobuf/util/json_util.h"

namespace ecoact::cli {

int Export(Client& client, const Invocation& in) {
  v1::ExportMyDataResponse response;
  if (!client.Call(Auth::kToken, [&](grpc::ClientContext* c) {
        return client.identity().ExportMyData(c, v1::ExportMyDataRequest(), &response);
      })) {
    return kExitError;
  }
  if (!in.Has("out")) {
    PrintJson(response);
    return kExitOk;
  }
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(response, &json, options).ok()) {
    Client::Fail("could not convert the export to JSON");
    return kExitError;
  }
  const std::string path = in.Str("out");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << json;
  out.close();
  if (!out) {
    Client::Fail(absl::StrCat("could not write ", path));
    return kExitError;
  }
  std::printf(
      "Saved your data to %s: profile, %lld of %lld actions%s, %d badges, %d survey "
      "answers%s.\n",
      path.c_str(), static_cast<long long>(response.entries_size()),
      static_cast<long long>(response.entries_total()),
      response.entries_truncated() ? " (the oldest; the export is capped)" : "",
      response.badges_size(), response.survey_responses_size(),
      response.survey_responses_truncated() ? " (capped at 1 MiB)" : "");
  return kExitOk;
}

int DeleteAccount(Client& client, const Invocation& in) {
  v1::DeleteMyAccountRequest request;
  request.set_request_id(in.Str("request_id", NewRequestId()));
  request.set_confirm_account_id(in.Str("confirm"));
  v1::DeleteMyAccountResponse response;
  if (!client.Call(
          Auth::kToken,
          [&](grpc::ClientContext* c) {
            return client.identity().DeleteMyAccount(c, request, &response);
          },
          RetryOption("request_id", request.request_id()))) {
    return kExitError;
  }
  // The secret in the session file signed in to the deleted account: it
  // is of no further use, and the file is the last local trace of it.
  const std::string& path = client.options().session_path;
  const bool removed = std::remove(path.c_str()) == 0;
  if (client.options().json) {
    PrintJson(response);
  } else {
    const std::string session_note =
        removed ? absl::StrCat("Removed the session file ", path, ".")
                : absl::StrCat("Could not remove the session file ", path, "; delete it yourself.");
    std::printf("Deleted account %s. %s\n", response.account_id().c_str(), session_note.c_str());
  }
  return kExitOk;
}

}  // namespace ecoact::cli
