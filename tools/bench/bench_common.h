// Pieces the data-path benchmarks share (bench_pipeline, bench_scale): ethdev
// ports made of bare rte_rings that a benchmark fills and drains itself,
// 60-byte UDP frames of numbered flows, a summary printed after Google
// Benchmark's own output, and the EAL start and teardown.
#pragma once

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
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
#include "dp/api/status.h"
#include "dp/api/types.h"
#include "tests/e2e/ring_harness.h"

namespace sluice::bench {

inline constexpr unsigned kBurst = 32;
inline constexpr size_t kFrameLen = 60;  // Ethernet minimum: 14 + 20 + 8 + 18 bytes of payload
inline constexpr uint32_t kClientBase = 0x64400000;  // 100.64.0.0/10: flow i is client i >> 10
inline constexpr unsigned kPortsPerClient = 1024;
inline constexpr unsigned kSnatAddrs = 4;
inline const MacAddr kPeerMac = test::mac("02:00:00:00:0d:01");

// Lines printed after the benchmarks, in the order they were said.
inline std::vector<std::string> g_summary;

inline void say(const char* fmt, auto... args) {
  char line[256];
  std::snprintf(line, sizeof(line), fmt, args...);
  g_summary.emplace_back(line);
}

inline double tscHz() {
  return static_cast<double>(rte_get_tsc_hz());
}

inline uint16_t csumAdd(uint16_t csum, uint32_t add) {
  uint32_t s = static_cast<uint32_t>(~csum & 0xffff) + add;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

inline IpAddr v4(uint32_t host_order) {
  return IpAddr::v4(host_order);
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
    test::Bytes t = test::udpFrame(port_mac, kPeerMac, test::ip("0.0.0.0"), vip, l4);
    std::memcpy(tmpl_, t.data(), kFrameLen);
    vip_ = static_cast<uint32_t>(vip.bytes[0] << 24 | vip.bytes[1] << 16 | vip.bytes[2] << 8 |
                                 vip.bytes[3]);
  }

  void write(uint8_t* p, uint32_t flow) const { writeTo(p, flow, vip_); }

  // The frame of flow i to another IPv4 destination (host order) that is not
  // below the template's: the destination's checksum words are added to it.
  void writeTo(uint8_t* p, uint32_t flow, uint32_t dst) const {
    std::memcpy(p, tmpl_, kFrameLen);
    uint32_t src = kClientBase + flow / kPortsPerClient;
    auto sport = static_cast<uint16_t>(1024 + flow % kPortsPerClient);
    p[26] = static_cast<uint8_t>(src >> 24);
    p[27] = static_cast<uint8_t>(src >> 16);
    p[28] = static_cast<uint8_t>(src >> 8);
    p[29] = static_cast<uint8_t>(src);
    uint32_t words = (src >> 16) + (src & 0xffff);
    if (dst != vip_) {
      // One's complement: adding (dst - vip) word-wise is adding dst's words
      // and vip's complement.
      words += (dst >> 16) + (dst & 0xffff) + (~vip_ >> 16 & 0xffff) + (~vip_ & 0xffff);
      p[30] = static_cast<uint8_t>(dst >> 24);
      p[31] = static_cast<uint8_t>(dst >> 16);
      p[32] = static_cast<uint8_t>(dst >> 8);
      p[33] = static_cast<uint8_t>(dst);
    }
    p[34] = static_cast<uint8_t>(sport >> 8);
    p[35] = static_cast<uint8_t>(sport);
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
  uint32_t vip_ = 0;
};

// An ethdev made of one rx and one tx ring, which the bench fills and drains.
struct RingDev {
  std::string ethdev;
  rte_ring* rx = nullptr;
  rte_ring* tx = nullptr;
};

inline Result<RingDev> makeRingDev(const std::string& name) {
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

// Frees what is queued on `r`; returns how many.
inline unsigned drainRing(rte_ring* r) {
  unsigned total = 0;
  rte_mbuf* m[kBurst];
  unsigned n;
  while ((n = rte_ring_dequeue_burst(r, reinterpret_cast<void**>(m), kBurst, nullptr)) != 0) {
    rte_pktmbuf_free_bulk(m, n);
    total += n;
  }
  return total;
}

inline void freeRingDev(RingDev& d) {
  uint16_t id;
  if (rte_eth_dev_get_port_by_name(d.ethdev.c_str(), &id) == 0) rte_eth_dev_close(id);
  for (rte_ring* r : {d.rx, d.tx}) {
    if (r == nullptr) continue;
    drainRing(r);
    rte_ring_free(r);
  }
}

// Bytes allocated from the EAL heaps (rte_malloc, memzones, rings, pools).
inline size_t ealHeapBytes() {
  size_t total = 0;
  for (unsigned s = 0; s < rte_socket_count(); s++) {
    rte_malloc_socket_stats st{};
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(s), &st) == 0) {
      total += st.heap_allocsz_bytes;
    }
  }
  return total;
}

// Two ring ports, "out" (clients) and "in" (pods), one worker on lcore 1
// polling both, busy. The gateway owns 192.0.2.1/24 on the client side and
// 10.0.0.1..kSnatAddrs (/16, its SNAT addresses) on the pod side. A bench
// derives from it and fills in the rest of the spec (neighbors, routes,
// capacities) before init().
class RingRig {
 public:
  virtual ~RingRig() {
    dp_.reset();
    freeRingDev(out_);
    freeRingDev(in_);
    rte_mempool_free(pool_);
  }
  RingRig(const RingRig&) = delete;
  RingRig& operator=(const RingRig&) = delete;

  dp::Dataplane& dp() { return *dp_; }
  // EAL heap bytes (rte_malloc stats) Dataplane::create took.
  size_t createBytes() const { return create_bytes_; }

  // Puts one frame per flow id on the client port's rx ring, to the VIP
  // given to init().
  void inject(const uint32_t* flows, unsigned n) { injectTo(flows, nullptr, n); }
  // The same with a destination (IPv4, host order) per frame.
  void injectTo(const uint32_t* flows, const uint32_t* dsts, unsigned n) {
    rte_mbuf* m[kBurst];
    if (rte_pktmbuf_alloc_bulk(pool_, m, n) != 0) std::abort();
    for (unsigned i = 0; i < n; i++) {
      auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m[i], kFrameLen));
      if (dsts == nullptr) {
        frames_->write(p, flows[i]);
      } else {
        frames_->writeTo(p, flows[i], dsts[i]);
      }
    }
    if (rte_ring_enqueue_bulk(out_.rx, reinterpret_cast<void**>(m), n, nullptr) != n) {
      std::abort();
    }
  }

  // Frees what the worker sent toward the pods; returns how many.
  unsigned drainPodSide() { return drainRing(in_.tx); }

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

 protected:
  RingRig() = default;

  // Makes the ports and the mempool, completes `spec` with them, the worker
  // and the addresses, and creates the Dataplane. Frames go to `vip`.
  Status init(dp::DataplaneSpec spec, const IpAddr& vip) {
    static unsigned seq = 0;
    std::string tag = std::to_string(seq++);
    auto out = makeRingDev("bo" + tag);
    if (!out) return out.status();
    out_ = *out;
    auto in = makeRingDev("bi" + tag);
    if (!in) return in.status();
    in_ = *in;
    pool_ = rte_pktmbuf_pool_create(("bpool" + tag).c_str(), 4095, 256, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (pool_ == nullptr) return Status::error("bench mempool");

    for (auto [name, dev] : {std::pair{"out", &out_}, std::pair{"in", &in_}}) {
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
    spec.mbufs_per_socket = 4095;
    spec.conntrack.udp_s = 86400;  // nothing expires during a run
    spec.idle.policy = dp::IdlePolicy::kBusy;
    size_t before = ealHeapBytes();
    auto d = dp::Dataplane::create(spec);
    if (!d) return d.status();
    create_bytes_ = ealHeapBytes() - before;
    dp_ = std::move(*d);
    auto port_mac = dp_->portMac("out");
    if (!port_mac) return port_mac.status();
    frames_ = std::make_unique<FlowFrames>(*port_mac, vip);
    return Status::ok();
  }

 private:
  RingDev out_, in_;
  rte_mempool* pool_ = nullptr;
  size_t create_bytes_ = 0;
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

inline uint64_t percentile(std::vector<uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// What publishOnce() measures, TSC ticks per publish.
struct PublishTimes {
  std::vector<uint64_t> build;     // Maglev table (Publisher::tableFor)
  std::vector<uint64_t> upsert;    // the upsertService() call
  std::vector<uint64_t> visible;   // from the call until the probe left
  std::vector<uint64_t> baseline;  // the probe's trip with no publish before it
};

// Puts `m` on the client rx ring of a rig whose worker runs on its lcore and
// waits (up to a second) for a frame on the pod-side tx ring; copies its
// first kFrameLen bytes to `frame` (zeros if none came) and returns the TSC
// when it was seen.
inline uint64_t roundTrip(RingRig& rig, rte_mbuf* m, uint8_t* frame) {
  if (rte_ring_enqueue(rig.clientRx(), m) != 0) std::abort();
  uint64_t deadline = rte_rdtsc() + rte_get_tsc_hz();
  rte_mbuf* out = nullptr;
  while (rte_ring_dequeue(rig.podTx(), reinterpret_cast<void**>(&out)) != 0) {
    if (rte_rdtsc() > deadline) {
      std::memset(frame, 0, kFrameLen);
      return rte_rdtsc();
    }
  }
  uint64_t t = rte_rdtsc();
  std::memcpy(frame, rte_pktmbuf_mtod(out, const uint8_t*), kFrameLen);
  rte_pktmbuf_free(out);
  return t;
}

// Publishes `spec` while the rig's worker runs, then injects a datagram of a
// flow never seen before (flow *next_flow, advanced) and waits for it to leave;
// its frame goes to `probe_frame` for the caller to check that it reached the
// new endpoint set. Then the same trip for another new flow with no publish
// before it: the harness's own latency. Returns the publish's status.
inline Status publishOnce(RingRig& rig, const ServiceSpec& spec, uint32_t* next_flow,
                          PublishTimes& times, uint8_t* probe_frame) {
  rte_mbuf* probe = rig.frameMbuf((*next_flow)++);
  rte_mbuf* control = rig.frameMbuf((*next_flow)++);
  uint64_t b0 = rte_rdtsc_precise();
  auto table = cp::Publisher::tableFor(spec);
  uint64_t t0 = rte_rdtsc_precise();
  Status st = table ? rig.dp().upsertService(spec, *table) : table.status();
  uint64_t t1 = rte_rdtsc_precise();
  uint64_t t2 = roundTrip(rig, probe, probe_frame);
  uint8_t control_frame[kFrameLen];
  uint64_t c0 = rte_rdtsc_precise();
  uint64_t c1 = roundTrip(rig, control, control_frame);
  times.build.push_back(t0 - b0);
  times.upsert.push_back(t1 - t0);
  times.visible.push_back(t2 - t0);
  times.baseline.push_back(c1 - c0);
  rig.dp().pollControl();
  return st;
}

// The q-quantile of `ticks` in microseconds.
inline double quantileUs(const std::vector<uint64_t>& ticks, double q) {
  return static_cast<double>(percentile(ticks, q)) / (tscHz() / 1e6);
}

// Takes "--quick" out of argv (setting *quick) and returns the rest, for
// Google Benchmark.
inline std::vector<char*> takeQuickFlag(int argc, char** argv, bool* quick) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; i++) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      *quick = true;
    } else {
      rest.push_back(argv[i]);
    }
  }
  return rest;
}

// The EAL on ordinary pages (--no-huge, `megabytes` of memory), lcore 0 on
// CPU 0 and lcore 1 on CPU 1, with a file prefix of its own.
inline bool initEal(const char* argv0, unsigned megabytes) {
  std::string prefix = "sluice-bench-" + std::to_string(getpid());
  std::vector<std::string> eal = {argv0,
                                  "--no-huge",
                                  "-m",
                                  std::to_string(megabytes),
                                  "--no-pci",
                                  "--no-telemetry",
                                  "--log-level",
                                  "lib.eal:error",
                                  "--lcores",
                                  "0@0,1@1",
                                  "--file-prefix",
                                  prefix};
  std::vector<char*> args;
  for (auto& a : eal) args.push_back(a.data());
  if (rte_eal_init(static_cast<int>(args.size()), args.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return false;
  }
  return true;
}

// rte_eal_cleanup, then the runtime directory it leaves behind.
inline void cleanupEal() {
  std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ignored;
  std::filesystem::remove_all(runtime_dir, ignored);
}

// Pod k (0-based) is 10.0.1.0 + k + 1; the gateway owns 10.0.0.1..4 on the
// pod side (its SNAT addresses) and 192.0.2.1 on the client side.
inline IpAddr pod(unsigned k) {
  return v4(0x0a000101 + k);
}

inline const IpAddr kVip = test::ip("10.96.0.10");

inline ServiceSpec vipService(unsigned first_pod, unsigned pods) {
  ServiceSpec s;
  s.key = {kVip, 80, Proto::kUdp};
  s.mode = ForwardMode::kFullNat;
  for (unsigned k = first_pod; k < first_pod + pods; k++) {
    s.endpoints.push_back({pod(k), 8080, 1, EndpointState::kReady});
  }
  return s;
}

inline Status publish(dp::Dataplane& d, const ServiceSpec& s) {
  auto table = cp::Publisher::tableFor(s);
  if (!table) return table.status();
  return d.upsertService(s, *table);
}

// The bench's ring ports and worker (RingRig) with static neighbors for
// every pod: no ARP on the path.
class Rig : public RingRig {
 public:
  static Result<std::unique_ptr<Rig>> create(uint32_t ct_capacity, unsigned pods) {
    std::unique_ptr<Rig> r(new Rig());
    r->pods_ = pods;
    dp::DataplaneSpec spec;
    for (unsigned k = 0; k < pods; k++) spec.neighbors.push_back({"in", pod(k), kPeerMac});
    spec.conntrack.capacity = ct_capacity;
    if (Status s = r->init(spec, kVip); !s) return s;
    return r;
  }

  // Sends the first datagram of flows [0, count) through the worker.
  Status openFlows(uint32_t count) {
    uint32_t ids[kBurst];
    for (uint32_t next = 0; next < count;) {
      unsigned n = std::min<uint32_t>(kBurst, count - next);
      for (unsigned i = 0; i < n; i++) ids[i] = next + i;
      inject(ids, n);
      dp().pollWorkerOnce(0);
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
    if (Status s = publish(dp(), vipService(0, pods_)); !s) return s;
    return openFlows(count);
  }

 private:
  Rig() = default;
  unsigned pods_ = 0;
};

}  // namespace sluice::bench
