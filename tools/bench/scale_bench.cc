// Sluice with many services: 10 to 100k services of 1 to 10k endpoints each,
// the real Dataplane on ring ports (tools/bench/bench_common.h). For each
// combination, one benchmark "scale/<services>/<endpoints>" reports:
//
//  * memory: EAL heap bytes (rte_malloc_get_socket_stats) that publishing
//    the services took (the ServiceVersions: header, endpoint array and
//    Maglev table of each), and the bytes of the service hash and its RCU
//    defer queues at the capacity the run sized for them (a Dataplane made
//    with that capacity minus one made with 64). Also the glibc heap the
//    service table's control-side bookkeeping took (mallinfo2).
//  * forwarding: TSC ticks per packet of pollWorkerOnce() for established
//    fullnat UDP flows spread over every service, and for as many flows to
//    one service, in the same rig (same conntrack fill, same tables).
//  * publish: with a worker busy polling on lcore 1, one service among the
//    others is changed (every endpoint replaced: A <-> B sets); the Maglev
//    build, the upsertService() call, and the time from the call until a
//    datagram of a new flow injected right after it leaves toward the new set.
//
// Combinations whose endpoints in total exceed a budget (memory and setup
// time on a small machine) are skipped and listed as such.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cp/publisher.h"
#include "dp/api/dataplane.h"
#include "dp/vip_index.h"
#include "tests/e2e/ring_harness.h"
#include "tools/bench/bench_common.h"

namespace sluice::bench {
namespace {

using test::ip;

constexpr uint32_t kVipBase = 0x0a600000;   // 10.96.0.0/12: service k is kVipBase + k
constexpr uint32_t kPodNet = 0x0a800000;    // 10.128.0.0/9, behind a router
constexpr uint32_t kPodBase = kPodNet + 1;  // pod e is kPodBase + e
constexpr uint16_t kOtherPort = 8080;       // endpoints' port in every other service
constexpr uint16_t kSetA = 8081;            // the measured service: set A, then B, ...
constexpr uint16_t kSetB = 8082;
constexpr unsigned kMinCapacity = 64;

bool g_quick = false;

// One service's lines for the table printed at the end.
struct Row {
  uint32_t services, endpoints;
  double versions_mb, hash_mb, bytes_per_endpoint;
  double spread_tsc, one_tsc;
  double upsert_us, visible_p50_us, visible_p99_us;
};
std::vector<Row> g_rows;
std::vector<std::string> g_skipped;

size_t libc_heap_bytes() {
  return mallinfo2().uordblks;
}

uint32_t capacityFor(uint32_t services) {
  uint32_t c = kMinCapacity;
  while (c < services + 1) c *= 2;
  return c;
}

ServiceSpec serviceSpec(uint32_t k, unsigned endpoints, uint16_t pod_port) {
  ServiceSpec s;
  s.key = {v4(kVipBase + k), 80, Proto::kUdp};
  s.mode = ForwardMode::kFullNat;
  s.endpoints.reserve(endpoints);
  for (unsigned e = 0; e < endpoints; e++) {
    s.endpoints.push_back({v4(kPodBase + e), pod_port, 1, EndpointState::kReady});
  }
  return s;
}

// The bench's ring ports and worker (RingRig), pods behind one router so any
// number of them needs one static neighbor.
class ScaleRig : public RingRig {
 public:
  static Result<std::unique_ptr<ScaleRig>> create(uint32_t services_capacity,
                                                  uint32_t ct_capacity) {
    std::unique_ptr<ScaleRig> r(new ScaleRig());
    dp::DataplaneSpec spec;
    const IpAddr router = ip("10.0.0.254");
    spec.routes.push_back({Prefix{v4(kPodNet), 9}, router, "in"});
    spec.neighbors.push_back({"in", router, kPeerMac});
    spec.services_capacity = services_capacity;
    spec.conntrack.capacity = ct_capacity;
    if (Status st = r->init(spec, v4(kVipBase)); !st) return st;
    return r;
  }

 private:
  ScaleRig() = default;
};

// EAL heap bytes of a Dataplane apart from its service hash and the hash's
// and versions' RCU defer queues. Their size is linear in the capacity (a
// power of two) and nothing else in a Dataplane depends on it, so two made
// with capacities 64 and 128 give the fixed part, measured once.
Result<double> fixedCreateBytes() {
  static double fixed = -1, per_slot = 0;
  if (fixed < 0) {
    size_t at[2];
    for (unsigned i = 0; i < 2; i++) {
      auto probe = ScaleRig::create(kMinCapacity << i, 1024);
      if (!probe) return probe.status();
      at[i] = (*probe)->createBytes();
    }
    per_slot = static_cast<double>(at[1] - at[0]) / kMinCapacity;
    fixed = static_cast<double>(at[0]) - per_slot * kMinCapacity;
  }
  return fixed;
}

// Flows [first, first + count): flow i goes to service vip_of(i). Sends the
// first datagram of each (opening it), or, with `time`, `bursts` bursts of
// random flows among them, returning TSC ticks per packet.
struct FlowSet {
  uint32_t first, count, services;
  uint32_t vip(uint32_t flow) const { return kVipBase + (flow - first) % services; }
};

Status openFlows(ScaleRig& rig, const FlowSet& set) {
  uint32_t ids[kBurst], vips[kBurst];
  uint64_t before = rig.event(dp::WorkerEvent::flows_created);
  for (uint32_t next = 0; next < set.count;) {
    unsigned n = std::min<uint32_t>(kBurst, set.count - next);
    for (unsigned i = 0; i < n; i++) {
      ids[i] = set.first + next + i;
      vips[i] = set.vip(ids[i]);
    }
    rig.injectTo(ids, vips, n);
    rig.dp().pollWorkerOnce(0);
    rig.drainPodSide();
    next += n;
  }
  uint64_t created = rig.event(dp::WorkerEvent::flows_created) - before;
  if (created != set.count) {
    return Status::error("opened " + std::to_string(created) + " of " + std::to_string(set.count) +
                         " flows (" + std::to_string(rig.drops()) + " drops)");
  }
  return Status::ok();
}

Result<double> timeEstablished(ScaleRig& rig, const FlowSet& set, unsigned bursts) {
  uint32_t ids[kBurst], vips[kBurst];
  XorShift rng;
  uint64_t created = rig.event(dp::WorkerEvent::flows_created);
  uint64_t ticks = 0, packets = 0, sent = 0;
  for (unsigned b = 0; b < bursts; b++) {
    for (unsigned i = 0; i < kBurst; i++) {
      ids[i] = set.first + static_cast<uint32_t>(rng.next() % set.count);
      vips[i] = set.vip(ids[i]);
    }
    rig.injectTo(ids, vips, kBurst);
    uint64_t t0 = rte_rdtsc_precise();
    unsigned n = rig.dp().pollWorkerOnce(0);
    uint64_t t1 = rte_rdtsc_precise();
    sent += rig.drainPodSide();
    ticks += t1 - t0;
    packets += n;
  }
  if (sent != packets) return Status::error(std::to_string(packets - sent) + " packets not sent");
  if (rig.event(dp::WorkerEvent::flows_created) != created) {
    return Status::error("a timed packet opened a flow: not all were conntrack hits");
  }
  return static_cast<double>(ticks) / static_cast<double>(packets);
}

unsigned g_flows = 0;   // established flows per set (spread, one service)
unsigned g_bursts = 0;  // timed bursts per set

void scale(benchmark::State& state) {
  auto services = static_cast<uint32_t>(state.range(0));
  auto endpoints = static_cast<unsigned>(state.range(1));
  auto fixed = fixedCreateBytes();
  if (!fixed) return state.SkipWithError(fixed.status().message().c_str());
  uint32_t ct = 2 * g_flows + g_flows / 2;  // both sets at 80% of capacity
  auto made = ScaleRig::create(capacityFor(services), ct);
  if (!made) return state.SkipWithError(made.status().message().c_str());
  ScaleRig& rig = **made;
  // The VIP index lives on the C++ heap, outside the EAL figure: its size
  // follows from the capacity alone.
  double hash_bytes = static_cast<double>(rig.createBytes()) - *fixed +
                      static_cast<double>(dp::VipIndex(capacityFor(services)).memoryBytes());

  // Service 0 is the measured one (set A first); the others share one
  // endpoint set, and so one Maglev table, built once: setup costs upserts,
  // not builds. Each still gets its own version, as in sluiced.
  size_t eal0 = ealHeapBytes(), libc0 = libc_heap_bytes();
  {
    ServiceSpec s = serviceSpec(0, endpoints, kSetA);
    auto table = cp::Publisher::tableFor(s);
    if (!table) return state.SkipWithError(table.status().message().c_str());
    if (Status st = rig.dp().upsertService(s, *table); !st) {
      return state.SkipWithError(st.message().c_str());
    }
    ServiceSpec other = serviceSpec(1, endpoints, kOtherPort);
    auto other_table = cp::Publisher::tableFor(other);
    if (!other_table) return state.SkipWithError(other_table.status().message().c_str());
    for (uint32_t k = 1; k < services; k++) {
      other.key.vip = v4(kVipBase + k);
      if (Status st = rig.dp().upsertService(other, *other_table); !st) {
        return state.SkipWithError(st.message().c_str());
      }
    }
  }
  double versions_bytes = static_cast<double>(ealHeapBytes() - eal0);
  double libc_bytes = static_cast<double>(libc_heap_bytes() - libc0);
  uint32_t maglev_m = static_cast<uint32_t>(
      cp::Publisher::tableFor(serviceSpec(0, endpoints, kSetA)).value().size());

  FlowSet spread{0, g_flows, services}, one{g_flows, g_flows, 1};
  for (const FlowSet& set : {spread, one}) {
    if (Status st = openFlows(rig, set); !st) return state.SkipWithError(st.message().c_str());
  }
  auto spread_tsc = timeEstablished(rig, spread, g_bursts);
  if (!spread_tsc) return state.SkipWithError(spread_tsc.status().message().c_str());
  auto one_tsc = timeEstablished(rig, one, g_bursts);
  if (!one_tsc) return state.SkipWithError(one_tsc.status().message().c_str());

  if (Status st = rig.dp().launch(); !st) return state.SkipWithError(st.message().c_str());
  PublishTimes t;
  unsigned wrong = 0;
  bool to_b = true;
  uint32_t flow = 2 * g_flows;
  for (auto _ : state) {
    uint16_t want = to_b ? kSetB : kSetA;
    uint8_t frame[kFrameLen];
    Status st = publishOnce(rig, serviceSpec(0, endpoints, want), &flow, t, frame);
    if (!st) {
      rig.dp().stop();
      return state.SkipWithError(st.message().c_str());
    }
    if ((frame[36] << 8 | frame[37]) != want) wrong++;  // UDP dport: A or B (0: lost)
    state.SetIterationTime(static_cast<double>(t.visible.back()) / tscHz());
    to_b = !to_b;
  }
  rig.dp().stop();

  auto p = quantileUs;
  const auto& [build, upsert, visible, baseline] = t;
  double total_endpoints = static_cast<double>(services) * endpoints;
  state.counters["maglev_M"] = maglev_m;
  state.counters["versions_bytes"] = versions_bytes;
  state.counters["bytes_per_endpoint"] = versions_bytes / total_endpoints;
  state.counters["service_hash_bytes"] = hash_bytes;
  state.counters["bookkeeping_bytes"] = libc_bytes;
  state.counters["spread_tsc_per_pkt"] = *spread_tsc;
  state.counters["one_service_tsc_per_pkt"] = *one_tsc;
  state.counters["build_p50_us"] = p(build, 0.5);
  state.counters["upsert_p50_us"] = p(upsert, 0.5);
  state.counters["upsert_p99_us"] = p(upsert, 0.99);
  state.counters["visible_p50_us"] = p(visible, 0.5);
  state.counters["visible_p99_us"] = p(visible, 0.99);
  state.counters["baseline_p50_us"] = p(baseline, 0.5);
  if (wrong != 0) {
    state.SkipWithError((std::to_string(wrong) + " probes not to the new set").c_str());
    return;
  }
  g_rows.push_back({services, endpoints, versions_bytes / 1e6, hash_bytes / 1e6,
                    versions_bytes / total_endpoints, *spread_tsc, *one_tsc, p(upsert, 0.5),
                    p(visible, 0.5), p(visible, 0.99)});
}

void registerAll() {
  // Endpoints in total (services x endpoints per service) a run may hold:
  // each takes 50-350 bytes of published tables and ~110 of bookkeeping,
  // and a setup upsert costs ~3 us per endpoint. At 10M that is ~5 GB and
  // ~30 s a combination; 100M would not fit this machine.
  const double budget = g_quick ? 1e6 : 1e7;
  const std::vector<int64_t> services = {10, 1000, 10000, 100000};
  const std::vector<int64_t> endpoints = {1, 10, 100, 1000, 10000};
  // Flows per set: below the 64512 SNAT ports a worker has per endpoint, for
  // the runs in which every flow of the one-service set goes to one endpoint.
  g_flows = 60000;
  g_bursts = g_quick ? 4000 : 20000;
  for (int64_t s : services) {
    for (int64_t e : endpoints) {
      if (static_cast<double>(s) * static_cast<double>(e) > budget) {
        g_skipped.push_back(std::to_string(s) + "x" + std::to_string(e));
        continue;
      }
      int64_t reps = e >= 1000 ? (g_quick ? 20 : 50) : (g_quick ? 50 : 300);
      benchmark::RegisterBenchmark("scale", scale)
          ->Args({s, e})
          ->Iterations(reps)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  std::string skipped;
  for (const auto& s : g_skipped) skipped += (skipped.empty() ? "" : ", ") + s;
  if (!skipped.empty()) {
    say("skipped (over %.0e endpoints in total, memory/setup budget%s): %s", budget,
        g_quick ? ", quick mode" : "", skipped.c_str());
  }
}

void printTable() {
  std::printf("\n%9s %9s %10s %9s %8s %9s %9s %10s %10s %10s\n", "services", "endpts", "versions",
              "hash+dq", "B/endpt", "fwd many", "fwd one", "upsert", "visible", "visible");
  std::printf("%9s %9s %10s %9s %8s %9s %9s %10s %10s %10s\n", "", "/service", "MB", "MB", "",
              "tsc/pkt", "tsc/pkt", "p50 us", "p50 us", "p99 us");
  for (const Row& r : g_rows) {
    std::printf("%9u %9u %10.2f %9.2f %8.1f %9.1f %9.1f %10.2f %10.2f %10.2f\n", r.services,
                r.endpoints, r.versions_mb, r.hash_mb, r.bytes_per_endpoint, r.spread_tsc,
                r.one_tsc, r.upsert_us, r.visible_p50_us, r.visible_p99_us);
  }
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
  std::vector<char*> bench_args = sluice::bench::takeQuickFlag(argc, argv, &sluice::bench::g_quick);
  // Versions in EAL memory (up to ~3.6 GB at 100k services of 100
  // endpoints, full mode), ordinary pages touched as used; conntrack and the
  // service table's bookkeeping on the heap.
  if (!sluice::bench::initEal(argv[0], sluice::bench::g_quick ? 2048 : 6144)) return 2;
  int bench_argc = static_cast<int>(bench_args.size());
  benchmark::Initialize(&bench_argc, bench_args.data());
  sluice::bench::registerAll();
  std::printf(
      "TSC %.3f GHz. scale/<services>/<endpoints per service>: memory of the published tables,\n"
      "TSC ticks per packet of established fullnat UDP flows (%u flows spread over every\n"
      "service, and %u to one service), and one service's publish among the others\n"
      "with a worker busy polling on lcore 1 / CPU 1 (every endpoint of it replaced).\n\n",
      sluice::bench::tscHz() / 1e9, sluice::bench::g_flows, sluice::bench::g_flows);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  sluice::bench::printTable();
  std::printf(
      "\nversions: EAL heap taken by publishing the services (header + endpoints + Maglev\n"
      "table each, M the smallest listed prime >= 100 x endpoints); hash+dq: the VIP index and\n"
      "RCU defer queues at the capacity sized for them (power of two > services). Target: publish\n"
      "visible in <= 1 ms at 10k services.\n");
  for (const auto& line : sluice::bench::g_summary) std::printf("  %s\n", line.c_str());
  sluice::bench::cleanupEal();
  return 0;
}
