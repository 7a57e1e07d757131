// What the data plane tells the control plane about traffic: per-service and
// per-endpoint counters, conntrack occupancy and the bounded flow listing,
// checked against the packets the test itself sent and received.
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/lb_fixture.h"

namespace sluice::test {
namespace {

// The IPv4 total length of an untagged Ethernet frame.
uint64_t ipLen(const Bytes& frame) {
  return (uint64_t{frame[16]} << 8) | frame[17];
}

class LbStatsTest : public LbTest {
 public:
  // Opens a flow from client port `cport` and returns the frame that left
  // toward the pod.
  Bytes open(Proto proto, uint16_t cport, size_t payload = 0) {
    out_->inject(fromClient(v4(), proto, {cport, 80, 100, 0, kSyn, payload, 64}));
    Out o = step(1);
    EXPECT_EQ(1u, o.in.size());
    return o.in.empty() ? Bytes{} : o.in[0].frame;
  }
};

TEST_F(LbStatsTest, ServiceAndEndpointCountersFollowThePacketsBothWays) {
  start();
  ServiceSpec svc = service(v4(), Proto::kUdp, ForwardMode::kFullNat);
  publish(svc);
  std::map<std::string, dp::TrafficStats> want;  // by endpoint "addr:port"
  dp::TrafficStats total;
  for (uint16_t p = 20000; p < 20030; p++) {
    Bytes to_pod = open(Proto::kUdp, p, 10 + p % 7);
    ASSERT_FALSE(to_pod.empty());
    Decoded d = decode(to_pod);
    dp::TrafficStats& e = want[d.dst.toString() + ":" + std::to_string(d.dport)];
    e.new_flows++;
    e.active_flows++;
    e.in_packets++;
    e.in_bytes += ipLen(to_pod);
    // Every third flow gets an answer of its own size.
    if (p % 3 == 0) {
      in_->inject(fromPod(d.dst, d.src, Proto::kUdp, {d.dport, d.sport, 0, 0, 0, 50, 64}));
      Out o = step(1);
      ASSERT_EQ(1u, o.out.size());
      e.out_packets++;
      e.out_bytes += ipLen(o.out[0].frame);
    }
  }
  for (const auto& [ep, t] : want) total += t;

  auto all = dp_->serviceTraffic();
  ASSERT_EQ(1u, all.size());
  const dp::ServiceTraffic& st = all[0];
  EXPECT_EQ(svc.key, st.key);
  EXPECT_EQ(total.new_flows, st.traffic.new_flows);
  EXPECT_EQ(30u, st.traffic.active_flows);
  EXPECT_EQ(total.in_packets, st.traffic.in_packets);
  EXPECT_EQ(total.in_bytes, st.traffic.in_bytes);
  EXPECT_EQ(total.out_packets, st.traffic.out_packets);
  EXPECT_EQ(total.out_bytes, st.traffic.out_bytes);
  ASSERT_EQ(3u, st.endpoints.size());
  for (size_t i = 0; i < 3; i++) {
    const dp::EndpointTraffic& et = st.endpoints[i];
    // In the spec's order.
    EXPECT_EQ(svc.endpoints[i].addr, et.addr);
    EXPECT_TRUE(et.counted);
    const dp::TrafficStats& w = want[et.addr.toString() + ":" + std::to_string(et.port)];
    EXPECT_EQ(w.new_flows, et.traffic.new_flows) << et.addr.toString();
    EXPECT_EQ(w.active_flows, et.traffic.active_flows) << et.addr.toString();
    EXPECT_EQ(w.in_packets, et.traffic.in_packets) << et.addr.toString();
    EXPECT_EQ(w.in_bytes, et.traffic.in_bytes) << et.addr.toString();
    EXPECT_EQ(w.out_packets, et.traffic.out_packets) << et.addr.toString();
    EXPECT_EQ(w.out_bytes, et.traffic.out_bytes) << et.addr.toString();
    EXPECT_GT(et.traffic.new_flows, 0u) << "30 flows reach every pod";
  }
}

TEST_F(LbStatsTest, ActiveFlowsLeaveWithTheirEndpoint) {
  start();
  ServiceSpec svc = service(v4(), Proto::kUdp, ForwardMode::kFullNat);
  publish(svc);
  std::map<uint16_t, IpAddr> pod_of;
  for (uint16_t p = 21000; p < 21030; p++) pod_of[p] = decode(open(Proto::kUdp, p)).dst;
  const IpAddr gone = svc.endpoints[1].addr;
  uint64_t on_gone = 0;
  for (const auto& [p, pod] : pod_of) on_gone += pod == gone;
  ASSERT_GT(on_gone, 0u);

  svc.endpoints.erase(svc.endpoints.begin() + 1);
  publish(svc);
  // The next datagram of each flow to the gone pod ends that flow and starts
  // a new one on a staying pod.
  for (const auto& [p, pod] : pod_of) {
    out_->inject(fromClient(v4(), Proto::kUdp, {p, 80, 0, 0, 0, 4, 64}));
    ASSERT_EQ(1u, step(1).in.size());
  }
  auto all = dp_->serviceTraffic();
  ASSERT_EQ(1u, all.size());
  EXPECT_EQ(30u, all[0].traffic.active_flows);
  EXPECT_EQ(30u + on_gone, all[0].traffic.new_flows);
  ASSERT_EQ(2u, all[0].endpoints.size());
  uint64_t active = 0, created = 0;
  for (const auto& e : all[0].endpoints) {
    EXPECT_NE(gone, e.addr);
    active += e.traffic.active_flows;
    created += e.traffic.new_flows;
  }
  EXPECT_EQ(30u, active);
  // The staying pods' own flows, and the moved ones; the gone pod's are not
  // listed any more.
  EXPECT_EQ(30u, created);

  // The endpoint comes back: a new endpoint as far as counting goes.
  svc.endpoints.insert(svc.endpoints.begin() + 1, {gone, 8080, 1, EndpointState::kReady});
  publish(svc);
  all = dp_->serviceTraffic();
  ASSERT_EQ(3u, all[0].endpoints.size());
  EXPECT_EQ(gone, all[0].endpoints[1].addr);
  EXPECT_EQ(0u, all[0].endpoints[1].traffic.new_flows);
  EXPECT_EQ(0u, all[0].endpoints[1].traffic.in_packets);
}

TEST_F(LbStatsTest, AServiceAddedAgainStartsFromZero) {
  start();
  ServiceSpec svc = service(v4(), Proto::kTcp, ForwardMode::kFullNat);
  publish(svc);
  for (uint16_t p = 22000; p < 22010; p++) open(Proto::kTcp, p);
  ASSERT_EQ(10u, dp_->serviceTraffic().at(0).traffic.in_packets);
  ASSERT_TRUE(dp_->removeService(svc.key).isOk());
  EXPECT_TRUE(dp_->serviceTraffic().empty());
  publish(svc);
  auto all = dp_->serviceTraffic();
  ASSERT_EQ(1u, all.size());
  EXPECT_EQ(0u, all[0].traffic.in_packets);
  EXPECT_EQ(0u, all[0].traffic.active_flows) << "the old service's flows are not this one's";
  open(Proto::kTcp, 22100);
  all = dp_->serviceTraffic();
  EXPECT_EQ(1u, all[0].traffic.in_packets);
  EXPECT_EQ(1u, all[0].traffic.new_flows);
}

TEST_F(LbStatsTest, EndpointsPastTheStatsCapacityAreCountedInTheirServiceOnly) {
  endpoint_stats_capacity_ = 2;
  start();
  ServiceSpec svc = service(v4(), Proto::kUdp, ForwardMode::kFullNat);
  publish(svc);
  for (uint16_t p = 23000; p < 23030; p++) open(Proto::kUdp, p);
  auto all = dp_->serviceTraffic();
  ASSERT_EQ(1u, all.size());
  EXPECT_EQ(30u, all[0].traffic.in_packets);
  ASSERT_EQ(3u, all[0].endpoints.size());
  uint64_t counted = 0, in = 0;
  for (const auto& e : all[0].endpoints) {
    counted += e.counted;
    in += e.traffic.in_packets;
    if (!e.counted) {
      EXPECT_EQ(0u, e.traffic.in_packets);
    }
  }
  EXPECT_EQ(2u, counted);
  EXPECT_LT(in, 30u);
  EXPECT_GT(in, 0u);
}

TEST_F(LbStatsTest, ConntrackOccupancyCountsFlowsAndHalfOpenOnes) {
  start();
  publish(service(v4(), Proto::kTcp, ForwardMode::kFullNat));
  std::vector<Decoded> to_pod;
  for (uint16_t p = 24000; p < 24010; p++) to_pod.push_back(decode(open(Proto::kTcp, p)));
  auto occ = dp_->conntrackOccupancy();
  ASSERT_EQ(1u, occ.size());
  EXPECT_EQ(1u, occ[0].lcore);
  EXPECT_EQ(4096u, occ[0].capacity);
  EXPECT_EQ(10u, occ[0].flows);
  EXPECT_EQ(10u, occ[0].half_open);
  // Four handshakes complete: SYN-ACK from the pod, ACK from the client.
  for (size_t i = 0; i < 4; i++) {
    const Decoded& d = to_pod[i];
    in_->inject(fromPod(d.dst, d.src, Proto::kTcp, {d.dport, d.sport, 500, 101, 0x12, 0, 64}));
    ASSERT_EQ(1u, step(1).out.size());
    out_->inject(fromClient(v4(), Proto::kTcp,
                            {static_cast<uint16_t>(24000 + i), 80, 101, 501, kAck, 0, 64}));
    ASSERT_EQ(1u, step(1).in.size());
  }
  occ = dp_->conntrackOccupancy();
  EXPECT_EQ(10u, occ[0].flows);
  EXPECT_EQ(6u, occ[0].half_open);
}

TEST_F(LbStatsTest, ListFlowsFiltersAndStopsAtTheLimit) {
  start();
  ServiceSpec tcp = service(v4(), Proto::kTcp, ForwardMode::kFullNat);
  ServiceSpec udp = service(v4(), Proto::kUdp, ForwardMode::kDnat);
  publish(tcp);
  publish(udp);
  std::map<uint16_t, IpAddr> tcp_pod;
  for (uint16_t p = 25000; p < 25020; p++) tcp_pod[p] = decode(open(Proto::kTcp, p)).dst;
  for (uint16_t p = 26000; p < 26005; p++) open(Proto::kUdp, p);

  auto all = dp_->listFlows({}, 100);
  ASSERT_TRUE(all.isOk()) << all.status().message();
  EXPECT_EQ(25u, all->flows.size());
  EXPECT_FALSE(all->truncated);

  dp::FlowFilter only_udp;
  only_udp.proto = Proto::kUdp;
  auto udp_flows = dp_->listFlows(only_udp, 100);
  ASSERT_TRUE(udp_flows.isOk());
  ASSERT_EQ(5u, udp_flows->flows.size());
  for (const dp::FlowInfo& f : udp_flows->flows) {
    EXPECT_EQ(Proto::kUdp, f.proto);
    EXPECT_EQ(v4().client, f.client);
    EXPECT_GE(f.client_port, 26000);
    EXPECT_LT(f.client_port, 26005);
    EXPECT_EQ(v4().vip, f.vip);
    EXPECT_EQ(80, f.vip_port);
    EXPECT_EQ(8080, f.endpoint_port);
    EXPECT_FALSE(f.snat.has_value()) << "dnat keeps the client's address";
    EXPECT_EQ("udp", f.state);
    EXPECT_GT(f.expires_in_ms, 0u);
    EXPECT_LE(f.expires_in_ms, 300u * 1000);
  }

  // One endpoint's TCP flows, each with its SNAT address and port.
  dp::FlowFilter to_pod;
  to_pod.endpoint = v4().pods[2];
  to_pod.proto = Proto::kTcp;
  to_pod.port = 80;
  to_pod.vip = v4().vip;
  auto pod_flows = dp_->listFlows(to_pod, 100);
  ASSERT_TRUE(pod_flows.isOk());
  size_t want = 0;
  for (const auto& [p, pod] : tcp_pod) want += pod == v4().pods[2];
  ASSERT_GT(want, 0u);
  ASSERT_EQ(want, pod_flows->flows.size());
  for (const dp::FlowInfo& f : pod_flows->flows) {
    EXPECT_EQ(v4().pods[2], f.endpoint);
    EXPECT_EQ(tcp_pod[f.client_port], f.endpoint);
    ASSERT_TRUE(f.snat.has_value());
    EXPECT_EQ(v4().snat, *f.snat);
    EXPECT_GE(f.snat_port, 1024);
    EXPECT_EQ("syn_sent", f.state);
    EXPECT_LE(f.expires_in_ms, 10u * 1000) << "half-open timeout";
  }

  dp::FlowFilter nobody;
  nobody.client = ip("192.0.2.99");
  auto none = dp_->listFlows(nobody, 10);
  ASSERT_TRUE(none.isOk());
  EXPECT_TRUE(none->flows.empty());
  nobody = {};
  nobody.vip = ip("fd00:96::10");  // the same VIP in the other family: no match
  EXPECT_TRUE(dp_->listFlows(nobody, 10)->flows.empty());

  auto few = dp_->listFlows({}, 7);
  ASSERT_TRUE(few.isOk());
  EXPECT_EQ(7u, few->flows.size());
  EXPECT_TRUE(few->truncated);
  auto exact = dp_->listFlows({}, 25);
  EXPECT_EQ(25u, exact->flows.size());
  EXPECT_FALSE(exact->truncated);

  EXPECT_FALSE(dp_->listFlows({}, 0).isOk());
  EXPECT_FALSE(dp_->listFlows({}, dp::kMaxFlowListLimit + 1).isOk());
}

// With the workers running, each walks its own table between packets.
TEST_F(LbStatsTest, RunningWorkersListTheirOwnFlows) {
  start(2);
  publish(service(v4(), Proto::kUdp, ForwardMode::kFullNat));
  ASSERT_TRUE(dp_->launch().isOk());
  for (uint16_t p = 27000; p < 27040; p++) {
    out_->inject(fromClient(v4(), Proto::kUdp, {p, 80, 0, 0, 0, 4, 64}), p % 2);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (event(WorkerEvent::flows_created) < 40 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(40u, event(WorkerEvent::flows_created));
  auto flows = dp_->listFlows({}, 1000);
  ASSERT_TRUE(flows.isOk()) << flows.status().message();
  EXPECT_EQ(40u, flows->flows.size());
  std::map<unsigned, int> per_worker;
  for (const auto& f : flows->flows) per_worker[f.lcore]++;
  EXPECT_EQ(2u, per_worker.size()) << "both workers own some of the flows";
  uint64_t tracked = 0;
  for (const auto& o : dp_->conntrackOccupancy()) tracked += o.flows;
  EXPECT_EQ(40u, tracked);
  auto half = dp_->listFlows({}, 15);
  ASSERT_TRUE(half.isOk());
  EXPECT_EQ(15u, half->flows.size());
  EXPECT_TRUE(half->truncated);
  dp_->stop();
  out_->collect();
  in_->collect();
}

}  // namespace
}  // namespace sluice::test
