// Parsing the data files that are compiled into the binaries and can be
// replaced at start-up (the catalogue, the badge rules): a syntax error must
// stop start-up naming its line, so that an official can fix the file.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"

namespace ecoact {

// Parses `text` into `message` with `parser` (which may already write
// locations somewhere). INVALID_ARGUMENT "<what> textproto does not parse:
// line L column C: ..." naming every syntax error.
absl::Status ParseTextproto(absl::string_view what, absl::string_view text,
                            google::protobuf::TextFormat::Parser& parser,
                            google::protobuf::Message* message);

}  // namespace ecoact
