#include "dp/affinity.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace sluice::dp {
namespace {

constexpr uint32_t kSlot = 3;
constexpr uint32_t kGen = 1;

// The probe window is 8 slots; a table this small is one window, so every
// key competes for, and every lookup sees, the same slots whatever its hash:
// a key that should not match cannot escape by hashing elsewhere.
constexpr uint32_t kOneWindow = 8;

using Client = std::array<uint8_t, 16>;

// 10.0.x.y, zero-padded to 16 bytes as the data path stores it.
Client v4Client(uint16_t n) {
  Client c{};
  c[0] = 10;
  c[2] = static_cast<uint8_t>(n >> 8);
  c[3] = static_cast<uint8_t>(n);
  return c;
}

// 2001:db8::n
Client v6Client(uint16_t n) {
  Client c{};
  c[0] = 0x20;
  c[1] = 0x01;
  c[2] = 0x0d;
  c[3] = 0xb8;
  c[14] = static_cast<uint8_t>(n >> 8);
  c[15] = static_cast<uint8_t>(n);
  return c;
}

const AffinityTable::Entry* find4(const AffinityTable& t, const Client& c, uint64_t now) {
  return t.find(kSlot, kGen, 4, c.data(), now);
}

void remember4(AffinityTable& t, const Client& c, uint16_t endpoint, uint64_t expires,
               uint64_t now) {
  t.remember(kSlot, kGen, 4, c.data(), endpoint, /*endpoint_gen=*/endpoint + 100u, expires, now);
}

// How many of clients 0..n-1 (all remembered, none expired) are still found.
uint32_t liveCount(AffinityTable& t, uint16_t n, uint64_t now) {
  uint32_t found = 0;
  for (uint16_t i = 0; i < n; i++) found += find4(t, v4Client(i), now) != nullptr;
  return found;
}

uint32_t fillAndCount(uint32_t capacity, uint16_t clients) {
  AffinityTable t(capacity);
  for (uint16_t i = 0; i < clients; i++) remember4(t, v4Client(i), 1, 1000, 10);
  return liveCount(t, clients, 10);
}

TEST(AffinityTable, EmptyTableFindsNothing) {
  AffinityTable t(64);
  EXPECT_EQ(nullptr, find4(t, v4Client(1), 0));
  EXPECT_EQ(nullptr, find4(t, v4Client(1), 12345));
}

TEST(AffinityTable, FindsWhatWasRemembered) {
  AffinityTable t(64);
  remember4(t, v4Client(1), 7, 500, 100);
  const AffinityTable::Entry* e = find4(t, v4Client(1), 100);
  ASSERT_NE(nullptr, e);
  EXPECT_EQ(7, e->endpoint);
  EXPECT_EQ(107u, e->endpoint_gen);
  EXPECT_EQ(500u, e->expires);
  EXPECT_EQ(kSlot, e->service_slot);
  EXPECT_EQ(kGen, e->service_gen);
  EXPECT_EQ(4, e->family);
  EXPECT_EQ(nullptr, find4(t, v4Client(2), 100)) << "another client";
}

TEST(AffinityTable, EntryExpiresExactlyAtItsTimeout) {
  AffinityTable t(64);
  remember4(t, v4Client(1), 7, 500, 100);
  EXPECT_NE(nullptr, find4(t, v4Client(1), 499));
  EXPECT_EQ(nullptr, find4(t, v4Client(1), 500));
  EXPECT_EQ(nullptr, find4(t, v4Client(1), 501));
}

TEST(AffinityTable, RememberingAgainUpdatesTheEndpointAndTheExpiry) {
  AffinityTable t(64);
  remember4(t, v4Client(1), 7, 500, 100);
  remember4(t, v4Client(1), 9, 900, 200);
  const AffinityTable::Entry* e = find4(t, v4Client(1), 600);
  ASSERT_NE(nullptr, e);
  EXPECT_EQ(9, e->endpoint);
  EXPECT_EQ(109u, e->endpoint_gen);
  EXPECT_EQ(900u, e->expires);
}

TEST(AffinityTable, RememberingAgainDoesNotTakeASecondSlot) {
  // In a one-window table, 8 clients fill every slot. Re-remembering one of
  // them must overwrite its own entry, not evict a neighbour.
  AffinityTable t(kOneWindow);
  for (uint16_t i = 0; i < kOneWindow; i++) remember4(t, v4Client(i), i, 1000 + i, 10);
  for (int round = 0; round < 5; round++) remember4(t, v4Client(5), 42, 2000, 20);
  EXPECT_EQ(kOneWindow, liveCount(t, kOneWindow, 20));
  EXPECT_EQ(42, find4(t, v4Client(5), 20)->endpoint);
}

TEST(AffinityTable, ServicesDoNotSeeEachOthersEntries) {
  AffinityTable t(kOneWindow);
  const Client c = v4Client(1);
  t.remember(1, kGen, 4, c.data(), 5, 1, 500, 0);
  t.remember(2, kGen, 4, c.data(), 6, 1, 500, 0);
  ASSERT_NE(nullptr, t.find(1, kGen, 4, c.data(), 0));
  ASSERT_NE(nullptr, t.find(2, kGen, 4, c.data(), 0));
  EXPECT_EQ(5, t.find(1, kGen, 4, c.data(), 0)->endpoint);
  EXPECT_EQ(6, t.find(2, kGen, 4, c.data(), 0)->endpoint);
  EXPECT_EQ(nullptr, t.find(3, kGen, 4, c.data(), 0));
}

TEST(AffinityTable, ANewServiceInTheSameSlotStartsWithoutEntries) {
  // A service removed and another added in its slot gets a new generation;
  // the old one's clients must not carry over.
  AffinityTable t(kOneWindow);
  const Client c = v4Client(1);
  t.remember(kSlot, 1, 4, c.data(), 5, 1, 500, 0);
  EXPECT_EQ(nullptr, t.find(kSlot, 2, 4, c.data(), 0));
  t.remember(kSlot, 2, 4, c.data(), 6, 1, 500, 0);
  EXPECT_EQ(6, t.find(kSlot, 2, 4, c.data(), 0)->endpoint);
  EXPECT_EQ(5, t.find(kSlot, 1, 4, c.data(), 0)->endpoint) << "a separate key, not overwritten";
}

TEST(AffinityTable, FamiliesAreSeparateKeys) {
  AffinityTable t(kOneWindow);
  // The same 16 bytes under both families: an IPv4 client must not match
  // the IPv6 one, nor the other way round.
  const Client c = v4Client(1);
  t.remember(kSlot, kGen, 4, c.data(), 5, 1, 500, 0);
  EXPECT_EQ(nullptr, t.find(kSlot, kGen, 6, c.data(), 0));
  t.remember(kSlot, kGen, 6, c.data(), 6, 1, 500, 0);
  EXPECT_EQ(5, t.find(kSlot, kGen, 4, c.data(), 0)->endpoint);
  EXPECT_EQ(6, t.find(kSlot, kGen, 6, c.data(), 0)->endpoint);
}

TEST(AffinityTable, Ipv6ClientsDifferingInAnyByteAreDifferent) {
  AffinityTable t(kOneWindow);
  const Client base = v6Client(1);
  t.remember(kSlot, kGen, 6, base.data(), 1, 1, 500, 0);
  for (size_t i = 0; i < base.size(); i++) {
    Client other = base;
    other[i] ^= 0x80;
    EXPECT_EQ(nullptr, t.find(kSlot, kGen, 6, other.data(), 0)) << "byte " << i;
  }
  const AffinityTable::Entry* e = t.find(kSlot, kGen, 6, base.data(), 0);
  ASSERT_NE(nullptr, e);
  EXPECT_EQ(0, std::memcmp(base.data(), e->client, 16));
}

TEST(AffinityTable, Ipv4AndIpv6ClientsLiveSideBySide) {
  AffinityTable t(1024);
  for (uint16_t i = 0; i < 100; i++) {
    t.remember(kSlot, kGen, 4, v4Client(i).data(), i, 1, 500, 0);
    t.remember(kSlot, kGen, 6, v6Client(i).data(), static_cast<uint16_t>(1000 + i), 1, 500, 0);
  }
  for (uint16_t i = 0; i < 100; i++) {
    const AffinityTable::Entry* e4 = t.find(kSlot, kGen, 4, v4Client(i).data(), 0);
    const AffinityTable::Entry* e6 = t.find(kSlot, kGen, 6, v6Client(i).data(), 0);
    ASSERT_NE(nullptr, e4) << i;
    ASSERT_NE(nullptr, e6) << i;
    EXPECT_EQ(i, e4->endpoint);
    EXPECT_EQ(1000 + i, e6->endpoint);
  }
}

TEST(AffinityTable, AFullWindowLosesTheEntryExpiringSoonest) {
  AffinityTable t(kOneWindow);
  // Client i expires at 1000 + 10 * i, except client 5, which expires first.
  for (uint16_t i = 0; i < kOneWindow; i++) {
    uint64_t expires = i == 5 ? 900 : 1000 + 10 * i;
    remember4(t, v4Client(i), i, expires, 10);
  }
  ASSERT_EQ(kOneWindow, liveCount(t, kOneWindow, 10));

  remember4(t, v4Client(100), 77, 5000, 20);
  ASSERT_NE(nullptr, find4(t, v4Client(100), 20));
  EXPECT_EQ(77, find4(t, v4Client(100), 20)->endpoint);
  EXPECT_EQ(nullptr, find4(t, v4Client(5), 20)) << "the soonest to expire made room";
  for (uint16_t i = 0; i < kOneWindow; i++) {
    if (i == 5) continue;
    const AffinityTable::Entry* e = find4(t, v4Client(i), 20);
    ASSERT_NE(nullptr, e) << "client " << i << " stays";
    EXPECT_EQ(i, e->endpoint);
  }

  // The next newcomer takes the next soonest: client 0 (1000).
  remember4(t, v4Client(101), 78, 5000, 30);
  EXPECT_EQ(nullptr, find4(t, v4Client(0), 30));
  EXPECT_NE(nullptr, find4(t, v4Client(101), 30));
  EXPECT_NE(nullptr, find4(t, v4Client(100), 30));
  EXPECT_NE(nullptr, find4(t, v4Client(1), 30));
}

TEST(AffinityTable, ExpiredEntriesAreReusedBeforeLiveOnes) {
  AffinityTable t(kOneWindow);
  // Clients 0..7 fill the window; client 6 has expired by time 600, the
  // others live long. Client 3 expires soonest of the live ones.
  for (uint16_t i = 0; i < kOneWindow; i++) {
    uint64_t expires = i == 6 ? 500 : (i == 3 ? 700 : 5000);
    remember4(t, v4Client(i), i, expires, 10);
  }
  remember4(t, v4Client(100), 77, 9000, 600);
  EXPECT_NE(nullptr, find4(t, v4Client(100), 600));
  EXPECT_NE(nullptr, find4(t, v4Client(3), 600)) << "a live entry was evicted while an "
                                                    "expired one was there to reuse";
  EXPECT_EQ(7u, liveCount(t, kOneWindow, 600)) << "only the expired client 6 is gone";
}

TEST(AffinityTable, EntriesOfOtherServicesCompeteForTheSameWindow) {
  // The window is shared by every key that hashes there: a live entry of
  // another service or generation is a neighbour like any other, and the
  // soonest to expire goes.
  AffinityTable t(kOneWindow);
  const Client c = v4Client(1);
  for (uint32_t slot = 0; slot < kOneWindow; slot++) {
    t.remember(slot, kGen, 4, c.data(), static_cast<uint16_t>(slot), 1, 1000 + slot, 0);
  }
  t.remember(100, kGen, 4, c.data(), 99, 1, 5000, 0);
  EXPECT_EQ(nullptr, t.find(0, kGen, 4, c.data(), 0));
  for (uint32_t slot = 1; slot < kOneWindow; slot++) {
    EXPECT_NE(nullptr, t.find(slot, kGen, 4, c.data(), 0)) << slot;
  }
  EXPECT_EQ(99, t.find(100, kGen, 4, c.data(), 0)->endpoint);
}

TEST(AffinityTable, CapacityIsAtLeastOneWindow) {
  // 0, 1 and 8 all make an 8-slot table: 8 clients fit, a 9th evicts one.
  for (uint32_t capacity : {0u, 1u, 7u, 8u}) {
    EXPECT_EQ(kOneWindow, fillAndCount(capacity, kOneWindow)) << capacity;
    EXPECT_EQ(kOneWindow, fillAndCount(capacity, kOneWindow + 1)) << capacity;
  }
}

TEST(AffinityTable, CapacityRoundsUpToAPowerOfTwo) {
  // Far more clients than slots: every slot ends up holding one, so the
  // count of live entries is the table size (or just under it).
  for (uint32_t capacity : {9u, 12u, 16u}) {
    uint32_t live = fillAndCount(capacity, 200);
    EXPECT_GT(live, 8u) << capacity;
    EXPECT_LE(live, 16u) << capacity;
  }
  for (uint32_t capacity : {1000u, 1024u}) {
    uint32_t live = fillAndCount(capacity, 4000);
    EXPECT_GT(live, 1000u) << capacity;
    EXPECT_LE(live, 1024u) << capacity;
  }
  uint32_t live = fillAndCount(1025, 8000);
  EXPECT_GT(live, 1024u);
  EXPECT_LE(live, 2048u);
}

}  // namespace
}  // namespace sluice::dp
