// Maglev table build time against table size M and backend count N, and the
// figure the design sets a target for: M = 65521, N = 1000 in under 2 ms.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "cp/maglev.h"

namespace sluice::cp {
namespace {

// N distinct backends, as a service's endpoints would be: pod addresses in
// 10.244/16, one port. `max_weight` > 1 cycles weights 1..max_weight.
std::vector<MaglevBackend> makeBackends(size_t n, uint32_t max_weight = 1) {
  std::vector<MaglevBackend> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].addr = IpAddr::v4(0x0af40000u + static_cast<uint32_t>(i) + 1);
    out[i].port = 8080;
    out[i].weight = static_cast<uint32_t>(i % max_weight) + 1;
  }
  return out;
}

void run(benchmark::State& state, const std::vector<MaglevBackend>& backends, uint32_t m) {
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the idiom
    auto table = buildMaglev(backends, m);
    if (!table) {
      state.SkipWithError(table.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(table->data());
  }
  state.counters["M"] = m;
  state.counters["N"] = static_cast<double>(backends.size());
}

void buildTime(benchmark::State& state) {
  run(state, makeBackends(static_cast<size_t>(state.range(1))),
      static_cast<uint32_t>(state.range(0)));
}

// The default size for N, as the publisher would pick it.
void buildTimeDefaultSize(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  run(state, makeBackends(n), maglevSizeFor(n));
}

void buildTimeWeighted(benchmark::State& state) {
  run(state, makeBackends(static_cast<size_t>(state.range(1)), 4),
      static_cast<uint32_t>(state.range(0)));
}

// One backend of weight 65535 among N - 1 of weight 1: the most rounds the
// credit scheme can need.
void buildTimeSkewed(benchmark::State& state) {
  auto backends = makeBackends(static_cast<size_t>(state.range(1)));
  backends[0].weight = 65535;
  run(state, backends, static_cast<uint32_t>(state.range(0)));
}

void sizesAndCounts(benchmark::internal::Benchmark* b) {
  for (int64_t m : {4093, 16381, 65521, 131071}) {
    for (int64_t n : {10, 100, 1000, 10000}) {
      if (n <= m) b->Args({m, n});
    }
  }
}

BENCHMARK(buildTime)->Apply(sizesAndCounts)->Unit(benchmark::kMillisecond);
BENCHMARK(buildTimeDefaultSize)
    ->Arg(3)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(buildTimeWeighted)->Args({65521, 1000})->Unit(benchmark::kMillisecond);
BENCHMARK(buildTimeSkewed)
    ->Args({65521, 1000})
    ->Args({131071, 1000})
    ->Args({131071, 10000})
    ->Unit(benchmark::kMillisecond);

// The figure on its own line: median and best of repeated builds.
void printFigure() {
  constexpr uint32_t kM = 65521;
  constexpr size_t kN = 1000;
  constexpr int kRuns = 200;
  const auto backends = makeBackends(kN);
  std::vector<double> ms;
  for (int i = 0; i < kRuns; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto table = buildMaglev(backends, kM);
    const auto end = std::chrono::steady_clock::now();
    if (!table) {
      std::printf("Maglev build M=%u N=%zu failed: %s\n", kM, kN, table.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(table->data());
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "Maglev build M=%u N=%zu: median %.3f ms, best %.3f ms over %d builds (target < 2 ms)\n", kM,
      kN, ms[ms.size() / 2], ms.front(), kRuns);
}

}  // namespace
}  // namespace sluice::cp

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  sluice::cp::printFigure();
  return 0;
}
