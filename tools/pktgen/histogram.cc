#include "tools/pktgen/histogram.h"

#include <algorithm>
#include <bit>

namespace sluice::pktgen {

size_t LatencyHistogram::bucketOf(uint64_t value) {
  if (value < 2 * kSubBuckets) return static_cast<size_t>(value);
  // value has its top bit at `msb` >= kSubBits + 1; keep kSubBits + 1 bits.
  const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(value));
  const unsigned shift = msb - kSubBits;
  return (static_cast<size_t>(shift) << kSubBits) + static_cast<size_t>(value >> shift);
}

uint64_t LatencyHistogram::bucketLow(size_t bucket) {
  if (bucket < 2 * kSubBuckets) return bucket;
  const unsigned shift = static_cast<unsigned>(bucket >> kSubBits) - 1;
  const uint64_t mantissa = (bucket & (kSubBuckets - 1)) | kSubBuckets;
  return mantissa << shift;
}

uint64_t LatencyHistogram::bucketWidth(size_t bucket) {
  if (bucket < 2 * kSubBuckets) return 1;
  return uint64_t{1} << ((bucket >> kSubBits) - 1);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::percentile(uint64_t parts, uint64_t whole) const {
  if (count_ == 0 || whole == 0) return 0;
  // ceil(count * parts / whole) in integers: no rounding surprises at p99.9.
  const unsigned __int128 scaled = static_cast<unsigned __int128>(count_) * parts;
  uint64_t rank = static_cast<uint64_t>((scaled + whole - 1) / whole);
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t mid = bucketLow(i) + bucketWidth(i) / 2;
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

}  // namespace sluice::pktgen
