#include "dp/large_array.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>

namespace sluice::dp {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

struct Wide {
  uint64_t a;
  uint32_t b[13];
};

TEST(LargeArray, SmallArraysAreZeroedAndPageSized) {
  auto a = LargeArray<Wide>::zeroed(100);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.mappedBytes() % 4096, 0u);
  EXPECT_GE(a.mappedBytes(), 100 * sizeof(Wide));
  EXPECT_LT(a.mappedBytes(), kHugePage);
  for (size_t i = 0; i < 100; i++) {
    EXPECT_EQ(a[i].a, 0u);
    for (uint32_t v : a[i].b) EXPECT_EQ(v, 0u);
  }
  a[99].b[12] = 7;  // the last byte is writable
  EXPECT_EQ(a[99].b[12], 7u);
}

TEST(LargeArray, BigArraysAreHugePageAligned) {
  const size_t n = 3 * kHugePage / sizeof(uint64_t) + 1;  // just over 3 huge pages
  auto a = LargeArray<uint64_t>::zeroed(n);
  ASSERT_TRUE(a);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.get()) % kHugePage, 0u);
  EXPECT_EQ(a.mappedBytes(), 4 * kHugePage);
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum |= a[i];
  EXPECT_EQ(sum, 0u);
  a[n - 1] = 1;
  EXPECT_EQ(a[n - 1], 1u);
}

TEST(LargeArray, EmptyAndImpossibleSizesAreRefused) {
  EXPECT_FALSE(LargeArray<uint32_t>::zeroed(0));
  EXPECT_FALSE(LargeArray<Wide>::zeroed(SIZE_MAX / sizeof(Wide) + 1));
  EXPECT_FALSE(LargeArray<uint8_t>::zeroed(SIZE_MAX - 1));
  LargeArray<uint8_t> none;
  EXPECT_FALSE(none);
  EXPECT_EQ(none.get(), nullptr);
}

TEST(LargeArray, MovesOwnership) {
  auto a = LargeArray<uint32_t>::zeroed(1000);
  uint32_t* p = a.get();
  LargeArray<uint32_t> b = std::move(a);
  EXPECT_EQ(b.get(), p);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the point of the test
  LargeArray<uint32_t> c;
  c = std::move(b);
  EXPECT_EQ(c.get(), p);
  c[999] = 5;
  EXPECT_EQ(c[999], 5u);
}

}  // namespace
}  // namespace sluice::dp
