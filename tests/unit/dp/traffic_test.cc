#include "dp/traffic.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace sluice::dp {
namespace {

TrafficStats readService(const TrafficCells& cells, uint32_t slot, uint32_t gen) {
  TrafficStats t;
  cells.readService(slot, gen, &t);
  return t;
}

TEST(TrafficCells, CountsPerGenerationAndRestartsForANewOwner) {
  TrafficCells cells(8, 8);
  ASSERT_TRUE(cells.ok());
  TrafficCell& c = cells.service(3, 1);
  TrafficCells::countNewFlow(c);
  TrafficCells::countIn(c, 100);
  TrafficCells::countIn(c, 60);
  TrafficCells::countOut(c, 40);
  TrafficStats t = readService(cells, 3, 1);
  EXPECT_EQ(1u, t.new_flows);
  EXPECT_EQ(1u, t.active_flows);
  EXPECT_EQ(2u, t.in_packets);
  EXPECT_EQ(160u, t.in_bytes);
  EXPECT_EQ(1u, t.out_packets);
  EXPECT_EQ(40u, t.out_bytes);
  EXPECT_EQ(0u, readService(cells, 3, 2).in_packets) << "another generation reads as zero";
  EXPECT_EQ(0u, readService(cells, 4, 1).in_packets);

  // Slot 3 goes to a new service (generation 2): it starts from zero.
  TrafficCells::countIn(cells.service(3, 2), 10);
  t = readService(cells, 3, 2);
  EXPECT_EQ(1u, t.in_packets);
  EXPECT_EQ(10u, t.in_bytes);
  EXPECT_EQ(0u, t.active_flows);
  EXPECT_EQ(0u, readService(cells, 3, 1).in_packets) << "the old owner is gone";
}

TEST(TrafficCells, AFlowEndingDecrementsOnlyCellsOfItsOwnGeneration) {
  TrafficCells cells(4, 4);
  TrafficCells::countNewFlow(cells.service(0, 5));
  TrafficCells::countNewFlow(cells.service(0, 5));
  TrafficCells::countNewFlow(*cells.endpoint(2, 9));
  cells.flowEnded(0, 5, 2, 9);
  EXPECT_EQ(1u, readService(cells, 0, 5).active_flows);
  TrafficStats e;
  cells.readEndpoint(2, 9, &e);
  EXPECT_EQ(0u, e.active_flows);
  EXPECT_EQ(1u, e.new_flows);
  // A flow of an older service in the same slot, or never given one (gen 0).
  cells.flowEnded(0, 4, kNoStat, 0);
  cells.flowEnded(0, 0, 0, 0);
  EXPECT_EQ(1u, readService(cells, 0, 5).active_flows);
  // Never below zero.
  cells.flowEnded(0, 5, kNoStat, 0);
  cells.flowEnded(0, 5, kNoStat, 0);
  EXPECT_EQ(0u, readService(cells, 0, 5).active_flows);
  EXPECT_EQ(nullptr, cells.endpoint(kNoStat, 1));
  TrafficStats none;
  cells.readEndpoint(kNoStat, 1, &none);
  EXPECT_EQ(0u, none.new_flows);
}

// A reader racing a writer that hands the cell to a new owner again and
// again never sees one owner's numbers under another's generation. Owner g
// counts packets of g bytes, so bytes are always a multiple of g.
TEST(TrafficCells, AReaderNeverMixesTwoOwnersNumbers) {
  TrafficCells cells(1, 1);
  std::atomic<uint32_t> current{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> reading{false};
  std::atomic<uint64_t> checked{0};
  std::thread writer([&] {
    while (!reading.load()) std::this_thread::yield();
    // Until the reader has looked often enough; bounded either way.
    for (uint32_t g = 1; g <= 5000000 && checked.load(std::memory_order_relaxed) < 20000; g++) {
      TrafficCell& c = cells.service(0, g);
      current.store(g, std::memory_order_release);
      for (unsigned i = 0; i < 50; i++) TrafficCells::countIn(c, g);
    }
    stop.store(true);
  });
  reading.store(true);
  while (!stop.load()) {
    uint32_t g = current.load(std::memory_order_acquire);
    if (g == 0) continue;
    TrafficStats t = readService(cells, 0, g);
    // Packets and bytes are read at slightly different moments of the same
    // owner's life, so only each on its own can be checked: never another
    // owner's value, never more than this owner counted.
    EXPECT_EQ(0u, t.in_bytes % g) << "generation " << g;
    EXPECT_LE(t.in_bytes, 50u * g);
    EXPECT_LE(t.in_packets, 50u);
    checked.fetch_add(1, std::memory_order_relaxed);
  }
  writer.join();
  EXPECT_GT(checked.load(), 0u);
}

}  // namespace
}  // namespace sluice::dp
