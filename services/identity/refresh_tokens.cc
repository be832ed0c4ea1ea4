#include "services/identity/refresh_tokens.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/tokens.h"

namespace ecoact::identity {
namespace {

constexpr absl::string_view kVersion = "rt1";
constexpr size_t kFamilyChars = 22;  // 16 bytes
constexpr size_t kSecretChars = 43;  // 32 bytes
constexpr size_t kMaxAccountIdBytes = 64;

bool IsBase64Url(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

std::string RefreshCredential::Format() const {
  return absl::StrCat(kVersion, ".", absl::WebSafeBase64Escape(account_id), ".", family, ".",
                      secret);
}

std::optional<RefreshCredential> RefreshCredential::Parse(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 4 || parts[0] != kVersion || parts[2].size() != kFamilyChars ||
      parts[3].size() != kSecretChars || !IsBase64Url(parts[1]) || !IsBase64Url(parts[2]) ||
      !IsBase64Url(parts[3])) {
    return std::nullopt;
  }
  RefreshCredential token;
  if (!absl::WebSafeBase64Unescape(parts[1], &token.account_id) || token.account_id.empty() ||
      token.account_id.size() > kMaxAccountIdBytes) {
    return std::nullopt;
  }
  token.family = std::string(parts[2]);
  token.secret = std::string(parts[3]);
  return token;
}

RefreshCredential NewRefreshToken(absl::string_view account_id, absl::string_view random48) {
  RefreshCredential token;
  token.account_id = std::string(account_id);
  token.family = absl::WebSafeBase64Escape(random48.substr(0, 16));
  token.secret = absl::WebSafeBase64Escape(random48.substr(16, 32));
  return token;
}

RefreshCredential NextRefreshToken(absl::string_view server_secret, const RefreshCredential& token) {
  std::string input = absl::StrCat("ecoact-refresh-next:", token.family, ":", token.secret);
  RefreshCredential next = token;
  next.secret = absl::WebSafeBase64Escape(HmacSha256(server_secret, input));
  return next;
}

std::string SecretHash(absl::string_view secret) {
  return absl::BytesToHexString(Sha256(secret));
}

}  // namespace ecoact::identity
