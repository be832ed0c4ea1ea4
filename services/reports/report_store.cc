#include "services/reports/report_store.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"

namespace ecoact::reports {
namespace {

absl::StatusOr<std::vector<RedisValue>> RunPipeline(RedisClient* redis,
                                                    const std::vector<std::vector<std::string>>& commands,
                                                    absl::string_view what) {
  if (commands.empty()) return std::vector<RedisValue>();
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, redis->Pipeline(commands));
  for (const RedisValue& reply : replies) {
    if (reply.IsError()) return RedisErrorToStatus(what, reply.str);
  }
  return replies;
}

std::vector<std::pair<std::string, std::string>> Pairs(const RedisValue& hash) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    out.emplace_back(hash.elements[i].str, hash.elements[i + 1].str);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<ScopeData>> ReportStore::Read(const std::vector<std::string>& scopes,
                                                         const std::vector<std::string>& months) {
  const int shards = keys_->shards();
  std::vector<std::vector<std::string>> reads;
  for (const std::string& scope : scopes) {
    for (const std::string& month : months) {
      for (int shard = 0; shard < shards; ++shard) {
        reads.push_back({"HGETALL", absl::StrCat(keys_->ShardPrefix(shard), "rpt:", month, ":", scope)});
      }
    }
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> hashes, RunPipeline(redis_, reads, "report read"));
  std::vector<ScopeData> out(scopes.size());
  size_t r = 0;
  for (size_t s = 0; s < scopes.size(); ++s) {
    out[s].scope = scopes[s];
    for (const std::string& month : months) {
      MonthFigures m;
      m.month = month;
      for (int shard = 0; shard < shards; ++shard) {
        const auto fields = Pairs(hashes[r++]);
        AddHashFields(fields, &m.figures);
        AddHashFields(fields, &out[s].total);
      }
      out[s].months.push_back(std::move(m));
    }
  }
  // Participants: per month (and category), and over the range (PFCOUNT of
  // several keys of one shard counts their union).
  std::vector<std::vector<std::string>> counts;
  auto hll = [&](int shard, const std::string& month, const std::string& scope,
                 const std::string& category) {
    return absl::StrCat(keys_->ShardPrefix(shard), "rpt-hll:", month, ":", scope,
                        category.empty() ? "" : "|", category);
  };
  for (const ScopeData& data : out) {
    for (const MonthFigures& m : data.months) {
      for (int shard = 0; shard < shards; ++shard) {
        counts.push_back({"PFCOUNT", hll(shard, m.month, data.scope, "")});
        for (const auto& [cat, f] : m.figures.by_category) {
          counts.push_back({"PFCOUNT", hll(shard, m.month, data.scope, cat)});
        }
      }
    }
    for (int shard = 0; shard < shards; ++shard) {
      std::vector<std::string> all = {"PFCOUNT"};
      for (const std::string& month : months) all.push_back(hll(shard, month, data.scope, ""));
      counts.push_back(std::move(all));
      for (const auto& [cat, f] : data.total.by_category) {
        std::vector<std::string> per = {"PFCOUNT"};
        for (const std::string& month : months) per.push_back(hll(shard, month, data.scope, cat));
        counts.push_back(std::move(per));
      }
    }
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, RunPipeline(redis_, counts, "report count"));
  size_t c = 0;
  for (ScopeData& data : out) {
    for (MonthFigures& m : data.months) {
      for (int shard = 0; shard < shards; ++shard) {
        m.participants += replies[c++].integer;
        for (const auto& [cat, f] : m.figures.by_category) {
          m.participants_by_category[cat] += replies[c++].integer;
        }
      }
    }
    for (int shard = 0; shard < shards; ++shard) {
      data.participants += replies[c++].integer;
      for (const auto& [cat, f] : data.total.by_category) {
        data.participants_by_category[cat] += replies[c++].integer;
      }
    }
  }
  return out;
}

absl::StatusOr<std::map<std::string, Figures>> ReportStore::ReadGroups(
    const std::vector<std::string>& months) {
  std::vector<std::vector<std::string>> reads;
  for (const std::string& month : months) {
    for (int shard = 0; shard < keys_->shards(); ++shard) {
      reads.push_back({"HGETALL", absl::StrCat(keys_->ShardPrefix(shard), "rpt-grp:", month)});
    }
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> hashes, RunPipeline(redis_, reads, "report groups"));
  std::map<std::string, Figures> out;
  for (const RedisValue& hash : hashes) AddGroupFields(Pairs(hash), &out);
  return out;
}

absl::StatusOr<std::map<std::string, int64_t>> ReportStore::Participants(
    const std::vector<std::string>& scopes, const std::vector<std::string>& months) {
  std::vector<std::vector<std::string>> counts;
  for (const std::string& scope : scopes) {
    for (int shard = 0; shard < keys_->shards(); ++shard) {
      std::vector<std::string> command = {"PFCOUNT"};
      for (const std::string& month : months) {
        command.push_back(absl::StrCat(keys_->ShardPrefix(shard), "rpt-hll:", month, ":", scope));
      }
      counts.push_back(std::move(command));
    }
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> replies, RunPipeline(redis_, counts, "report count"));
  std::map<std::string, int64_t> out;
  size_t c = 0;
  for (const std::string& scope : scopes) {
    for (int shard = 0; shard < keys_->shards(); ++shard) out[scope] += replies[c++].integer;
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ReportStore::ScopesInMonth(const std::string& month) {
  std::vector<std::vector<std::string>> reads;
  for (int shard = 0; shard < keys_->shards(); ++shard) {
    reads.push_back({"SMEMBERS", absl::StrCat(keys_->ShardPrefix(shard), "rpt-idx:", month)});
  }
  ASSIGN_OR_RETURN(std::vector<RedisValue> sets, RunPipeline(redis_, reads, "report index"));
  std::set<std::string> scopes;
  for (const RedisValue& set : sets) {
    for (const RedisValue& member : set.elements) scopes.insert(member.str);
  }
  // City, then wards, teams, organisations, events, campaigns, each by id.
  auto rank = [](const std::string& key) {
    v1::Scope scope = v1::SCOPE_UNSPECIFIED;
    std::string id;
    if (!ParseScopeKey(key, &scope, &id)) return 9;
    switch (scope) {
      case v1::SCOPE_CITY: return 0;
      case v1::SCOPE_WARD: return 1;
      case v1::SCOPE_TEAM: return 2;
      case v1::SCOPE_ORGANISATION: return 3;
      case v1::SCOPE_EVENT: return 4;
      case v1::SCOPE_CAMPAIGN: return 5;
      default: return 9;
    }
  };
  std::vector<std::string> out(scopes.begin(), scopes.end());
  std::stable_sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) {
    return rank(a) < rank(b);
  });
  return out;
}

}  // namespace ecoact::reports
