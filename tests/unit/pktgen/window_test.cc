#include "tools/pktgen/window.h"

#include <gtest/gtest.h>

namespace sluice::pktgen {
namespace {

TEST(Window, NoLimit) {
  Window w(0, 100);
  EXPECT_EQ(w.room(0, 1'000'000, 0), UINT64_MAX);
}

TEST(Window, BoundsOutstanding) {
  Window w(8, 100);
  EXPECT_EQ(w.room(0, 0, 0), 8u);
  EXPECT_EQ(w.room(1, 5, 0), 3u);
  EXPECT_EQ(w.room(2, 8, 0), 0u);
  w.answered(3);
  EXPECT_EQ(w.room(3, 8, 2), 2u);
  EXPECT_EQ(w.writtenOff(), 0u);
}

TEST(Window, WritesOffAStalledWindow) {
  Window w(4, 100);
  w.answered(10);
  EXPECT_EQ(w.room(50, 4, 0), 0u);   // full, answers may still come
  EXPECT_EQ(w.room(109, 4, 0), 0u);  // 99 units without an answer
  EXPECT_EQ(w.room(110, 4, 0), 4u);  // 100: the four are lost
  EXPECT_EQ(w.writtenOff(), 4u);
  EXPECT_EQ(w.room(111, 6, 0), 2u);
  // A late answer to a written-off request opens no more than the limit.
  w.answered(112);
  EXPECT_EQ(w.room(112, 6, 3), 4u);
  EXPECT_EQ(w.room(113, 10, 3), 1u);
  // The next stall is measured from the last answer (112).
  EXPECT_EQ(w.room(200, 11, 3), 0u);
  EXPECT_EQ(w.room(211, 11, 3), 0u);
  EXPECT_EQ(w.room(212, 11, 3), 4u);
  EXPECT_EQ(w.writtenOff(), 4u + 4u);
}

}  // namespace
}  // namespace sluice::pktgen
