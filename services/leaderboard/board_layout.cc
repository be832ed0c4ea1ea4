#include "services/leaderboard/board_layout.h"

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ecoact::leaderboard {

bool BoardLayout::Partitioned(absl::string_view board) const {
  return partitions_ > 1 && absl::StartsWith(board, "city::");
}

int BoardLayout::PartOf(absl::string_view member) const {
  // FNV-1a, then a final mix: the ledger shard is FNV-1a mod the shard
  // count, and without the mix a part count that divides it would put each
  // shard's accounts on one part (one projector batch, one node).
  uint32_t hash = 2166136261u;
  for (unsigned char c : member) {
    hash ^= c;
    hash *= 16777619u;
  }
  hash ^= hash >> 16;
  hash *= 0x7feb352du;
  hash ^= hash >> 15;
  return static_cast<int>(hash % static_cast<uint32_t>(partitions_));
}

std::string BoardLayout::PartName(absl::string_view board, int part) const {
  return absl::StrCat(board, ":", part);
}

std::string BoardLayout::PartKey(absl::string_view board, int part) const {
  return keys_->Board(PartName(board, part));
}

std::string BoardLayout::KeyOf(absl::string_view board, absl::string_view member) const {
  if (!Partitioned(board)) return keys_->Board(board);
  return PartKey(board, PartOf(member));
}

std::vector<std::string> BoardLayout::Keys(absl::string_view board) const {
  if (!Partitioned(board)) return {keys_->Board(board)};
  std::vector<std::string> keys;
  keys.reserve(partitions_);
  for (int part = 0; part < partitions_; ++part) keys.push_back(PartKey(board, part));
  return keys;
}

}  // namespace ecoact::leaderboard
