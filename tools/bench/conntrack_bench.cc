// Conntrack costs per operation: lookup hits and misses at table sizes from
// cache-resident to far beyond the last-level cache, and a flow's insert plus
// remove. Keys are random, and looked up in random order, so a large table
// pays its cache and TLB misses. "tsc/op" is TSC ticks per operation
// (__rdtsc; on a constant-TSC machine, cycles at the nominal clock).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "dp/conntrack.h"

namespace sluice::dp {
namespace {

// Nothing expires during a run.
constexpr uint64_t kForever = UINT64_MAX / 2;
constexpr ConntrackTimeouts kTimeouts{kForever, kForever, kForever, kForever, kForever};
constexpr uint64_t kNow = 1;

uint64_t tsc() {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return 0;
#endif
}

void reportTsc(benchmark::State& state, uint64_t ticks) {
  state.counters["tsc/op"] =
      benchmark::Counter(static_cast<double>(ticks), benchmark::Counter::kAvgIterations);
}

FlowKey randomKey(std::mt19937_64& rng, uint8_t proto) {
  FlowKey k{};
  k.family = 4;
  k.proto = proto;
  uint64_t r = rng();
  k.sport = static_cast<uint16_t>(r);
  k.dport = static_cast<uint16_t>(r >> 16);
  uint32_t src = static_cast<uint32_t>(rng());
  uint32_t dst = static_cast<uint32_t>(r >> 32);
  std::memcpy(k.src, &src, 4);
  std::memcpy(k.dst, &dst, 4);
  return k;
}

struct Filled {
  std::unique_ptr<Conntrack> ct;
  std::vector<FlowKey> keys;  // both keys of every flow, shuffled
};

// A table of `capacity` holding `flows` established TCP flows.
Filled fill(uint32_t capacity, uint32_t flows, std::mt19937_64& rng) {
  Filled t;
  t.ct = std::move(Conntrack::create(capacity, kTimeouts).value());
  while (t.ct->size() < flows) {
    FlowKey orig = randomKey(rng, 6), reply = randomKey(rng, 6);
    Conntrack::Inserted ins = t.ct->insert(orig, reply, kNow);
    if (ins.flow == nullptr) continue;  // a random repeat
    t.ct->update(ins.flow, true, kTcpSyn | kTcpAck, kNow);
    t.ct->update(ins.flow, false, kTcpAck, kNow);
    t.keys.push_back(orig);
    t.keys.push_back(reply);
  }
  std::shuffle(t.keys.begin(), t.keys.end(), rng);
  return t;
}

void lookupHit(benchmark::State& state) {
  std::mt19937_64 rng(1);
  Filled t =
      fill(static_cast<uint32_t>(state.range(0)), static_cast<uint32_t>(state.range(0)), rng);
  size_t i = 0;
  uint64_t start = tsc();
  for ([[maybe_unused]] auto _ : state) {
    Conntrack::Hit hit = t.ct->lookup(t.keys[i], kNow);
    benchmark::DoNotOptimize(hit);
    if (++i == t.keys.size()) i = 0;
  }
  reportTsc(state, tsc() - start);
}
BENCHMARK(lookupHit)->Arg(1000)->Arg(100000)->Arg(1000000);

// The packet path of an established flow: find it, then advance its state.
void lookupAndUpdate(benchmark::State& state) {
  std::mt19937_64 rng(2);
  Filled t =
      fill(static_cast<uint32_t>(state.range(0)), static_cast<uint32_t>(state.range(0)), rng);
  size_t i = 0;
  uint64_t start = tsc();
  for ([[maybe_unused]] auto _ : state) {
    Conntrack::Hit hit = t.ct->lookup(t.keys[i], kNow);
    t.ct->update(hit.flow, hit.is_reply, kTcpAck, kNow);
    if (++i == t.keys.size()) i = 0;
  }
  reportTsc(state, tsc() - start);
}
BENCHMARK(lookupAndUpdate)->Arg(1000)->Arg(100000)->Arg(1000000);

void lookupMiss(benchmark::State& state) {
  std::mt19937_64 rng(3);
  Filled t =
      fill(static_cast<uint32_t>(state.range(0)), static_cast<uint32_t>(state.range(0)), rng);
  std::vector<FlowKey> misses(4096);
  for (FlowKey& k : misses) k = randomKey(rng, 17);  // UDP: none is in the table
  size_t i = 0;
  uint64_t start = tsc();
  for ([[maybe_unused]] auto _ : state) {
    Conntrack::Hit hit = t.ct->lookup(misses[i], kNow);
    benchmark::DoNotOptimize(hit);
    i = (i + 1) & (misses.size() - 1);
  }
  reportTsc(state, tsc() - start);
}
BENCHMARK(lookupMiss)->Arg(1000)->Arg(100000)->Arg(1000000);

// A new flow into a half-full table, then its removal.
void insertRemove(benchmark::State& state) {
  std::mt19937_64 rng(4);
  const auto capacity = static_cast<uint32_t>(state.range(0));
  Filled t = fill(capacity, capacity / 2, rng);
  std::vector<FlowKey> fresh(8192);
  for (FlowKey& k : fresh) k = randomKey(rng, 17);
  size_t i = 0;
  uint64_t start = tsc();
  for ([[maybe_unused]] auto _ : state) {
    Conntrack::Inserted ins = t.ct->insert(fresh[i], fresh[i + 1], kNow);
    if (ins.flow == nullptr) {
      state.SkipWithError("insert refused");
      break;
    }
    t.ct->remove(ins.flow);
    i = (i + 2) & (fresh.size() - 1);
  }
  reportTsc(state, tsc() - start);
}
BENCHMARK(insertRemove)->Arg(1000)->Arg(100000)->Arg(1000000);

}  // namespace
}  // namespace sluice::dp

BENCHMARK_MAIN();
