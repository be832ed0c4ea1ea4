// A log-linear latency histogram: exact below 256 ns, then 128 equal
// sub-buckets per power of two, so a reported percentile is within 1/128
// (0.8%) of the true sample. Fixed memory (about 60 KiB), O(1) to record and
// cheap to merge, so each client thread keeps its own and they are summed at
// the end. Pure: no clock, no threads.
#pragma once

#include <cstdint>
#include <vector>

namespace ecoact::loadgen {

class Histogram {
 public:
  Histogram();

  // Records one value (nanoseconds, or any non-negative unit); negative
  // values count as 0.
  void Record(int64_t value);
  // Adds every value recorded in `other`.
  void Merge(const Histogram& other);

  int64_t count() const { return count_; }
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  double Mean() const;

  // The value at quantile q in [0, 1]: the smallest recorded value v such
  // that at least ceil(q * count) values are <= v, reported as the middle of
  // its bucket and clamped to [min, max]. 0 when empty.
  int64_t ValueAt(double q) const;

  // Bucket arithmetic, exposed for the tests.
  static int BucketOf(int64_t value);
  static int64_t BucketLow(int bucket);
  static int64_t BucketHigh(int bucket);  // exclusive
  static int BucketCount();

 private:
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace ecoact::loadgen
