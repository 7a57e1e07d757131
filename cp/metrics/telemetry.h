// sluiced's commands under /sluice/ in DPDK's telemetry socket, so that
// dpdk-telemetry.py shows the figures /metrics has (the replies are
// cp/metrics/telemetry_replies.h's). Like /metrics, each command gathers a
// Snapshot on the control thread through `source` and builds its reply on
// the telemetry thread. The socket is the EAL's: RUNTIME_DIR/dpdk_telemetry.v2,
// /var/run/dpdk/FILE_PREFIX/ for root, unless eal.args has --no-telemetry.
#pragma once

#include "cp/metrics/snapshot.h"

namespace sluice::cp::metrics {

// After the EAL is up.
Status registerTelemetry(SnapshotSource source);
// Before what `source` uses goes away: the commands answer an error from
// then on, and the ones running are waited for (close the ControlQueue
// first so that they do not wait for the control thread).
void closeTelemetry();

}  // namespace sluice::cp::metrics
