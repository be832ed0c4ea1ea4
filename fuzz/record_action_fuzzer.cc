// RecordAction up to the ledger write: a RecordActionRequest decoded from the
// fuzz input (protobuf binary, as it arrives on the wire) goes through what
// ActionsServiceImpl::DoRecord does before Redis: the timestamp check, the
// request id, the time window, the catalogue conversion, the periods, the
// campaign bonus and the badge rules. Any outcome is fine except a crash or
// undefined behaviour, and an accepted action must carry figures that the
// ledger can store.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ecoact/v1/actions.pb.h"
#include "fuzz/fuzz_support.h"
#include "services/actions/actions_service.h"
#include "services/actions/recorder.h"
#include "services/common/validation.h"
#include "services/rewards/badge_rules.h"

namespace ecoact::fuzz {
namespace {

// A campaign on every action type at the highest multiplier with a reward
// badge: the bonus arithmetic and the campaign rule argument run on every
// accepted input.
rewards::CampaignDefinition BoostAll() {
  rewards::CampaignDefinition campaign;
  campaign.id = "fuzz_boost";
  campaign.title = "fuzz";
  campaign.starts_at = FixedNow() - absl::Hours(24 * 365);
  campaign.ends_at = FixedNow() + absl::Hours(24 * 365);
  campaign.multiplier_permille = rewards::kMaxMultiplierPermille;
  campaign.metric = "pts";
  campaign.individual_target = 100;
  campaign.badge_title = "fuzz";
  return campaign;
}

const actions::ActionRecorder& Recorder() {
  static const rewards::BadgeRuleSet* badges =
      new rewards::BadgeRuleSet(OrDie(rewards::BadgeRuleSet::Parse(rewards::EmbeddedBadgesText())));
  static actions::StaticCampaignSource* campaigns =
      new actions::StaticCampaignSource({BoostAll()});
  static const actions::ActionRecorder* recorder = new actions::ActionRecorder(
      &EmbeddedCatalog(), &Calendar(), [] { return FixedNow(); }, actions::RecorderOptions(),
      badges, campaigns);
  return *recorder;
}

void RecordAction(const v1::RecordActionRequest& request) {
  actions::ActionInput input;
  input.account_id = "fuzz-account";
  input.request_id = request.request_id();
  input.action_type = request.action_type();
  input.quantity = request.quantity();
  input.unit = request.unit();
  if (request.has_occurred_at()) {
    absl::StatusOr<absl::Time> occurred = TimeFromProto(request.occurred_at(), "occurred_at");
    if (!occurred.ok()) return;
    input.occurred_at = *occurred;
  }
  actions::ActionRecorder::RequestFingerprint(input);
  absl::StatusOr<actions::PreparedAction> prepared = Recorder().Prepare(input);
  if (!prepared.ok()) return;
  const catalog::Conversion& conversion = prepared->conversion;
  // Accepted figures are within the type's declared range and never negative.
  if (conversion.quantity_milli < conversion.type->min_quantity_milli ||
      conversion.quantity_milli > conversion.type->max_quantity_milli ||
      conversion.co2e_grams < 0 || conversion.points < 0 || prepared->bonus_points < 0) {
    std::abort();
  }
}

}  // namespace
}  // namespace ecoact::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ecoact::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ecoact::v1::RecordActionRequest request;
  if (request.ParseFromArray(data, static_cast<int>(size))) ecoact::fuzz::RecordAction(request);
  return 0;
}
