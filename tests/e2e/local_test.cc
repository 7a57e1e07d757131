// Packet in -> packet out for what the gateway answers itself: ARP, neighbor
// discovery, ICMP/ICMPv6 echo, next-hop resolution with held packets, and the
// drops a host must make. The real Dataplane runs on rte_ring ports and is
// stepped one worker iteration at a time.
#include <rte_cycles.h>
#include <rte_mbuf_core.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "dp/api/dataplane.h"
#include "tests/e2e/ring_harness.h"

namespace sluice::test {
namespace {

using dp::Drop;
using dp::WorkerEvent;

const MacAddr kHostMac = mac("02:00:00:00:00:02");
const MacAddr kGwMac = mac("02:00:00:00:00:fe");
const MacAddr kOtherMac = mac("02:00:00:00:00:99");
const MacAddr kBroadcast = mac("ff:ff:ff:ff:ff:ff");
const MacAddr kZeroMac{};
// The ring driver cannot change its MAC, so tests learn the port's own.
MacAddr kPortMac;

std::string uniqueName(const char* base) {
  static std::atomic<unsigned> n{0};
  return std::string(base) + std::to_string(n++);
}

class LocalTest : public ::testing::Test {
 protected:
  // One port "p0" with 192.0.2.1/24 and 2001:db8::1/64, `workers` workers
  // and as many rx queues; worker i polls queue i.
  void start(unsigned workers = 1, uint16_t vlan = 0, uint32_t resolve_ms = 1000,
             dp::IdlePolicy idle = dp::IdlePolicy::kBackoff) {
    port_ = std::make_unique<RingPort>(uniqueName("rp"), workers, workers);
    dp::DataplaneSpec spec;
    dp::PortSpec ps;
    ps.name = "p0";
    ps.device = port_->ethdevName();
    ps.rx_queues = static_cast<uint16_t>(workers);
    ps.vlan = vlan;
    spec.ports.push_back(ps);
    for (unsigned i = 0; i < workers; i++) {
      spec.workers.push_back({i + 1, std::nullopt, {{"p0", static_cast<uint16_t>(i)}}});
    }
    spec.addresses.push_back({"p0", *Prefix::parse("192.0.2.1/24")});
    spec.addresses.push_back({"p0", *Prefix::parse("2001:db8::1/64")});
    spec.routes.push_back({*Prefix::parse("198.51.100.0/24"), ip("192.0.2.254"), ""});
    spec.neighbors.push_back({"p0", ip("192.0.2.254"), kGwMac});
    spec.mbufs_per_socket = 2047;
    spec.neighbor_resolve_ms = resolve_ms;
    spec.idle.policy = idle;
    auto dp = dp::Dataplane::create(spec);
    ASSERT_TRUE(dp.isOk()) << dp.status().message();
    dp_ = std::move(*dp);
    auto m = dp_->portMac("p0");
    ASSERT_TRUE(m.isOk());
    kPortMac = *m;
  }

  // Runs a few iterations of every worker (with control-plane polls in
  // between) and returns what came out.
  std::vector<RingPort::Sent> step(int iterations = 3) {
    for (int i = 0; i < iterations; i++) {
      for (size_t w = 0; w < dp_->workerCount(); w++) dp_->pollWorkerOnce(w);
      dp_->pollControl();
    }
    return port_->collect();
  }

  uint64_t event(WorkerEvent e) { return eventTotal(dp_->workerCounters(), e); }
  uint64_t drops(Drop d) { return dropTotal(dp_->workerCounters(), d); }
  uint64_t totalDrops() {
    uint64_t sum = 0;
    for (const auto& s : dp_->workerCounters()) sum += s.totalDrops();
    return sum;
  }
  bool knowsNeighbor(const IpAddr& a, const MacAddr& m) {
    for (const auto& n : dp_->neighbors()) {
      if (n.addr == a && n.mac == m) return true;
    }
    return false;
  }

  std::unique_ptr<RingPort> port_;
  std::unique_ptr<dp::Dataplane> dp_;
};

// Expects one ARP reply to kHostMac for 192.0.2.1.
void expectArpReply(const Bytes& f, size_t l3 = 14) {
  ASSERT_GE(f.size(), l3 + 28);
  EXPECT_EQ(0, std::memcmp(f.data(), kHostMac.bytes.data(), 6));
  EXPECT_EQ(0, std::memcmp(f.data() + 6, kPortMac.bytes.data(), 6));
  const uint8_t* a = f.data() + l3;
  EXPECT_EQ(2, a[7]) << "opcode";
  EXPECT_EQ(0, std::memcmp(a + 8, kPortMac.bytes.data(), 6)) << "sender MAC";
  EXPECT_EQ(ip("192.0.2.1").bytes[3], a[17]) << "sender IP";
  EXPECT_EQ(0, std::memcmp(a + 14, ip("192.0.2.1").bytes.data(), 4));
  EXPECT_EQ(0, std::memcmp(a + 18, kHostMac.bytes.data(), 6)) << "target MAC";
  EXPECT_EQ(0, std::memcmp(a + 24, ip("192.0.2.2").bytes.data(), 4)) << "target IP";
}

TEST_F(LocalTest, ArpRequestForLocalAddressIsAnsweredAndSenderLearned) {
  start();
  port_->inject(arpFrame(1, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.1")));
  auto out = step();
  ASSERT_EQ(1u, out.size());
  expectArpReply(out[0].frame);
  EXPECT_EQ(1u, event(WorkerEvent::arp_replies));
  EXPECT_TRUE(knowsNeighbor(ip("192.0.2.2"), kHostMac));
  EXPECT_EQ(0u, totalDrops());
}

TEST_F(LocalTest, ArpForOtherAddressesIsDroppedAndCounted) {
  start();
  port_->inject(arpFrame(1, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.77")));
  port_->inject(arpFrame(7, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.1")));
  EXPECT_TRUE(step().empty());
  EXPECT_EQ(1u, drops(Drop::arp_not_for_us));
  EXPECT_EQ(1u, drops(Drop::arp_op_unsupported));
  EXPECT_FALSE(knowsNeighbor(ip("192.0.2.2"), kHostMac));
}

TEST_F(LocalTest, ArpReplyIsLearnedOnlyFromConnectedSubnets) {
  start();
  port_->inject(arpFrame(2, kPortMac, kHostMac, ip("192.0.2.2"), kPortMac, ip("192.0.2.1")));
  port_->inject(arpFrame(2, kPortMac, kOtherMac, ip("10.1.2.3"), kPortMac, ip("192.0.2.1")));
  EXPECT_TRUE(step().empty());
  EXPECT_TRUE(knowsNeighbor(ip("192.0.2.2"), kHostMac));
  EXPECT_FALSE(knowsNeighbor(ip("10.1.2.3"), kOtherMac));
  EXPECT_EQ(2u, event(WorkerEvent::neigh_adverts));
  EXPECT_EQ(0u, totalDrops());
}

TEST_F(LocalTest, FramesForOtherMacsAndOtherHostsAreDropped) {
  start();
  port_->inject(icmpEchoV4(kOtherMac, kHostMac, ip("192.0.2.2"), ip("192.0.2.1"), 1, 1, 8));
  port_->inject(icmpEchoV4(kPortMac, kHostMac, ip("192.0.2.2"), ip("192.0.2.9"), 1, 1, 8));
  Bytes ipx = ethHeader(kPortMac, kHostMac, 0x8137);
  ipx.resize(60, 0);
  port_->inject(ipx);
  EXPECT_TRUE(step().empty());
  EXPECT_EQ(1u, drops(Drop::eth_not_for_us));
  EXPECT_EQ(1u, drops(Drop::not_local));
  EXPECT_EQ(1u, drops(Drop::ethertype_unsupported));
  EXPECT_EQ(3u, event(WorkerEvent::rx_packets));
}

TEST_F(LocalTest, EchoToUnresolvedHostIsHeldUntilArpResolvesIt) {
  start();
  port_->inject(icmpEchoV4(kPortMac, kHostMac, ip("192.0.2.2"), ip("192.0.2.1"), 0x77, 1, 56));
  auto out = step();
  // The reply waits; an ARP request for the host goes out instead.
  ASSERT_EQ(1u, out.size());
  const Bytes& req = out[0].frame;
  EXPECT_EQ(0, std::memcmp(req.data(), kBroadcast.bytes.data(), 6));
  EXPECT_EQ(0x08, req[12]);
  EXPECT_EQ(0x06, req[13]);
  EXPECT_EQ(1, req[14 + 7]);
  EXPECT_EQ(0, std::memcmp(req.data() + 14 + 24, ip("192.0.2.2").bytes.data(), 4));
  EXPECT_EQ(0, std::memcmp(req.data() + 14 + 14, ip("192.0.2.1").bytes.data(), 4));
  EXPECT_EQ(1u, event(WorkerEvent::pending_held));

  port_->inject(arpFrame(2, kPortMac, kHostMac, ip("192.0.2.2"), kPortMac, ip("192.0.2.1")));
  out = step();
  ASSERT_EQ(1u, out.size());
  const Bytes& rep = out[0].frame;
  EXPECT_EQ(0, std::memcmp(rep.data(), kHostMac.bytes.data(), 6));
  EXPECT_EQ(0, std::memcmp(rep.data() + 6, kPortMac.bytes.data(), 6));
  const uint8_t* ip4 = rep.data() + 14;
  EXPECT_TRUE(ipv4HeaderValid(ip4));
  EXPECT_TRUE(icmpV4Valid(ip4));
  EXPECT_EQ(0, ip4[20]) << "echo reply";
  EXPECT_EQ(64, ip4[8]) << "ttl";
  EXPECT_EQ(0, std::memcmp(ip4 + 12, ip("192.0.2.1").bytes.data(), 4));
  EXPECT_EQ(0, std::memcmp(ip4 + 16, ip("192.0.2.2").bytes.data(), 4));
  EXPECT_EQ(14u + 20 + 8 + 56, rep.size());
  EXPECT_EQ(1u, event(WorkerEvent::pending_released));
  EXPECT_EQ(1u, event(WorkerEvent::echo_replies));
  EXPECT_EQ(0u, totalDrops());
}

TEST_F(LocalTest, EchoFromBehindAGatewayIsRoutedToTheGatewayMac) {
  start();
  port_->inject(icmpEchoV4(kPortMac, kGwMac, ip("198.51.100.7"), ip("192.0.2.1"), 5, 9, 13));
  auto out = step();
  ASSERT_EQ(1u, out.size());
  const Bytes& rep = out[0].frame;
  EXPECT_EQ(0, std::memcmp(rep.data(), kGwMac.bytes.data(), 6));
  EXPECT_TRUE(ipv4HeaderValid(rep.data() + 14));
  EXPECT_TRUE(icmpV4Valid(rep.data() + 14));
  EXPECT_EQ(0, std::memcmp(rep.data() + 14 + 16, ip("198.51.100.7").bytes.data(), 4));
}

TEST_F(LocalTest, EchoWithoutRouteOrWithBadChecksumIsDropped) {
  start();
  port_->inject(icmpEchoV4(kPortMac, kGwMac, ip("203.0.113.5"), ip("192.0.2.1"), 5, 9, 13));
  Bytes bad = icmpEchoV4(kPortMac, kHostMac, ip("192.0.2.2"), ip("192.0.2.1"), 5, 9, 13);
  bad[14 + 20 + 8] ^= 0xff;  // corrupt the payload, not the IP header
  port_->inject(bad);
  EXPECT_TRUE(step().empty());
  EXPECT_EQ(1u, drops(Drop::no_route));
  EXPECT_EQ(1u, drops(Drop::icmp_bad_checksum));
}

TEST_F(LocalTest, UnresolvedNextHopTimesOutAndIsCounted) {
  start(1, 0, 20);
  port_->inject(icmpEchoV4(kPortMac, kHostMac, ip("192.0.2.3"), ip("192.0.2.1"), 1, 1, 8));
  auto out = step();
  EXPECT_EQ(1u, out.size());  // the ARP request
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (drops(Drop::neigh_timeout) == 0 && std::chrono::steady_clock::now() < until) {
    out = step(1);
  }
  EXPECT_EQ(1u, drops(Drop::neigh_timeout));
}

TEST_F(LocalTest, NeighborSolicitationIsAnsweredWithAdvertisement) {
  start();
  port_->inject(neighborSolicit(kHostMac, ip("2001:db8::2"), ip("2001:db8::1")));
  auto out = step();
  ASSERT_EQ(1u, out.size());
  const Bytes& na = out[0].frame;
  ASSERT_EQ(14u + 40 + 32, na.size());
  EXPECT_EQ(0, std::memcmp(na.data(), kHostMac.bytes.data(), 6));
  const uint8_t* ip6 = na.data() + 14;
  EXPECT_EQ(255, ip6[7]) << "hop limit";
  EXPECT_EQ(0, std::memcmp(ip6 + 8, ip("2001:db8::1").bytes.data(), 16));
  EXPECT_EQ(0, std::memcmp(ip6 + 24, ip("2001:db8::2").bytes.data(), 16));
  EXPECT_EQ(136, ip6[40]);
  EXPECT_EQ(0x60, ip6[44]) << "solicited + override";
  EXPECT_EQ(0, std::memcmp(ip6 + 48, ip("2001:db8::1").bytes.data(), 16));
  EXPECT_EQ(2, ip6[64]);
  EXPECT_EQ(0, std::memcmp(ip6 + 66, kPortMac.bytes.data(), 6));
  EXPECT_TRUE(icmpV6Valid(ip6));
  EXPECT_TRUE(knowsNeighbor(ip("2001:db8::2"), kHostMac));
  EXPECT_EQ(1u, event(WorkerEvent::nd_replies));
}

TEST_F(LocalTest, DuplicateAddressProbeIsAnsweredToAllNodes) {
  start();
  port_->inject(neighborSolicit(kHostMac, ip("::"), ip("2001:db8::1")));
  auto out = step();
  ASSERT_EQ(1u, out.size());
  const uint8_t* ip6 = out[0].frame.data() + 14;
  EXPECT_EQ(0, std::memcmp(ip6 + 24, ip("ff02::1").bytes.data(), 16));
  EXPECT_EQ(0x20, ip6[44]) << "override only, not solicited";
  EXPECT_TRUE(icmpV6Valid(ip6));
}

TEST_F(LocalTest, MalformedOrForeignNeighborDiscoveryIsDropped) {
  start();
  port_->inject(neighborSolicit(kHostMac, ip("2001:db8::2"), ip("2001:db8::99")));
  Bytes low_hop = neighborSolicit(kHostMac, ip("2001:db8::2"), ip("2001:db8::1"));
  low_hop[14 + 7] = 64;
  port_->inject(low_hop);
  Bytes bad_sum = neighborSolicit(kHostMac, ip("2001:db8::2"), ip("2001:db8::1"));
  bad_sum[14 + 40 + 3] ^= 1;
  port_->inject(bad_sum);
  Bytes zero_opt = neighborSolicit(kHostMac, ip("2001:db8::2"), ip("2001:db8::1"));
  zero_opt[14 + 40 + 25] = 0;  // option length 0 is invalid
  port_->inject(zero_opt);
  EXPECT_TRUE(step().empty());
  EXPECT_EQ(1u, drops(Drop::nd_not_for_us));
  EXPECT_GE(drops(Drop::nd_malformed), 1u);
  EXPECT_GE(drops(Drop::icmp_bad_checksum), 1u);
  EXPECT_EQ(4u, totalDrops());
}

TEST_F(LocalTest, EchoV6IsAnsweredOnceTheNeighborIsKnown) {
  start();
  port_->inject(neighborAdvert(kPortMac, kHostMac, ip("2001:db8::2"), ip("2001:db8::1"),
                               ip("2001:db8::2"), kHostMac));
  step();
  ASSERT_TRUE(knowsNeighbor(ip("2001:db8::2"), kHostMac));
  port_->inject(icmpEchoV6(kPortMac, kHostMac, ip("2001:db8::2"), ip("2001:db8::1"), 3, 4, 33));
  auto out = step();
  ASSERT_EQ(1u, out.size());
  const Bytes& rep = out[0].frame;
  EXPECT_EQ(0, std::memcmp(rep.data(), kHostMac.bytes.data(), 6));
  const uint8_t* ip6 = rep.data() + 14;
  EXPECT_EQ(129, ip6[40]);
  EXPECT_EQ(0, std::memcmp(ip6 + 8, ip("2001:db8::1").bytes.data(), 16));
  EXPECT_EQ(0, std::memcmp(ip6 + 24, ip("2001:db8::2").bytes.data(), 16));
  EXPECT_TRUE(icmpV6Valid(ip6));
}

TEST_F(LocalTest, EchoV6ToUnknownNeighborSolicitsFirst) {
  start();
  port_->inject(icmpEchoV6(kPortMac, kHostMac, ip("2001:db8::2"), ip("2001:db8::1"), 3, 4, 33));
  auto out = step();
  ASSERT_EQ(1u, out.size());
  const uint8_t* ip6 = out[0].frame.data() + 14;
  EXPECT_EQ(135, ip6[40]);
  EXPECT_EQ(0, std::memcmp(ip6 + 24, ip("ff02::1:ff00:2").bytes.data(), 16));
  EXPECT_TRUE(icmpV6Valid(ip6));
  EXPECT_EQ(1u, event(WorkerEvent::nd_solicits));
  port_->inject(neighborAdvert(kPortMac, kHostMac, ip("2001:db8::2"), ip("2001:db8::1"),
                               ip("2001:db8::2"), kHostMac));
  out = step();
  ASSERT_EQ(1u, out.size());
  EXPECT_EQ(129, out[0].frame[14 + 40]);
}

TEST_F(LocalTest, VlanPortAnswersTaggedAndDropsUntagged) {
  start(1, 42);
  port_->inject(arpFrame(1, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.1"), 42));
  port_->inject(arpFrame(1, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.1")));
  port_->inject(arpFrame(1, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.1"), 43));
  auto out = step();
  ASSERT_EQ(1u, out.size());
  EXPECT_EQ(0x81, out[0].frame[12]);
  EXPECT_EQ(42, out[0].frame[15]);
  expectArpReply(out[0].frame, 18);
  EXPECT_EQ(2u, drops(Drop::vlan_mismatch));

  // A reply the gateway originates carries the port's tag too.
  port_->inject(icmpEchoV4(kPortMac, kGwMac, ip("198.51.100.7"), ip("192.0.2.1"), 5, 9, 13));
  out = step();
  EXPECT_EQ(0u, out.size()) << "untagged echo on a VLAN port must be dropped";
  Bytes tagged = icmpEchoV4(kPortMac, kGwMac, ip("198.51.100.7"), ip("192.0.2.1"), 5, 9, 13);
  Bytes tag = {0x81, 0x00, 0x00, 42};
  tagged.insert(tagged.begin() + 12, tag.begin(), tag.end());
  port_->inject(tagged);
  out = step();
  ASSERT_EQ(1u, out.size());
  EXPECT_EQ(42, out[0].frame[15]);
  EXPECT_TRUE(ipv4HeaderValid(out[0].frame.data() + 18));
  EXPECT_TRUE(icmpV4Valid(out[0].frame.data() + 18));
}

TEST_F(LocalTest, TwoWorkersShareWhatEitherLearns) {
  start(2);
  // Worker 0 learns the host from its ARP request...
  port_->inject(arpFrame(1, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.1")), 0);
  auto out = step();
  ASSERT_EQ(1u, out.size());
  EXPECT_EQ(0u, out[0].queue) << "worker 0 replies on its own tx queue";
  // ...and worker 1 uses it for an echo that arrives on its queue.
  port_->inject(icmpEchoV4(kPortMac, kHostMac, ip("192.0.2.2"), ip("192.0.2.1"), 1, 2, 20), 1);
  out = step();
  ASSERT_EQ(1u, out.size());
  EXPECT_EQ(1u, out[0].queue);
  EXPECT_EQ(0, std::memcmp(out[0].frame.data(), kHostMac.bytes.data(), 6));
  EXPECT_EQ(0u, event(WorkerEvent::pending_held));
}

TEST_F(LocalTest, TcpToALocalAddressIsDroppedAsUnhandled) {
  start();
  Bytes f = icmpEchoV4(kPortMac, kHostMac, ip("192.0.2.2"), ip("192.0.2.1"), 1, 1, 8);
  // Turn it into a minimal TCP segment: protocol 6, 20-byte header.
  f[14 + 9] = 6;
  f[14 + 10] = 0;
  f[14 + 11] = 0;
  f.resize(14 + 20 + 20);
  f[14 + 2] = 0;
  f[14 + 3] = 40;
  uint16_t c = refChecksum(f.data() + 14, 20);
  f[14 + 10] = static_cast<uint8_t>(c >> 8);
  f[14 + 11] = static_cast<uint8_t>(c);
  f[14 + 20 + 12] = 0x50;  // data offset 5
  port_->inject(f);
  EXPECT_TRUE(step().empty());
  EXPECT_EQ(1u, drops(Drop::local_unhandled));
}

TEST_F(LocalTest, ANeighborsNewMacIsUsedAtOnce) {
  start();
  const MacAddr moved = mac("02:00:00:00:00:77");
  port_->inject(arpFrame(2, kPortMac, kHostMac, ip("192.0.2.2"), kPortMac, ip("192.0.2.1")));
  step();
  port_->inject(icmpEchoV4(kPortMac, kHostMac, ip("192.0.2.2"), ip("192.0.2.1"), 1, 1, 8));
  auto out = step();
  ASSERT_EQ(1u, out.size());
  EXPECT_EQ(0, std::memcmp(out[0].frame.data(), kHostMac.bytes.data(), 6));
  // The host moves to another MAC (a failover, a new NIC): the worker's
  // neighbor cache must not keep sending to the old one.
  port_->inject(arpFrame(2, kPortMac, moved, ip("192.0.2.2"), kPortMac, ip("192.0.2.1")));
  step();
  port_->inject(icmpEchoV4(kPortMac, moved, ip("192.0.2.2"), ip("192.0.2.1"), 1, 2, 8));
  out = step();
  ASSERT_EQ(1u, out.size());
  EXPECT_EQ(0, std::memcmp(out[0].frame.data(), moved.bytes.data(), 6));
}

TEST_F(LocalTest, Ipv6RoutingHeaderIsDropped) {
  start();
  Bytes f = icmpEchoV6(kPortMac, kHostMac, ip("2001:db8::2"), ip("2001:db8::1"), 3, 4, 16);
  // Insert an empty routing header (8 bytes, next header ICMPv6).
  Bytes rh = {58, 0, 0, 0, 0, 0, 0, 0};
  f.insert(f.begin() + 14 + 40, rh.begin(), rh.end());
  f[14 + 6] = 43;
  f[14 + 5] = static_cast<uint8_t>(f[14 + 5] + 8);
  port_->inject(f);
  EXPECT_TRUE(step().empty());
  EXPECT_EQ(1u, drops(Drop::ipv6_routing_header));
}

TEST_F(LocalTest, ChainedBuffersAreDroppedAsMultiSegment) {
  start();
  port_->injectChained(
      arpFrame(1, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.1")), 20);
  EXPECT_TRUE(step().empty());
  EXPECT_EQ(1u, drops(Drop::multi_segment));
}

TEST_F(LocalTest, PendingQueueIsBoundedAndOverflowIsCounted) {
  start();
  // 70 echoes from 70 unresolved hosts: 64 wait, the rest are refused.
  for (int i = 0; i < 70; i++) {
    IpAddr src = ip("192.0.2.100");
    src.bytes[3] = static_cast<uint8_t>(100 + i);
    port_->inject(icmpEchoV4(kPortMac, kHostMac, src, ip("192.0.2.1"), 1, 1, 8));
  }
  auto out = step();
  EXPECT_EQ(64u, event(WorkerEvent::pending_held));
  EXPECT_EQ(6u, drops(Drop::pending_full));
  EXPECT_EQ(64u, out.size()) << "one ARP request per waiting next hop";
}

TEST_F(LocalTest, FullTxQueueDropsAreCounted) {
  start();
  // The test's tx ring holds 1023 frames; 1200 replies cannot all fit.
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 600; i++) {
      port_->inject(arpFrame(1, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.1")));
    }
    for (int i = 0; i < 30; i++) dp_->pollWorkerOnce(0);
  }
  EXPECT_EQ(1200u, event(WorkerEvent::arp_replies));
  EXPECT_EQ(1023u, event(WorkerEvent::tx_packets));
  EXPECT_EQ(177u, drops(Drop::tx_full));
  EXPECT_EQ(1023u, port_->collect().size());
}

// Launched workers, polling on their own lcores: waits up to 5 s for output.
std::vector<RingPort::Sent> awaitOutput(dp::Dataplane& dp, RingPort& port, size_t want) {
  std::vector<RingPort::Sent> out;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (out.size() < want && std::chrono::steady_clock::now() < until) {
    dp.pollControl();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (auto& s : port.collect()) out.push_back(std::move(s));
  }
  return out;
}

TEST_F(LocalTest, LaunchedWorkersAnswerAndStopCleanly) {
  start(2);
  ASSERT_TRUE(dp_->launch().isOk());
  port_->inject(arpFrame(1, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.1")), 1);
  auto out = awaitOutput(*dp_, *port_, 1);
  dp_->stop();
  ASSERT_EQ(1u, out.size());
  expectArpReply(out[0].frame);
  EXPECT_EQ(1u, out[0].queue);
}

TEST_F(LocalTest, BackoffWorkerSleepsWhenIdleAndWakesForTraffic) {
  start(1, 0, 1000, dp::IdlePolicy::kBackoff);
  ASSERT_TRUE(dp_->launch().isOk());
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (event(WorkerEvent::idle_sleeps) == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(event(WorkerEvent::idle_sleeps), 0u);
  // Asleep or not, the worker still answers, and promptly.
  for (int i = 0; i < 5; i++) {
    port_->inject(arpFrame(1, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.1")));
    auto out = awaitOutput(*dp_, *port_, 1);
    ASSERT_EQ(1u, out.size()) << "round " << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  dp_->stop();
  EXPECT_EQ(5u, event(WorkerEvent::arp_replies));
}

TEST_F(LocalTest, BusyWorkerNeverSleeps) {
  start(1, 0, 1000, dp::IdlePolicy::kBusy);
  ASSERT_TRUE(dp_->launch().isOk());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  port_->inject(arpFrame(1, kBroadcast, kHostMac, ip("192.0.2.2"), kZeroMac, ip("192.0.2.1")));
  auto out = awaitOutput(*dp_, *port_, 1);
  dp_->stop();
  EXPECT_EQ(1u, out.size());
  EXPECT_EQ(0u, event(WorkerEvent::idle_sleeps));
}

}  // namespace
}  // namespace sluice::test
