// Reading the report keys (report_model.h) of every ledger shard and adding
// them up. A scope's figures are spread over the shards (each shard counts
// its own accounts' entries), so a read is one pipeline over months x shards,
// and the participant counts a second one (PFCOUNT of each shard's logs; the
// shards' accounts are disjoint, so their counts add up exactly).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/keys.h"
#include "services/common/redis.h"
#include "services/reports/report_model.h"

namespace ecoact::reports {

struct MonthFigures {
  std::string month;
  ScopeFigures figures;
  std::map<std::string, int64_t> participants_by_category;
  int64_t participants = 0;
};

struct ScopeData {
  std::string scope;  // scope key, "ward:nakahara"
  std::vector<MonthFigures> months;
  // Over the whole range; participants are distinct accounts over the range.
  ScopeFigures total;
  std::map<std::string, int64_t> participants_by_category;
  int64_t participants = 0;
};

class ReportStore {
 public:
  ReportStore(RedisClient* redis, const KeySpace* keys) : redis_(redis), keys_(keys) {}

  // Figures of each scope for each month of `months` (in order), and over
  // the range. Two round trips whatever the number of scopes.
  absl::StatusOr<std::vector<ScopeData>> Read(const std::vector<std::string>& scopes,
                                              const std::vector<std::string>& months);

  // Ward, team and organisation sums over `months` (no participants), keyed
  // by scope key. One round trip.
  absl::StatusOr<std::map<std::string, Figures>> ReadGroups(const std::vector<std::string>& months);

  // Distinct active accounts of each scope over `months`. One round trip.
  absl::StatusOr<std::map<std::string, int64_t>> Participants(
      const std::vector<std::string>& scopes, const std::vector<std::string>& months);

  // Every scope key with an entry in `month`, sorted, "city" first.
  absl::StatusOr<std::vector<std::string>> ScopesInMonth(const std::string& month);

 private:
  RedisClient* redis_;
  const KeySpace* keys_;
};

}  // namespace ecoact::reports
