#include "services/identity/accounts.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "openssl/sha.h"
#include "services/common/tokens.h"
#include "services/common/clock.h"
#include "services/common/validation.h"

namespace ecoact::identity {
namespace {

std::string Pbkdf2(absl::string_view secret, absl::string_view salt, int iterations) {
  unsigned char out[32];
  PKCS5_PBKDF2_HMAC(secret.data(), static_cast<int>(secret.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(), sizeof(out), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof(out));
}

}  // namespace

absl::StatusOr<WardDirectory> WardDirectory::Parse(absl::string_view spec) {
  WardDirectory directory;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits(':', 1));
    absl::Status valid = ValidateSlug("ward id", kv.first, 2, 32);
    if (!valid.ok()) return valid;
    if (directory.Contains(kv.first)) {
      return absl::InvalidArgumentError(absl::StrCat("ward '", kv.first, "' listed twice"));
    }
    directory.wards_.push_back({kv.first, kv.second.empty() ? kv.first : kv.second});
  }
  if (directory.wards_.empty()) return absl::InvalidArgumentError("no wards configured");
  return directory;
}

bool WardDirectory::Contains(absl::string_view id) const {
  for (const auto& w : wards_) {
    if (w.id == id) return true;
  }
  return false;
}

absl::Status ValidateProfile(const WardDirectory& wards, absl::string_view nickname,
                             absl::string_view ward, std::string* normalised_nickname) {
  absl::Status status = ValidateDisplayText("nickname", nickname, 24, normalised_nickname);
  if (!status.ok()) return status;
  if (ward.empty()) return absl::InvalidArgumentError("ward is required; see ListWards");
  status = ValidateSlug("ward", ward, 2, 32);
  if (!status.ok()) return status;
  if (!wards.Contains(ward)) {
    return absl::NotFoundError(absl::StrCat("unknown ward '", ward, "'; see ListWards"));
  }
  return absl::OkStatus();
}

std::string HashSecret(absl::string_view secret, int iterations) {
  std::string salt = RandomBytes(16);
  return absl::StrCat("pbkdf2-sha256$", iterations, "$", absl::Base64Escape(salt), "$",
                      absl::Base64Escape(Pbkdf2(secret, salt, iterations)));
}

bool VerifySecret(absl::string_view secret, absl::string_view stored) {
  std::vector<absl::string_view> parts = absl::StrSplit(stored, '$');
  int iterations = 0;
  std::string salt, expected;
  if (parts.size() != 4 || parts[0] != "pbkdf2-sha256" || !absl::SimpleAtoi(parts[1], &iterations) ||
      iterations < 1 || !absl::Base64Unescape(parts[2], &salt) ||
      !absl::Base64Unescape(parts[3], &expected)) {
    return false;
  }
  std::string actual = Pbkdf2(secret, salt, iterations);
  return actual.size() == expected.size() &&
         CRYPTO_memcmp(actual.data(), expected.data(), actual.size()) == 0;
}

CitizenCredentials DeriveCitizenCredentials(absl::string_view server_key,
                                            absl::string_view request_id) {
  CitizenCredentials credentials;
  credentials.account_id =
      "u" + Base32(HmacSha256(server_key, absl::StrCat("ecoact-account-id:", request_id)))
                .substr(0, 20);
  credentials.secret =
      Base32(HmacSha256(server_key, absl::StrCat("ecoact-account-secret:", request_id)));
  return credentials;
}

}  // namespace ecoact::identity
