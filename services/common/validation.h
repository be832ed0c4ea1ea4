// Input checks shared by every service. Each returns INVALID_ARGUMENT with a
// message that names the field and the rule.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace ecoact {

// Client-generated request ids: `min_length` to 64 characters of [A-Za-z0-9_-].
absl::Status ValidateRequestId(absl::string_view request_id, size_t min_length = 8);

// Ids chosen by admins (wards, teams, logins): `min`..`max` characters, a
// lower-case letter first, then [a-z0-9_.-].
absl::Status ValidateSlug(absl::string_view field, absl::string_view value, size_t min, size_t max);

// Text shown to other people: valid UTF-8, 1..max_chars code points after
// trimming spaces, no control characters. Returns the trimmed text in `out`.
absl::Status ValidateDisplayText(absl::string_view field, absl::string_view value,
                                 size_t max_chars, std::string* out);

// Action type ids as the catalogue defines them: 2 to 40 characters, a
// lower-case letter, then [a-z0-9_]. Checked before a lookup so that a
// malformed id is INVALID_ARGUMENT (and never echoed at length), an unknown
// well-formed one NOT_FOUND.
absl::Status ValidateActionTypeId(absl::string_view field, absl::string_view value);

// A google.protobuf.Timestamp from a request: nanos in [0, 999999999] and
// seconds in years 2000 to 2199 (UTC), so that no later arithmetic on it can
// overflow. Anything else is INVALID_ARGUMENT naming `field`.
absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& ts,
                                         absl::string_view field);

// True for well-formed UTF-8 (no overlong forms, surrogates or code points
// above U+10FFFF).
bool IsValidUtf8(absl::string_view value);

// `value` quoted for an error message: at most 40 bytes, anything but
// printable ASCII escaped, and the full length said when cut, so that a
// rejection never echoes megabytes or control characters into a client's
// logs.
std::string QuoteForMessage(absl::string_view value);

// A digest of a write request's payload, stored with its request id to tell
// a retry (same digest) from a different request reusing the id.
std::string Fingerprint(std::initializer_list<absl::string_view> parts);

}  // namespace ecoact
