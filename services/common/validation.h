// Input checks shared by every service. Each returns INVALID_ARGUMENT with a
// message that names the field and the rule.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

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

// A digest of a write request's payload, stored with its request id to tell
// a retry (same digest) from a different request reusing the id.
std::string Fingerprint(std::initializer_list<absl::string_view> parts);

}  // namespace ecoact
