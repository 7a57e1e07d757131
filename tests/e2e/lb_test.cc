// Packet in -> packet out for load balancing: a client's SYN or datagram to a
// VIP leaves toward a pod translated, the pod's answer comes back translated,
// every checksum valid; fullnat and dnat, TCP and UDP, IPv4 and IPv6; flows
// to endpoints that leave; and replies that land on the wrong worker.
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/lb_fixture.h"

namespace sluice::test {
namespace {

struct Case {
  bool v6;
  Proto proto;
  ForwardMode mode;
};

class LbRoundTrip : public LbTest, public ::testing::WithParamInterface<Case> {};

TEST_P(LbRoundTrip, RequestReachesAPodAndTheAnswerComesBack) {
  const Case c = GetParam();
  const Family4or6 f = c.v6 ? v6() : v4();
  start();
  publish(service(f, c.proto, c.mode));
  L4Spec req{40000, 80, 1000, 0, kSyn, c.proto == Proto::kUdp ? 33u : 0u, 64};
  out_->inject(fromClient(f, c.proto, req));
  Out o = step();
  ASSERT_EQ(0u, o.out.size());
  ASSERT_EQ(1u, o.in.size());
  Decoded d = decode(o.in[0].frame);
  EXPECT_EQ(kPodMac, d.eth_dst);
  EXPECT_TRUE(d.ip_checksum_ok);
  EXPECT_TRUE(d.l4_checksum_ok);
  EXPECT_EQ(63, d.ttl) << "a router hop";
  EXPECT_EQ(8080, d.dport);
  bool to_pod = false;
  for (const auto& p : f.pods) to_pod |= d.dst == p;
  EXPECT_TRUE(to_pod) << d.dst.toString();
  if (c.mode == ForwardMode::kFullNat) {
    EXPECT_EQ(f.snat, d.src);
    EXPECT_GE(d.sport, 1024);
  } else {
    EXPECT_EQ(f.client, d.src);
    EXPECT_EQ(40000, d.sport);
  }
  if (c.proto == Proto::kTcp) {
    EXPECT_EQ(kSyn, d.flags);
    EXPECT_EQ(1000u, d.seq);
  } else {
    EXPECT_EQ(33u, d.payload);
  }

  // The pod answers to whatever it saw as the source.
  L4Spec rep{8080, d.sport, 5000, 1001, kSyn | kAck, c.proto == Proto::kUdp ? 21u : 0u, 64};
  in_->inject(fromPod(d.dst, d.src, c.proto, rep));
  o = step();
  ASSERT_EQ(1u, o.out.size());
  ASSERT_EQ(0u, o.in.size());
  Decoded r = decode(o.out[0].frame);
  EXPECT_EQ(kClientMac, r.eth_dst);
  EXPECT_EQ(f.vip, r.src);
  EXPECT_EQ(f.client, r.dst);
  EXPECT_EQ(80, r.sport);
  EXPECT_EQ(40000, r.dport);
  EXPECT_TRUE(r.ip_checksum_ok);
  EXPECT_TRUE(r.l4_checksum_ok);
  EXPECT_EQ(1u, event(WorkerEvent::flows_created));

  // The client's next packet follows the flow to the same pod.
  L4Spec next{40000, 80, 1001, 5001, kAck, 100, 64};
  out_->inject(fromClient(f, c.proto, next));
  o = step();
  ASSERT_EQ(1u, o.in.size());
  Decoded d2 = decode(o.in[0].frame);
  EXPECT_EQ(d.dst, d2.dst);
  EXPECT_EQ(d.sport, d2.sport);
  EXPECT_TRUE(d2.l4_checksum_ok);
  EXPECT_EQ(1u, event(WorkerEvent::flows_created));
}

INSTANTIATE_TEST_SUITE_P(All, LbRoundTrip,
                         ::testing::Values(Case{false, Proto::kTcp, ForwardMode::kFullNat},
                                           Case{false, Proto::kUdp, ForwardMode::kFullNat},
                                           Case{true, Proto::kTcp, ForwardMode::kFullNat},
                                           Case{true, Proto::kUdp, ForwardMode::kFullNat},
                                           Case{false, Proto::kTcp, ForwardMode::kDnat},
                                           Case{false, Proto::kUdp, ForwardMode::kDnat},
                                           Case{true, Proto::kTcp, ForwardMode::kDnat},
                                           Case{true, Proto::kUdp, ForwardMode::kDnat}),
                         [](const auto& info) {
                           const Case& c = info.param;
                           return std::string(c.v6 ? "v6_" : "v4_") + toString(c.proto) + "_" +
                                  toString(c.mode);
                         });

TEST_F(LbTest, ManyFlowsSpreadOverEveryPod) {
  start();
  publish(service(v4(), Proto::kUdp, ForwardMode::kFullNat));
  std::map<std::string, int> per_pod;
  for (uint16_t i = 0; i < 300; i++) {
    out_->inject(
        fromClient(v4(), Proto::kUdp, {static_cast<uint16_t>(20000 + i), 80, 0, 0, 0, 8, 64}));
    Out o = step(1);
    ASSERT_EQ(1u, o.in.size());
    per_pod[decode(o.in[0].frame).dst.toString()]++;
  }
  ASSERT_EQ(3u, per_pod.size());
  for (const auto& [pod, n] : per_pod) {
    EXPECT_GT(n, 70) << pod;
    EXPECT_LT(n, 130) << pod;
  }
}

// busy_cycles is what the kernel comparison benchmark divides by rx_packets:
// it must grow with traffic and stand still while the worker polls nothing.
TEST_F(LbTest, BusyCyclesCountOnlyPollsThatMovePackets) {
  start();
  publish(service(v4(), Proto::kUdp, ForwardMode::kFullNat));
  step(20);
  EXPECT_EQ(0u, event(WorkerEvent::busy_cycles));
  uint64_t forwarded = 0;
  for (uint16_t i = 0; i < 200; i++) {
    out_->inject(
        fromClient(v4(), Proto::kUdp, {static_cast<uint16_t>(30000 + i), 80, 0, 0, 0, 8, 64}));
    if (i % 20 == 19) forwarded += step(1).in.size();
  }
  ASSERT_EQ(200u, forwarded);
  const uint64_t after_traffic = event(WorkerEvent::busy_cycles);
  // At least one TSC tick per burst of 20, and well below a second of TSC
  // per packet (any TSC runs faster than 1 MHz).
  EXPECT_GE(after_traffic, 10u);
  EXPECT_LT(after_traffic / event(WorkerEvent::rx_packets), 1'000'000u);
  step(50);
  EXPECT_EQ(after_traffic, event(WorkerEvent::busy_cycles)) << "idle polls counted as busy";
}

TEST_F(LbTest, UnknownTcpSegmentsAndEmptyServicesAreDropped) {
  start();
  publish(service(v4(), Proto::kTcp, ForwardMode::kFullNat));
  ServiceSpec empty = service(v4(), Proto::kTcp, ForwardMode::kFullNat, 0);
  empty.key.port = 81;
  publish(empty);
  out_->inject(fromClient(v4(), Proto::kTcp, {40000, 80, 1, 1, kAck, 10, 64}));
  out_->inject(fromClient(v4(), Proto::kTcp, {40001, 81, 1, 0, kSyn, 0, 64}));
  in_->inject(fromPod(v4().pods[0], v4().snat, Proto::kTcp, {8080, 3000, 1, 1, kAck, 0, 64}));
  Out o = step();
  EXPECT_TRUE(o.in.empty());
  EXPECT_TRUE(o.out.empty());
  EXPECT_EQ(1u, drops(Drop::tcp_no_flow));
  EXPECT_EQ(1u, drops(Drop::no_endpoint));
  EXPECT_EQ(1u, drops(Drop::no_flow));
}

TEST_F(LbTest, ExpiringTtlIsDropped) {
  start();
  publish(service(v4(), Proto::kUdp, ForwardMode::kFullNat));
  out_->inject(fromClient(v4(), Proto::kUdp, {40000, 80, 0, 0, 0, 8, 1}));
  Out o = step();
  EXPECT_TRUE(o.in.empty());
  EXPECT_EQ(1u, drops(Drop::ttl_exceeded));
}

TEST_F(LbTest, RemovedEndpointResetsTcpAndMovesUdp) {
  start();
  ServiceSpec tcp = service(v4(), Proto::kTcp, ForwardMode::kFullNat);
  ServiceSpec udp = service(v4(), Proto::kUdp, ForwardMode::kFullNat);
  publish(tcp);
  publish(udp);
  auto stepper = [this] { return step(); };
  // Flows from many client ports, so every pod has some.
  std::map<uint16_t, IpAddr> tcp_flows, udp_flows;
  for (uint16_t p = 30000; p < 30030; p++) {
    tcp_flows[p] = establish(*this, *out_, v4(), Proto::kTcp, p, stepper, out_mac_);
    udp_flows[p] = establish(*this, *out_, v4(), Proto::kUdp, p, stepper, out_mac_);
  }
  const IpAddr gone = v4().pods[1];
  for (ServiceSpec* s : {&tcp, &udp}) {
    s->endpoints.erase(s->endpoints.begin() + 1);
    publish(*s);
  }
  int resets = 0, kept = 0, moved = 0;
  for (uint16_t p = 30000; p < 30030; p++) {
    out_->inject(fromClient(v4(), Proto::kTcp, {p, 80, 101, 1, kAck, 10, 64}));
    Out o = step();
    if (tcp_flows[p] == gone) {
      // The client gets a RST from the VIP; nothing goes to the pods.
      ASSERT_EQ(1u, o.out.size()) << p;
      ASSERT_TRUE(o.in.empty());
      Decoded r = decode(o.out[0].frame);
      EXPECT_EQ(v4().vip, r.src);
      EXPECT_EQ(p, r.dport);
      EXPECT_EQ(kRst, r.flags & kRst);
      EXPECT_EQ(1u, r.seq) << "seq = the client's ack";
      EXPECT_TRUE(r.ip_checksum_ok);
      EXPECT_TRUE(r.l4_checksum_ok);
      resets++;
    } else {
      ASSERT_EQ(1u, o.in.size());
      EXPECT_EQ(tcp_flows[p], decode(o.in[0].frame).dst) << "flows to staying pods stay";
      kept++;
    }
    out_->inject(fromClient(v4(), Proto::kUdp, {p, 80, 0, 0, 0, 6, 64}));
    o = step();
    ASSERT_EQ(1u, o.in.size());
    IpAddr now = decode(o.in[0].frame).dst;
    EXPECT_NE(gone, now);
    if (udp_flows[p] == gone) {
      moved++;
    } else {
      EXPECT_EQ(udp_flows[p], now);
    }
  }
  EXPECT_GT(resets, 0);
  EXPECT_GT(kept, 0);
  EXPECT_GT(moved, 0);
  EXPECT_EQ(static_cast<uint64_t>(resets), event(WorkerEvent::flows_reset));
  EXPECT_EQ(static_cast<uint64_t>(moved), event(WorkerEvent::flows_rebalanced));
}

TEST_F(LbTest, TerminatingEndpointKeepsItsFlowsButTakesNoNewOnes) {
  start();
  ServiceSpec s = service(v4(), Proto::kTcp, ForwardMode::kFullNat);
  publish(s);
  auto stepper = [this] { return step(); };
  std::map<uint16_t, IpAddr> flows;
  for (uint16_t p = 31000; p < 31030; p++) {
    flows[p] = establish(*this, *out_, v4(), Proto::kTcp, p, stepper, out_mac_);
  }
  s.endpoints[0].state = EndpointState::kTerminating;
  publish(s);
  for (uint16_t p = 31000; p < 31030; p++) {
    out_->inject(fromClient(v4(), Proto::kTcp, {p, 80, 101, 1, kAck, 10, 64}));
    Out o = step();
    ASSERT_EQ(1u, o.in.size());
    EXPECT_EQ(flows[p], decode(o.in[0].frame).dst);
  }
  for (uint16_t p = 32000; p < 32050; p++) {
    EXPECT_NE(v4().pods[0], establish(*this, *out_, v4(), Proto::kTcp, p, stepper, out_mac_));
  }
  EXPECT_EQ(0u, event(WorkerEvent::flows_reset));
}

TEST_F(LbTest, ClientIpAffinityKeepsAClientOnOneEndpoint) {
  start();
  ServiceSpec s = service(v4(), Proto::kTcp, ForwardMode::kFullNat);
  s.affinity_client_ip = true;
  publish(s);
  auto stepper = [this] { return step(); };
  std::set<std::string> pods;
  for (uint16_t p = 33000; p < 33020; p++) {
    pods.insert(establish(*this, *out_, v4(), Proto::kTcp, p, stepper, out_mac_).toString());
  }
  EXPECT_EQ(1u, pods.size());
  EXPECT_EQ(19u, event(WorkerEvent::affinity_hits));
}

// Client-IP affinity across endpoint changes and time. Clients other than
// v4().client are 192.0.2.100 and up; their requests reach the pods, and
// nothing here needs an answer to go back to them.
class LbAffinityTest : public LbTest {
 public:
  static IpAddr client(unsigned n) { return ip(("192.0.2." + std::to_string(100 + n)).c_str()); }

  ServiceSpec affine(size_t pods, uint16_t port = 80) {
    ServiceSpec s = service(v4(), Proto::kTcp, ForwardMode::kFullNat, pods);
    s.key.port = port;
    s.affinity_client_ip = true;
    return s;
  }

  // Opens a TCP flow from `from`:`cport` to the VIP's `vport`; returns the pod
  // it was sent to.
  IpAddr open(const IpAddr& from, uint16_t cport, uint16_t vport = 80) {
    out_->inject(
        tcpFrame(out_mac_, kClientMac, from, v4().vip, {cport, vport, 100, 0, kSyn, 0, 64}));
    Out o = step();
    EXPECT_EQ(1u, o.in.size()) << from.toString() << ":" << cport << " -> port " << vport;
    return o.in.empty() ? IpAddr{} : decode(o.in[0].frame).dst;
  }

  // A client whose Maglev pick among all three pods is pods[2], so adding
  // pods[2] to a service of pods[0] and pods[1] moves it, were it not for
  // affinity. Found through a three-pod probe service on port 81 (the
  // Maglev table depends only on the endpoint set), whose first flow from a
  // client is a miss and so follows Maglev on the client address.
  IpAddr clientMovedByAddingPod2() {
    ServiceSpec probe = affine(3, 81);
    publish(probe);
    for (unsigned n = 0; n < 100; n++) {
      if (open(client(n), 50000, 81) == v4().pods[2]) return client(n);
    }
    ADD_FAILURE() << "no client of 100 maps to pods[2]";
    return IpAddr{};
  }
};

TEST_F(LbAffinityTest, ATerminatingEndpointLosesItsClientsNewFlowsButKeepsItsOldOnes) {
  start();
  ServiceSpec s = affine(3);
  publish(s);
  const Family4or6 f = v4();

  // A full handshake to E, so its flow has traffic both ways later.
  out_->inject(fromClient(f, Proto::kTcp, {41000, 80, 100, 0, kSyn, 0, 64}));
  Out o = step();
  ASSERT_EQ(1u, o.in.size());
  Decoded syn = decode(o.in[0].frame);
  const IpAddr e = syn.dst;
  in_->inject(fromPod(e, syn.src, Proto::kTcp, {8080, syn.sport, 7000, 101, kSyn | kAck, 0, 64}));
  ASSERT_EQ(1u, step().out.size());
  for (uint16_t p = 41001; p < 41005; p++) EXPECT_EQ(e, open(f.client, p));
  EXPECT_EQ(4u, event(WorkerEvent::affinity_hits));

  size_t ei = 0;
  while (ei < s.endpoints.size() && s.endpoints[ei].addr != e) ei++;
  ASSERT_LT(ei, s.endpoints.size());
  s.endpoints[ei].state = EndpointState::kTerminating;
  publish(s);

  // A new flow finds the remembered endpoint no longer ready: not a hit, it
  // goes elsewhere, and the client sticks to where it went.
  const IpAddr e2 = open(f.client, 41010);
  EXPECT_NE(e, e2);
  EXPECT_NE(IpAddr{}, e2);
  EXPECT_EQ(4u, event(WorkerEvent::affinity_hits));
  for (uint16_t p = 41011; p < 41015; p++) EXPECT_EQ(e2, open(f.client, p));
  EXPECT_EQ(8u, event(WorkerEvent::affinity_hits));

  // The established flow to E still works both ways.
  out_->inject(fromClient(f, Proto::kTcp, {41000, 80, 101, 7001, kAck, 20, 64}));
  o = step();
  ASSERT_EQ(1u, o.in.size());
  Decoded d = decode(o.in[0].frame);
  EXPECT_EQ(e, d.dst);
  EXPECT_EQ(syn.sport, d.sport);
  EXPECT_TRUE(d.l4_checksum_ok);
  in_->inject(fromPod(e, syn.src, Proto::kTcp, {8080, syn.sport, 7001, 121, kAck, 30, 64}));
  o = step();
  ASSERT_EQ(1u, o.out.size());
  Decoded r = decode(o.out[0].frame);
  EXPECT_EQ(f.client, r.dst);
  EXPECT_EQ(41000, r.dport);
  EXPECT_EQ(0u, event(WorkerEvent::flows_reset));
  EXPECT_EQ(0u, drops(Drop::endpoint_gone));
}

TEST_F(LbAffinityTest, AddingAnEndpointDoesNotMoveAClientWithAffinity) {
  start();
  const IpAddr c = clientMovedByAddingPod2();
  ASSERT_NE(IpAddr{}, c);
  ServiceSpec s = affine(2);
  publish(s);
  const IpAddr e = open(c, 42000);
  ASSERT_NE(v4().pods[2], e);
  uint64_t hits = event(WorkerEvent::affinity_hits);

  s.endpoints.push_back({v4().pods[2], 8080, 1, EndpointState::kReady});
  publish(s);
  for (uint16_t p = 42001; p < 42006; p++) EXPECT_EQ(e, open(c, p));
  EXPECT_EQ(hits + 5, event(WorkerEvent::affinity_hits));

  // Without a remembered endpoint the same Maglev pick sends a client like
  // it to the new pod: it was the cache that kept `c` in place.
  IpAddr fresh;
  for (unsigned n = 0; n < 100 && fresh == IpAddr{}; n++) {
    if (client(n) != c && open(client(n), 50000, 81) == v4().pods[2]) fresh = client(n);
  }
  ASSERT_NE(IpAddr{}, fresh);
  EXPECT_EQ(v4().pods[2], open(fresh, 42000));
}

TEST_F(LbAffinityTest, DifferentClientsLandOnDifferentEndpointsAndEachSticks) {
  start();
  publish(affine(3));
  std::map<std::string, int> per_pod;
  constexpr unsigned kClients = 60;
  for (unsigned n = 0; n < kClients; n++) {
    const IpAddr first = open(client(n), 43000);
    per_pod[first.toString()]++;
    EXPECT_EQ(first, open(client(n), 43001)) << client(n).toString();
    EXPECT_EQ(first, open(client(n), 43002)) << client(n).toString();
  }
  EXPECT_EQ(3u, per_pod.size()) << "clients are spread by their address, not all on one pod";
  for (const auto& [pod, n] : per_pod) EXPECT_GT(n, 5) << pod;
  EXPECT_EQ(2u * kClients, event(WorkerEvent::affinity_hits));
}

TEST_F(LbAffinityTest, AnExpiredEntryLetsTheClientFollowMaglevAgain) {
  start();
  const IpAddr c = clientMovedByAddingPod2();
  ASSERT_NE(IpAddr{}, c);
  ServiceSpec s = affine(2);
  s.affinity_timeout_s = 1;
  publish(s);
  const IpAddr e = open(c, 44000);
  ASSERT_NE(v4().pods[2], e);
  s.endpoints.push_back({v4().pods[2], 8080, 1, EndpointState::kReady});
  publish(s);
  // Still remembered: the client stays on E (and the entry is refreshed).
  EXPECT_EQ(e, open(c, 44001));
  const uint64_t hits = event(WorkerEvent::affinity_hits);

  // The data plane's clock is the TSC: wait out the 1 s timeout for real,
  // with margin for the TSC frequency's calibration.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(v4().pods[2], open(c, 44002)) << "the remembered endpoint outlived its timeout";
  EXPECT_EQ(hits, event(WorkerEvent::affinity_hits));
  // The new pick is remembered in turn.
  EXPECT_EQ(v4().pods[2], open(c, 44003));
  EXPECT_EQ(hits + 1, event(WorkerEvent::affinity_hits));
}

TEST_F(LbTest, ReplyOnTheOtherWorkersQueueReachesTheFlowOwner) {
  start(2);
  publish(service(v4(), Proto::kTcp, ForwardMode::kFullNat));
  // Worker 0 receives the SYN and owns the flow...
  out_->inject(fromClient(v4(), Proto::kTcp, {40000, 80, 1, 0, kSyn, 0, 64}), 0);
  Out o = step();
  ASSERT_EQ(1u, o.in.size());
  Decoded d = decode(o.in[0].frame);
  EXPECT_EQ(0u, o.in[0].queue);
  EXPECT_EQ(0, d.sport % 2) << "SNAT port from worker 0's share";
  // ...the SYN-ACK lands on worker 1's queue and is handed over.
  in_->inject(fromPod(d.dst, d.src, Proto::kTcp, {8080, d.sport, 9, 2, kSyn | kAck, 0, 64}), 1);
  o = step();
  ASSERT_EQ(1u, o.out.size());
  EXPECT_EQ(0u, o.out[0].queue) << "sent by the owner";
  Decoded r = decode(o.out[0].frame);
  EXPECT_EQ(v4().vip, r.src);
  EXPECT_TRUE(r.l4_checksum_ok);
  EXPECT_EQ(1u, event(WorkerEvent::handoffs));
  EXPECT_EQ(0u, drops(Drop::no_flow));
}

TEST_F(LbTest, DnatFlowsLiveWithTheClientHashOwnerWhateverQueueTheyArriveOn) {
  start(2);
  publish(service(v4(), Proto::kTcp, ForwardMode::kDnat));
  int handoffs_expected = 0;
  for (uint16_t p = 34000; p < 34020; p++) {
    unsigned q = p % 2;
    out_->inject(fromClient(v4(), Proto::kTcp, {p, 80, 1, 0, kSyn, 0, 64}), q);
    Out o = step();
    ASSERT_EQ(1u, o.in.size());
    Decoded d = decode(o.in[0].frame);
    unsigned owner = o.in[0].queue;
    if (owner != q) handoffs_expected++;
    // The reply arrives on the queue the request did not use.
    in_->inject(fromPod(d.dst, v4().client, Proto::kTcp, {8080, p, 9, 2, kSyn | kAck, 0, 64}),
                1 - owner);
    o = step();
    ASSERT_EQ(1u, o.out.size()) << p;
    EXPECT_EQ(owner, o.out[0].queue);
    handoffs_expected++;
    EXPECT_EQ(v4().vip, decode(o.out[0].frame).src);
  }
  EXPECT_EQ(static_cast<uint64_t>(handoffs_expected), event(WorkerEvent::handoffs));
}

TEST_F(LbTest, PublishingAServiceTouchesOnlyThatService) {
  start();
  for (uint16_t port = 1000; port < 1100; port++) {
    ServiceSpec s = service(v4(), Proto::kUdp, ForwardMode::kFullNat);
    s.key.port = port;
    publish(s);
  }
  EXPECT_EQ(100u, dp_->serviceCount());
  ServiceSpec s = service(v4(), Proto::kUdp, ForwardMode::kFullNat);
  s.key.port = 1050;
  ASSERT_TRUE(dp_->removeService(s.key).isOk());
  EXPECT_EQ(99u, dp_->serviceCount());
  out_->inject(fromClient(v4(), Proto::kUdp, {40000, 1050, 0, 0, 0, 8, 64}));
  out_->inject(fromClient(v4(), Proto::kUdp, {40000, 1051, 0, 0, 0, 8, 64}));
  Out o = step();
  EXPECT_EQ(1u, o.in.size());
  EXPECT_EQ(1u, drops(Drop::not_local)) << "the removed VIP is nobody's";
  EXPECT_FALSE(dp_->removeService(s.key).isOk());
}

}  // namespace
}  // namespace sluice::test

namespace sluice::test {
namespace {

// With two workers, a client's flows arrive on both queues (RSS spreads
// 5-tuples), yet one worker owns every flow of a client of an affinity
// service, so its memory sees them all: the client stays on its endpoint
// even after the endpoint set changes.
TEST_F(LbAffinityTest, AffinityHoldsAcrossWorkers) {
  start(2);
  const IpAddr c = clientMovedByAddingPod2();
  publish(affine(2));
  auto openOn = [&](uint16_t cport, unsigned queue) {
    out_->inject(tcpFrame(out_mac_, kClientMac, c, v4().vip, {cport, 80, 100, 0, kSyn, 0, 64}),
                 queue);
    Out o = step();
    EXPECT_EQ(1u, o.in.size());
    return o.in.empty() ? IpAddr{} : decode(o.in[0].frame).dst;
  };
  const IpAddr e = openOn(42000, 0);
  EXPECT_EQ(e, openOn(42001, 1));
  publish(affine(3));
  for (uint16_t p = 42002; p < 42010; p++) EXPECT_EQ(e, openOn(p, p % 2)) << p;
  EXPECT_GT(event(WorkerEvent::handoffs), 0u);
}

}  // namespace
}  // namespace sluice::test
