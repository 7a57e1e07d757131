// The hold queue: bounded, first in first out, and a sweep that takes any
// packets out keeps the others in arrival order.
#include "dp/hold_queue.h"

#include <vector>

#include <gtest/gtest.h>

namespace sluice::dp {
namespace {

// Distinct fake packet pointers; the queue never dereferences them.
rte_mbuf* fake(uintptr_t n) {
  return reinterpret_cast<rte_mbuf*>(n * 64);
}

std::vector<uint32_t> slotsOf(HoldQueue& q) {
  std::vector<uint32_t> out;
  q.sweep([&](HeldPacket& p) {
    out.push_back(p.slot);
    return false;
  });
  return out;
}

TEST(HoldQueue, HoldsUpToItsCapacity) {
  HoldQueue q(3);
  EXPECT_EQ(3u, q.capacity());
  EXPECT_EQ(0u, q.size());
  for (uint32_t i = 0; i < 3; i++) {
    EXPECT_FALSE(q.full());
    q.push({fake(i + 1), i, 1, 100});
  }
  EXPECT_TRUE(q.full());
  EXPECT_EQ(3u, q.size());
}

TEST(HoldQueue, ZeroCapacityIsAlwaysFull) {
  HoldQueue q(0);
  EXPECT_TRUE(q.full());
  EXPECT_EQ(0u, q.size());
}

TEST(HoldQueue, SweepRemovesChosenPacketsAndKeepsTheRestInOrder) {
  HoldQueue q(8);
  for (uint32_t i = 0; i < 8; i++) q.push({fake(i + 1), i, 1, 100 + i});
  std::vector<rte_mbuf*> taken;
  q.sweep([&](HeldPacket& p) {
    if (p.slot % 3 != 0) return false;
    taken.push_back(p.m);
    return true;
  });
  EXPECT_EQ((std::vector<rte_mbuf*>{fake(1), fake(4), fake(7)}), taken);
  EXPECT_EQ(5u, q.size());
  EXPECT_EQ((std::vector<uint32_t>{1, 2, 4, 5, 7}), slotsOf(q));

  // Room again, and new packets go behind the old ones.
  q.push({fake(20), 20, 1, 0});
  EXPECT_EQ((std::vector<uint32_t>{1, 2, 4, 5, 7, 20}), slotsOf(q));

  // Packets the sweep changes keep the change.
  q.sweep([](HeldPacket& p) {
    p.deadline = 7;
    return false;
  });
  q.sweep([](HeldPacket& p) {
    EXPECT_EQ(7u, p.deadline);
    return false;
  });

  q.sweep([](HeldPacket&) { return true; });
  EXPECT_EQ(0u, q.size());
  EXPECT_TRUE(slotsOf(q).empty());
}

}  // namespace
}  // namespace sluice::dp
