// The fixture of the load-balancing packet tests: a Dataplane on two ring
// ports ("out" to clients, "in" to pods), services over three pods per
// family, and helpers to inject frames and step the workers.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cp/publisher.h"
#include "dp/api/dataplane.h"
#include "tests/e2e/ring_harness.h"

namespace sluice::test {

using dp::Drop;
using dp::WorkerEvent;

inline constexpr uint8_t kSyn = 0x02, kAck = 0x10, kRst = 0x04;

inline const MacAddr kClientMac = mac("02:00:00:00:0c:01");
inline const MacAddr kPodMac = mac("02:00:00:00:0d:01");

struct Family4or6 {
  const char* name;
  IpAddr client;
  IpAddr vip;
  IpAddr snat;
  std::vector<IpAddr> pods;
};

inline Family4or6 v4() {
  return {"v4",
          ip("192.0.2.2"),
          ip("10.96.0.10"),
          ip("10.0.0.1"),
          {ip("10.0.0.11"), ip("10.0.0.12"), ip("10.0.0.13")}};
}
inline Family4or6 v6() {
  return {"v6",
          ip("2001:db8::2"),
          ip("fd00:96::10"),
          ip("fd00::1"),
          {ip("fd00::11"), ip("fd00::12"), ip("fd00::13")}};
}

inline std::string uniqueName(const char* base) {
  static std::atomic<unsigned> n{0};
  return std::string(base) + std::to_string(n++);
}

class LbTest : public ::testing::Test {
 public:
  // Port "out" (clients, 192.0.2.0/24, 2001:db8::/64) and port "in" (pods,
  // 10.0.0.0/24, fd00::/64), `workers` workers, each polling queue i of both.
  void start(unsigned workers = 1) {
    out_ = std::make_unique<RingPort>(uniqueName("lo"), workers, workers);
    in_ = std::make_unique<RingPort>(uniqueName("li"), workers, workers);
    dp::DataplaneSpec spec;
    for (auto [name, port] : {std::pair{"out", out_.get()}, std::pair{"in", in_.get()}}) {
      dp::PortSpec ps;
      ps.name = name;
      ps.device = port->ethdevName();
      ps.rx_queues = static_cast<uint16_t>(workers);
      spec.ports.push_back(ps);
    }
    for (unsigned i = 0; i < workers; i++) {
      auto q = static_cast<uint16_t>(i);
      spec.workers.push_back({i + 1, std::nullopt, {{"out", q}, {"in", q}}});
    }
    for (const char* a : {"192.0.2.1/24", "2001:db8::1/64"}) {
      spec.addresses.push_back({"out", *Prefix::parse(a)});
    }
    for (const char* a : {"10.0.0.1/24", "fd00::1/64"}) {
      spec.addresses.push_back({"in", *Prefix::parse(a)});
    }
    spec.snat = {ip("10.0.0.1"), ip("fd00::1")};
    for (const auto& fam : {v4(), v6()}) {
      spec.neighbors.push_back({"out", fam.client, kClientMac});
      for (const auto& p : fam.pods) spec.neighbors.push_back({"in", p, kPodMac});
    }
    spec.mbufs_per_socket = 4095;
    spec.conntrack.capacity = 4096;
    spec.endpoint_stats_capacity = endpoint_stats_capacity_;
    spec.services_capacity = services_capacity_;
    spec.lazy_hold = lazy_hold_;
    spec.lazy_hold_ms = lazy_hold_ms_;
    spec.idle.policy = dp::IdlePolicy::kBackoff;
    auto dp = dp::Dataplane::create(spec);
    ASSERT_TRUE(dp.isOk()) << dp.status().message();
    dp_ = std::move(*dp);
    out_mac_ = *dp_->portMac("out");
    in_mac_ = *dp_->portMac("in");
  }

  ServiceSpec service(const Family4or6& f, Proto proto, ForwardMode mode, size_t pods = 3) {
    ServiceSpec s;
    s.key = {f.vip, 80, proto};
    s.mode = mode;
    for (size_t i = 0; i < pods; i++)
      s.endpoints.push_back({f.pods[i], 8080, 1, EndpointState::kReady});
    return s;
  }

  void publish(const ServiceSpec& s) {
    auto table = cp::Publisher::tableFor(s);
    ASSERT_TRUE(table.isOk()) << table.status().message();
    ASSERT_TRUE(dp_->upsertService(s, *table).isOk());
  }

  // Runs every worker a few times; returns what left each port.
  struct Out {
    std::vector<RingPort::Sent> out, in;
  };
  Out step(int iterations = 3) {
    for (int i = 0; i < iterations; i++) {
      for (size_t w = 0; w < dp_->workerCount(); w++) dp_->pollWorkerOnce(w);
      dp_->pollControl();
    }
    return {out_->collect(), in_->collect()};
  }

  Bytes fromClient(const Family4or6& f, Proto proto, const L4Spec& l4) {
    return proto == Proto::kTcp ? tcpFrame(out_mac_, kClientMac, f.client, f.vip, l4)
                                : udpFrame(out_mac_, kClientMac, f.client, f.vip, l4);
  }
  Bytes fromPod(const IpAddr& pod, const IpAddr& to, Proto proto, const L4Spec& l4) {
    return proto == Proto::kTcp ? tcpFrame(in_mac_, kPodMac, pod, to, l4)
                                : udpFrame(in_mac_, kPodMac, pod, to, l4);
  }

  uint64_t event(WorkerEvent e) { return eventTotal(dp_->workerCounters(), e); }
  uint64_t drops(Drop d) { return dropTotal(dp_->workerCounters(), d); }

  uint32_t endpoint_stats_capacity_ = 64;  // read by start()
  uint32_t services_capacity_ = 65536;     // read by start()
  uint32_t lazy_hold_ = 256;               // read by start()
  uint32_t lazy_hold_ms_ = 500;            // read by start()
  std::unique_ptr<RingPort> out_, in_;
  std::unique_ptr<dp::Dataplane> dp_;
  MacAddr out_mac_, in_mac_;
};

// Establishes one flow from client port `cport` and returns the pod it went to.
inline IpAddr establish(LbTest& t, RingPort& out, const Family4or6& f, Proto proto, uint16_t cport,
                        std::function<LbTest::Out()> step, const MacAddr& out_mac) {
  L4Spec l4{cport, 80, 100, 0, kSyn, proto == Proto::kUdp ? 4u : 0u, 64};
  out.inject(proto == Proto::kTcp ? tcpFrame(out_mac, kClientMac, f.client, f.vip, l4)
                                  : udpFrame(out_mac, kClientMac, f.client, f.vip, l4));
  LbTest::Out o = step();
  EXPECT_EQ(1u, o.in.size());
  (void)t;
  return o.in.empty() ? IpAddr{} : decode(o.in[0].frame).dst;
}

}  // namespace sluice::test
