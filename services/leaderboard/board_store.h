// Reading boards from Redis (sorted sets, one per board, in their own slot).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/keys.h"
#include "services/common/redis.h"

namespace ecoact::leaderboard {

struct RankedMember {
  std::string account_id;
  int64_t score = 0;
  int64_t rank = 0;  // competition rank
  std::string nickname;
};

struct BoardPage {
  int64_t total = 0;
  std::vector<RankedMember> members;
};

struct RankWindow {
  int64_t total = 0;
  std::optional<size_t> me;  // index of the caller in members
  std::vector<RankedMember> members;
};

class BoardStore {
 public:
  BoardStore(RedisClient* redis, KeySpace keys) : redis_(redis), keys_(std::move(keys)) {}
  absl::StatusOr<BoardPage> Page(const std::string& board, int64_t offset, int64_t count);
  absl::StatusOr<RankWindow> Around(const std::string& board, const std::string& account_id,
                                    int neighbours);

 private:
  // Parses {member, score, ...} from `from` and assigns competition ranks.
  absl::StatusOr<std::vector<RankedMember>> Members(const RedisValue& reply, size_t from,
                                                    int64_t offset, int64_t first_rank);
  absl::Status FillNicknames(std::vector<RankedMember>* members);

  RedisClient* redis_;
  KeySpace keys_;
};

}  // namespace ecoact::leaderboard
