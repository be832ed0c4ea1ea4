// A ledger stream entry as XRANGE/XREADGROUP return it (DecodeStreamEntry),
// read by the projectors, the history and the rebuilds. The input is the
// entry as text, one string per line: the entry id, then field, value,
// field, value, ... (the seeds are entries the RecordAction script writes).
// A decoded entry then goes where readers send it: its protobuf timestamps
// and the city's periods of its time.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_split.h"
#include "fuzz/fuzz_support.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/ledger_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ecoact::RedisValue;
  RedisValue entry;
  entry.type = RedisValue::Type::kArray;
  entry.elements.resize(2);
  entry.elements[1].type = RedisValue::Type::kArray;
  bool first = true;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(reinterpret_cast<const char*>(data), size), '\n')) {
    RedisValue value;
    value.type = RedisValue::Type::kString;
    value.str = std::string(line);
    if (first) {
      entry.elements[0] = std::move(value);
      first = false;
    } else {
      entry.elements[1].elements.push_back(std::move(value));
    }
  }
  absl::StatusOr<ecoact::StoredEntry> stored = ecoact::DecodeStreamEntry(entry);
  if (!stored.ok()) return 0;
  using google::protobuf::util::TimeUtil;
  const absl::Time occurred =
      absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(stored->entry.occurred_at()));
  ecoact::fuzz::Calendar().KeysAt(occurred);
  return 0;
}
