#include "cp/metrics/exposition.h"

#include <charconv>
#include <cmath>
#include <initializer_list>
#include <utility>
#include <vector>

#include "dp/api/counters.h"

namespace sluice::cp::metrics {

namespace {

using Label = std::pair<std::string_view, std::string>;

// Appends one family at a time: its HELP and TYPE lines, then its samples.
class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += escapeHelp(help);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value) {
    line(name, labels, std::to_string(value));
  }
  void sample(std::string_view name, std::initializer_list<Label> labels, double value) {
    line(name, labels, formatValue(value));
  }

  std::string take() { return std::move(out_); }

 private:
  void line(std::string_view name, std::initializer_list<Label> labels, const std::string& value) {
    out_ += name;
    if (labels.size() != 0) {
      char sep = '{';
      for (const auto& [key, text] : labels) {
        out_ += sep;
        out_ += key;
        out_ += "=\"";
        out_ += escapeLabelValue(text);
        out_ += '"';
        sep = ',';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  std::string out_;
};

// Backslash and line feed always; the double quote inside label values.
std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string prefixed(std::string_view kind, std::string_view name, std::string_view suffix) {
  return "sluice_" + std::string(kind) + "_" + std::string(name) + std::string(suffix);
}

void writeWorkers(Writer& w, const Snapshot& s) {
  const auto& workers = s.dataplane.workers;
  for (size_t e = 0; e < dp::kWorkerEventCount; ++e) {
    std::string name = prefixed("worker", dp::kWorkerEventNames[e], "_total");
    w.family(name, "counter", dp::kWorkerEventHelp[e]);
    for (const auto& worker : workers) {
      w.sample(name, {{"worker", std::to_string(worker.lcore)}}, worker.events[e]);
    }
  }
  w.family("sluice_worker_drops_total", "counter",
           "packets a worker dropped, by reason (dp/api/counters.h); each drop counts once");
  for (const auto& worker : workers) {
    for (size_t d = 1; d < dp::kDropCount; ++d) {
      w.sample("sluice_worker_drops_total",
               {{"worker", std::to_string(worker.lcore)}, {"reason", dp::kDropNames[d]}},
               worker.drops[d]);
    }
  }
  uint64_t elapsed = elapsedCycles(s.dataplane);
  w.family("sluice_worker_elapsed_cycles_total", "counter",
           "TSC cycles since the workers started; the busy share over an interval is "
           "rate(sluice_worker_busy_cycles_total) / rate(sluice_worker_elapsed_cycles_total)");
  for (const auto& worker : workers) {
    w.sample("sluice_worker_elapsed_cycles_total", {{"worker", std::to_string(worker.lcore)}},
             elapsed);
  }
  w.family("sluice_worker_busy_share", "gauge",
           "share of the cycles since the workers started spent in poll iterations that "
           "received or sent packets");
  for (const auto& worker : workers) {
    w.sample("sluice_worker_busy_share", {{"worker", std::to_string(worker.lcore)}},
             busyShare(worker, elapsed));
  }
}

// One counter of a row type (a port, a worker's conntrack), a family each.
template <class Row>
struct Field {
  const char* name;  // after "sluice_KIND_", with its _total suffix for counters
  const char* help;
  uint64_t Row::*member;
};

// A family per field, a sample per row labelled by `label(row)`.
template <class Row, size_t N, class LabelOf>
void writeFields(Writer& w, std::string_view kind, const char* type, const Field<Row> (&fields)[N],
                 const std::vector<Row>& rows, LabelOf label) {
  for (const Field<Row>& f : fields) {
    std::string name = prefixed(kind, f.name, "");
    w.family(name, type, f.help);
    for (const Row& row : rows) {
      w.sample(name, {label(row)}, row.*f.member);
    }
  }
}

using Port = dp::PortCounterSnapshot;
constexpr Field<Port> kPortFields[] = {
    {"rx_packets_total", "packets the port received (ipackets)", &Port::ipackets},
    {"tx_packets_total", "packets the port sent (opackets)", &Port::opackets},
    {"rx_bytes_total", "bytes the port received (ibytes)", &Port::ibytes},
    {"tx_bytes_total", "bytes the port sent (obytes)", &Port::obytes},
    {"rx_missed_total", "packets the device dropped for want of rx descriptors (imissed)",
     &Port::imissed},
    {"rx_errors_total", "erroneous packets received (ierrors)", &Port::ierrors},
    {"tx_errors_total", "packets the device failed to send (oerrors)", &Port::oerrors},
    {"rx_nombuf_total", "receive buffer allocation failures (rx_nombuf)", &Port::rx_nombuf},
};

using Occupancy = dp::ConntrackOccupancy;
constexpr Field<Occupancy> kConntrackFields[] = {
    {"capacity", "flows a worker's conntrack table holds at most", &Occupancy::capacity},
    {"flows", "flows a worker tracks now", &Occupancy::flows},
    {"half_open_flows", "TCP flows a worker tracks whose handshake has not completed",
     &Occupancy::half_open},
};

void writePorts(Writer& w, const Snapshot& s) {
  writeFields(w, "port", "counter", kPortFields, s.dataplane.ports, [](const Port& p) {
    return Label{"port", p.name};
  });
}

void writeConntrack(Writer& w, const Snapshot& s) {
  writeFields(w, "conntrack", "gauge", kConntrackFields, s.conntrack, [](const Occupancy& c) {
    return Label{"worker", std::to_string(c.lcore)};
  });
}

struct TrafficField {
  const char* name;  // with its _total suffix for counters
  const char* type;
  const char* help;
  uint64_t dp::TrafficStats::*member;
};

constexpr TrafficField kTrafficFields[] = {
    {"new_flows_total", "counter", "flows load-balanced to", &dp::TrafficStats::new_flows},
    {"active_flows", "gauge", "flows tracked now to", &dp::TrafficStats::active_flows},
    {"in_packets_total", "counter", "packets from clients to", &dp::TrafficStats::in_packets},
    {"in_bytes_total", "counter", "bytes from clients to", &dp::TrafficStats::in_bytes},
    {"out_packets_total", "counter", "packets to clients from", &dp::TrafficStats::out_packets},
    {"out_bytes_total", "counter", "bytes to clients from", &dp::TrafficStats::out_bytes},
};

void writeServiceTraffic(Writer& w, const Snapshot& s) {
  for (const TrafficField& f : kTrafficFields) {
    std::string name = prefixed("service", f.name, "");
    w.family(name, f.type, std::string(f.help) + " the service, summed over the workers");
    for (const auto& service : s.traffic) {
      w.sample(name, {{"service", service.key.toString()}}, service.traffic.*f.member);
    }
  }
}

void writeEndpointTraffic(Writer& w, const Snapshot& s) {
  for (const TrafficField& f : kTrafficFields) {
    std::string name = prefixed("endpoint", f.name, "");
    w.family(name, f.type,
             std::string(f.help) +
                 " the endpoint of the service, summed over the workers (endpoints past "
                 "endpoint_stats_capacity are counted in their service only)");
    for (const auto& service : s.traffic) {
      std::string key = service.key.toString();
      for (const auto& endpoint : service.endpoints) {
        if (!endpoint.counted) {
          continue;
        }
        EndpointSpec id{.addr = endpoint.addr, .port = endpoint.port};
        w.sample(name, {{"service", key}, {"endpoint", id.toString()}}, endpoint.traffic.*f.member);
      }
    }
  }
}

void writePublish(Writer& w, const Snapshot& s) {
  const PublishMetrics& p = s.publish;
  w.family("sluice_publish_upserts_total", "counter",
           "services published to the data plane (added or changed), from every source");
  w.sample("sluice_publish_upserts_total", {}, p.upserts);
  w.family("sluice_publish_removals_total", "counter",
           "services removed from the data plane, from every source");
  w.sample("sluice_publish_removals_total", {}, p.removals);
  w.family("sluice_publish_failures_total", "counter",
           "publish calls the table builder or the data plane refused");
  w.sample("sluice_publish_failures_total", {}, p.failures);

  const char* hist = "sluice_publish_latency_seconds";
  w.family(hist, "histogram",
           "time from a publish call to the data plane's answer, Maglev build included");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kPublishLatencyBoundsUs.size(); ++i) {
    cumulative += p.latency_buckets[i];
    w.sample("sluice_publish_latency_seconds_bucket",
             {{"le", formatValue(static_cast<double>(kPublishLatencyBoundsUs[i]) / 1e6)}},
             cumulative);
  }
  // +Inf and _count from the buckets themselves, so that they agree even if
  // a call were counted in a bucket but not in upserts/removals/failures.
  cumulative += p.latency_buckets.back();
  w.sample("sluice_publish_latency_seconds_bucket", {{"le", "+Inf"}}, cumulative);
  w.sample("sluice_publish_latency_seconds_sum", {}, static_cast<double>(p.latency_sum_ns) / 1e9);
  w.sample("sluice_publish_latency_seconds_count", {}, cumulative);
  w.family("sluice_publish_latency_max_seconds", "gauge", "slowest publish call so far");
  w.sample("sluice_publish_latency_max_seconds", {}, static_cast<double>(p.latency_max_ns) / 1e9);
}

void writeXds(Writer& w, const xds::XdsStats& x) {
  auto one = [&w](const char* name, const char* type, const char* help, uint64_t value) {
    w.family(name, type, help);
    w.sample(name, {}, value);
  };
  one("sluice_xds_connected", "gauge", "1 while the ADS stream to the management server is up",
      x.connected ? 1 : 0);
  one("sluice_xds_streams_opened_total", "counter", "ADS streams opened", x.streams_opened);
  one("sluice_xds_reconnects_total", "counter", "ADS streams lost or refused, then retried",
      x.reconnects);
  one("sluice_xds_responses_total", "counter", "discovery responses received", x.responses);
  one("sluice_xds_acks_total", "counter", "responses accepted (ACK sent)", x.acks);
  one("sluice_xds_nacks_total", "counter", "responses rejected (NACK sent with error_detail)",
      x.nacks);
  one("sluice_xds_received_bytes_total", "counter", "bytes of discovery responses received",
      x.bytes_received);
  w.family("sluice_xds_backoff_seconds", "gauge", "wait before the next connection attempt");
  w.sample("sluice_xds_backoff_seconds", {}, static_cast<double>(x.backoff_ms) / 1e3);
  static constexpr const char* kTypes[] = {"listener", "cluster", "endpoint"};
  w.family("sluice_xds_resources", "gauge", "resources held, by type");
  for (size_t t = 0; t < xds::kResourceTypeCount; ++t) {
    w.sample("sluice_xds_resources", {{"type", kTypes[t]}}, x.resources[t]);
  }
  w.family("sluice_xds_version_info", "gauge",
           "1, labelled with the last version accepted per type");
  for (size_t t = 0; t < xds::kResourceTypeCount; ++t) {
    w.sample("sluice_xds_version_info", {{"type", kTypes[t]}, {"version", x.versions[t]}},
             uint64_t{1});
  }
  w.family("sluice_xds_updates_total", "counter", "updates applied or refused whole, by result");
  w.sample("sluice_xds_updates_total", {{"result", "accepted"}}, x.updates_accepted);
  w.sample("sluice_xds_updates_total", {{"result", "rejected"}}, x.updates_rejected);
  one("sluice_xds_services", "gauge", "services published from xDS, loaded or on demand",
      x.services);
  one("sluice_xds_services_pending", "gauge",
      "listeners waiting for their cluster or its endpoints (make-before-break)",
      x.services_pending);
  one("sluice_xds_services_on_demand", "gauge",
      "services known without their endpoints (lazy loading, evicted)", x.services_on_demand);
  one("sluice_xds_endpoint_subscriptions", "gauge", "EDS resources subscribed now",
      x.endpoint_subscriptions);
  one("sluice_xds_misses_total", "counter",
      "services whose VIP saw a packet while their endpoints were not loaded", x.misses);
  one("sluice_xds_lazy_loads_total", "counter", "services loaded because of a miss", x.lazy_loads);
  one("sluice_xds_evictions_total", "counter",
      "idle services whose endpoints were unsubscribed and freed", x.evictions);
}

}  // namespace

std::string format(const Snapshot& s, const FormatOptions& options) {
  Writer w;
  w.family("sluice_tsc_hz", "gauge", "TSC cycles per second, the unit of the cycle counters");
  w.sample("sluice_tsc_hz", {}, s.dataplane.tsc_hz);
  w.family("sluice_uptime_seconds", "gauge", "seconds since the workers started");
  w.sample("sluice_uptime_seconds", {}, static_cast<double>(s.dataplane.uptime_ns) / 1e9);
  w.family("sluice_services", "gauge", "services in the model, from every source");
  w.sample("sluice_services", {}, static_cast<uint64_t>(s.services));
  w.family("sluice_service_table_bytes", "gauge",
           "bytes of the published service versions: headers, endpoint arrays, Maglev tables");
  w.sample("sluice_service_table_bytes", {}, s.service_table_bytes);
  writeWorkers(w, s);
  writePorts(w, s);
  writeConntrack(w, s);
  writeServiceTraffic(w, s);
  if (options.endpoints) {
    writeEndpointTraffic(w, s);
  }
  writePublish(w, s);
  if (s.xds) {
    writeXds(w, *s.xds);
  }
  return w.take();
}

std::string escapeLabelValue(std::string_view value) {
  return escape(value, true);
}

std::string escapeHelp(std::string_view text) {
  return escape(text, false);
}

std::string formatValue(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

}  // namespace sluice::cp::metrics
