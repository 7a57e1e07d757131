// Lazy loading on the data plane: a new flow to an on-demand service waits
// in the worker's hold queue while the miss goes to the control plane
// (takeServiceMisses); publishing the service with endpoints sends what
// waited, in order, translated. Every way a held packet can be lost is
// counted, and no buffer leaks.
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/lb_fixture.h"

namespace sluice::test {
namespace {

class LazyTest : public LbTest {
 public:
  ServiceSpec onDemand(const Family4or6& f, Proto proto, uint16_t port = 80) {
    ServiceSpec s;
    s.key = {f.vip, port, proto};
    s.on_demand = true;
    s.source = ServiceSource::kXds;
    return s;
  }
  ServiceSpec loaded(const Family4or6& f, Proto proto, ForwardMode mode, uint16_t port = 80) {
    ServiceSpec s = service(f, proto, mode);
    s.key.port = port;
    s.source = ServiceSource::kXds;
    return s;
  }
  // A datagram (UDP) or SYN (TCP) from the client's port `cport`.
  Bytes first(const Family4or6& f, Proto proto, uint16_t cport, uint16_t vport = 80,
              size_t payload = 8) {
    L4Spec l4{cport, vport, 1000, 0, kSyn, proto == Proto::kUdp ? payload : 0u, 64};
    return fromClient(f, proto, l4);
  }
  // Starts the data plane with an on-demand service and sends it one packet.
  void startAndHoldOne(const Family4or6& f, Proto proto) {
    start();
    publish(onDemand(f, proto));
    out_->inject(first(f, proto, 40000));
    step();
  }
  std::set<std::string> misses() {
    std::set<std::string> keys;
    for (const ServiceKey& k : dp_->takeServiceMisses()) {
      EXPECT_TRUE(keys.insert(k.toString()).second) << k.toString() << " reported twice";
    }
    return keys;
  }
  // Every frame the test injected is back in its pool.
  void expectNoLeak() {
    step();
    EXPECT_EQ(0u, out_->mbufsInUse());
    EXPECT_EQ(0u, in_->mbufsInUse());
  }
};

struct Case {
  bool v6;
  Proto proto;
  ForwardMode mode;
};

class LazyRelease : public LazyTest, public ::testing::WithParamInterface<Case> {};

TEST_P(LazyRelease, HeldPacketsGoToAPodInOrderOnceTheServiceIsLoaded) {
  const Case c = GetParam();
  const Family4or6 f = c.v6 ? v6() : v4();
  const bool udp = c.proto == Proto::kUdp;
  start();
  publish(onDemand(f, c.proto));
  EXPECT_TRUE(misses().empty()) << "no packet yet, no miss";

  // Three packets of one flow (UDP: three datagrams told apart by size;
  // TCP: a SYN and two retransmissions of it).
  for (size_t i = 0; i < 3; i++) out_->inject(first(f, c.proto, 40000, 80, 10 * (i + 1)));
  Out o = step();
  EXPECT_TRUE(o.in.empty());
  EXPECT_TRUE(o.out.empty());
  EXPECT_EQ(3u, event(WorkerEvent::lazy_held));
  EXPECT_EQ(1u, event(WorkerEvent::lazy_miss_posted)) << "one miss for a burst of packets";
  EXPECT_EQ(std::set<std::string>{onDemand(f, c.proto).key.toString()}, misses());
  EXPECT_TRUE(misses().empty()) << "a miss is reported once";

  // Still unloaded: they keep waiting (the deadline is 500 ms away).
  o = step();
  EXPECT_TRUE(o.in.empty());
  EXPECT_EQ(0u, drops(Drop::lazy_hold_timeout));

  publish(loaded(f, c.proto, c.mode));
  o = step();
  EXPECT_TRUE(o.out.empty());
  ASSERT_EQ(3u, o.in.size());
  EXPECT_EQ(3u, event(WorkerEvent::lazy_released));
  EXPECT_EQ(1u, event(WorkerEvent::flows_created));
  Decoded d0 = decode(o.in[0].frame);
  for (size_t i = 0; i < 3; i++) {
    Decoded d = decode(o.in[i].frame);
    EXPECT_EQ(kPodMac, d.eth_dst);
    EXPECT_EQ(d0.dst, d.dst) << "one flow, one pod";
    EXPECT_EQ(8080, d.dport);
    EXPECT_TRUE(d.ip_checksum_ok);
    EXPECT_TRUE(d.l4_checksum_ok);
    if (c.mode == ForwardMode::kFullNat) {
      EXPECT_EQ(f.snat, d.src);
    } else {
      EXPECT_EQ(f.client, d.src);
      EXPECT_EQ(40000, d.sport);
    }
    if (udp) {
      EXPECT_EQ(10 * (i + 1), d.payload) << "arrival order";
    }
  }
  bool to_pod = false;
  for (const auto& p : f.pods) to_pod |= d0.dst == p;
  EXPECT_TRUE(to_pod) << d0.dst.toString();

  // The pod answers and the client's next packet follows the flow.
  L4Spec rep{8080, d0.sport, 5000, 1001, kSyn | kAck, udp ? 5u : 0u, 64};
  in_->inject(fromPod(d0.dst, d0.src, c.proto, rep));
  o = step();
  ASSERT_EQ(1u, o.out.size());
  Decoded r = decode(o.out[0].frame);
  EXPECT_EQ(f.vip, r.src);
  EXPECT_EQ(f.client, r.dst);
  EXPECT_EQ(40000, r.dport);
  L4Spec next{40000, 80, 1001, 5001, kAck, 100, 64};
  out_->inject(fromClient(f, c.proto, next));
  o = step();
  ASSERT_EQ(1u, o.in.size());
  EXPECT_EQ(d0.dst, decode(o.in[0].frame).dst);
  EXPECT_EQ(1u, event(WorkerEvent::flows_created));
  EXPECT_EQ(3u, event(WorkerEvent::lazy_held)) << "a loaded service holds nothing";
  EXPECT_TRUE(misses().empty());
  expectNoLeak();
}

INSTANTIATE_TEST_SUITE_P(Cases, LazyRelease,
                         ::testing::Values(Case{false, Proto::kTcp, ForwardMode::kFullNat},
                                           Case{false, Proto::kUdp, ForwardMode::kDnat},
                                           Case{true, Proto::kUdp, ForwardMode::kFullNat},
                                           Case{true, Proto::kTcp, ForwardMode::kDnat}));

TEST_F(LazyTest, PacketsPastTheDeadlineAreDroppedAndCounted) {
  lazy_hold_ms_ = 20;
  const Family4or6 f = v4();
  startAndHoldOne(f, Proto::kUdp);
  EXPECT_EQ(1u, event(WorkerEvent::lazy_held));
  EXPECT_EQ(0u, drops(Drop::lazy_hold_timeout));
  // The data plane's clock is the TSC: wait out the deadline for real.
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  Out o = step();
  EXPECT_TRUE(o.in.empty());
  EXPECT_EQ(1u, drops(Drop::lazy_hold_timeout));
  // Loading it now sends nothing: the packet is gone.
  publish(loaded(f, Proto::kUdp, ForwardMode::kFullNat));
  o = step();
  EXPECT_TRUE(o.in.empty());
  EXPECT_EQ(0u, event(WorkerEvent::lazy_released));
  expectNoLeak();
}

TEST_F(LazyTest, AFullQueueDropsAndCountsTheRest) {
  lazy_hold_ = 4;
  start();
  const Family4or6 f = v4();
  publish(onDemand(f, Proto::kUdp));
  for (uint16_t i = 0; i < 6; i++) out_->inject(first(f, Proto::kUdp, 40000 + i));
  step();
  EXPECT_EQ(4u, event(WorkerEvent::lazy_held));
  EXPECT_EQ(2u, drops(Drop::lazy_hold_full));
  EXPECT_EQ(1u, misses().size());
  publish(loaded(f, Proto::kUdp, ForwardMode::kFullNat));
  Out o = step();
  ASSERT_EQ(4u, o.in.size());
  std::set<uint16_t> sports;
  for (const auto& s : o.in) sports.insert(decode(s.frame).sport);
  EXPECT_EQ(4u, sports.size()) << "four flows";
  EXPECT_EQ(4u, event(WorkerEvent::flows_created));
  expectNoLeak();
}

TEST_F(LazyTest, NoHoldQueueDropsEveryPacketButStillReportsTheMiss) {
  lazy_hold_ = 0;
  const Family4or6 f = v6();
  startAndHoldOne(f, Proto::kTcp);
  EXPECT_EQ(0u, event(WorkerEvent::lazy_held));
  EXPECT_EQ(1u, drops(Drop::lazy_hold_full));
  EXPECT_EQ(1u, misses().size());
  expectNoLeak();
}

TEST_F(LazyTest, RemovingTheServiceDropsWhatWaitsForIt) {
  start();
  const Family4or6 f = v4();
  publish(onDemand(f, Proto::kTcp));
  publish(onDemand(f, Proto::kTcp, 81));
  out_->inject(first(f, Proto::kTcp, 40000));
  out_->inject(first(f, Proto::kTcp, 40001, 81));
  step();
  EXPECT_EQ(2u, event(WorkerEvent::lazy_held));
  ASSERT_TRUE(dp_->removeService(onDemand(f, Proto::kTcp).key).isOk());
  Out o = step();
  EXPECT_EQ(1u, drops(Drop::lazy_service_gone));
  // Its miss is no longer worth loading; the other one's still is.
  EXPECT_EQ(std::set<std::string>{onDemand(f, Proto::kTcp, 81).key.toString()}, misses());
  // Added again it is another service: the packet of the old one is not
  // sent to it.
  publish(loaded(f, Proto::kTcp, ForwardMode::kFullNat));
  o = step();
  EXPECT_TRUE(o.in.empty());
  // The other service's packet waited and goes once it is loaded.
  publish(loaded(f, Proto::kTcp, ForwardMode::kFullNat, 81));
  o = step();
  ASSERT_EQ(1u, o.in.size());
  EXPECT_EQ(1u, event(WorkerEvent::lazy_released));
  expectNoLeak();
}

TEST_F(LazyTest, AFullMissRingIsCountedAndTheLostMissesArePostedAgain) {
  constexpr uint16_t kServices = 1100;  // more than a miss ring holds
  lazy_hold_ = 2048;
  lazy_hold_ms_ = 100;
  start();
  const Family4or6 f = v4();
  for (uint16_t p = 1; p <= kServices; p++) publish(onDemand(f, Proto::kUdp, p));
  // The rx ring takes 1024 frames at a time.
  for (uint16_t p = 1; p <= kServices; p++) {
    out_->inject(first(f, Proto::kUdp, 40000, p));
    if (p % 500 == 0) step(20);
  }
  step(20);
  uint64_t posted = event(WorkerEvent::lazy_miss_posted);
  uint64_t lost = event(WorkerEvent::lazy_miss_ring_full);
  EXPECT_EQ(kServices, event(WorkerEvent::lazy_held));
  EXPECT_EQ(kServices, posted + lost);
  EXPECT_GT(lost, 0u);
  EXPECT_GT(posted, 1000u);
  std::set<std::string> first_round = misses();
  EXPECT_EQ(posted, first_round.size());

  // A lost miss was not marked as posted: the service's next packet posts it.
  uint16_t missing = 0;
  for (uint16_t p = 1; p <= kServices && missing == 0; p++) {
    if (first_round.count(onDemand(f, Proto::kUdp, p).key.toString()) == 0) missing = p;
  }
  ASSERT_NE(0, missing);
  out_->inject(first(f, Proto::kUdp, 40001, missing));
  step();
  EXPECT_EQ(std::set<std::string>{onDemand(f, Proto::kUdp, missing).key.toString()}, misses());

  // Nobody loads them: every held packet times out, none leaks.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  step();
  EXPECT_EQ(kServices + 1, drops(Drop::lazy_hold_timeout));
  expectNoLeak();
}

TEST_F(LazyTest, AMissIsPostedAgainAfterTheHoldPeriod) {
  lazy_hold_ms_ = 20;
  const Family4or6 f = v4();
  startAndHoldOne(f, Proto::kUdp);
  EXPECT_EQ(1u, misses().size());
  out_->inject(first(f, Proto::kUdp, 40001));
  step();
  EXPECT_TRUE(misses().empty()) << "within the period";
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  out_->inject(first(f, Proto::kUdp, 40002));
  step();
  EXPECT_EQ(1u, misses().size()) << "the control plane may have lost the first";
  EXPECT_EQ(2u, event(WorkerEvent::lazy_miss_posted));
  // Loaded (which answers the miss), then unloaded again (eviction): the
  // next packet posts at once.
  publish(loaded(f, Proto::kUdp, ForwardMode::kFullNat));
  step();
  publish(onDemand(f, Proto::kUdp));
  out_->inject(first(f, Proto::kUdp, 40003));
  step();
  EXPECT_EQ(1u, misses().size());
  EXPECT_EQ(3u, event(WorkerEvent::lazy_miss_posted));
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  expectNoLeak();
}

TEST_F(LazyTest, EstablishedFlowsOfOtherServicesKeepGoing) {
  start();
  const Family4or6 f = v4();
  publish(loaded(f, Proto::kTcp, ForwardMode::kFullNat));
  IpAddr pod = establish(
      *this, *out_, f, Proto::kTcp, 41000, [this] { return step(); }, out_mac_);
  publish(onDemand(f, Proto::kTcp, 81));
  out_->inject(first(f, Proto::kTcp, 42000, 81));
  // While the other service's packet waits, this flow's packets pass.
  L4Spec next{41000, 80, 101, 1, kAck, 50, 64};
  out_->inject(fromClient(f, Proto::kTcp, next));
  Out o = step();
  ASSERT_EQ(1u, o.in.size());
  EXPECT_EQ(pod, decode(o.in[0].frame).dst);
  EXPECT_EQ(1u, event(WorkerEvent::lazy_held));
  // Loading the other service moves nothing either.
  publish(loaded(f, Proto::kTcp, ForwardMode::kFullNat, 81));
  out_->inject(fromClient(f, Proto::kTcp, next));
  o = step();
  ASSERT_EQ(2u, o.in.size());
  for (const auto& s : o.in) {
    Decoded d = decode(s.frame);
    if (d.payload == 50) {
      EXPECT_EQ(pod, d.dst);
    }
  }
  EXPECT_EQ(2u, event(WorkerEvent::flows_created));
  EXPECT_EQ(0u, drops(Drop::lazy_hold_timeout) + drops(Drop::lazy_service_gone));
  expectNoLeak();
}

TEST_F(LazyTest, TwoWorkersEachHoldTheirOwnAndTheMissIsReportedOnce) {
  start(2);
  const Family4or6 f = v4();
  publish(onDemand(f, Proto::kUdp));
  publish(onDemand(f, Proto::kTcp));
  // fullnat UDP: each worker keeps what it received. TCP is loaded as dnat
  // below, but while on demand it also waits where it arrived.
  out_->inject(first(f, Proto::kUdp, 40000), 0);
  out_->inject(first(f, Proto::kUdp, 40001), 1);
  out_->inject(first(f, Proto::kTcp, 40002), 0);
  out_->inject(first(f, Proto::kTcp, 40003), 1);
  step();
  auto workers = dp_->workerCounters();
  ASSERT_EQ(2u, workers.size());
  for (const auto& w : workers) {
    EXPECT_EQ(2u, w.events[static_cast<size_t>(WorkerEvent::lazy_held)]);
    EXPECT_EQ(2u, w.events[static_cast<size_t>(WorkerEvent::lazy_miss_posted)]);
  }
  EXPECT_EQ((std::set<std::string>{onDemand(f, Proto::kUdp).key.toString(),
                                   onDemand(f, Proto::kTcp).key.toString()}),
            misses());
  publish(loaded(f, Proto::kUdp, ForwardMode::kFullNat));
  publish(loaded(f, Proto::kTcp, ForwardMode::kDnat));
  Out o = step();
  ASSERT_EQ(4u, o.in.size());
  for (const auto& s : o.in) {
    Decoded d = decode(s.frame);
    if (d.proto == 17) {
      // The SNAT port names the worker that made the flow.
      EXPECT_EQ(s.queue, d.sport % 2u);
    } else {
      EXPECT_EQ(f.client, d.src);
    }
  }
  // A dnat flow lives with its client's owner: one of the TCP packets was
  // handed over on its release.
  EXPECT_EQ(1u, event(WorkerEvent::handoffs));
  EXPECT_EQ(4u, event(WorkerEvent::flows_created));
  expectNoLeak();
}

// The loop sluiced runs, with the worker on its own lcore: the control
// thread polls for misses and loads what missed; the held packet leaves.
TEST_F(LazyTest, ARunningWorkerSendsTheHeldPacketOnceTheControlLoopLoadsIt) {
  lazy_hold_ms_ = 5000;  // a loaded machine must not turn this into a timeout
  start();
  const Family4or6 f = v4();
  publish(onDemand(f, Proto::kTcp));
  ASSERT_TRUE(dp_->launch().isOk());
  out_->inject(first(f, Proto::kTcp, 40000));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<ServiceKey> missed;
  while (missed.empty() && std::chrono::steady_clock::now() < deadline) {
    dp_->pollControl();
    missed = dp_->takeServiceMisses();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(1u, missed.size());
  EXPECT_EQ(onDemand(f, Proto::kTcp).key, missed[0]);
  publish(loaded(f, Proto::kTcp, ForwardMode::kFullNat));
  std::vector<RingPort::Sent> sent;
  while (sent.empty() && std::chrono::steady_clock::now() < deadline) {
    dp_->pollControl();
    auto got = in_->collect();
    sent.insert(sent.end(), got.begin(), got.end());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  dp_->stop();
  ASSERT_EQ(1u, sent.size());
  Decoded d = decode(sent[0].frame);
  EXPECT_EQ(8080, d.dport);
  EXPECT_EQ(f.snat, d.src);
  EXPECT_EQ(kSyn, d.flags);
  EXPECT_EQ(1u, event(WorkerEvent::lazy_released));
  EXPECT_EQ(0u, drops(Drop::lazy_hold_timeout));
  out_->collect();
  EXPECT_EQ(0u, out_->mbufsInUse());
}

TEST_F(LazyTest, OnDemandServicesCostOneVersionHeaderEach) {
  start();
  const Family4or6 f = v4();
  EXPECT_EQ(0u, dp_->serviceTableBytes());
  constexpr uint16_t kServices = 100;
  for (uint16_t p = 1; p <= kServices; p++) publish(onDemand(f, Proto::kTcp, p));
  uint64_t lazy = dp_->serviceTableBytes();
  EXPECT_GT(lazy, 0u);
  EXPECT_LE(lazy / kServices, 128u) << "no endpoint array, no Maglev table";
  for (uint16_t p = 1; p <= kServices; p++) {
    publish(loaded(f, Proto::kTcp, ForwardMode::kFullNat, p));
  }
  uint64_t eager = dp_->serviceTableBytes();
  // Three endpoints: a Maglev table of 251 two-byte entries each at least.
  EXPECT_GE(eager - lazy, kServices * 251u * 2u);
  for (uint16_t p = 1; p <= kServices; p++) publish(onDemand(f, Proto::kTcp, p));
  EXPECT_EQ(lazy, dp_->serviceTableBytes()) << "unloading frees the tables";
  for (uint16_t p = 1; p <= kServices; p++) {
    ASSERT_TRUE(dp_->removeService(onDemand(f, Proto::kTcp, p).key).isOk());
  }
  EXPECT_EQ(0u, dp_->serviceTableBytes());
}

// The figure for the note, scaled to what a test's 256 MB of EAL
// memory holds: 10k services of 10 endpoints (Maglev M = 1021), 1% active.
TEST_F(LazyTest, FigureTableMemoryLazyVersusEager) {
  start();
  constexpr uint32_t kServices = 10000;
  constexpr uint32_t kActive = kServices / 100;
  auto spec = [](uint32_t i, bool on_demand) {
    ServiceSpec s;
    s.key = {IpAddr::v4(0x0a600000u + i), 80, Proto::kTcp};
    s.source = ServiceSource::kXds;
    s.on_demand = on_demand;
    if (!on_demand) {
      for (uint32_t e = 0; e < 10; e++) {
        s.endpoints.push_back({IpAddr::v4(0x0a000100u + e), 8080, 1, EndpointState::kReady});
      }
    }
    return s;
  };
  std::vector<uint32_t> table(1021);
  for (uint32_t i = 0; i < table.size(); i++) table[i] = i % 10;
  for (uint32_t i = 0; i < kServices; i++) {
    Status s = dp_->upsertService(spec(i, i >= kActive), table);
    ASSERT_TRUE(s.isOk()) << s.message();
  }
  uint64_t lazy = dp_->serviceTableBytes();
  for (uint32_t i = kActive; i < kServices; i++) {
    Status s = dp_->upsertService(spec(i, false), table);
    ASSERT_TRUE(s.isOk()) << s.message();
  }
  uint64_t eager = dp_->serviceTableBytes();
  EXPECT_LT(lazy * 10, eager);
  std::printf(
      "[ figure ] service table, %u services x 10 endpoints (M=1021), %u active: lazy %.2f MB, "
      "eager %.2f MB (per service: on demand %.0f B, loaded %.0f B; x10 for 100k services)\n",
      kServices, kActive, lazy / 1e6, eager / 1e6,
      static_cast<double>(lazy - kActive * (eager / kServices)) / (kServices - kActive),
      static_cast<double>(eager) / kServices);
}

}  // namespace
}  // namespace sluice::test
