// The replies of sluiced's DPDK telemetry commands, built from a Snapshot.
// Pure, so the figures dpdk-telemetry.py shows are unit-tested; the
// registration is cp/metrics/telemetry.h's.
//
//   /sluice/workers            per worker (arrays in worker order): lcore,
//                              rx_packets, tx_packets, drops, busy_cycles,
//                              busy_share; tsc_hz, uptime_ns, elapsed_cycles
//   /sluice/worker,INDEX       one worker: every event, every drop reason
//                              as drop_REASON, drops, busy_share
//   /sluice/services           the first kTelemetryServices services' traffic
//   /sluice/service,VIP:PORT/PROTO  one service's traffic and its endpoints'
//   /sluice/conntrack          per worker: lcore, capacity, flows, half_open
//   /sluice/publish            publish counts and the cumulative latency
//                              histogram
#pragma once

#include <string_view>

#include "cp/metrics/snapshot.h"
#include "dp/api/telemetry.h"

namespace sluice::cp::metrics {

// Services /sluice/services lists and endpoints /sluice/service lists: a
// reply must fit DPDK 22.11's 16 KB output buffer.
inline constexpr size_t kTelemetryServices = 64;
inline constexpr size_t kTelemetryEndpoints = 128;

dp::TelemetryDict workersReply(const Snapshot& s);
Result<dp::TelemetryDict> workerReply(const Snapshot& s, std::string_view params);
dp::TelemetryDict servicesReply(const Snapshot& s);
Result<dp::TelemetryDict> serviceReply(const Snapshot& s, std::string_view params);
dp::TelemetryDict conntrackReply(const Snapshot& s);
dp::TelemetryDict publishReply(const Snapshot& s);

}  // namespace sluice::cp::metrics
