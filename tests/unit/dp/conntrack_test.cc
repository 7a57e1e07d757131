#include "dp/conntrack.h"
#include "dp/flow_scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

namespace sluice::dp {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

// Distinct, recognisable values so a test shows which timeout applied.
constexpr ConntrackTimeouts kTimeouts{
    .tcp_half_open = 10,
    .tcp_established = 1000,
    .tcp_fin = 30,
    .tcp_closed = 5,
    .udp = 300,
};

FlowKey v4Key(uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport) {
  FlowKey k{};
  k.family = 4;
  k.proto = proto;
  k.sport = sport;
  k.dport = dport;
  for (int i = 0; i < 4; i++) {
    k.src[i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    k.dst[i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
  }
  return k;
}

FlowKey v6Key(uint8_t proto, uint64_t src, uint16_t sport, uint64_t dst, uint16_t dport) {
  FlowKey k{};
  k.family = 6;
  k.proto = proto;
  k.sport = sport;
  k.dport = dport;
  k.src[0] = 0x20;
  k.src[1] = 0x01;
  k.dst[0] = 0x20;
  k.dst[1] = 0x01;
  std::memcpy(k.src + 8, &src, 8);
  std::memcpy(k.dst + 8, &dst, 8);
  return k;
}

struct KeyPair {
  FlowKey orig;
  FlowKey reply;
};

// Client n -> VIP:80, and the endpoint's reply to the SNAT address:port.
KeyPair pairOf(uint8_t proto, uint32_t n) {
  KeyPair p;
  p.orig =
      v4Key(proto, 0x0a000000 + n / 100, static_cast<uint16_t>(20000 + n % 100), 0xc0000201, 80);
  p.reply = v4Key(proto, 0x0af40001 + (n % 50) * 256, 8080, 0xc0000264 + n / 60000,
                  static_cast<uint16_t>(1024 + n % 60000));
  return p;
}

std::unique_ptr<Conntrack> makeTable(uint32_t capacity,
                                     const ConntrackTimeouts& timeouts = kTimeouts) {
  auto ct = Conntrack::create(capacity, timeouts);
  EXPECT_TRUE(ct.isOk()) << ct.status().message();
  return std::move(ct.value());
}

Flow* mustInsert(Conntrack& ct, const KeyPair& p, uint64_t now) {
  Conntrack::Inserted ins = ct.insert(p.orig, p.reply, now);
  EXPECT_EQ(ins.error, Conntrack::InsertError::kNone);
  EXPECT_NE(ins.flow, nullptr);
  return ins.flow;
}

// Client SYN (insert), endpoint SYN-ACK, client ACK.
Flow* establish(Conntrack& ct, const KeyPair& p, uint64_t now) {
  Flow* f = mustInsert(ct, p, now);
  if (f == nullptr) return nullptr;
  ct.update(f, false, kTcpSyn, now);
  ct.update(f, true, kTcpSyn | kTcpAck, now);
  ct.update(f, false, kTcpAck, now);
  EXPECT_EQ(f->tcp, TcpState::kEstablished);
  return f;
}

TEST(Conntrack, CreateRejectsBadCapacity) {
  EXPECT_FALSE(Conntrack::create(0, kTimeouts).isOk());
  auto huge = Conntrack::create(UINT32_MAX, kTimeouts);
  ASSERT_FALSE(huge.isOk());
  EXPECT_NE(huge.status().message().find("capacity"), std::string::npos);
}

TEST(Conntrack, FindsAFlowFromBothDirections) {
  auto ct = makeTable(16);
  KeyPair p = pairOf(kTcp, 7);
  Flow* f = mustInsert(*ct, p, 100);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(ct->size(), 1U);
  EXPECT_EQ(std::memcmp(&f->orig, &p.orig, sizeof(FlowKey)), 0);
  EXPECT_EQ(std::memcmp(&f->reply, &p.reply, sizeof(FlowKey)), 0);

  Conntrack::Hit hit = ct->lookup(p.orig, 101);
  EXPECT_EQ(hit.flow, f);
  EXPECT_FALSE(hit.is_reply);
  hit = ct->lookup(p.reply, 101);
  EXPECT_EQ(hit.flow, f);
  EXPECT_TRUE(hit.is_reply);

  // Neither the other protocol nor the mirrored key is the flow.
  EXPECT_EQ(ct->lookup(pairOf(kUdp, 7).orig, 101).flow, nullptr);
  FlowKey mirrored = p.orig;
  std::swap(mirrored.sport, mirrored.dport);
  std::swap(mirrored.src, mirrored.dst);
  EXPECT_EQ(ct->lookup(mirrored, 101).flow, nullptr);
}

TEST(Conntrack, FindsIpv6Flows) {
  auto ct = makeTable(16);
  KeyPair p{v6Key(kUdp, 1, 5000, 2, 53), v6Key(kUdp, 3, 53, 4, 6000)};
  Flow* f = mustInsert(*ct, p, 0);
  EXPECT_EQ(f->tcp, TcpState::kNone);
  EXPECT_EQ(ct->lookup(p.orig, 1).flow, f);
  EXPECT_TRUE(ct->lookup(p.reply, 1).is_reply);
  KeyPair other{v6Key(kUdp, 1, 5000, 2, 54), v6Key(kUdp, 3, 54, 4, 6000)};
  EXPECT_EQ(ct->lookup(other.orig, 1).flow, nullptr);
}

TEST(Conntrack, TcpStatesThroughHandshakeAndTeardown) {
  auto ct = makeTable(16);
  KeyPair p = pairOf(kTcp, 1);
  Flow* f = mustInsert(*ct, p, 100);
  EXPECT_EQ(f->tcp, TcpState::kSynSent);
  EXPECT_EQ(f->expires, 100 + kTimeouts.tcp_half_open);

  ct->update(f, false, kTcpSyn, 101);  // the caller's update for the first SYN
  EXPECT_EQ(f->tcp, TcpState::kSynSent);
  ct->update(f, true, kTcpSyn | kTcpAck, 102);
  EXPECT_EQ(f->tcp, TcpState::kSynRecv);
  EXPECT_EQ(f->expires, 102 + kTimeouts.tcp_half_open);
  ct->update(f, false, kTcpAck, 103);
  EXPECT_EQ(f->tcp, TcpState::kEstablished);
  EXPECT_EQ(f->expires, 103 + kTimeouts.tcp_established);
  ct->update(f, true, kTcpAck, 104);
  EXPECT_EQ(f->tcp, TcpState::kEstablished);
  EXPECT_EQ(f->expires, 104 + kTimeouts.tcp_established);

  ct->update(f, false, kTcpFin | kTcpAck, 105);
  EXPECT_EQ(f->tcp, TcpState::kFinWait);
  EXPECT_EQ(f->expires, 105 + kTimeouts.tcp_fin);
  ct->update(f, false, kTcpFin | kTcpAck, 106);  // a retransmitted FIN: still one side
  EXPECT_EQ(f->tcp, TcpState::kFinWait);
  ct->update(f, true, kTcpAck, 107);
  EXPECT_EQ(f->tcp, TcpState::kFinWait);
  ct->update(f, true, kTcpFin | kTcpAck, 108);
  EXPECT_EQ(f->tcp, TcpState::kClosed);
  EXPECT_EQ(f->expires, 108 + kTimeouts.tcp_closed);
  ct->update(f, false, kTcpAck, 109);  // the last ACK
  EXPECT_EQ(f->tcp, TcpState::kClosed);
}

TEST(Conntrack, RstClosesFromAnyState) {
  for (int reset_at = 0; reset_at < 4; reset_at++) {
    auto ct = makeTable(4);
    Flow* f = mustInsert(*ct, pairOf(kTcp, 1), 0);
    if (reset_at > 0) ct->update(f, true, kTcpSyn | kTcpAck, 1);
    if (reset_at > 1) ct->update(f, false, kTcpAck, 2);
    if (reset_at > 2) ct->update(f, true, kTcpFin, 3);
    ct->update(f, reset_at % 2 == 0, kTcpRst, 10);
    EXPECT_EQ(f->tcp, TcpState::kClosed) << reset_at;
    EXPECT_EQ(f->expires, 10 + kTimeouts.tcp_closed);
  }
}

TEST(Conntrack, EndpointTrafficEstablishesWithoutSeenSynAck) {
  auto ct = makeTable(4);
  Flow* f = mustInsert(*ct, pairOf(kTcp, 1), 0);
  ct->update(f, false, kTcpAck, 1);  // the client alone proves nothing
  EXPECT_EQ(f->tcp, TcpState::kSynSent);
  ct->update(f, true, kTcpAck, 2);
  EXPECT_EQ(f->tcp, TcpState::kEstablished);
}

TEST(Conntrack, ClientSynReopensAClosedFlow) {
  auto ct = makeTable(4);
  KeyPair p = pairOf(kTcp, 1);
  Flow* f = establish(*ct, p, 0);
  ct->update(f, false, kTcpFin | kTcpAck, 1);
  ct->update(f, true, kTcpFin | kTcpAck, 2);
  ASSERT_EQ(f->tcp, TcpState::kClosed);
  ct->update(f, false, kTcpSyn, 3);
  EXPECT_EQ(f->tcp, TcpState::kSynSent);
  EXPECT_EQ(f->expires, 3 + kTimeouts.tcp_half_open);
  // The FINs of the old connection are forgotten: one FIN is not a close.
  ct->update(f, true, kTcpSyn | kTcpAck, 4);
  ct->update(f, false, kTcpAck, 5);
  ct->update(f, true, kTcpFin, 6);
  EXPECT_EQ(f->tcp, TcpState::kFinWait);
  // A SYN on an established flow changes nothing.
  Flow* g = establish(*ct, pairOf(kTcp, 2), 7);
  ct->update(g, false, kTcpSyn, 8);
  EXPECT_EQ(g->tcp, TcpState::kEstablished);
}

TEST(Conntrack, UdpRefreshesOnEveryPacket) {
  auto ct = makeTable(4);
  Flow* f = mustInsert(*ct, pairOf(kUdp, 1), 1000);
  EXPECT_EQ(f->tcp, TcpState::kNone);
  EXPECT_EQ(f->expires, 1000 + kTimeouts.udp);
  ct->update(f, true, 0, 1200);
  EXPECT_EQ(f->tcp, TcpState::kNone);
  EXPECT_EQ(f->expires, 1200 + kTimeouts.udp);
  EXPECT_NE(ct->lookup(pairOf(kUdp, 1).orig, 1200 + kTimeouts.udp - 1).flow, nullptr);
  EXPECT_EQ(ct->lookup(pairOf(kUdp, 1).orig, 1200 + kTimeouts.udp).flow, nullptr);
}

// Each state keeps its flow for exactly its timeout.
TEST(Conntrack, PerStateTimeouts) {
  struct Case {
    TcpState state;
    uint64_t timeout;
  };
  const Case cases[] = {
      {TcpState::kNone, kTimeouts.udp},
      {TcpState::kSynSent, kTimeouts.tcp_half_open},
      {TcpState::kSynRecv, kTimeouts.tcp_half_open},
      {TcpState::kEstablished, kTimeouts.tcp_established},
      {TcpState::kFinWait, kTimeouts.tcp_fin},
      {TcpState::kClosed, kTimeouts.tcp_closed},
  };
  for (const Case& c : cases) {
    for (uint64_t delta : {c.timeout - 1, c.timeout, c.timeout + 1}) {
      auto ct = makeTable(4);
      const uint64_t t = 5000;
      KeyPair p = pairOf(c.state == TcpState::kNone ? kUdp : kTcp, 3);
      Flow* f = mustInsert(*ct, p, t - 3);
      if (c.state != TcpState::kNone) ct->update(f, false, kTcpSyn, t - 3);
      if (c.state >= TcpState::kSynRecv) ct->update(f, true, kTcpSyn | kTcpAck, t - 2);
      if (c.state >= TcpState::kEstablished) ct->update(f, false, kTcpAck, t - 1);
      if (c.state >= TcpState::kFinWait) ct->update(f, false, kTcpFin, t - 1);
      if (c.state >= TcpState::kClosed) ct->update(f, true, kTcpFin, t - 1);
      // One more segment at t that leaves the state as it is.
      switch (c.state) {
        case TcpState::kNone:
          ct->update(f, true, 0, t);
          break;
        case TcpState::kSynSent:
          ct->update(f, false, kTcpSyn, t);
          break;
        case TcpState::kSynRecv:
          ct->update(f, true, kTcpSyn | kTcpAck, t);
          break;
        default:
          ct->update(f, true, kTcpAck, t);
          break;
      }
      ASSERT_EQ(f->tcp, c.state);
      ASSERT_EQ(f->expires, t + c.timeout);

      const bool alive = delta < c.timeout;
      SCOPED_TRACE(testing::Message() << "state " << int(c.state) << " at +" << delta);
      EXPECT_EQ(ct->lookup(p.reply, t + delta).flow != nullptr, alive);
      EXPECT_EQ(ct->lookup(p.orig, t + delta).flow != nullptr, alive);
      EXPECT_EQ(ct->size(), alive ? 1U : 0U);
    }
  }
}

TEST(Conntrack, LookupRemovesAnExpiredFlowAndFreesItsKeys) {
  auto ct = makeTable(4);
  KeyPair p = pairOf(kUdp, 1);
  mustInsert(*ct, p, 0);
  EXPECT_EQ(ct->lookup(p.reply, kTimeouts.udp).flow, nullptr);
  EXPECT_EQ(ct->size(), 0U);
  // Both keys are gone from the index, and the pair inserts afresh.
  EXPECT_EQ(ct->lookup(p.orig, 0).flow, nullptr);
  Flow* f = mustInsert(*ct, p, kTimeouts.udp);
  EXPECT_EQ(f->expires, 2 * kTimeouts.udp);
  EXPECT_EQ(ct->size(), 1U);
}

TEST(Conntrack, SweepRemovesExpiredFlowsWithinItsBudget) {
  auto ct = makeTable(100);
  // Even flows expire at 300 (UDP), odd ones are established until 1000.
  for (uint32_t n = 0; n < 100; n++) {
    if (n % 2 == 0) {
      mustInsert(*ct, pairOf(kUdp, n), 0);
    } else {
      establish(*ct, pairOf(kTcp, n), 0);
    }
  }
  EXPECT_EQ(ct->sweep(299, 1000), 0U);
  EXPECT_EQ(ct->sweep(300, 10), 5U);  // ten slots, five of them expired
  EXPECT_EQ(ct->size(), 95U);
  unsigned removed = 5;
  for (int i = 0; i < 9; i++) removed += ct->sweep(300, 10);
  EXPECT_EQ(removed, 50U);
  EXPECT_EQ(ct->size(), 50U);
  for (uint32_t n = 0; n < 100; n++) {
    Flow* f = ct->lookup(pairOf(n % 2 == 0 ? kUdp : kTcp, n).orig, 300).flow;
    EXPECT_EQ(f != nullptr, n % 2 == 1) << n;
  }
  // The cursor wraps round and keeps going.
  EXPECT_EQ(ct->sweep(1000, 70), 35U);
  EXPECT_EQ(ct->sweep(1000, 70), 15U);
  EXPECT_EQ(ct->size(), 0U);
  EXPECT_EQ(ct->sweep(1000, 1000), 0U);
}

TEST(Conntrack, FullTableEvictsTheOldestHalfOpenFlow) {
  constexpr uint32_t kCap = 64;
  auto ct = makeTable(kCap);
  for (uint32_t n = 0; n < kCap; n++) mustInsert(*ct, pairOf(kTcp, n), 0);
  EXPECT_EQ(ct->size(), kCap);
  // Flow 0 moved on to SYN-RECV but is still the oldest half-open one.
  ct->update(ct->lookup(pairOf(kTcp, 0).orig, 1).flow, true, kTcpSyn | kTcpAck, 1);

  for (uint32_t n = kCap; n < kCap + 10; n++) {
    Conntrack::Inserted ins = ct->insert(pairOf(kTcp, n).orig, pairOf(kTcp, n).reply, 1);
    ASSERT_NE(ins.flow, nullptr);
    EXPECT_EQ(ins.error, Conntrack::InsertError::kNone);
    EXPECT_TRUE(ins.evicted_half_open);
    uint32_t gone = n - kCap;
    EXPECT_EQ(ct->lookup(pairOf(kTcp, gone).orig, 1).flow, nullptr) << gone;
    EXPECT_EQ(ct->lookup(pairOf(kTcp, gone).reply, 1).flow, nullptr) << gone;
    EXPECT_NE(ct->lookup(pairOf(kTcp, gone + 1).orig, 1).flow, nullptr) << gone + 1;
    EXPECT_EQ(ct->size(), kCap);
  }
}

TEST(Conntrack, EstablishedFlowsAreNeverEvicted) {
  constexpr uint32_t kCap = 64;
  auto ct = makeTable(kCap);
  for (uint32_t n = 0; n < kCap; n++) establish(*ct, pairOf(kTcp, n), 0);
  for (uint32_t n = kCap; n < 2 * kCap; n++) {
    Conntrack::Inserted ins = ct->insert(pairOf(kTcp, n).orig, pairOf(kTcp, n).reply, 1);
    EXPECT_EQ(ins.flow, nullptr);
    EXPECT_EQ(ins.error, Conntrack::InsertError::kFull);
    EXPECT_FALSE(ins.evicted_half_open);
  }
  // Nor UDP flows.
  Conntrack::Inserted udp = ct->insert(pairOf(kUdp, 0).orig, pairOf(kUdp, 0).reply, 1);
  EXPECT_EQ(udp.error, Conntrack::InsertError::kFull);
  EXPECT_EQ(ct->size(), kCap);
  for (uint32_t n = 0; n < kCap; n++) {
    Flow* f = ct->lookup(pairOf(kTcp, n).orig, 2).flow;
    ASSERT_NE(f, nullptr) << n;
    EXPECT_EQ(f->tcp, TcpState::kEstablished);
  }
}

TEST(Conntrack, FullTableEvictsOnlyHalfOpenFlowsThenRefuses) {
  constexpr uint32_t kCap = 32;
  auto ct = makeTable(kCap);
  for (uint32_t n = 0; n < kCap; n++) {
    if (n % 4 == 0) {
      mustInsert(*ct, pairOf(kTcp, n), 0);
    } else {
      establish(*ct, pairOf(kTcp, n), 0);
    }
  }
  uint32_t evictions = 0;
  for (uint32_t n = kCap; n < 2 * kCap; n++) {
    Conntrack::Inserted ins = ct->insert(pairOf(kUdp, n).orig, pairOf(kUdp, n).reply, 1);
    if (ins.flow == nullptr) {
      EXPECT_EQ(ins.error, Conntrack::InsertError::kFull);
      continue;
    }
    EXPECT_TRUE(ins.evicted_half_open);
    evictions++;
  }
  EXPECT_EQ(evictions, kCap / 4);
  for (uint32_t n = 0; n < kCap; n++) {
    EXPECT_EQ(ct->lookup(pairOf(kTcp, n).orig, 2).flow != nullptr, n % 4 != 0) << n;
  }
}

// A handshake ended by FIN or RST never established anything: such flows
// stay first in line for eviction, so SYN+FIN floods cannot pin the table.
TEST(Conntrack, FlowsThatNeverEstablishedStayEvictable) {
  auto ct = makeTable(4);
  Flow* reset = mustInsert(*ct, pairOf(kTcp, 0), 0);
  ct->update(reset, false, kTcpRst, 0);
  Flow* finished = mustInsert(*ct, pairOf(kTcp, 1), 0);
  ct->update(finished, true, kTcpSyn | kTcpAck, 0);
  ct->update(finished, false, kTcpFin | kTcpAck, 0);
  ASSERT_EQ(finished->tcp, TcpState::kFinWait);
  Flow* done = establish(*ct, pairOf(kTcp, 2), 0);
  ct->update(done, false, kTcpFin, 0);
  ct->update(done, true, kTcpFin, 0);
  ASSERT_EQ(done->tcp, TcpState::kClosed);  // established once: not evictable
  mustInsert(*ct, pairOf(kTcp, 3), 0);

  for (uint32_t gone : {0U, 1U, 3U}) {
    Conntrack::Inserted ins = ct->insert(pairOf(kUdp, gone).orig, pairOf(kUdp, gone).reply, 1);
    ASSERT_NE(ins.flow, nullptr);
    EXPECT_TRUE(ins.evicted_half_open);
    EXPECT_EQ(ct->lookup(pairOf(kTcp, gone).orig, 1).flow, nullptr) << gone;
  }
  EXPECT_EQ(ct->insert(pairOf(kUdp, 9).orig, pairOf(kUdp, 9).reply, 1).error,
            Conntrack::InsertError::kFull);
  EXPECT_NE(ct->lookup(pairOf(kTcp, 2).orig, 1).flow, nullptr);

  // Reopened by a new SYN, the closed flow is half-open again, and evictable.
  ct->update(done, false, kTcpSyn, 1);
  Conntrack::Inserted ins = ct->insert(pairOf(kUdp, 9).orig, pairOf(kUdp, 9).reply, 1);
  EXPECT_TRUE(ins.evicted_half_open);
  EXPECT_EQ(ct->lookup(pairOf(kTcp, 2).orig, 1).flow, nullptr);
}

TEST(Conntrack, FullTableReclaimsExpiredFlowsBeforeEvicting) {
  constexpr uint32_t kCap = 16;
  auto ct = makeTable(kCap);
  for (uint32_t n = 0; n < kCap; n++) mustInsert(*ct, pairOf(kUdp, n), 0);
  // All have expired but none was looked up or swept.
  Conntrack::Inserted ins = ct->insert(pairOf(kTcp, 99).orig, pairOf(kTcp, 99).reply, 300);
  ASSERT_NE(ins.flow, nullptr);
  EXPECT_FALSE(ins.evicted_half_open);

  // An expired half-open flow is reclaimed, not reported as an eviction, even
  // where the sweep does not reach: slots 0-7 hold live UDP flows, 8-15
  // half-open ones that have expired.
  auto half = makeTable(kCap);
  for (uint32_t n = 0; n < kCap; n++) mustInsert(*half, pairOf(n < 8 ? kUdp : kTcp, n), 0);
  const uint64_t later = kTimeouts.tcp_half_open;
  ins = half->insert(pairOf(kTcp, 99).orig, pairOf(kTcp, 99).reply, later);
  ASSERT_NE(ins.flow, nullptr);
  EXPECT_FALSE(ins.evicted_half_open);
  EXPECT_EQ(half->size(), kCap);
  EXPECT_EQ(half->lookup(pairOf(kTcp, 8).reply, 0).flow, nullptr);
  for (uint32_t n = 0; n < 8; n++) {
    EXPECT_NE(half->lookup(pairOf(kUdp, n).orig, later).flow, nullptr);
  }
}

TEST(Conntrack, TinyTable) {
  auto ct = makeTable(1);
  Flow* f = mustInsert(*ct, pairOf(kTcp, 0), 0);
  Conntrack::Inserted ins = ct->insert(pairOf(kTcp, 1).orig, pairOf(kTcp, 1).reply, 1);
  EXPECT_TRUE(ins.evicted_half_open);
  EXPECT_EQ(ins.flow, f);  // the same slot, reused
  ct->update(f, true, kTcpAck, 1);
  ins = ct->insert(pairOf(kTcp, 2).orig, pairOf(kTcp, 2).reply, 1);
  EXPECT_EQ(ins.error, Conntrack::InsertError::kFull);
}

TEST(Conntrack, InsertRefusesAKeyAlreadyLive) {
  auto ct = makeTable(16);
  KeyPair a = pairOf(kUdp, 1);
  KeyPair b = pairOf(kUdp, 2);
  Flow* f = mustInsert(*ct, a, 0);
  for (const KeyPair& p :
       {a, KeyPair{a.orig, b.reply}, KeyPair{b.orig, a.reply}, KeyPair{a.reply, b.orig},
        KeyPair{b.reply, a.orig}, KeyPair{b.orig, b.orig}}) {
    Conntrack::Inserted ins = ct->insert(p.orig, p.reply, 1);
    EXPECT_EQ(ins.flow, nullptr);
    EXPECT_EQ(ins.error, Conntrack::InsertError::kExists);
  }
  EXPECT_EQ(ct->size(), 1U);
  EXPECT_EQ(ct->lookup(a.orig, 1).flow, f);
  // Once the flow has expired its keys are free again.
  Flow* g = mustInsert(*ct, KeyPair{a.orig, b.reply}, kTimeouts.udp);
  EXPECT_EQ(ct->size(), 1U);
  EXPECT_EQ(ct->lookup(a.reply, kTimeouts.udp).flow, nullptr);
  EXPECT_EQ(ct->lookup(b.reply, kTimeouts.udp).flow, g);
}

TEST(Conntrack, RemoveForgetsBothKeysAndFreesTheSlot) {
  auto ct = makeTable(2);
  KeyPair a = pairOf(kTcp, 1);
  Flow* f = establish(*ct, a, 0);
  mustInsert(*ct, pairOf(kTcp, 2), 0);
  ct->remove(f);
  EXPECT_EQ(ct->size(), 1U);
  EXPECT_EQ(ct->lookup(a.orig, 0).flow, nullptr);
  EXPECT_EQ(ct->lookup(a.reply, 0).flow, nullptr);
  EXPECT_NE(ct->lookup(pairOf(kTcp, 2).reply, 0).flow, nullptr);
  Conntrack::Inserted ins = ct->insert(pairOf(kTcp, 3).orig, pairOf(kTcp, 3).reply, 0);
  EXPECT_EQ(ins.flow, f);
  EXPECT_FALSE(ins.evicted_half_open);
  EXPECT_EQ(ins.flow->tcp, TcpState::kSynSent);
  EXPECT_EQ(ins.flow->user_flags, 0);
  EXPECT_EQ(ins.flow->service_slot, 0U);

  // A removed half-open flow leaves the eviction queue too.
  ct->remove(ct->lookup(pairOf(kTcp, 2).orig, 0).flow);
  mustInsert(*ct, pairOf(kTcp, 4), 0);
  ins = ct->insert(pairOf(kTcp, 5).orig, pairOf(kTcp, 5).reply, 0);
  EXPECT_TRUE(ins.evicted_half_open);
  EXPECT_EQ(ct->lookup(pairOf(kTcp, 3).orig, 0).flow, nullptr);
  EXPECT_NE(ct->lookup(pairOf(kTcp, 4).orig, 0).flow, nullptr);
}

TEST(Conntrack, ForEachVisitsEveryLiveFlowOnce) {
  auto ct = makeTable(50);
  for (uint32_t n = 0; n < 40; n++) {
    Flow* f = mustInsert(*ct, pairOf(kUdp, n), 0);
    f->service_slot = n;
  }
  for (uint32_t n = 0; n < 40; n += 3) ct->remove(ct->lookup(pairOf(kUdp, n).orig, 0).flow);
  std::multiset<uint32_t> seen;
  ct->forEach([&](const Flow& f) { seen.insert(f.service_slot); });
  std::multiset<uint32_t> want;
  for (uint32_t n = 0; n < 40; n++) {
    if (n % 3 != 0) want.insert(n);
  }
  EXPECT_EQ(seen, want);
  EXPECT_EQ(seen.size(), ct->size());
}

// ---------------------------------------------------------------------------
// Random operations against a plain model. The model knows which flows are
// live (not expired), which keys they hold and in what order half-open flows
// arrived; the table must agree on every lookup and every insert outcome.

using KeyBytes = std::array<uint8_t, sizeof(FlowKey)>;

KeyBytes bytesOf(const FlowKey& k) {
  KeyBytes b;
  std::memcpy(b.data(), &k, sizeof(k));
  return b;
}

struct ModelFlow {
  FlowKey orig;
  FlowKey reply;
  uint64_t expires;
  bool half_open;
  uint64_t arrival;  // insert order, for half-open eviction
  Flow* flow;
};

class Model {
 public:
  void purge(uint64_t now) {
    for (auto it = flows_.begin(); it != flows_.end();) {
      if (now >= it->second.expires) {
        unkey(it->second);
        it = flows_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // The live flow holding `k`: tag and direction, or tag 0.
  std::pair<uint32_t, bool> find(const FlowKey& k) const {
    auto it = keys_.find(bytesOf(k));
    return it == keys_.end() ? std::pair<uint32_t, bool>{0, false} : it->second;
  }
  void add(uint32_t tag, const ModelFlow& f) {
    flows_[tag] = f;
    keys_[bytesOf(f.orig)] = {tag, false};
    keys_[bytesOf(f.reply)] = {tag, true};
  }
  void erase(uint32_t tag) {
    unkey(flows_.at(tag));
    flows_.erase(tag);
  }
  // The tag of the half-open flow that arrived first, or 0.
  uint32_t oldestHalfOpen() const {
    uint32_t best = 0;
    uint64_t arrival = UINT64_MAX;
    for (const auto& [tag, f] : flows_) {
      if (f.half_open && f.arrival < arrival) {
        best = tag;
        arrival = f.arrival;
      }
    }
    return best;
  }
  std::map<uint32_t, ModelFlow>& flows() { return flows_; }

 private:
  void unkey(const ModelFlow& f) {
    keys_.erase(bytesOf(f.orig));
    keys_.erase(bytesOf(f.reply));
  }
  std::map<uint32_t, ModelFlow> flows_;
  std::map<KeyBytes, std::pair<uint32_t, bool>> keys_;
};

struct RandomRun {
  uint32_t capacity;
  uint32_t universe;  // distinct keys
  int ops;
  bool with_time;    // flows expire, time moves
  unsigned removes;  // percent of operations that remove a flow
  uint32_t seed;
};

void runAgainstModel(const RandomRun& run) {
  ConntrackTimeouts timeouts{50, 400, 40, 20, 100};
  if (!run.with_time) timeouts = {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
  auto ct = makeTable(run.capacity, timeouts);
  std::mt19937 rng(run.seed);
  std::vector<FlowKey> universe;
  std::set<KeyBytes> distinct;
  while (universe.size() < run.universe) {
    uint8_t proto = rng() % 2 == 0 ? kTcp : kUdp;
    FlowKey k = rng() % 4 == 0 ? v6Key(proto, rng() % 64, rng() % 64, rng() % 4, 443)
                               : v4Key(proto, rng() % 256, static_cast<uint16_t>(rng() % 256),
                                       0x0a000000 + rng() % 4, 80);
    if (distinct.insert(bytesOf(k)).second) universe.push_back(k);
  }
  auto anyKey = [&] { return universe[rng() % universe.size()]; };

  Model model;
  uint64_t now = 1;
  uint32_t next_tag = 1;
  uint64_t arrivals = 0;
  int inserted = 0, exists = 0, full = 0, evicted = 0, hits = 0;
  size_t most = 0;

  auto checkLookup = [&](const FlowKey& k) {
    auto [tag, is_reply] = model.find(k);
    Conntrack::Hit hit = ct->lookup(k, now);
    if (tag == 0) {
      ASSERT_EQ(hit.flow, nullptr);
      return;
    }
    hits++;
    ASSERT_EQ(hit.flow, model.flows().at(tag).flow);
    ASSERT_EQ(hit.flow->service_slot, tag);
    ASSERT_EQ(hit.is_reply, is_reply);
  };

  for (int op = 0; op < run.ops; op++) {
    model.purge(now);
    most = std::max<size_t>(most, model.flows().size());
    // 40% insert, then removes, 10% update, 8% time, 2% sweep, the rest lookups.
    const unsigned dice = rng() % 100;
    const unsigned removes_end = 40 + run.removes;
    if (dice < 40) {
      FlowKey a = anyKey(), b = anyKey();
      const bool taken =
          model.find(a).first != 0 || model.find(b).first != 0 || bytesOf(a) == bytesOf(b);
      const uint32_t oldest = model.oldestHalfOpen();
      Conntrack::Inserted ins = ct->insert(a, b, now);
      if (taken) {
        ASSERT_EQ(ins.error, Conntrack::InsertError::kExists);
        ASSERT_EQ(ins.flow, nullptr);
        exists++;
        continue;
      }
      if (ins.error == Conntrack::InsertError::kFull) {
        // Refused only when full with no half-open flow left to evict.
        ASSERT_EQ(ct->size(), run.capacity);
        ASSERT_EQ(oldest, 0U);
        full++;
        continue;
      }
      ASSERT_EQ(ins.error, Conntrack::InsertError::kNone);
      ASSERT_NE(ins.flow, nullptr);
      if (ins.evicted_half_open) {
        ASSERT_NE(oldest, 0U);
        ModelFlow gone = model.flows().at(oldest);
        model.erase(oldest);
        evicted++;
        ASSERT_EQ(ct->lookup(gone.orig, now).flow, nullptr);
        ASSERT_EQ(ct->lookup(gone.reply, now).flow, nullptr);
      }
      const bool tcp = a.proto == kTcp;
      ASSERT_EQ(ins.flow->tcp, tcp ? TcpState::kSynSent : TcpState::kNone);
      ins.flow->service_slot = next_tag;
      model.add(next_tag++, ModelFlow{a, b, ins.flow->expires, tcp, arrivals++, ins.flow});
      inserted++;
    } else if (dice < removes_end) {
      if (model.flows().empty()) continue;
      auto it = model.flows().begin();
      std::advance(it, rng() % model.flows().size());
      Flow* f = ct->lookup(it->second.orig, now).flow;
      ASSERT_EQ(f, it->second.flow);
      ct->remove(f);
      model.erase(it->first);
    } else if (dice < removes_end + 10) {
      if (model.flows().empty()) continue;
      auto it = model.flows().begin();
      std::advance(it, rng() % model.flows().size());
      ModelFlow& m = it->second;
      if (m.orig.proto == kTcp) {
        ct->update(m.flow, true, kTcpSyn | kTcpAck, now);
        ct->update(m.flow, false, kTcpAck, now);
        ASSERT_EQ(m.flow->tcp, TcpState::kEstablished);
        m.half_open = false;
        m.expires = now + timeouts.tcp_established;
      } else {
        ct->update(m.flow, rng() % 2 == 0, 0, now);
        m.expires = now + timeouts.udp;
      }
      ASSERT_EQ(m.flow->expires, m.expires);
    } else if (dice < removes_end + 18) {
      if (run.with_time) now += rng() % 4;
    } else if (dice < removes_end + 20) {
      ct->sweep(now, rng() % 64);
    } else {
      checkLookup(anyKey());
    }

    if (op % 1000 == 999 || op == run.ops - 1) {
      model.purge(now);
      ASSERT_GE(ct->size(), model.flows().size());
      for (const auto& [tag, m] : model.flows()) {
        checkLookup(m.orig);
        checkLookup(m.reply);
      }
      ct->sweep(now, run.capacity);
      ASSERT_EQ(ct->size(), model.flows().size());
      size_t visited = 0;
      ct->forEach([&](const Flow& f) {
        visited++;
        ASSERT_EQ(model.flows().at(f.service_slot).flow, &f);
      });
      ASSERT_EQ(visited, model.flows().size());
    }
  }
  std::cout << "random run: " << inserted << " inserted, " << exists << " exists, " << full
            << " full, " << evicted << " evicted, " << hits << " hits, at most " << most
            << " flows of " << run.capacity << "\n";
  // The run must have exercised what it was meant to.
  EXPECT_GT(inserted, run.ops / 20);
  EXPECT_GT(exists, 0);
  EXPECT_GT(hits, run.ops / 20);
  if (run.with_time) {
    EXPECT_GT(full, 0);
    EXPECT_GT(evicted, 0);
  }
}

TEST(Conntrack, RandomOperationsMatchAModelWithTimeAndEviction) {
  runAgainstModel(
      {.capacity = 64, .universe = 400, .ops = 40000, .with_time = true, .removes = 5, .seed = 1});
}

TEST(Conntrack, RandomOperationsMatchAModelAtFullIndexLoad) {
  // Never expires; the universe is just over twice the capacity, so the
  // table runs near full and the index near its design load of one half.
  runAgainstModel({.capacity = 4096,
                   .universe = 12000,
                   .ops = 60000,
                   .with_time = false,
                   .removes = 1,
                   .seed = 2});
}

// A table kept full at exactly half index load while flows come and go: the
// two-choice insert (and its one-step move when both buckets are full) must
// always find room, and every flow stays findable.
TEST(Conntrack, ChurnAtHalfIndexLoadAlwaysFindsRoom) {
  constexpr uint32_t kCap = 128;  // 64 buckets of 8 for 256 keys
  auto ct = makeTable(kCap);
  std::mt19937_64 rng(3);
  auto randomPair = [&] {
    return KeyPair{v6Key(kUdp, rng(), 1, rng(), 2), v6Key(kUdp, rng(), 3, rng(), 4)};
  };
  std::vector<KeyPair> pairs;
  std::vector<Flow*> flows;
  for (uint32_t n = 0; n < kCap; n++) {
    pairs.push_back(randomPair());
    flows.push_back(mustInsert(*ct, pairs.back(), 0));
  }
  for (int op = 0; op < 200000; op++) {
    size_t victim = rng() % kCap;
    ct->remove(flows[victim]);
    pairs[victim] = randomPair();
    Conntrack::Inserted ins = ct->insert(pairs[victim].orig, pairs[victim].reply, 0);
    ASSERT_NE(ins.flow, nullptr) << "op " << op;
    flows[victim] = ins.flow;
  }
  for (uint32_t n = 0; n < kCap; n++) {
    ASSERT_EQ(ct->lookup(pairs[n].orig, 0).flow, flows[n]);
    ASSERT_EQ(ct->lookup(pairs[n].reply, 0).flow, flows[n]);
  }
}

TEST(Conntrack, AMillionFlowsFitExactly) {
  constexpr uint32_t kCap = 1000000;
  auto ct = makeTable(kCap);
  for (uint32_t n = 0; n < kCap; n++) {
    KeyPair p = pairOf(kUdp, n);
    Conntrack::Inserted ins = ct->insert(p.orig, p.reply, 0);
    ASSERT_NE(ins.flow, nullptr) << "insert " << n << " failed";
  }
  EXPECT_EQ(ct->size(), kCap);
  Conntrack::Inserted more = ct->insert(pairOf(kTcp, 0).orig, pairOf(kTcp, 0).reply, 0);
  EXPECT_EQ(more.error, Conntrack::InsertError::kFull);
  for (uint32_t n = 0; n < kCap; n += 7) {
    KeyPair p = pairOf(kUdp, n);
    Conntrack::Hit hit = ct->lookup(n % 2 == 0 ? p.orig : p.reply, 1);
    ASSERT_NE(hit.flow, nullptr) << n;
    ASSERT_EQ(hit.is_reply, n % 2 == 1);
  }
  const double per_flow = static_cast<double>(ct->memoryBytes()) / kCap;
  std::cout << "conntrack: capacity " << kCap << ", memoryBytes " << ct->memoryBytes() << " ("
            << per_flow << " bytes per flow, sizeof(Flow) " << sizeof(Flow) << ")\n";
  EXPECT_LT(per_flow, 256.0);
}

// --- The remove hook and the half-open count the traffic counters rely on.

TEST(ConntrackHooks, EveryWayOutOfTheTableCallsTheRemoveHook) {
  auto ct = makeTable(64);
  std::vector<uint16_t> removed;  // client ports of removed flows
  ct->setRemoveHook(
      [](void* ctx, const Flow& f) {
        static_cast<std::vector<uint16_t>*>(ctx)->push_back(f.orig.sport);
      },
      &removed);
  // remove()
  Flow* a = mustInsert(*ct, pairOf(kUdp, 1), 0);
  ct->remove(a);
  ASSERT_EQ(1u, removed.size());
  EXPECT_EQ(pairOf(kUdp, 1).orig.sport, removed[0]);
  // An expired flow found by lookup.
  mustInsert(*ct, pairOf(kUdp, 2), 0);
  EXPECT_EQ(nullptr, ct->lookup(pairOf(kUdp, 2).orig, kTimeouts.udp + 1).flow);
  ASSERT_EQ(2u, removed.size());
  EXPECT_EQ(pairOf(kUdp, 2).orig.sport, removed[1]);
  // The sweep.
  mustInsert(*ct, pairOf(kUdp, 3), 0);
  EXPECT_EQ(1u, ct->sweep(kTimeouts.udp + 1, 64));
  ASSERT_EQ(3u, removed.size());
  EXPECT_EQ(pairOf(kUdp, 3).orig.sport, removed[2]);
  EXPECT_EQ(0u, ct->size());
}

TEST(ConntrackHooks, HalfOpenCountsTcpFlowsUntilTheirHandshakeCompletes) {
  auto ct = makeTable(64);
  Flow* a = mustInsert(*ct, pairOf(kTcp, 1), 0);
  mustInsert(*ct, pairOf(kTcp, 2), 0);
  mustInsert(*ct, pairOf(kUdp, 3), 0);
  EXPECT_EQ(2u, ct->halfOpen());
  establish(*ct, pairOf(kTcp, 4), 0);
  EXPECT_EQ(2u, ct->halfOpen());
  ct->update(a, true, kTcpSyn | kTcpAck, 1);
  ct->update(a, false, kTcpAck, 1);
  EXPECT_EQ(1u, ct->halfOpen());
  ct->sweep(kTimeouts.tcp_half_open + 1, 64);
  EXPECT_EQ(0u, ct->halfOpen());
}

// --- FlowScan: the admin API's bounded walk of a worker's table.

// 1,000 flows: clients 10.0.0.0..9, 50 endpoints, TCP and UDP alternating.
std::unique_ptr<Conntrack> scanTable(std::vector<KeyPair>* pairs) {
  auto ct = makeTable(2048);
  for (uint32_t n = 0; n < 1000; n++) {
    KeyPair p = pairOf(n % 2 == 0 ? kTcp : kUdp, n);
    mustInsert(*ct, p, 0);
    pairs->push_back(p);
  }
  return ct;
}

IpAddr v4Addr(uint32_t host) {
  return IpAddr::v4(host);
}

// Steps the walk with a small budget until it is done; returns the steps.
unsigned runScan(FlowScan& scan, const Conntrack& ct, uint32_t budget) {
  unsigned steps = 0;
  while (!scan.done()) {
    EXPECT_TRUE(scan.pending());
    scan.step(ct, budget);
    if (++steps > 100000) break;
  }
  return steps;
}

TEST(FlowScan, WalksTheTableInSlicesAndFindsEveryMatch) {
  std::vector<KeyPair> pairs;
  auto ct = scanTable(&pairs);
  FlowScan scan(5000);
  FlowFilter f;
  f.endpoint = v4Addr(0x0af40001 + 7 * 256);  // endpoint n % 50 == 7
  f.proto = Proto::kUdp;
  ASSERT_TRUE(scan.start(f, 5000).isOk());
  unsigned steps = runScan(scan, *ct, 100);
  EXPECT_EQ(2048u / 100 + 1, steps) << "budget slots per step";
  size_t want = 0;
  for (uint32_t n = 0; n < 1000; n++) want += n % 50 == 7 && n % 2 == 1;
  ASSERT_EQ(want, scan.resultCount());
  EXPECT_FALSE(scan.truncated());
  for (uint32_t i = 0; i < scan.resultCount(); i++) {
    const Flow& r = scan.results()[i];
    EXPECT_EQ(kUdp, r.orig.proto);
    EXPECT_TRUE(FlowScan::matches(r, f));
    EXPECT_EQ(0, std::memcmp(r.reply.src, f.endpoint->bytes.data(), 4));
  }
}

TEST(FlowScan, EachFilterFieldNarrowsTheMatch) {
  std::vector<KeyPair> pairs;
  auto ct = scanTable(&pairs);
  auto count = [&](const FlowFilter& f) {
    size_t n = 0;
    ct->forEach([&](const Flow& fl) { n += FlowScan::matches(fl, f); });
    return n;
  };
  EXPECT_EQ(1000u, count({}));
  FlowFilter client;
  client.client = v4Addr(0x0a000003);  // n / 100 == 3
  EXPECT_EQ(100u, count(client));
  FlowFilter vip;
  vip.vip = v4Addr(0xc0000201);
  // The filter's port is a host-order number and keys hold network order;
  // this file's keys store 80 as the raw value 0x0050, which reads 0x5000.
  vip.port = 0x5000;
  EXPECT_EQ(1000u, count(vip));
  vip.port = 80;
  EXPECT_EQ(0u, count(vip));
  FlowFilter v6vip;
  v6vip.vip = *IpAddr::parse("::c000:201");  // same low bytes, other family
  EXPECT_EQ(0u, count(v6vip));
  FlowFilter tcp;
  tcp.proto = Proto::kTcp;
  EXPECT_EQ(500u, count(tcp));
}

TEST(FlowScan, StopsAtTheLimitAndSaysSo) {
  std::vector<KeyPair> pairs;
  auto ct = scanTable(&pairs);
  FlowScan scan(100);
  ASSERT_TRUE(scan.start({}, 10).isOk());
  unsigned steps = runScan(scan, *ct, 64);
  EXPECT_EQ(10u, scan.resultCount());
  EXPECT_TRUE(scan.truncated());
  EXPECT_LT(steps, 2048u / 64) << "the walk ends once it knows there are more";
  EXPECT_FALSE(scan.start({}, 0).isOk());
  EXPECT_FALSE(scan.start({}, 101).isOk());
  // Exactly as many matches as the limit: not truncated.
  FlowFilter client;
  client.client = v4Addr(0x0a000003);
  ASSERT_TRUE(scan.start(client, 100).isOk());
  runScan(scan, *ct, 4096);
  EXPECT_EQ(100u, scan.resultCount());
  EXPECT_FALSE(scan.truncated());
}

TEST(FlowScan, ACancelledWalkHoldsTheBufferUntilTheWorkerLetsGo) {
  std::vector<KeyPair> pairs;
  auto ct = scanTable(&pairs);
  FlowScan scan(100);
  EXPECT_FALSE(scan.pending());
  ASSERT_TRUE(scan.start({}, 100).isOk());
  scan.step(*ct, 16);
  EXPECT_FALSE(scan.done());
  EXPECT_FALSE(scan.cancel()) << "not finished";
  EXPECT_TRUE(scan.pending()) << "the worker still has to let go";
  EXPECT_FALSE(scan.start({}, 100).isOk()) << "the worker may still be writing";
  scan.step(*ct, 16);  // the worker's next poll
  EXPECT_FALSE(scan.pending());
  EXPECT_FALSE(scan.done());
  ASSERT_TRUE(scan.start({}, 100).isOk());
  runScan(scan, *ct, 4096);
  EXPECT_TRUE(scan.cancel()) << "a finished walk is kept";
  EXPECT_EQ(100u, scan.resultCount());
  EXPECT_TRUE(scan.start({}, 5).isOk()) << "done frees the buffer";
}

}  // namespace
}  // namespace sluice::dp
