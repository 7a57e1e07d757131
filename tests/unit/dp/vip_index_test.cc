#include "dp/vip_index.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace sluice::dp {
namespace {

// A key as the service table has them: the slot's owner, checked by match.
struct Key {
  uint8_t family;
  uint8_t proto;
  uint16_t port_be;
  uint8_t vip[16];
};

uint32_t hashOf(const Key& k) {
  return VipIndex::hashOf(k.family, k.proto, k.port_be, k.vip);
}

Key v4Key(uint32_t n, uint16_t port) {
  Key k{4, 6, port, {}};
  std::memcpy(k.vip, &n, 4);
  return k;
}

// Finds `k` given which key each slot holds (the caller's match).
uint32_t lookup(const VipIndex& index, const std::vector<Key>& keys_by_slot, const Key& k) {
  return index.find(hashOf(k), [&](uint32_t slot) {
    return slot < keys_by_slot.size() && std::memcmp(&keys_by_slot[slot], &k, sizeof(k)) == 0;
  });
}

TEST(VipIndex, HashCoversEveryKeyField) {
  Key base = v4Key(0x0a60000a, 80);
  uint32_t h = hashOf(base);
  Key k = base;
  k.port_be = 81;
  EXPECT_NE(hashOf(k), h);
  k = base;
  k.proto = 17;
  EXPECT_NE(hashOf(k), h);
  k = base;
  k.vip[3] ^= 1;
  EXPECT_NE(hashOf(k), h);
  Key v6{6, 6, 80, {}};
  Key v6b = v6;
  v6b.vip[15] = 1;
  EXPECT_NE(hashOf(v6), hashOf(v6b));
  v6b = v6;
  v6b.vip[0] = 1;
  EXPECT_NE(hashOf(v6), hashOf(v6b));
}

TEST(VipIndex, InsertFindErase) {
  VipIndex index(8);
  std::vector<Key> keys = {v4Key(1, 80), v4Key(2, 80), v4Key(1, 443)};
  for (uint32_t s = 0; s < keys.size(); s++) index.insert(hashOf(keys[s]), s);
  for (uint32_t s = 0; s < keys.size(); s++) EXPECT_EQ(lookup(index, keys, keys[s]), s);
  EXPECT_EQ(lookup(index, keys, v4Key(3, 80)), VipIndex::kNotFound);
  index.erase(hashOf(keys[1]), 1);
  EXPECT_EQ(lookup(index, keys, keys[1]), VipIndex::kNotFound);
  EXPECT_EQ(lookup(index, keys, keys[0]), 0u);
  EXPECT_EQ(lookup(index, keys, keys[2]), 2u);
}

// Every key with one hash: match alone tells them apart, and erasing one in
// the middle of the run keeps the ones after it reachable.
TEST(VipIndex, SameHashEntriesAreToldApartByMatch) {
  VipIndex index(16);
  const uint32_t h = 12345;
  for (uint32_t s = 0; s < 10; s++) index.insert(h, s);
  for (uint32_t want = 0; want < 10; want++) {
    EXPECT_EQ(index.find(h, [&](uint32_t s) { return s == want; }), want);
  }
  index.erase(h, 4);
  EXPECT_EQ(index.find(h, [](uint32_t s) { return s == 4; }), VipIndex::kNotFound);
  EXPECT_EQ(index.find(h, [](uint32_t s) { return s == 9; }), 9u);
  index.insert(h, 4);  // reuses the tombstone
  EXPECT_EQ(index.find(h, [](uint32_t s) { return s == 4; }), 4u);
}

// Random inserts and erases against a std::map, through many compactions.
TEST(VipIndex, MatchesAModelUnderChurn) {
  const uint32_t capacity = 64;
  VipIndex index(capacity);
  std::vector<Key> keys(capacity);
  std::map<uint32_t, uint32_t> model;  // key id -> slot
  std::vector<uint32_t> free_slots;
  for (uint32_t s = capacity; s > 0; s--) free_slots.push_back(s - 1);
  std::mt19937 rng(7);
  unsigned compactions = 0;
  for (int step = 0; step < 20000; step++) {
    uint32_t id = rng() % 200;
    Key k = v4Key(id, 80);
    auto it = model.find(id);
    if (it == model.end() && !free_slots.empty()) {
      uint32_t slot = free_slots.back();
      free_slots.pop_back();
      keys[slot] = k;
      index.insert(hashOf(k), slot);
      model[id] = slot;
    } else if (it != model.end()) {
      index.erase(hashOf(k), it->second);
      keys[it->second] = Key{};
      free_slots.push_back(it->second);
      model.erase(it);
      if (index.compactIfNeeded()) compactions++;
    }
    if (step % 97 == 0) {
      for (uint32_t probe = 0; probe < 200; probe++) {
        auto m = model.find(probe);
        uint32_t want = m == model.end() ? VipIndex::kNotFound : m->second;
        ASSERT_EQ(lookup(index, keys, v4Key(probe, 80)), want) << "step " << step;
      }
    }
  }
  EXPECT_GT(compactions, 0u);
}

// A reader looking up keys that stay put while the writer churns others and
// compacts: it must find them every time. Retired tables are kept until the
// end, standing in for the grace period.
TEST(VipIndex, ConcurrentReaderAlwaysFindsStableKeys) {
  const uint32_t capacity = 256;
  VipIndex index(capacity);
  std::vector<Key> keys(capacity);
  for (uint32_t s = 0; s < 16; s++) {
    keys[s] = v4Key(1000 + s, 80);
    index.insert(hashOf(keys[s]), s);
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> misses{0}, reads{0};
  std::thread reader([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      for (uint32_t s = 0; s < 16; s++) {
        Key k = v4Key(1000 + s, 80);
        uint32_t got = index.find(hashOf(k), [&](uint32_t slot) { return slot == s; });
        if (got != s) misses.fetch_add(1, std::memory_order_relaxed);
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    }
  });
  std::vector<std::unique_ptr<VipIndex::Table>> retired;
  for (int round = 0; round < 3000; round++) {
    for (uint32_t s = 16; s < capacity; s++) index.insert(hashOf(v4Key(s * 7 + round, 80)), s);
    for (uint32_t s = 16; s < capacity; s++) {
      index.erase(hashOf(v4Key(s * 7 + round, 80)), s);
      if (auto old = index.compactIfNeeded()) retired.push_back(std::move(old));
    }
  }
  stop = true;
  reader.join();
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(misses.load(), 0u);
  EXPECT_GT(retired.size(), 0u);
}

}  // namespace
}  // namespace sluice::dp
