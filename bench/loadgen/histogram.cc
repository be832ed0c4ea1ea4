#include "bench/loadgen/histogram.h"

#include <algorithm>
#include <cmath>

namespace ecoact::loadgen {
namespace {

constexpr int kSubBits = 7;                       // 128 sub-buckets per octave
constexpr int kSub = 1 << kSubBits;
constexpr int kExact = 2 * kSub;                  // values below 256 are exact
constexpr int kOctaves = 63 - (kSubBits + 1);     // octaves [2^8, 2^9) .. [2^62, 2^63)
constexpr int kBuckets = kExact + kOctaves * kSub;

int HighestBit(uint64_t v) { return 63 - __builtin_clzll(v); }

}  // namespace

Histogram::Histogram() : counts_(kBuckets, 0) {}

int Histogram::BucketCount() { return kBuckets; }

int Histogram::BucketOf(int64_t value) {
  if (value < kExact) return value < 0 ? 0 : static_cast<int>(value);
  const int octave_bit = HighestBit(static_cast<uint64_t>(value));  // >= 8
  const int shift = octave_bit - kSubBits;  // bucket width is 2^shift
  const int sub = static_cast<int>((static_cast<uint64_t>(value) >> shift) - kSub);
  return kExact + (octave_bit - (kSubBits + 1)) * kSub + sub;
}

int64_t Histogram::BucketLow(int bucket) {
  if (bucket < kExact) return bucket;
  const int octave = (bucket - kExact) / kSub;
  const int sub = (bucket - kExact) % kSub;
  const int shift = octave + 1;
  return static_cast<int64_t>(kSub + sub) << shift;
}

int64_t Histogram::BucketHigh(int bucket) {
  if (bucket < kExact) return bucket + 1;
  const int octave = (bucket - kExact) / kSub;
  return BucketLow(bucket) + (int64_t{1} << (octave + 1));
}

void Histogram::Record(int64_t value) {
  if (value < 0) value = 0;
  ++counts_[BucketOf(value)];
  if (count_ == 0 || value < min_) min_ = value;
  if (value > max_) max_ = value;
  ++count_;
  sum_ += value;
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

double Histogram::Mean() const {
  return count_ == 0 ? 0 : static_cast<double>(sum_ / count_);
}

int64_t Histogram::ValueAt(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * count_)));
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const int64_t low = BucketLow(i);
      const int64_t mid = low + (BucketHigh(i) - 1 - low) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace ecoact::loadgen
