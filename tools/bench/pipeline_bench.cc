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
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cp/publisher.h"
#include "dp/api/dataplane.h"
#include "tests/e2e/ring_harness.h"
#include "tools/bench/bench_common.h"

namespace sluice::bench {
namespace {

using test::ip;
using test::mac;

constexpr unsigned kBenchPods = 128;

bool g_quick = false;

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

  uint32_t flow = 0;
  PublishTimes t;
  unsigned wrong = 0;
  bool to_b = true;
  for (auto _ : state) {
    uint8_t frame[kFrameLen];
    Status st = publishOnce(rig, vipService(to_b ? kSetPods : 0, kSetPods), &flow, t, frame);
    if (!st) return state.SkipWithError(st.message().c_str());
    // Pod k is 10.0.1.(k + 1): set B is .4-.6, set A .1-.3 (0: the probe was lost).
    uint8_t last = frame[33];  // IPv4 dst, last byte
    bool in_new_set = to_b ? (last >= 4 && last <= 6) : (last >= 1 && last <= 3);
    if (!in_new_set) wrong++;
    state.SetIterationTime(static_cast<double>(t.visible.back()) / tscHz());
    to_b = !to_b;
  }
  rig.dp().stop();
  auto p = quantileUs;
  const auto& [build, upsert, visible, baseline] = t;
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
  std::vector<char*> bench_args = sluice::bench::takeQuickFlag(argc, argv, &sluice::bench::g_quick);
  // Ordinary pages are enough: the conntrack tables live on the heap, only
  // mbufs and the service table in EAL memory. The main lcore (CPU 0) drives
  // the pipeline benchmarks; lcore 1 (CPU 1) runs the worker in "publish".
  if (!sluice::bench::initEal(argv[0], 1024)) return 2;
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
  sluice::bench::cleanupEal();
  return 0;
}
