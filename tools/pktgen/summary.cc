#include "tools/pktgen/summary.h"

#include <cstdio>

namespace sluice::pktgen {
namespace {

std::string number(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string microseconds(uint64_t ns) {
  return number(static_cast<double>(ns) / 1000.0, 3);
}

double ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

std::string percentiles(const LatencyHistogram& h) {
  return "{\"p50\": " + microseconds(h.percentile(1, 2)) +
         ", \"p99\": " + microseconds(h.percentile(99, 100)) +
         ", \"p999\": " + microseconds(h.percentile(999, 1000)) +
         ", \"min\": " + microseconds(h.min()) + ", \"max\": " + microseconds(h.max()) +
         ", \"mean\": " + number(h.mean() / 1000.0, 3) + "}";
}

std::string tcpJson(const TcpReport& t, double seconds) {
  return std::string("{\"mode\": \"") + (t.connect_mode ? "connect" : "steady") +
         "\", \"connects\": " + std::to_string(t.connects) +
         ", \"established\": " + std::to_string(t.established) +
         ", \"completed\": " + std::to_string(t.completed) +
         ", \"failed\": " + std::to_string(t.failed) + ", \"reset\": " + std::to_string(t.reset) +
         ", \"stale\": " + std::to_string(t.stale) +
         ", \"unfinished\": " + std::to_string(t.unfinished) +
         ", \"segments_sent\": " + std::to_string(t.segments_sent) +
         ", \"segments_received\": " + std::to_string(t.segments_received) +
         ", \"connections_per_s\": " + number(static_cast<double>(t.completed) / seconds, 1) +
         ", \"connect_us\": " + percentiles(t.connect_ns) + "}";
}

}  // namespace

std::string toJson(const ClientReport& r) {
  const uint64_t lost = r.sent > r.received ? r.sent - r.received : 0;
  const double seconds = r.duration_s > 0 ? r.duration_s : 1;
  const LatencyHistogram& h = r.rtt_ns;
  std::string j = "{\n";
  j += "  \"duration_s\": " + number(r.duration_s, 3) + ",\n";
  j += "  \"offered_pps\": " + std::to_string(r.offered_pps) + ",\n";
  j += "  \"flows\": " + std::to_string(r.flows) + ",\n";
  j += "  \"sent\": " + std::to_string(r.sent) + ",\n";
  j += "  \"received\": " + std::to_string(r.received) + ",\n";
  j += "  \"lost\": " + std::to_string(lost) + ",\n";
  j += "  \"loss_ratio\": " + number(ratio(lost, r.sent), 6) + ",\n";
  j += "  \"unmatched\": " + std::to_string(r.unmatched) + ",\n";
  j += "  \"skipped\": " + std::to_string(r.skipped) + ",\n";
  j += "  \"window\": " + std::to_string(r.window) + ",\n";
  j += "  \"written_off\": " + std::to_string(r.written_off) + ",\n";
  j += "  \"sent_pps\": " + number(static_cast<double>(r.sent) / seconds, 1) + ",\n";
  j += "  \"received_pps\": " + number(static_cast<double>(r.received) / seconds, 1) + ",\n";
  j += "  \"rtt_us\": " + percentiles(h) + ",\n";
  j += "  \"flows_answered\": " + std::to_string(r.flows_answered) + ",\n";
  j += "  \"flows_moved\": " + std::to_string(r.flows_moved) + ",\n";
  j += "  \"endpoints\": [";
  for (size_t i = 0; i < r.endpoints.size(); ++i) {
    const EndpointShare& e = r.endpoints[i];
    j += i == 0 ? "\n" : ",\n";
    j += "    {\"pod\": " + std::to_string(e.pod) + ", \"address\": " +
         (e.address ? "\"" + e.address->toString() + "\"" : std::string("null")) +
         ", \"flows\": " + std::to_string(e.flows) +
         ", \"share\": " + number(ratio(e.flows, r.flows_answered), 4) +
         ", \"replies\": " + std::to_string(e.replies) +
         ", \"moved_away\": " + std::to_string(e.moved_away) +
         ", \"moved_in\": " + std::to_string(e.moved_in) + "}";
  }
  j += r.endpoints.empty() ? "]" : "\n  ]";
  if (r.pod) {
    std::string pod = toJson(*r.pod);
    pod.pop_back();  // its newline
    j += ",\n  \"pod\": " + pod;
  }
  if (r.tcp) j += ",\n  \"tcp\": " + tcpJson(*r.tcp, seconds);
  if (r.process) {
    const ProcessFigures& p = *r.process;
    j += ",\n  \"process\": {\"vmhwm_kb\": " + std::to_string(p.vmhwm_kb) +
         ", \"vmrss_kb\": " + std::to_string(p.vmrss_kb) +
         ", \"flows_built_s\": " + number(p.flows_built_s, 3) +
         ", \"first_packet_s\": " + number(p.first_packet_s, 3) + "}";
  }
  j += "\n}\n";
  return j;
}

std::string toJson(const PodTotals& t) {
  return "{\"received\": " + std::to_string(t.received) +
         ", \"answered\": " + std::to_string(t.answered) + ", \"arp\": " + std::to_string(t.arp) +
         ", \"ignored\": " + std::to_string(t.ignored) +
         ", \"tx_failed\": " + std::to_string(t.tx_failed) + ", \"tcp\": " + std::to_string(t.tcp) +
         ", \"tcp_quiet\": " + std::to_string(t.tcp_quiet) + ", \"rst\": " + std::to_string(t.rst) +
         ", \"nd\": " + std::to_string(t.nd) + "}\n";
}

}  // namespace sluice::pktgen
