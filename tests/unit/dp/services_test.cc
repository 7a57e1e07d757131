// The service table: lookups, stable endpoint indices across versions, and
// RCU: readers on other threads never see a version freed under them while
// the control plane publishes thousands of versions.
#include "dp/services.h"

#include <rte_byteorder.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::dp {
namespace {

IpAddr ip(const char* s) {
  return *IpAddr::parse(s);
}

ServiceSpec spec(const char* vip, uint16_t port, size_t endpoints, uint32_t first = 1) {
  ServiceSpec s;
  s.key = {ip(vip), port, Proto::kTcp};
  for (uint32_t i = 0; i < endpoints; i++) {
    IpAddr a = IpAddr::v4(0x0a000000u + first + i);
    s.endpoints.push_back({a, 8080, 1, EndpointState::kReady});
  }
  return s;
}

// Entry i -> endpoint i % n: enough for tests that do not need Maglev.
std::vector<uint32_t> table(const ServiceSpec& s, uint32_t m = 251) {
  std::vector<uint32_t> t(m, 0xffffffff);
  if (!s.endpoints.empty()) {
    for (uint32_t i = 0; i < m; i++) t[i] = i % s.endpoints.size();
  }
  return t;
}

struct Rcu {
  explicit Rcu(uint32_t threads) {
    size_t sz = rte_rcu_qsbr_get_memsize(threads);
    v = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, sz, RTE_CACHE_LINE_SIZE));
    rte_rcu_qsbr_init(v, threads);
  }
  ~Rcu() { rte_free(v); }
  rte_rcu_qsbr* v;
};

const ServiceVersion* find(const ServiceTable& t, const ServiceKey& k) {
  uint16_t port_be = rte_cpu_to_be_16(k.port);
  return t.find(static_cast<uint8_t>(k.vip.family), static_cast<uint8_t>(k.proto), port_be,
                k.vip.bytes.data());
}

TEST(ServiceTable, FindsPublishedServicesAndNothingElse) {
  Rcu rcu(1);
  auto t = ServiceTable::create("st_a", 64, 64, rcu.v);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  ServiceSpec a = spec("10.96.0.1", 80, 3), b = spec("10.96.0.1", 443, 2);
  ASSERT_TRUE((*t)->upsert(a, table(a)).isOk());
  ASSERT_TRUE((*t)->upsert(b, table(b)).isOk());
  const ServiceVersion* v = find(**t, a.key);
  ASSERT_NE(nullptr, v);
  EXPECT_EQ(3u, v->endpoint_count);
  EXPECT_EQ(251u, v->table_size);
  EXPECT_EQ(nullptr, find(**t, {ip("10.96.0.1"), 81, Proto::kTcp}));
  EXPECT_EQ(nullptr, find(**t, {ip("10.96.0.1"), 80, Proto::kUdp}));
  EXPECT_EQ(2u, (*t)->size());
  ASSERT_TRUE((*t)->remove(a.key).isOk());
  EXPECT_EQ(nullptr, find(**t, a.key));
  EXPECT_NE(nullptr, find(**t, b.key));
  EXPECT_FALSE((*t)->remove(a.key).isOk());
}

TEST(ServiceTable, EndpointsKeepTheirIndexAndGenerationAcrossVersions) {
  Rcu rcu(1);
  auto t = ServiceTable::create("st_b", 64, 64, rcu.v);
  ASSERT_TRUE(t.isOk());
  ServiceSpec s = spec("10.96.0.2", 80, 3);
  ASSERT_TRUE((*t)->upsert(s, table(s)).isOk());
  const ServiceVersion* v1 = find(**t, s.key);
  ASSERT_NE(nullptr, v1);
  uint32_t gen_of_third = v1->endpoints[2].gen;
  uint32_t service_gen = v1->gen;
  uint32_t slot = v1->slot;

  // Remove the first endpoint, mark the third terminating, add a new one.
  EndpointSpec third = s.endpoints[2];
  s.endpoints.erase(s.endpoints.begin());
  s.endpoints[1].state = EndpointState::kTerminating;
  s.endpoints.push_back({ip("10.0.0.99"), 8080, 1, EndpointState::kReady});
  ASSERT_TRUE((*t)->upsert(s, table(s)).isOk());
  const ServiceVersion* v2 = find(**t, s.key);
  ASSERT_NE(nullptr, v2);
  EXPECT_EQ(service_gen, v2->gen) << "an update keeps the service's generation";
  EXPECT_EQ(slot, v2->slot);
  EXPECT_EQ(gen_of_third, v2->endpoints[2].gen) << "a staying endpoint keeps its index";
  EXPECT_EQ(EndpointState::kTerminating, v2->endpoints[2].state);
  EXPECT_EQ(0, std::memcmp(v2->endpoints[2].addr, third.addr.bytes.data(), 4));
  // The new endpoint took the freed index 0, with a generation never used.
  EXPECT_EQ(0, std::memcmp(v2->endpoints[0].addr, ip("10.0.0.99").bytes.data(), 4));
  EXPECT_GT(v2->endpoints[0].gen, gen_of_third);
  // Table entries name endpoint indices, never the freed one's old owner.
  for (uint32_t i = 0; i < v2->table_size; i++) EXPECT_LT(v2->table[i], 3);
}

TEST(ServiceTable, RemovedAndReaddedServiceGetsANewGeneration) {
  Rcu rcu(1);
  auto t = ServiceTable::create("st_c", 64, 64, rcu.v);
  ASSERT_TRUE(t.isOk());
  ServiceSpec s = spec("10.96.0.3", 80, 2);
  ASSERT_TRUE((*t)->upsert(s, table(s)).isOk());
  uint32_t gen = find(**t, s.key)->gen;
  ASSERT_TRUE((*t)->remove(s.key).isOk());
  ASSERT_TRUE((*t)->upsert(s, table(s)).isOk());
  EXPECT_NE(gen, find(**t, s.key)->gen);
}

TEST(ServiceTable, RefusesBadTablesAndOverflow) {
  Rcu rcu(1);
  auto t = ServiceTable::create("st_d", 16, 64, rcu.v);
  ASSERT_TRUE(t.isOk());
  ServiceSpec s = spec("10.96.0.4", 80, 2);
  std::vector<uint32_t> bad(251, 5);
  EXPECT_FALSE((*t)->upsert(s, bad).isOk());
  EXPECT_FALSE((*t)->upsert(s, {}).isOk());
  EXPECT_EQ(0u, (*t)->size());
  for (uint16_t p = 0; p < 16; p++) {
    ServiceSpec x = spec("10.96.0.5", static_cast<uint16_t>(1000 + p), 1);
    ASSERT_TRUE((*t)->upsert(x, table(x)).isOk());
  }
  ServiceSpec x = spec("10.96.0.5", 2000, 1);
  Status st = (*t)->upsert(x, table(x));
  EXPECT_FALSE(st.isOk());
  EXPECT_NE(std::string::npos, st.message().find("full"));
}

TEST(ServiceTable, VersionBytesFollowEndpointsAndTable) {
  Rcu rcu(1);
  auto t = ServiceTable::create("st_e", 16, 64, rcu.v);
  ASSERT_TRUE(t.isOk());
  ServiceSpec s = spec("10.96.0.6", 80, 10);
  ASSERT_TRUE((*t)->upsert(s, table(s, 1021)).isOk());
  size_t bytes = (*t)->versionBytes(s.key);
  EXPECT_EQ(sizeof(ServiceVersion) + 10 * sizeof(EndpointSlot) + 1021 * sizeof(uint16_t), bytes);
  std::cout << "[ figure ] service with 10 endpoints, M=1021: " << bytes << " bytes per version\n";
}

TEST(ServiceTable, OnDemandServiceHasNoTableAndCostsOneHeader) {
  Rcu rcu(1);
  auto t = ServiceTable::create("st_od", 16, 64, rcu.v);
  ASSERT_TRUE(t.isOk());
  ServiceSpec lazy = spec("10.96.0.7", 80, 0);
  lazy.on_demand = true;
  // Given a table of "no endpoint" entries (what the publisher builds for an
  // empty service), it keeps none of it.
  ASSERT_TRUE((*t)->upsert(lazy, table(lazy, 1021)).isOk());
  const ServiceVersion* v = find(**t, lazy.key);
  ASSERT_NE(nullptr, v);
  EXPECT_TRUE(v->on_demand);
  EXPECT_EQ(0u, v->table_size);
  EXPECT_EQ(nullptr, v->table);
  EXPECT_EQ(0u, v->endpoint_count);
  EXPECT_EQ(sizeof(ServiceVersion), (*t)->versionBytes(lazy.key));
  EXPECT_EQ(sizeof(ServiceVersion), (*t)->totalVersionBytes());

  // With endpoints it is refused.
  ServiceSpec bad = spec("10.96.0.8", 80, 2);
  bad.on_demand = true;
  Status st = (*t)->upsert(bad, table(bad));
  EXPECT_FALSE(st.isOk());
  EXPECT_NE(std::string::npos, st.message().find("on-demand")) << st.message();

  // Loaded: a table and endpoints, and the total follows.
  ServiceSpec loaded = spec("10.96.0.7", 80, 10);
  ASSERT_TRUE((*t)->upsert(loaded, table(loaded, 1021)).isOk());
  v = find(**t, loaded.key);
  ASSERT_NE(nullptr, v);
  EXPECT_FALSE(v->on_demand);
  EXPECT_EQ(1021u, v->table_size);
  size_t loaded_bytes =
      sizeof(ServiceVersion) + 10 * sizeof(EndpointSlot) + 1021 * sizeof(uint16_t);
  EXPECT_EQ(loaded_bytes, (*t)->totalVersionBytes());

  // Unloaded again (eviction): back to one header, the endpoint array too.
  ASSERT_TRUE((*t)->upsert(lazy, {}).isOk());
  v = find(**t, lazy.key);
  ASSERT_NE(nullptr, v);
  EXPECT_EQ(0u, v->endpoint_count);
  EXPECT_EQ(sizeof(ServiceVersion), (*t)->totalVersionBytes());

  // A second service adds its own; removals take theirs away.
  ServiceSpec other = spec("10.96.0.9", 80, 3);
  ASSERT_TRUE((*t)->upsert(other, table(other, 251)).isOk());
  size_t second = sizeof(ServiceVersion) + 3 * sizeof(EndpointSlot) + 251 * sizeof(uint16_t);
  EXPECT_EQ(sizeof(ServiceVersion) + second, (*t)->totalVersionBytes());
  ASSERT_TRUE((*t)->remove(lazy.key).isOk());
  EXPECT_EQ(second, (*t)->totalVersionBytes());
  ASSERT_TRUE((*t)->remove(other.key).isOk());
  EXPECT_EQ(0u, (*t)->totalVersionBytes());
}

// Readers look services up and walk the version they got, reporting a
// quiescent state after each lookup, while the writer replaces and removes
// services as fast as it can. A version freed early would be seen with a
// poisoned magic or sizes of 0.
TEST(ServiceTable, ReadersNeverSeeAFreedVersionUnderPublishingStress) {
  constexpr uint32_t kReaders = 2;
  constexpr int kVersions = 5000;
  Rcu rcu(kReaders);
  auto t = ServiceTable::create("st_f", 256, 64, rcu.v);
  ASSERT_TRUE(t.isOk());
  std::vector<ServiceSpec> specs;
  for (uint16_t p = 0; p < 8; p++) specs.push_back(spec("10.96.1.1", 100 + p, 4));
  for (auto& s : specs) ASSERT_TRUE((*t)->upsert(s, table(s)).isOk());

  // Readers get their own copy of the keys: the writer rewrites `specs`.
  std::vector<ServiceKey> keys;
  for (const auto& s : specs) keys.push_back(s.key);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0}, bad{0};
  std::vector<std::thread> readers;
  for (uint32_t r = 0; r < kReaders; r++) {
    readers.emplace_back([&, r] {
      rte_rcu_qsbr_thread_register(rcu.v, r);
      rte_rcu_qsbr_thread_online(rcu.v, r);
      uint64_t n = 0;
      while (!done.load(std::memory_order_relaxed)) {
        for (const auto& key : keys) {
          const ServiceVersion* v = find(**t, key);
          if (v != nullptr) {
            uint32_t sum = 0;
            for (uint32_t i = 0; i < v->table_size; i++) {
              uint16_t e = v->table[i];
              if (e >= v->endpoint_count) continue;
              sum += v->endpoints[e].gen;
            }
            if (v->magic != kServiceVersionMagic || v->table_size == 0 || sum == 0) bad++;
            n++;
          }
          rte_rcu_qsbr_quiescent(rcu.v, r);
        }
      }
      reads += n;
      rte_rcu_qsbr_thread_offline(rcu.v, r);
      rte_rcu_qsbr_thread_unregister(rcu.v, r);
    });
  }
  for (int i = 0; i < kVersions; i++) {
    ServiceSpec& s = specs[static_cast<size_t>(i) % specs.size()];
    if (i % 50 == 49) {
      ASSERT_TRUE((*t)->remove(s.key).isOk());
      ASSERT_TRUE((*t)->upsert(s, table(s)).isOk());
    } else {
      // A new endpoint set each time: endpoints come and go.
      s = spec("10.96.1.1", s.key.port, 2 + static_cast<size_t>(i % 5), static_cast<uint32_t>(i));
      ASSERT_TRUE((*t)->upsert(s, table(s)).isOk());
    }
    (*t)->reclaim();
  }
  done = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(0u, bad.load());
  EXPECT_GT(reads.load(), 1000u);
}

}  // namespace
}  // namespace sluice::dp
