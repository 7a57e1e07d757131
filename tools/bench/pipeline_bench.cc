// The worker pipeline measured end to end on one core: the real Dataplane on
// ethdev ports made of rte_rings (rte_eth_from_rings), so a packet is read
// from an rx queue, parsed, matched to a VIP and a flow, rewritten, given an
// Ethernet header and written to a tx queue, as with a NIC.
//
//  * established: TSC ticks per packet of pollWorkerOnce() for bursts of 32
//    UDP datagrams of random established fullnat IPv4 flows, at 1k to 10M
//    flows. Filling the rx ring and draining the tx ring happen outside the
//    timed region.
//  * new_flows: the same for datagrams that each open a flow (conntrack miss,
//    Maglev pick, SNAT port, insert, rewrite), into a table that never fills.
//  * publish: with a worker running on its own lcore, the time an
//    upsertService() call takes, and the time from that call until a packet
//    injected right after it leaves translated to the new endpoint set, with
//    10 or 10k other services published.
//
// TSC ticks are cycles at the nominal clock (constant TSC); "Mpps" is the
// TSC rate divided by ticks per packet.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cp/publisher.h"
#include "dp/api/dataplane.h"
#include "tests/e2e/ring_harness.h"

namespace sluice::bench {
namespace {

using test::ip;
using test::mac;

constexpr unsigned kBurst = 32;
constexpr size_t kFrameLen = 60;              // Ethernet minimum: 14 + 20 + 8 + 18 bytes of payload
constexpr uint32_t kClientBase = 0x64400000;  // 100.64.0.0/10: flow i is client i >> 10
constexpr unsigned kPortsPerClient = 1024;
constexpr unsigned kBenchPods = 128;
constexpr unsigned kSnatAddrs = 4;
const MacAddr kPeerMac = mac("02:00:00:00:0d:01");

bool g_quick = false;
std::vector<std::string> g_summary;

void say(const char* fmt, auto... args) {
  char line[256];
  std::snprintf(line, sizeof(line), fmt, args...);
  g_summary.emplace_back(line);
}

double tscHz() {
  return static_cast<double>(rte_get_tsc_hz());
}

uint16_t csumAdd(uint16_t csum, uint32_t add) {
  uint32_t s = static_cast<uint32_t>(~csum & 0xffff) + add;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

// Frames of flow i: a template from 0.0.0.0 port 0 with valid checksums,
// patched with the flow's client address and port and its checksums adjusted,
// so making one costs a copy and a few adds.
class FlowFrames {
 public:
  FlowFrames(const MacAddr& port_mac, const IpAddr& vip) {
    test::L4Spec l4;
    l4.dport = 80;
    l4.payload = kFrameLen - 42;
    test::Bytes t = test::udpFrame(port_mac, kPeerMac, ip("0.0.0.0"), vip, l4);
    std::memcpy(tmpl_, t.data(), kFrameLen);
  }

  void write(uint8_t* p, uint32_t flow) const {
    std::memcpy(p, tmpl_, kFrameLen);
    uint32_t src = kClientBase + flow / kPortsPerClient;
    auto sport = static_cast<uint16_t>(1024 + flow % kPortsPerClient);
    p[26] = static_cast<uint8_t>(src >> 24);
    p[27] = static_cast<uint8_t>(src >> 16);
    p[28] = static_cast<uint8_t>(src >> 8);
    p[29] = static_cast<uint8_t>(src);
    p[34] = static_cast<uint8_t>(sport >> 8);
    p[35] = static_cast<uint8_t>(sport);
    uint32_t words = (src >> 16) + (src & 0xffff);
    uint16_t ip_sum = csumAdd(static_cast<uint16_t>(p[24] << 8 | p[25]), words);
    uint16_t udp_sum = csumAdd(static_cast<uint16_t>(p[40] << 8 | p[41]), words + sport);
    if (udp_sum == 0) udp_sum = 0xffff;
    p[24] = static_cast<uint8_t>(ip_sum >> 8);
    p[25] = static_cast<uint8_t>(ip_sum);
    p[40] = static_cast<uint8_t>(udp_sum >> 8);
    p[41] = static_cast<uint8_t>(udp_sum);
  }

 private:
  uint8_t tmpl_[kFrameLen];
};

// An ethdev made of one rx and one tx ring, which the bench fills and drains.
struct RingDev {
  std::string ethdev;
  rte_ring* rx = nullptr;
  rte_ring* tx = nullptr;
};

Result<RingDev> makeRingDev(const std::string& name) {
  RingDev d;
  d.rx = rte_ring_create((name + "_rx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  d.tx = rte_ring_create((name + "_tx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (d.rx == nullptr || d.tx == nullptr) return Status::error("rte_ring_create " + name);
  int id = rte_eth_from_rings(name.c_str(), &d.rx, 1, &d.tx, 1, 0);
  if (id < 0) return Status::error("rte_eth_from_rings " + name);
  char ethdev[RTE_ETH_NAME_MAX_LEN];
  if (rte_eth_dev_get_name_by_port(static_cast<uint16_t>(id), ethdev) != 0) {
    return Status::error("no name for port " + name);
  }
  d.ethdev = ethdev;
  return d;
}

void drainRing(rte_ring* r) {
  rte_mbuf* m[kBurst];
  unsigned n;
  while ((n = rte_ring_dequeue_burst(r, reinterpret_cast<void**>(m), kBurst, nullptr)) != 0) {
    rte_pktmbuf_free_bulk(m, n);
  }
}

void freeRingDev(RingDev& d) {
  uint16_t id;
  if (rte_eth_dev_get_port_by_name(d.ethdev.c_str(), &id) == 0) rte_eth_dev_close(id);
  for (rte_ring* r : {d.rx, d.tx}) {
    if (r == nullptr) continue;
    drainRing(r);
    rte_ring_free(r);
  }
}

IpAddr v4(uint32_t host_order) {
  IpAddr a;
  a.family = Family::kV4;
  a.bytes[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes[3] = static_cast<uint8_t>(host_order);
  return a;
}

// Pod k (0-based) is 10.0.1.0 + k + 1; the gateway owns 10.0.0.1..4 on the
// pod side (its SNAT addresses) and 192.0.2.1 on the client side.
IpAddr pod(unsigned k) {
  return v4(0x0a000101 + k);
}

const IpAddr kVip = ip("10.96.0.10");

ServiceSpec vipService(unsigned first_pod, unsigned pods) {
  ServiceSpec s;
  s.key = {kVip, 80, Proto::kUdp};
  s.mode = ForwardMode::kFullNat;
  for (unsigned k = first_pod; k < first_pod + pods; k++) {
    s.endpoints.push_back({pod(k), 8080, 1, EndpointState::kReady});
  }
  return s;
}

Status publish(dp::Dataplane& d, const ServiceSpec& s) {
  auto table = cp::Publisher::tableFor(s);
  if (!table) return table.status();
  return d.upsertService(s, *table);
}

// Two ring ports, "out" (clients) and "in" (pods), one worker on lcore 1
// polling both, static neighbors for every pod: no ARP on the path.
class Rig {
 public:
  static Result<std::unique_ptr<Rig>> create(uint32_t ct_capacity, unsigned pods) {
    static unsigned seq = 0;
    std::unique_ptr<Rig> r(new Rig());
    std::string tag = std::to_string(seq++);
    auto out = makeRingDev("bo" + tag);
    if (!out) return out.status();
    r->out_ = *out;
    auto in = makeRingDev("bi" + tag);
    if (!in) return in.status();
    r->in_ = *in;
    r->pods_ = pods;
    r->pool_ = rte_pktmbuf_pool_create(("bpool" + tag).c_str(), 4095, 256, 0,
                                       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (r->pool_ == nullptr) return Status::error("bench mempool");

    dp::DataplaneSpec spec;
    for (auto [name, dev] : {std::pair{"out", &r->out_}, std::pair{"in", &r->in_}}) {
      dp::PortSpec ps;
      ps.name = name;
      ps.device = dev->ethdev;
      spec.ports.push_back(ps);
    }
    spec.workers = {{1, std::nullopt, {{"out", 0}, {"in", 0}}}};
    spec.addresses.push_back({"out", *Prefix::parse("192.0.2.1/24")});
    for (unsigned i = 0; i < kSnatAddrs; i++) {
      IpAddr a = v4(0x0a000001 + i);
      spec.addresses.push_back({"in", Prefix{a, 16}});
      spec.snat.push_back(a);
    }
    for (unsigned k = 0; k < pods; k++) spec.neighbors.push_back({"in", pod(k), kPeerMac});
    spec.mbufs_per_socket = 4095;
    spec.conntrack.capacity = ct_capacity;
    spec.conntrack.udp_s = 86400;  // nothing expires during a run
    spec.idle.policy = dp::IdlePolicy::kBusy;
    auto d = dp::Dataplane::create(spec);
    if (!d) return d.status();
    r->dp_ = std::move(*d);
    auto port_mac = r->dp_->portMac("out");
    if (!port_mac) return port_mac.status();
    r->frames_ = std::make_unique<FlowFrames>(*port_mac, kVip);
    return r;
  }

  ~Rig() {
    dp_.reset();
    freeRingDev(out_);
    freeRingDev(in_);
    rte_mempool_free(pool_);
  }

  dp::Dataplane& dp() { return *dp_; }

  // Puts one frame per flow id on the client port's rx ring.
  void inject(const uint32_t* flows, unsigned n) {
    rte_mbuf* m[kBurst];
    if (rte_pktmbuf_alloc_bulk(pool_, m, n) != 0) std::abort();
    for (unsigned i = 0; i < n; i++) {
      frames_->write(reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m[i], kFrameLen)), flows[i]);
    }
    if (rte_ring_enqueue_bulk(out_.rx, reinterpret_cast<void**>(m), n, nullptr) != n) {
      std::abort();
    }
  }

  // Frees what the worker sent toward the pods; returns how many.
  unsigned drainPodSide() {
    unsigned total = 0;
    rte_mbuf* m[kBurst];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(in_.tx, reinterpret_cast<void**>(m), kBurst, nullptr)) !=
           0) {
      rte_pktmbuf_free_bulk(m, n);
      total += n;
    }
    return total;
  }

  // Sends the first datagram of flows [0, count) through the worker.
  Status openFlows(uint32_t count) {
    uint32_t ids[kBurst];
    for (uint32_t next = 0; next < count;) {
      unsigned n = std::min<uint32_t>(kBurst, count - next);
      for (unsigned i = 0; i < n; i++) ids[i] = next + i;
      inject(ids, n);
      dp_->pollWorkerOnce(0);
      drainPodSide();
      next += n;
    }
    uint64_t created = event(dp::WorkerEvent::flows_created);
    if (created != count) {
      return Status::error("opened " + std::to_string(created) + " of " + std::to_string(count) +
                           " flows (" + std::to_string(drops()) + " drops)");
    }
    return Status::ok();
  }

  // Publishes the bench VIP over every pod, then opens flows [0, count).
  Status publishAndOpen(uint32_t count) {
    if (Status s = publish(*dp_, vipService(0, pods_)); !s) return s;
    return openFlows(count);
  }

  uint64_t event(dp::WorkerEvent e) const {
    return dp_->workerCounters()[0].events[static_cast<size_t>(e)];
  }
  uint64_t drops() const { return dp_->workerCounters()[0].totalDrops(); }

  rte_mbuf* frameMbuf(uint32_t flow) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) std::abort();
    frames_->write(reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kFrameLen)), flow);
    return m;
  }
  rte_ring* clientRx() { return out_.rx; }
  rte_ring* podTx() { return in_.tx; }

 private:
  Rig() = default;
  RingDev out_, in_;
  rte_mempool* pool_ = nullptr;
  unsigned pods_ = 0;
  std::unique_ptr<dp::Dataplane> dp_;
  std::unique_ptr<FlowFrames> frames_;
};

struct XorShift {
  uint64_t s = 0x9e3779b97f4a7c15;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

// Times bursts of 32 frames through pollWorkerOnce; `pick` chooses each
// frame's flow id. Reports ticks per packet and Mpps. Not inlined, so a
// profiler can be told to count this function alone
// (valgrind --tool=callgrind --toggle-collect='*timeBursts*').
template <class Pick>
[[gnu::noinline]] void timeBursts(benchmark::State& state, Rig& rig, Pick pick, const char* what) {
  uint64_t ticks = 0, packets = 0, sent = 0;
  uint32_t ids[kBurst];
  for (auto _ : state) {
    for (unsigned i = 0; i < kBurst; i++) ids[i] = pick();
    rig.inject(ids, kBurst);
    uint64_t t0 = rte_rdtsc_precise();
    unsigned n = rig.dp().pollWorkerOnce(0);
    uint64_t t1 = rte_rdtsc_precise();
    sent += rig.drainPodSide();
    ticks += t1 - t0;
    packets += n;
    state.SetIterationTime(static_cast<double>(t1 - t0) / tscHz());
  }
  double per_packet = static_cast<double>(ticks) / static_cast<double>(packets);
  state.counters["tsc/pkt"] = per_packet;
  state.counters["Mpps"] = tscHz() / per_packet / 1e6;
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  if (sent != packets) {
    state.SkipWithError((std::to_string(packets - sent) + " packets not sent").c_str());
  }
  say("%-34s %7.1f tsc/packet  %6.2f Mpps/core  (%llu packets, %llu sent)", what, per_packet,
      tscHz() / per_packet / 1e6, static_cast<unsigned long long>(packets),
      static_cast<unsigned long long>(sent));
}

void established(benchmark::State& state) {
  auto flows = static_cast<uint32_t>(state.range(0));
  // 80% full at `flows`, as a table sized with headroom would be.
  auto rig = Rig::create(flows + flows / 4, kBenchPods);
  if (!rig) return state.SkipWithError(rig.status().message().c_str());
  if (Status s = (*rig)->publishAndOpen(flows); !s) return state.SkipWithError(s.message().c_str());
  uint64_t created = (*rig)->event(dp::WorkerEvent::flows_created);
  XorShift rng;
  std::string what = "established, " + std::to_string(flows) + " flows:";
  timeBursts(
      state, **rig, [&] { return static_cast<uint32_t>(rng.next() % flows); }, what.c_str());
  if ((*rig)->event(dp::WorkerEvent::flows_created) != created) {
    state.SkipWithError("a timed packet opened a flow: not all were conntrack hits");
  }
}

void newFlows(benchmark::State& state) {
  // Capacity four times what one run opens, so the table never fills and no
  // insert has to evict.
  uint64_t opens = static_cast<uint64_t>(state.max_iterations) * kBurst;
  auto rig = Rig::create(static_cast<uint32_t>(opens * 4), kBenchPods);
  if (!rig) return state.SkipWithError(rig.status().message().c_str());
  if (Status s = (*rig)->publishAndOpen(0); !s) return state.SkipWithError(s.message().c_str());
  uint32_t next = 0;
  std::string what =
      "new flows (" + std::to_string(opens) + " into " + std::to_string(opens * 4) + "):";
  timeBursts(
      state, **rig, [&] { return next++; }, what.c_str());
  say("  = %.2f M new flows/s per core (capacity never reached, no eviction)",
      state.counters["Mpps"].value);
  uint64_t created = (*rig)->event(dp::WorkerEvent::flows_created);
  if (created != opens) {
    state.SkipWithError(
        ("opened " + std::to_string(created) + " of " + std::to_string(opens)).c_str());
  }
}

uint64_t percentile(std::vector<uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Sets A (pods 0-2) and B (pods 3-5) of the measured service.
constexpr unsigned kSetPods = 3;

void publishLatency(benchmark::State& state) {
  auto others = static_cast<uint32_t>(state.range(0));
  auto made = Rig::create(65536, 2 * kSetPods);
  if (!made) return state.SkipWithError(made.status().message().c_str());
  Rig& rig = **made;
  for (uint32_t k = 0; k < others; k++) {
    ServiceSpec s;
    s.key = {v4(0x0a610000 + k), 80, Proto::kUdp};  // 10.97.0.0/16
    for (unsigned p = 0; p < kSetPods; p++) {
      s.endpoints.push_back({pod(p), 8080, 1, EndpointState::kReady});
    }
    if (Status st = publish(rig.dp(), s); !st) return state.SkipWithError(st.message().c_str());
  }
  if (Status st = publish(rig.dp(), vipService(0, kSetPods)); !st) {
    return state.SkipWithError(st.message().c_str());
  }
  if (Status st = rig.dp().launch(); !st) return state.SkipWithError(st.message().c_str());

  // One datagram of a flow never seen before, through the running worker;
  // returns the TSC when it left and its destination's last byte (0 = lost).
  uint32_t flow = 0;
  auto roundTrip = [&](rte_mbuf* m, uint8_t* dst_last) {
    if (rte_ring_enqueue(rig.clientRx(), m) != 0) std::abort();
    uint64_t deadline = rte_rdtsc() + rte_get_tsc_hz();
    rte_mbuf* out = nullptr;
    while (rte_ring_dequeue(rig.podTx(), reinterpret_cast<void**>(&out)) != 0) {
      if (rte_rdtsc() > deadline) {
        *dst_last = 0;
        return rte_rdtsc();
      }
    }
    uint64_t t = rte_rdtsc();
    *dst_last = rte_pktmbuf_mtod(out, const uint8_t*)[33];  // IPv4 dst, last byte
    rte_pktmbuf_free(out);
    return t;
  };
  std::vector<uint64_t> build, upsert, visible, baseline;
  unsigned wrong = 0;
  bool to_b = true;
  for (auto _ : state) {
    ServiceSpec spec = vipService(to_b ? kSetPods : 0, kSetPods);
    rte_mbuf* probe = rig.frameMbuf(flow++);
    rte_mbuf* control = rig.frameMbuf(flow++);

    uint64_t b0 = rte_rdtsc_precise();
    auto table = cp::Publisher::tableFor(spec);
    uint64_t t0 = rte_rdtsc_precise();
    Status st = rig.dp().upsertService(spec, *table);
    uint64_t t1 = rte_rdtsc_precise();
    uint8_t last;
    uint64_t t2 = roundTrip(probe, &last);
    if (!st) return state.SkipWithError(st.message().c_str());
    // Pod k is 10.0.1.(k + 1): set B is .4-.6, set A .1-.3.
    bool in_new_set = to_b ? (last >= 4 && last <= 6) : (last >= 1 && last <= 3);
    if (!in_new_set) wrong++;

    // The same trip with no publish before it: the harness's own latency.
    uint64_t c0 = rte_rdtsc_precise();
    uint64_t c1 = roundTrip(control, &last);

    build.push_back(t0 - b0);
    upsert.push_back(t1 - t0);
    visible.push_back(t2 - t0);
    baseline.push_back(c1 - c0);
    state.SetIterationTime(static_cast<double>(t2 - t0) / tscHz());
    rig.dp().pollControl();
    to_b = !to_b;
  }
  rig.dp().stop();
  double us = tscHz() / 1e6;
  auto p = [&](const std::vector<uint64_t>& v, double q) {
    return static_cast<double>(percentile(v, q)) / us;
  };
  state.counters["upsert_p50_us"] = p(upsert, 0.5);
  state.counters["visible_p50_us"] = p(visible, 0.5);
  state.counters["visible_p99_us"] = p(visible, 0.99);
  if (wrong != 0)
    state.SkipWithError((std::to_string(wrong) + " probes not to the new set").c_str());
  say("publish, %u other services (%zu reps, us p50/p99/max):", others, upsert.size());
  say("  Maglev table build (tableFor)     %7.2f %7.2f %7.2f", p(build, 0.5), p(build, 0.99),
      p(build, 1.0));
  say("  upsertService() call              %7.2f %7.2f %7.2f", p(upsert, 0.5), p(upsert, 0.99),
      p(upsert, 1.0));
  say("  call -> probe out, new endpoint   %7.2f %7.2f %7.2f", p(visible, 0.5), p(visible, 0.99),
      p(visible, 1.0));
  say("  ring round trip alone (baseline)  %7.2f %7.2f %7.2f", p(baseline, 0.5), p(baseline, 0.99),
      p(baseline, 1.0));
}

void registerAll() {
  std::vector<int64_t> sizes = {1000, 100000, 1000000};
  if (!g_quick) sizes.push_back(10000000);
  int64_t bursts = g_quick ? 50000 : 200000;
  auto* b = benchmark::RegisterBenchmark("established", established);
  for (int64_t n : sizes) b->Arg(n);
  b->Iterations(bursts)->UseManualTime()->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("new_flows", newFlows)
      ->Iterations(g_quick ? 8192 : 32768)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("publish", publishLatency)
      ->Arg(10)
      ->Arg(10000)
      ->Iterations(g_quick ? 200 : 1000)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
  std::vector<char*> bench_args;
  for (int i = 0; i < argc; i++) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      sluice::bench::g_quick = true;
    } else {
      bench_args.push_back(argv[i]);
    }
  }
  // Ordinary pages are enough: the conntrack tables live on the heap, only
  // mbufs and the service table in EAL memory. The main lcore (CPU 0) drives
  // the pipeline benchmarks; lcore 1 (CPU 1) runs the worker in "publish".
  std::string prefix = "sluice-bench-" + std::to_string(getpid());
  std::vector<std::string> eal = {
      argv[0],       "--no-huge",     "-m",       "1024",    "--no-pci",      "--no-telemetry",
      "--log-level", "lib.eal:error", "--lcores", "0@0,1@1", "--file-prefix", prefix};
  std::vector<char*> eal_args;
  for (auto& a : eal) eal_args.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_args.size()), eal_args.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 2;
  }
  int bench_argc = static_cast<int>(bench_args.size());
  benchmark::Initialize(&bench_argc, bench_args.data());
  sluice::bench::registerAll();
  double hz = static_cast<double>(rte_get_tsc_hz());
  std::printf(
      "TSC %.3f GHz. Pipeline figures are TSC ticks spent in pollWorkerOnce() on a burst of 32\n"
      "60-byte UDP/IPv4 fullnat datagrams (rx from a ring, parse, VIP lookup, conntrack, NAT,\n"
      "route + static neighbor, tx to a ring), divided by 32; frames are written and the tx\n"
      "ring drained outside the timed region. Flows are picked uniformly at random.\n\n",
      hz / 1e9);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf(
      "\nSummary (targets: <= 150 tsc/packet at 1M flows, >= 2M new flows/s per core,\n"
      "publish visible in <= 1 ms at 10k services):\n");
  for (const auto& line : sluice::bench::g_summary) std::printf("  %s\n", line.c_str());
  std::printf(
      "\npublish method: a worker runs (busy polling) on lcore 1 / CPU 1. Each rep changes the\n"
      "measured service's endpoint set (A <-> B, disjoint), times upsertService(), then injects\n"
      "a datagram of a new flow and polls the pod-side tx ring until it leaves; 'call -> probe\n"
      "out' is from the upsertService() call to that moment and every probe must reach the new\n"
      "set. The baseline is the same trip with no publish before it.\n");
  std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ignored;
  std::filesystem::remove_all(runtime_dir, ignored);
  return 0;
}
