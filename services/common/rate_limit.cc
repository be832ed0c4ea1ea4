#include "services/common/rate_limit.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common_lua.h"
#include "services/common/log.h"

namespace ecoact {
namespace {

const LuaScript& BucketScript() {
  static const LuaScript script("rate_limit", embedded::kRateLimitLua);
  return script;
}

}  // namespace

const char kDefaultRateLimits[] =
    "*=1200/300,"
    "ecoact.v1.IdentityService.SignIn=10/5,"
    "ecoact.v1.IdentityService.Register=10/10,"
    "ecoact.v1.IdentityService.JoinWithCode=20/10,"
    "ecoact.v1.EventsService.CheckIn=20/10";

absl::StatusOr<RateLimitTable> RateLimitTable::Parse(absl::string_view spec) {
  RateLimitTable table;
  spec = absl::StripAsciiWhitespace(spec);
  if (spec.empty() || spec == "0" || spec == "off") return table;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    absl::string_view method = absl::StripAsciiWhitespace(kv.first);
    std::pair<absl::string_view, absl::string_view> rate_burst =
        absl::StrSplit(kv.second, absl::MaxSplits('/', 1));
    RateLimit limit;
    bool ok = !method.empty() && !absl::StrContains(item, "==") &&
              absl::StrContains(item, '=') &&
              absl::SimpleAtoi(rate_burst.first, &limit.per_minute) && limit.per_minute >= 0 &&
              limit.per_minute <= 1000000;
    if (ok && absl::StrContains(kv.second, '/')) {
      ok = absl::SimpleAtoi(rate_burst.second, &limit.burst) && limit.burst >= 1 &&
           limit.burst <= 1000000;
    } else {
      limit.burst = limit.per_minute;
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad item '", item, "': expected METHOD=PER_MINUTE[/BURST] (e.g. "
          "ecoact.v1.IdentityService.SignIn=10/5, or *=600 for every other RPC)"));
    }
    if (method == "*") {
      table.default_ = limit;
    } else {
      table.methods_[std::string(absl::StripPrefix(method, "/"))] = limit;
    }
  }
  return table;
}

RateLimit RateLimitTable::For(absl::string_view method) const {
  auto it = methods_.find(method);
  return it == methods_.end() ? default_ : it->second;
}

bool RateLimitTable::any_enabled() const {
  if (default_.enabled()) return true;
  for (const auto& [name, limit] : methods_) {
    if (limit.enabled()) return true;
  }
  return false;
}

RateLimiter::RateLimiter(RedisClient* redis, std::string prefix, RateLimitTable table)
    : redis_(redis), prefix_(std::move(prefix)), table_(std::move(table)) {}

std::string RateLimiter::BucketKey(absl::string_view subject, absl::string_view method) const {
  return absl::StrCat(prefix_, ":{rl:", subject, "}:", method);
}

absl::StatusOr<RateDecision> RateLimiter::Take(absl::string_view method,
                                               absl::string_view subject) const {
  RateDecision decision;
  RateLimit limit = table_.For(method);
  if (!limit.enabled()) return decision;
  int64_t now_ms = absl::ToUnixMillis(absl::Now());
  if (now_ms < pause_until_ms_.load()) {
    return absl::UnavailableError("rate limiter paused after a Redis failure");
  }
  absl::StatusOr<RedisValue> reply =
      redis_->Eval(BucketScript(), {BucketKey(subject, method)},
                   {absl::StrCat(limit.per_minute), absl::StrCat(limit.burst)});
  if (!reply.ok()) {
    // Do not make every call of an outage wait for a Redis timeout twice.
    pause_until_ms_.store(now_ms + kPauseAfterFailureMs);
    return reply.status();
  }
  absl::StatusOr<int64_t> wait = reply->AsInt();
  if (!wait.ok()) return wait.status();
  decision.allowed = *wait <= 0;
  decision.retry_after_ms = decision.allowed ? 0 : *wait;
  return decision;
}

void RateLimiter::CountFailOpen(const absl::Status& error) const {
  if (fail_open_.fetch_add(1) == 0) {
    LogWarning("rate limiter cannot reach Redis: letting calls through unlimited "
               "(logged once; see fail-open count)",
               {{"reason", std::string(error.message())}});
  }
}

std::string PeerHost(absl::string_view peer) {
  absl::string_view rest = peer;
  if (absl::ConsumePrefix(&rest, "ipv4:")) {
    size_t colon = rest.rfind(':');
    return std::string(colon == absl::string_view::npos ? rest : rest.substr(0, colon));
  }
  if (absl::ConsumePrefix(&rest, "ipv6:")) {
    size_t close = rest.rfind(']');
    if (absl::ConsumePrefix(&rest, "[") && close != absl::string_view::npos) {
      return std::string(rest.substr(0, close - 1));
    }
    return std::string(rest);
  }
  return std::string(peer);
}

}  // namespace ecoact
