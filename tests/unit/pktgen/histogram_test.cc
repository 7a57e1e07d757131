#include "tools/pktgen/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace sluice::pktgen {
namespace {

// The nearest-rank percentile of sorted values: rank ceil(n * parts / whole).
uint64_t reference(const std::vector<uint64_t>& sorted, uint64_t parts, uint64_t whole) {
  uint64_t rank = (sorted.size() * parts + whole - 1) / whole;
  rank = std::clamp<uint64_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// The documented bound: within 1/2^(kSubBits+1) of the true value.
void expectWithinBound(uint64_t got, uint64_t want) {
  const double bound = static_cast<double>(want) / (1u << (LatencyHistogram::kSubBits + 1));
  EXPECT_LE(std::fabs(static_cast<double>(got) - static_cast<double>(want)), bound)
      << "got " << got << " want " << want;
}

TEST(LatencyHistogram, BucketsTileTheRange) {
  // Consecutive buckets are adjacent, and every value lands in the bucket
  // whose range holds it.
  for (size_t b = 0; b + 1 < LatencyHistogram::kBuckets; ++b) {
    ASSERT_EQ(LatencyHistogram::bucketLow(b) + LatencyHistogram::bucketWidth(b),
              LatencyHistogram::bucketLow(b + 1))
        << b;
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    const size_t b = LatencyHistogram::bucketOf(v);
    ASSERT_LT(b, LatencyHistogram::kBuckets);
    ASSERT_GE(v, LatencyHistogram::bucketLow(b));
    ASSERT_LT(v - LatencyHistogram::bucketLow(b), LatencyHistogram::bucketWidth(b));
  }
  EXPECT_EQ(LatencyHistogram::bucketOf(UINT64_MAX), LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::bucketOf(127), 127u);
  EXPECT_EQ(LatencyHistogram::bucketOf(128), 128u);
  EXPECT_EQ(LatencyHistogram::bucketWidth(128), 2u);
}

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(1, 2), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
}

TEST(LatencyHistogram, ExactForSmallValues) {
  LatencyHistogram h;
  std::vector<uint64_t> values;
  for (uint64_t v = 1; v <= 100; ++v) {
    h.record(v);
    values.push_back(v);
  }
  EXPECT_EQ(h.percentile(1, 2), 50u);
  EXPECT_EQ(h.percentile(99, 100), 99u);
  EXPECT_EQ(h.percentile(999, 1000), 100u);
  EXPECT_EQ(h.percentile(1, 1), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LatencyHistogram, PercentilesAgainstSortedReference) {
  std::mt19937_64 rng(42);
  // Latency-like: log-normal around 20 us with a long tail, plus outliers.
  std::lognormal_distribution<double> body(std::log(20'000.0), 0.6);
  for (size_t n : {1u, 2u, 999u, 1000u, 1001u, 123'457u}) {
    LatencyHistogram h;
    std::vector<uint64_t> values;
    for (size_t i = 0; i < n; ++i) {
      uint64_t v = static_cast<uint64_t>(body(rng));
      if (i % 997 == 0) v *= 1000;
      h.record(v);
      values.push_back(v);
    }
    std::sort(values.begin(), values.end());
    for (auto [parts, whole] : {std::pair<uint64_t, uint64_t>{1, 2},
                                {9, 10},
                                {99, 100},
                                {999, 1000},
                                {9999, 10000},
                                {1, 1000},
                                {1, 1}}) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " q=" << parts << "/" << whole);
      expectWithinBound(h.percentile(parts, whole), reference(values, parts, whole));
    }
    EXPECT_EQ(h.min(), values.front());
    EXPECT_EQ(h.max(), values.back());
    EXPECT_EQ(h.count(), n);
  }
}

TEST(LatencyHistogram, MergeEqualsRecordingEverything) {
  LatencyHistogram a;
  LatencyHistogram b;
  LatencyHistogram all;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 5000; ++i) {
    const uint64_t v = rng() % 1'000'000;
    (i % 2 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (uint64_t p : {1u, 50u, 99u, 100u}) EXPECT_EQ(a.percentile(p, 100), all.percentile(p, 100));
}

}  // namespace
}  // namespace sluice::pktgen
