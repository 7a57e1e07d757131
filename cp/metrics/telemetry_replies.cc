#include "cp/metrics/telemetry_replies.h"

#include <charconv>
#include <string>
#include <vector>

#include "cp/metrics/exposition.h"

namespace sluice::cp::metrics {

namespace {

using Numbers = std::vector<uint64_t>;
using Strings = std::vector<std::string>;

// Telemetry has no floating-point values in DPDK 22.11: shares go as text.
std::string share(double value) {
  return formatValue(value);
}

struct TrafficColumns {
  Numbers new_flows, active_flows, in_packets, in_bytes, out_packets, out_bytes;

  void push(const dp::TrafficStats& t) {
    new_flows.push_back(t.new_flows);
    active_flows.push_back(t.active_flows);
    in_packets.push_back(t.in_packets);
    in_bytes.push_back(t.in_bytes);
    out_packets.push_back(t.out_packets);
    out_bytes.push_back(t.out_bytes);
  }
  void addTo(dp::TelemetryDict& d, const std::string& prefix) {
    d.add(prefix + "new_flows", std::move(new_flows))
        .add(prefix + "active_flows", std::move(active_flows))
        .add(prefix + "in_packets", std::move(in_packets))
        .add(prefix + "in_bytes", std::move(in_bytes))
        .add(prefix + "out_packets", std::move(out_packets))
        .add(prefix + "out_bytes", std::move(out_bytes));
  }
};

void addTraffic(dp::TelemetryDict& d, const dp::TrafficStats& t) {
  d.add("new_flows", t.new_flows)
      .add("active_flows", t.active_flows)
      .add("in_packets", t.in_packets)
      .add("in_bytes", t.in_bytes)
      .add("out_packets", t.out_packets)
      .add("out_bytes", t.out_bytes);
}

}  // namespace

dp::TelemetryDict workersReply(const Snapshot& s) {
  uint64_t elapsed = elapsedCycles(s.dataplane);
  Numbers lcore, rx, tx, drops, busy;
  Strings shares;
  for (const auto& w : s.dataplane.workers) {
    lcore.push_back(w.lcore);
    rx.push_back(w.events[static_cast<size_t>(dp::WorkerEvent::rx_packets)]);
    tx.push_back(w.events[static_cast<size_t>(dp::WorkerEvent::tx_packets)]);
    drops.push_back(w.totalDrops());
    busy.push_back(w.events[static_cast<size_t>(dp::WorkerEvent::busy_cycles)]);
    shares.push_back(share(busyShare(w, elapsed)));
  }
  dp::TelemetryDict d;
  d.add("workers", static_cast<uint64_t>(s.dataplane.workers.size()))
      .add("tsc_hz", s.dataplane.tsc_hz)
      .add("uptime_ns", s.dataplane.uptime_ns)
      .add("elapsed_cycles", elapsed)
      .add("lcore", std::move(lcore))
      .add("rx_packets", std::move(rx))
      .add("tx_packets", std::move(tx))
      .add("drops", std::move(drops))
      .add("busy_cycles", std::move(busy))
      .add("busy_share", std::move(shares));
  return d;
}

Result<dp::TelemetryDict> workerReply(const Snapshot& s, std::string_view params) {
  const auto& workers = s.dataplane.workers;
  size_t index = 0;
  auto [end, ec] = std::from_chars(params.data(), params.data() + params.size(), index);
  if (params.empty() || ec != std::errc() || end != params.data() + params.size() ||
      index >= workers.size()) {
    std::string range =
        workers.empty() ? "there are no workers" : "0.." + std::to_string(workers.size() - 1);
    return Status::error("index: '" + std::string(params) + "' is not a worker index (" + range +
                         "); e.g. /sluice/worker,0");
  }
  const dp::WorkerCounterSnapshot& w = workers[index];
  dp::TelemetryDict d;
  d.add("index", static_cast<uint64_t>(index))
      .add("lcore", static_cast<uint64_t>(w.lcore))
      .add("busy_share", share(busyShare(w, elapsedCycles(s.dataplane))));
  for (size_t e = 0; e < dp::kWorkerEventCount; ++e) {
    d.add(dp::kWorkerEventNames[e], w.events[e]);
  }
  d.add("drops", w.totalDrops());
  for (size_t r = 1; r < dp::kDropCount; ++r) {
    d.add(std::string("drop_") + dp::kDropNames[r], w.drops[r]);
  }
  return d;
}

dp::TelemetryDict servicesReply(const Snapshot& s) {
  size_t listed = std::min(s.traffic.size(), kTelemetryServices);
  Strings keys;
  TrafficColumns columns;
  for (size_t i = 0; i < listed; ++i) {
    keys.push_back(s.traffic[i].key.toString());
    columns.push(s.traffic[i].traffic);
  }
  dp::TelemetryDict d;
  d.add("services", static_cast<uint64_t>(s.services))
      .add("listed", static_cast<uint64_t>(listed))
      .add("service", std::move(keys));
  columns.addTo(d, "");
  return d;
}

Result<dp::TelemetryDict> serviceReply(const Snapshot& s, std::string_view params) {
  for (const dp::ServiceTraffic& svc : s.traffic) {
    std::string key = svc.key.toString();
    if (key != params) {
      continue;
    }
    dp::TelemetryDict d;
    d.add("service", key);
    addTraffic(d, svc.traffic);
    size_t listed = std::min(svc.endpoints.size(), kTelemetryEndpoints);
    Strings names;
    Numbers counted;
    TrafficColumns columns;
    for (size_t i = 0; i < listed; ++i) {
      const dp::EndpointTraffic& e = svc.endpoints[i];
      names.push_back(EndpointSpec{.addr = e.addr, .port = e.port}.toString());
      counted.push_back(e.counted ? 1 : 0);
      columns.push(e.traffic);
    }
    d.add("endpoints", static_cast<uint64_t>(svc.endpoints.size()))
        .add("endpoint", std::move(names))
        .add("endpoint_counted", std::move(counted));
    columns.addTo(d, "endpoint_");
    return d;
  }
  return Status::error("service: no service '" + std::string(params) +
                       "'; give VIP:PORT/PROTO as /sluice/services lists it");
}

dp::TelemetryDict conntrackReply(const Snapshot& s) {
  Numbers lcore, capacity, flows, half_open;
  for (const auto& c : s.conntrack) {
    lcore.push_back(c.lcore);
    capacity.push_back(c.capacity);
    flows.push_back(c.flows);
    half_open.push_back(c.half_open);
  }
  dp::TelemetryDict d;
  d.add("lcore", std::move(lcore))
      .add("capacity", std::move(capacity))
      .add("flows", std::move(flows))
      .add("half_open", std::move(half_open));
  return d;
}

dp::TelemetryDict publishReply(const Snapshot& s) {
  const PublishMetrics& p = s.publish;
  Strings le;
  Numbers cumulative;
  uint64_t sum = 0;
  for (size_t i = 0; i < p.latency_buckets.size(); ++i) {
    sum += p.latency_buckets[i];
    le.push_back(i < kPublishLatencyBoundsUs.size() ? std::to_string(kPublishLatencyBoundsUs[i])
                                                    : "+Inf");
    cumulative.push_back(sum);
  }
  dp::TelemetryDict d;
  d.add("services", static_cast<uint64_t>(s.services))
      .add("upserts", p.upserts)
      .add("removals", p.removals)
      .add("failures", p.failures)
      .add("latency_sum_ns", p.latency_sum_ns)
      .add("latency_max_ns", p.latency_max_ns)
      .add("latency_le_us", std::move(le))
      .add("latency_count", std::move(cumulative));
  return d;
}

}  // namespace sluice::cp::metrics
