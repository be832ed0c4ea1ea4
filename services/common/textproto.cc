#include "services/common/textproto.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"

namespace ecoact {
namespace {

// Collects every syntax error with its 1-based position.
class TextprotoErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    errors_.push_back(absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message));
  }
  std::string Summary() const {
    return errors_.empty() ? "unknown error" : absl::StrJoin(errors_, "; ");
  }

 private:
  std::vector<std::string> errors_;
};

}  // namespace

absl::Status ParseTextproto(absl::string_view what, absl::string_view text,
                            google::protobuf::TextFormat::Parser& parser,
                            google::protobuf::Message* message) {
  TextprotoErrors errors;
  parser.RecordErrorsTo(&errors);
  const bool parsed = parser.ParseFromString(std::string(text), message);
  parser.RecordErrorsTo(nullptr);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " textproto does not parse: ", errors.Summary()));
  }
  return absl::OkStatus();
}

}  // namespace ecoact
