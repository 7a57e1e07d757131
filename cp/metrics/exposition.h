// The Prometheus text exposition format (version 0.0.4) of a Snapshot.
// Pure: no DPDK, no HTTP; the server in cp/metrics/server.h sends what
// format() returns.
//
// Families, each with HELP and TYPE, every name prefixed sluice_:
//   sluice_worker_<event>_total{worker}     every worker event of dp/api/counters.h
//   sluice_worker_drops_total{worker,reason} every drop reason, zeros included
//   sluice_worker_elapsed_cycles_total, sluice_worker_busy_share{worker}
//   sluice_port_{rx,tx}_{packets,bytes}_total{port} and the port's error counters
//   sluice_conntrack_{capacity,flows,half_open_flows}{worker}
//   sluice_service_<traffic>{service}, sluice_endpoint_<traffic>{service,endpoint}
//   sluice_publish_{upserts,removals,failures}_total, sluice_publish_latency_seconds
//   (histogram), sluice_services, sluice_service_table_bytes, sluice_tsc_hz,
//   sluice_uptime_seconds
//   sluice_xds_* (with an xDS client): stream, ACK/NACK, resources{type},
//   version_info{type,version}, updates{result}, services, lazy loading
#pragma once

#include <string>
#include <string_view>

#include "cp/metrics/snapshot.h"

namespace sluice::cp::metrics {

// The Content-Type of format()'s text.
inline constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

struct FormatOptions {
  bool endpoints = true;  // the sluice_endpoint_* series (MetricsSpec::endpoints)
};

std::string format(const Snapshot& snapshot, const FormatOptions& options = {});

// A label value between double quotes: backslash, double quote and line feed
// escaped as \\, \" and \n.
std::string escapeLabelValue(std::string_view value);
// A HELP text: backslash and line feed escaped.
std::string escapeHelp(std::string_view text);
// A sample value: integers as they are, other values in the shortest
// decimal form that reads back exactly ("0.00001", not "1e-05"); +Inf, -Inf, NaN.
std::string formatValue(double value);

}  // namespace sluice::cp::metrics
