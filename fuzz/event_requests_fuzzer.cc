// The staff side of recording: the first byte of the input chooses a
// CreateEventRequest (NewEvent) or a WeighIn (PrepareWeighIn on a fixed open
// drive), the rest is the message in protobuf binary. Only a crash or
// undefined behaviour is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "ecoact/v1/events.pb.h"
#include "fuzz/fuzz_support.h"
#include "services/events/events.h"

namespace ecoact::fuzz {
namespace {

const std::vector<std::string>& Wards() {
  static const auto* wards = new std::vector<std::string>{"kawasaki", "saiwai", "nakahara"};
  return *wards;
}

const events::EventRecord& OpenDrive() {
  static const events::EventRecord* event = [] {
    auto* record = new events::EventRecord();
    record->id = "ev-fuzzfuzzfuzz";
    record->kind = v1::EVENT_KIND_DRIVE;
    record->name = "fuzz drive";
    record->ward = "kawasaki";
    record->starts_at = FixedNow() - absl::Hours(48);
    record->ends_at = FixedNow() + absl::Hours(48);
    record->action_types = {"clothing_reuse", "clothing_recycling"};
    record->status = v1::EVENT_STATUS_OPEN;
    return record;
  }();
  return *event;
}

void CreateEvent(const uint8_t* data, size_t size) {
  v1::CreateEventRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return;
  absl::StatusOr<events::EventRecord> event = events::NewEvent(request, EmbeddedCatalog(), Wards());
  if (!event.ok()) return;
  v1::Event proto;
  event->ToProto(&proto);
  if (event->starts_at > event->ends_at) std::abort();
}

void WeighIn(const uint8_t* data, size_t size) {
  v1::WeighIn weigh_in;
  if (!weigh_in.ParseFromArray(data, static_cast<int>(size))) return;
  events::WeighInFingerprint(weigh_in);
  absl::StatusOr<events::PreparedEntry> entry = events::PrepareWeighIn(
      OpenDrive(), weigh_in, EmbeddedCatalog(), events::EntryRules(), FixedNow());
  if (!entry.ok()) return;
  if (entry->conversion.co2e_grams < 0 || entry->conversion.points < 0) std::abort();
}

}  // namespace
}  // namespace ecoact::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ecoact::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    ecoact::fuzz::CreateEvent(data + 1, size - 1);
  } else {
    ecoact::fuzz::WeighIn(data + 1, size - 1);
  }
  return 0;
}
