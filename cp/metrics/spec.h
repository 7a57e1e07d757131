// Where sluiced serves Prometheus metrics: the config's `metrics` group.
// Plain values; read by cp/metrics/metrics_config.cc, used by
// cp/metrics/server.cc.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::cp::metrics {

struct MetricsSpec {
  // An IPv4 or IPv6 address literal (without brackets) and a TCP port; port
  // 0 picks a free one. Any address is accepted, but /metrics has no
  // authentication: bind beyond loopback only on a management network.
  std::string host = "127.0.0.1";
  uint16_t port = 9100;
  // The setting as written, for messages: "127.0.0.1:9100", "[::1]:9100".
  std::string listen = "127.0.0.1:9100";
  // Series per endpoint (sluice_endpoint_*). With many thousands of
  // endpoints they dominate a scrape (six series each); off leaves the
  // per-service series.
  bool endpoints = true;
  friend bool operator==(const MetricsSpec&, const MetricsSpec&) = default;
};

}  // namespace sluice::cp::metrics
