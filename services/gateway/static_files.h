// Static files of the web console under a root directory: which file a
// request path names (never one outside the root), its content type and
// cache policy, and the security headers every page carries.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ecoact::gateway {

// The file under `root` that the (already percent-decoded) request `path`
// names: "/" and paths ending in "/" name that directory's index.html.
// NOT_FOUND for anything that could leave the root or reach a hidden file:
// a ".." or "." segment, a segment starting with '.', a backslash, a NUL or
// control character, an empty segment ("//"), and for a file whose real path
// (symbolic links resolved) lies outside the root's real path; also for a
// directory and a missing file. `root` must exist.
absl::StatusOr<std::string> ResolveStaticPath(const std::string& root, absl::string_view path);

// Content type by extension ("text/html; charset=utf-8" for .html, ...);
// application/octet-stream for an unknown one.
std::string ContentTypeFor(absl::string_view file_path);

// Cache-Control: HTML is revalidated on every load ("no-cache", with the
// ETag) so a new release shows at once; other files may be kept an hour.
std::string CacheControlFor(absl::string_view file_path);

// Headers of every static response: a Content-Security-Policy allowing this
// origin only (no inline scripts, no framing), no referrer. (nosniff is on
// every response of the gateway, API included.)
const std::vector<std::pair<std::string, std::string>>& StaticSecurityHeaders();

}  // namespace ecoact::gateway
