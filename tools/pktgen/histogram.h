// A log-linear histogram of latencies in nanoseconds (the layout of
// HdrHistogram): values below 2^(kSubBits+1) each have their own bucket;
// above, every power-of-two range [2^e, 2^(e+1)) is split into 2^kSubBits
// equal buckets. Recording is O(1) with no allocation; memory is fixed
// (about 30 KiB).
//
// Error bound: a percentile is reported as the midpoint of the bucket holding
// the ranked value, clamped to [min, max]. A bucket starting at 2^e holds
// width 2^(e-kSubBits), so the report is within width/2, i.e. within
// 1/2^(kSubBits+1) = 0.78% of the true value (and exact below 128 ns).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::pktgen {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 6;
  static constexpr size_t kSubBuckets = size_t{1} << kSubBits;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSubBuckets;

  LatencyHistogram() : counts_(kBuckets, 0) {}

  void record(uint64_t value) {
    ++counts_[bucketOf(value)];
    ++count_;
    sum_ += value;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / count_; }

  // The nearest-rank percentile parts/whole (e.g. 999/1000 for p99.9): the
  // value of rank ceil(count * parts / whole) in sorted order, 1-based, within
  // the error bound above. 0 when empty; parts/whole must be in (0, 1].
  uint64_t percentile(uint64_t parts, uint64_t whole) const;

  static size_t bucketOf(uint64_t value);
  static uint64_t bucketLow(size_t bucket);
  static uint64_t bucketWidth(size_t bucket);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace sluice::pktgen
