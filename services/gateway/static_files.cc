#include "services/gateway/static_files.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ecoact::gateway {
namespace {

absl::StatusOr<std::string> RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) return absl::NotFoundError("no such file");
  return std::string(resolved);
}

absl::string_view Extension(absl::string_view file_path) {
  size_t slash = file_path.rfind('/');
  size_t dot = file_path.rfind('.');
  if (dot == absl::string_view::npos || (slash != absl::string_view::npos && dot < slash)) {
    return "";
  }
  return file_path.substr(dot + 1);
}

}  // namespace

absl::StatusOr<std::string> ResolveStaticPath(const std::string& root, absl::string_view path) {
  const absl::Status not_found = absl::NotFoundError(absl::StrCat("no file at ", path));
  if (path.empty() || path.front() != '/') return not_found;
  for (char c : path) {
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return not_found;
  }
  std::string relative(path.substr(1));
  if (relative.empty() || relative.back() == '/') relative += "index.html";
  for (absl::string_view segment : absl::StrSplit(relative, '/')) {
    if (segment.empty() || segment.front() == '.') return not_found;  // "", ".", "..", ".git"
  }
  absl::StatusOr<std::string> real_root = RealPath(root);
  if (!real_root.ok()) return absl::NotFoundError(absl::StrCat("no web root at ", root));
  absl::StatusOr<std::string> real_file = RealPath(absl::StrCat(*real_root, "/", relative));
  if (!real_file.ok()) return not_found;
  // A symbolic link inside the root may point anywhere; only what resolves
  // inside the root is served.
  if (!absl::StartsWith(*real_file, absl::StrCat(*real_root, "/"))) return not_found;
  struct stat info;
  if (stat(real_file->c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return not_found;
  return *real_file;
}

std::string ContentTypeFor(absl::string_view file_path) {
  static const auto* types = new std::map<std::string, std::string>{
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"webmanifest", "application/manifest+json"},
      {"txt", "text/plain; charset=utf-8"},
      {"csv", "text/csv; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"otf", "font/otf"},
      {"wasm", "application/wasm"},
  };
  auto found = types->find(absl::AsciiStrToLower(Extension(file_path)));
  return found == types->end() ? "application/octet-stream" : found->second;
}

std::string CacheControlFor(absl::string_view file_path) {
  std::string extension = absl::AsciiStrToLower(Extension(file_path));
  if (extension == "html" || extension == "htm") return "no-cache";
  return "public, max-age=3600";
}

const std::vector<std::pair<std::string, std::string>>& StaticSecurityHeaders() {
  static const auto* headers = new std::vector<std::pair<std::string, std::string>>{
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; media-src 'self' blob:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Permissions-Policy", "camera=(self), microphone=(), geolocation=()"},
  };
  return *headers;
}

}  // namespace ecoact::gateway
