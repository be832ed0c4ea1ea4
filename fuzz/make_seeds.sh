#!/usr/bin/env bash
# Writes the committed seed corpora of the fuzz targets (fuzz/corpus/<target>/)
# from readable text: protobuf requests through `protoc --encode`, the data
# files as they are in the repository. Run it after changing a seed below or
# a data file; the fuzzers only read the result.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
corpus=fuzz/corpus

# encode TARGET NAME MESSAGE [PREFIX_BYTE] < textproto
encode() {
  local dir="${corpus}/$1" file="${corpus}/$1/$2"
  mkdir -p "${dir}"
  if [[ $# -ge 4 ]]; then printf "\\x$4" >"${file}"; else : >"${file}"; fi
  protoc -I protos -I /usr/include --encode="$3" protos/ecoact/v1/actions.proto \
    protos/ecoact/v1/events.proto >>"${file}"
}

# Seeds are dated against fuzz::FixedNow(), 2025-11-15 03:00 UTC (1763175600).
R=ecoact.v1.RecordActionRequest
encode record_action_fuzzer kg_backdated $R <<<'request_id: "req-0001-abcd" action_type: "clothing_reuse" quantity: 2.5 unit: UNIT_KILOGRAM occurred_at { seconds: 1763000000 nanos: 5 }'
encode record_action_fuzzer kg_now $R <<<'request_id: "req-0002-abcd" action_type: "pet_bottles" quantity: 0.35'
encode record_action_fuzzer item $R <<<'request_id: "req_0003_abcd" action_type: "plastic_bag_refused" quantity: 3 unit: UNIT_ITEM'
encode record_action_fuzzer km $R <<<'request_id: "req-0004-ABCD" action_type: "train_instead_of_car" quantity: 12.75 unit: UNIT_KILOMETRE occurred_at { seconds: 1763175000 }'
encode record_action_fuzzer wrong_unit $R <<<'request_id: "req-0005-abcd" action_type: "own_bottle" quantity: 1 unit: UNIT_KILOGRAM'
encode record_action_fuzzer huge $R <<<'request_id: "req-0006-abcd" action_type: "paper_cardboard" quantity: 1e300'

# First byte even: CreateEventRequest; odd: WeighIn (on a drive open
# 2025-11-13 03:00 to 2025-11-17 03:00 UTC accepting the two clothing types).
E=ecoact.v1.CreateEventRequest W=ecoact.v1.WeighIn
encode event_requests_fuzzer create_drive $E 00 <<<'request_id: "create-0001" kind: EVENT_KIND_DRIVE name: "秋の衣類回収" place: "川崎駅前" ward: "kawasaki" starts_at { seconds: 1763200000 } ends_at { seconds: 1763230000 } accepted_action_types: "clothing_reuse" accepted_action_types: "clothing_recycling"'
encode event_requests_fuzzer create_point $E 02 <<<'request_id: "create-0002" kind: EVENT_KIND_COLLECTION_POINT name: "Shop box" ward: "nakahara" organiser_team: "team-a" starts_at { seconds: 1763200000 } ends_at { seconds: 1793230000 } accepted_action_types: "clothing_recycling"'
encode event_requests_fuzzer weigh_in $W 01 <<<'event_id: "ev-fuzzfuzzfuzz" client_entry_id: "entry-0001" participant_id: "acct-123" action_type: "clothing_reuse" weight_kg: 4.2 occurred_at { seconds: 1763170000 }'
encode event_requests_fuzzer weigh_in_anonymous $W 01 <<<'event_id: "ev-fuzzfuzzfuzz" client_entry_id: "entry-0002" action_type: "clothing_recycling" weight_kg: 0.001'

mkdir -p "${corpus}/catalog_fuzzer" "${corpus}/badge_rules_fuzzer"
cp services/catalog/data/catalog.textproto "${corpus}/catalog_fuzzer/catalog.textproto"
cp services/rewards/data/badges.textproto "${corpus}/badge_rules_fuzzer/badges.textproto"

mkdir -p "${corpus}/campaign_json_fuzzer"
printf '%s' '{"id":"autumn_drive","title":"Autumn","types":["clothing_reuse"],"start_ms":1763000000000,"end_ms":1764000000000,"multiplier_permille":1500,"metric":"pts","collective_target":100000,"individual_target":500,"badge_title":"Autumn hero","created_ms":1762000000000,"fp":"ab12"}' \
  >"${corpus}/campaign_json_fuzzer/full.json"
printf '%s' '{"id":"ab","start_ms":0,"end_ms":1}' >"${corpus}/campaign_json_fuzzer/minimal.json"

mkdir -p "${corpus}/ledger_entry_fuzzer"
printf '%s\n' 1763175600000-0 acct a-123 req req-0001-abcd type clothing_reuse cat clothing \
  qty 2500 unit 1 co2 33 pts 25 fv clothing_reuse@v1 occ 1763000000000 rec 1763175600000 \
  ward kawasaki team team-a org org-1 src self camp autumn_drive,spring bonus 12 \
  | head -c -1 >"${corpus}/ledger_entry_fuzzer/action"
printf '%s\n' 1763175600001-3 acct a-9 req w-1 type clothing_recycling cat clothing qty -500 \
  unit 1 co2 -2 pts -3 fv clothing_recycling@v2 occ 1763170000000 src staff event ev-abc \
  by staff.one cnt 0 | head -c -1 >"${corpus}/ledger_entry_fuzzer/correction"

# tokens_fuzzer: first byte 0 a token (valid at FixedNow: HS256 under the
# target's secret), 1 a token payload, 2 a JWKS (the target's P-256 key), 3 a PEM.
tokens="${corpus}/tokens_fuzzer"
mkdir -p "${tokens}"
printf '\x00%s' 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzMSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJlY29hY3QiLCJhdWQiOiJlY29hY3QiLCJzdWIiOiJ1N2sybTlxNHg4cDNuNXI2dDF2MHciLCJyb2xlIjoiY2l0aXplbiIsImlhdCI6MTc2MzE3NTAwMCwiZXhwIjoxNzYzMTc5MjAwfQ.P7bSyFTMguWvpS6gr4OYvMLe3DDqYYzo5ZcbP4ajdGQ' >"${tokens}/access_token"
printf '\x01%s' '{"iss":"ecoact","aud":"ecoact","sub":"u7k2m9q4x8p3n5r6t1v0w","role":"citizen","iat":1763175000,"exp":1763179200}' >"${tokens}/claims"
printf '\x02%s' '{"keys":[{"kty":"EC","crv":"P-256","kid":"es1","use":"sig","alg":"ES256","x":"0kbpduHJxQbVFu8CCCzJ8W2Rq7JdugoZCTL9GH0kL88","y":"5_bT5RbawDrJltPbIcs582kaGsinzuhaEWz8I8MYb7s"}]}' >"${tokens}/jwks"
printf '\x03-----BEGIN PUBLIC KEY-----\n%s\n%s\n-----END PUBLIC KEY-----\n' \
  MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0kbpduHJxQbVFu8CCCzJ8W2Rq7Jd \
  ugoZCTL9GH0kL8/n9tPlFtrAOsmW09shyznzaRoayKfO6FoRbPwjwxhvuw== >"${tokens}/pem"
