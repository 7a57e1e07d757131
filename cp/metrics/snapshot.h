// Everything /metrics and the /sluice/ telemetry commands report, copied on
// the control thread in one go so that the figures of one scrape agree with
// each other, then formatted on the caller's thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "cp/admin/backend.h"
#include "cp/control_queue.h"
#include "cp/publisher.h"
#include "cp/xds/stats.h"
#include "dp/api/dataplane.h"

namespace sluice::cp::metrics {

struct Snapshot {
  admin::DataplaneStats dataplane;  // tsc_hz, uptime, workers, ports
  PublishMetrics publish;
  size_t services = 0;  // services in the model
  uint64_t service_table_bytes = 0;
  std::vector<dp::ServiceTraffic> traffic;
  std::vector<dp::ConntrackOccupancy> conntrack;
  std::optional<xds::XdsStats> xds;  // absent without an xDS client
};

// Where a server gets its figures from: gather() bound to sluiced's queue
// and backend.
using SnapshotSource = std::function<Result<Snapshot>()>;

// Copies the figures. Control thread: it reads the publisher and the data
// plane's tables.
Snapshot collect(admin::AdminBackend& backend);
// Any other thread: collect() run on the control thread through `control`,
// or an error when that thread does not take it up within `timeout` (or is
// shutting down).
Result<Snapshot> gather(ControlQueue& control, admin::AdminBackend& backend,
                        std::chrono::milliseconds timeout);

// Cycles the workers have had since they started: the denominator of their
// busy share.
uint64_t elapsedCycles(const admin::DataplaneStats& stats);
// busy_cycles / elapsedCycles, at most 1; 0 before any cycle elapsed.
double busyShare(const dp::WorkerCounterSnapshot& worker, uint64_t elapsed_cycles);

}  // namespace sluice::cp::metrics
