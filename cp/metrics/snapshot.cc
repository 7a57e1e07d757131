#include "cp/metrics/snapshot.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace sluice::cp::metrics {

Snapshot collect(admin::AdminBackend& backend) {
  return {.dataplane = backend.dataplaneStats(),
          .publish = backend.publishMetrics(),
          .services = backend.editor().list(std::nullopt, std::nullopt).size(),
          .service_table_bytes = backend.serviceTableBytes(),
          .traffic = backend.serviceTraffic(),
          .conntrack = backend.conntrackOccupancy(),
          .xds = backend.xdsStats()};
}

Result<Snapshot> gather(ControlQueue& control, admin::AdminBackend& backend,
                        std::chrono::milliseconds timeout) {
  Snapshot out;
  Status ran = control.runFor([&] { out = collect(backend); }, timeout);
  if (!ran) {
    return ran;
  }
  return out;
}

uint64_t elapsedCycles(const admin::DataplaneStats& stats) {
  return static_cast<uint64_t>(static_cast<double>(stats.tsc_hz) *
                               static_cast<double>(stats.uptime_ns) / 1e9);
}

double busyShare(const dp::WorkerCounterSnapshot& worker, uint64_t elapsed_cycles) {
  if (elapsed_cycles == 0) {
    return 0.0;
  }
  uint64_t busy = worker.events[static_cast<size_t>(dp::WorkerEvent::busy_cycles)];
  return std::min(1.0, static_cast<double>(busy) / static_cast<double>(elapsed_cycles));
}

}  // namespace sluice::cp::metrics
