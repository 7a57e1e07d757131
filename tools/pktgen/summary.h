// The client's end-of-run report and its JSON form. Pure: no DPDK.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dp/api/types.h"
#include "tools/pktgen/histogram.h"

namespace sluice::pktgen {

// One endpoint that answered: the pod process (its --pod-id) and the address
// it was reached at.
struct EndpointShare {
  uint16_t pod = 0;
  std::optional<IpAddr> address;
  uint64_t flows = 0;       // flows whose latest answer came from here
  uint64_t replies = 0;     // answers from here
  uint64_t moved_away = 0;  // times a flow answered from here was next answered elsewhere
  uint64_t moved_in = 0;    // times a flow answered elsewhere was next answered from here
};

// What a pod did: its own summary, or part of the client's when the pod runs
// in the client's process.
struct PodTotals {
  uint64_t received = 0;   // frames in
  uint64_t answered = 0;   // UDP and TCP answers sent
  uint64_t arp = 0;        // ARP replies sent
  uint64_t ignored = 0;    // frames not for us, or not UDP/TCP/ARP
  uint64_t tx_failed = 0;  // answers the tx queue did not take
  uint64_t tcp = 0;        // of answered: TCP (SYN-ACK, echo, FIN-ACK)
  uint64_t tcp_quiet = 0;  // TCP for us that needs no answer (final ACK, RST)
  uint64_t rst = 0;        // of tcp_quiet: resets
  uint64_t nd = 0;         // IPv6 neighbor advertisements sent
};

// The client's TCP figures (--proto tcp).
struct TcpReport {
  bool connect_mode = false;
  uint64_t connects = 0;     // SYNs opening a connection
  uint64_t established = 0;  // SYN-ACKs accepted
  uint64_t completed = 0;    // connect mode: closed by the final ACK
  uint64_t failed = 0;       // timed out waiting for an answer
  uint64_t reset = 0;        // reset by the other side
  uint64_t stale = 0;        // ours but not awaited (late, duplicate)
  uint64_t unfinished = 0;   // still waiting for an answer at the end
  uint64_t segments_sent = 0;
  uint64_t segments_received = 0;
  LatencyHistogram connect_ns;  // SYN to SYN-ACK
};

// The generator process itself: its memory at the end of the run, from
// /proc/self/status (peak VmHWM and VmRSS, kB), and its start-up, seconds
// from the process's start until the flows were built and until the first
// packet went (with millions of flows, start-up takes seconds).
struct ProcessFigures {
  uint64_t vmhwm_kb = 0;
  uint64_t vmrss_kb = 0;
  double flows_built_s = 0;
  double first_packet_s = 0;
};

struct ClientReport {
  double duration_s = 0;  // sending time, as measured
  uint64_t offered_pps = 0;
  uint64_t flows = 0;
  uint64_t sent = 0;
  uint64_t received = 0;     // answers matched to a flow
  uint64_t unmatched = 0;    // UDP that was not an answer to one of our flows
  uint64_t skipped = 0;      // packets the pacer gave up on (sender fell behind)
  uint64_t window = 0;       // the bound on requests awaiting answers (0: none)
  uint64_t written_off = 0;  // requests a stalled window stopped waiting for
  uint64_t flows_answered = 0;
  uint64_t flows_moved = 0;  // flows answered by more than one endpoint
  LatencyHistogram rtt_ns;
  std::vector<EndpointShare> endpoints;
  std::optional<PodTotals> pod;  // the in-process pod (--pod-port), if any
  std::optional<TcpReport> tcp;
  std::optional<ProcessFigures> process;
};

// The report as one JSON object: sent, received, lost, loss ratio, skipped,
// window, written_off, pps,
// rtt_us {p50, p99, p999, min, max, mean}, endpoints [{pod, address, flows,
// share, replies, moved_away, moved_in}] with share = flows / flows_answered,
// "pod": {...} (as below) when the pod ran in the same process, and with TCP
// "tcp": {mode, connects, established, completed, failed, reset, stale,
// unfinished, segments_sent, segments_received, connections_per_s,
// connect_us {p50, p99, p999, min, max, mean}}; "process": {vmhwm_kb,
// vmrss_kb, flows_built_s, first_packet_s} when given. With TCP, sent and received
// count the segments that ask for an answer (SYN, data, FIN) and the answers.
std::string toJson(const ClientReport& report);

// {"received", "answered", "arp", "ignored", "tx_failed", "tcp",
// "tcp_quiet", "rst", "nd"} on one line.
std::string toJson(const PodTotals& totals);

}  // namespace sluice::pktgen
