#include "dp/neigh.h"

#include <rte_memory.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace sluice::dp {
namespace {

IpAddr ip(const char* s) {
  return *IpAddr::parse(s);
}
MacAddr mac(const char* s) {
  return *MacAddr::parse(s);
}

std::unique_ptr<NeighborTable> makeTable(const char* name, uint32_t capacity = 64) {
  auto t = NeighborTable::create(name, capacity, SOCKET_ID_ANY);
  EXPECT_TRUE(t.isOk()) << t.status().message();
  return std::move(*t);
}

TEST(NeighborTable, LookupFindsWhatWasSetPerPortAndFamily) {
  auto t = makeTable("nt_a");
  ASSERT_TRUE(t->set(0, ip("192.0.2.2"), mac("02:00:00:00:00:02"), false).isOk());
  ASSERT_TRUE(t->set(1, ip("2001:db8::2"), mac("02:00:00:00:00:03"), false).isOk());
  MacAddr m;
  ASSERT_TRUE(t->lookup(0, Family::kV4, ip("192.0.2.2").bytes.data(), &m));
  EXPECT_EQ(mac("02:00:00:00:00:02"), m);
  EXPECT_FALSE(t->lookup(1, Family::kV4, ip("192.0.2.2").bytes.data(), &m)) << "other port";
  ASSERT_TRUE(t->lookup(1, Family::kV6, ip("2001:db8::2").bytes.data(), &m));
  EXPECT_EQ(mac("02:00:00:00:00:03"), m);
  EXPECT_FALSE(t->lookup(0, Family::kV6, ip("2001:db8::3").bytes.data(), &m));
}

TEST(NeighborTable, LearnedEntryIsUpdatedStaticIsNot) {
  auto t = makeTable("nt_b");
  ASSERT_TRUE(t->set(0, ip("192.0.2.2"), mac("02:00:00:00:00:02"), false).isOk());
  ASSERT_TRUE(t->set(0, ip("192.0.2.2"), mac("02:00:00:00:00:22"), false).isOk());
  ASSERT_TRUE(t->set(0, ip("192.0.2.9"), mac("02:00:00:00:00:09"), true).isOk());
  ASSERT_TRUE(t->set(0, ip("192.0.2.9"), mac("02:00:00:00:00:99"), false).isOk());
  MacAddr m;
  ASSERT_TRUE(t->lookup(0, Family::kV4, ip("192.0.2.2").bytes.data(), &m));
  EXPECT_EQ(mac("02:00:00:00:00:22"), m);
  ASSERT_TRUE(t->lookup(0, Family::kV4, ip("192.0.2.9").bytes.data(), &m));
  EXPECT_EQ(mac("02:00:00:00:00:09"), m);
  auto all = t->list();
  ASSERT_EQ(2u, all.size());
}

TEST(NeighborTable, RefusesWhenFull) {
  auto t = makeTable("nt_c", 16);
  for (int i = 0; i < 16; i++) {
    IpAddr a = IpAddr::v4(0x0a000000u + static_cast<uint32_t>(i));
    ASSERT_TRUE(t->set(0, a, mac("02:00:00:00:00:01"), false).isOk()) << i;
  }
  Status s = t->set(0, ip("10.1.0.0"), mac("02:00:00:00:00:01"), false);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(std::string::npos, s.message().find("full"));
}

// A reader thread looks entries up while the writer adds and rewrites them:
// every lookup that succeeds sees one of the MACs that was written, never a
// torn mix.
TEST(NeighborTable, ReadersSeeWholeEntriesWhileTheWriterChangesThem) {
  auto t = makeTable("nt_d", 1024);
  std::atomic<bool> done{false}, started{false};
  std::atomic<uint64_t> bad{0}, hits{0};
  const MacAddr a = mac("02:aa:aa:aa:aa:aa"), b = mac("02:bb:bb:bb:bb:bb");
  std::thread reader([&] {
    started = true;
    while (!done.load()) {
      for (uint32_t i = 0; i < 512; i++) {
        IpAddr addr = IpAddr::v4(0x0a000000u + i);
        MacAddr m;
        if (t->lookup(0, Family::kV4, addr.bytes.data(), &m)) {
          hits++;
          if (!(m == a) && !(m == b)) bad++;
        }
      }
    }
  });
  while (!started.load()) std::this_thread::yield();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (int round = 0;
       round < 200 || (hits.load() < 10000 && std::chrono::steady_clock::now() < until); round++) {
    for (uint32_t i = 0; i < 512; i++) {
      ASSERT_TRUE(t->set(0, IpAddr::v4(0x0a000000u + i), round % 2 ? a : b, false).isOk());
    }
  }
  done = true;
  reader.join();
  EXPECT_EQ(0u, bad.load());
  EXPECT_GT(hits.load(), 0u);
}

TEST(NeighborEventRing, CarriesEventsInOrderAndRefusesWhenFull) {
  auto r = NeighborEventRing::create("ner_a", kNeighborEventRingSize, SOCKET_ID_ANY);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  unsigned posted = 0;
  for (unsigned i = 0; i < 5000; i++) {
    NeighborEvent ev{};
    ev.port_idx = static_cast<uint16_t>(i);
    if (!(*r)->post(ev)) break;
    posted++;
  }
  EXPECT_GE(posted, 1000u);
  EXPECT_LT(posted, 5000u);
  NeighborEvent out[64];
  unsigned seen = 0, n;
  while ((n = (*r)->drain(out, 64)) != 0) {
    for (unsigned i = 0; i < n; i++) EXPECT_EQ(seen + i, out[i].port_idx);
    seen += n;
  }
  EXPECT_EQ(posted, seen);
}

}  // namespace
}  // namespace sluice::dp
