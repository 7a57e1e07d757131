// Reading the config's `metrics` group, internal to cp/:
//
//   metrics = {
//     listen = "127.0.0.1:9100";   # ADDRESS:PORT or [V6]:PORT; port 0 = any free
//     endpoints = true;            # false: no per-endpoint series
//   };
//
// Without the group sluiced serves no metrics.
#pragma once

#include "cp/config_reader.h"
#include "cp/metrics/spec.h"

namespace sluice::cp::metrics {

// Reports every problem to `errors`; `out` counts only when none was added.
void readMetrics(Errors& errors, const Setting& group, MetricsSpec& out);

}  // namespace sluice::cp::metrics
