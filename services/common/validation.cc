#include "services/common/validation.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "openssl/sha.h"

namespace ecoact {
namespace {

// Decodes one UTF-8 code point starting at `i`; returns false for malformed,
// overlong or surrogate sequences.
bool NextCodePoint(absl::string_view s, size_t* i, uint32_t* cp) {
  unsigned char c = s[*i];
  int extra = 0;
  uint32_t min = 0;
  if (c < 0x80) { *cp = c; ++*i; return true; }
  if ((c & 0xE0) == 0xC0) { extra = 1; *cp = c & 0x1F; min = 0x80; }
  else if ((c & 0xF0) == 0xE0) { extra = 2; *cp = c & 0x0F; min = 0x800; }
  else if ((c & 0xF8) == 0xF0) { extra = 3; *cp = c & 0x07; min = 0x10000; }
  else return false;
  if (*i + extra >= s.size()) return false;
  for (int k = 1; k <= extra; ++k) {
    unsigned char d = s[*i + k];
    if ((d & 0xC0) != 0x80) return false;
    *cp = (*cp << 6) | (d & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return false;
  *i += extra + 1;
  return true;
}

bool IsControl(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);  // bidi overrides
}

}  // namespace

absl::Status ValidateRequestId(absl::string_view request_id, size_t min_length) {
  if (request_id.size() < min_length || request_id.size() > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request_id must be ", min_length, " to 64 characters (a UUID is fine), got ",
        request_id.size()));
  }
  for (char c : request_id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return absl::InvalidArgumentError("request_id may contain only A-Z a-z 0-9 - _");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSlug(absl::string_view field, absl::string_view value, size_t min,
                          size_t max) {
  bool ok = value.size() >= min && value.size() <= max && !value.empty() &&
            absl::ascii_islower(static_cast<unsigned char>(value[0]));
  for (char c : value) {
    ok = ok && (absl::ascii_islower(static_cast<unsigned char>(c)) ||
                absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
                c == '.');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be ", min, " to ", max,
        " characters: a lower-case letter, then a-z 0-9 _ . -; got ", QuoteForMessage(value)));
  }
  return absl::OkStatus();
}

absl::Status ValidateDisplayText(absl::string_view field, absl::string_view value,
                                 size_t max_chars, std::string* out) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(value);
  size_t count = 0;
  for (size_t i = 0; i < trimmed.size();) {
    uint32_t cp = 0;
    if (!NextCodePoint(trimmed, &i, &cp)) {
      return absl::InvalidArgumentError(absl::StrCat(field, " is not valid UTF-8"));
    }
    if (IsControl(cp)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " must not contain control or bidi-override characters"));
    }
    ++count;
  }
  if (count == 0 || count > max_chars) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be 1 to ", max_chars,
                                                   " characters, got ", count));
  }
  out->assign(trimmed.data(), trimmed.size());
  return absl::OkStatus();
}

absl::Status ValidateActionTypeId(absl::string_view field, absl::string_view value) {
  bool ok = value.size() >= 2 && value.size() <= 40 &&
            absl::ascii_islower(static_cast<unsigned char>(value[0]));
  for (char c : value) {
    ok = ok && (absl::ascii_islower(static_cast<unsigned char>(c)) ||
                absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be an action type id (2 to 40 characters: a lower-case letter, then "
        "a-z 0-9 _; see CatalogService.ListActionTypes), got ", QuoteForMessage(value)));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& ts,
                                         absl::string_view field) {
  constexpr int64_t kYear2000 = 946684800;
  constexpr int64_t kYear2200 = 7258118400;
  if (ts.nanos() < 0 || ts.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".nanos must be 0 to 999999999, got ", ts.nanos()));
  }
  if (ts.seconds() < kYear2000 || ts.seconds() >= kYear2200) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " is not a plausible time (years 2000 to 2199 UTC accepted), got ", ts.seconds(),
        " seconds since 1970"));
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

bool IsValidUtf8(absl::string_view value) {
  for (size_t i = 0; i < value.size();) {
    uint32_t cp = 0;
    if (!NextCodePoint(value, &i, &cp)) return false;
  }
  return true;
}

std::string QuoteForMessage(absl::string_view value) {
  constexpr size_t kShown = 40;
  std::string out = "'";
  for (size_t i = 0; i < value.size() && i < kShown; ++i) {
    const unsigned char c = value[i];
    if (c >= 0x20 && c < 0x7F && c != '\\' && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "\\x", absl::BytesToHexString(absl::string_view(value.data() + i, 1)));
    }
  }
  out.push_back('\'');
  if (value.size() > kShown) absl::StrAppend(&out, " (cut; ", value.size(), " bytes in all)");
  return out;
}

std::string Fingerprint(std::initializer_list<absl::string_view> parts) {
  std::string framed;
  for (absl::string_view part : parts) absl::StrAppend(&framed, part.size(), ":", part, ";");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(framed.data()), framed.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

}  // namespace ecoact
