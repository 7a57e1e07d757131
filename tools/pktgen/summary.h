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
  uint64_t answered = 0;   // UDP answers sent
  uint64_t arp = 0;        // ARP replies sent
  uint64_t ignored = 0;    // frames not for us, or not UDP/ARP
  uint64_t tx_failed = 0;  // answers the tx queue did not take
};

struct ClientReport {
  double duration_s = 0;  // sending time, as measured
  uint64_t offered_pps = 0;
  uint64_t flows = 0;
  uint64_t sent = 0;
  uint64_t received = 0;   // answers matched to a flow
  uint64_t unmatched = 0;  // UDP that was not an answer to one of our flows
  uint64_t skipped = 0;    // packets the pacer gave up on (sender fell behind)
  uint64_t flows_answered = 0;
  uint64_t flows_moved = 0;  // flows answered by more than one endpoint
  LatencyHistogram rtt_ns;
  std::vector<EndpointShare> endpoints;
  std::optional<PodTotals> pod;  // the in-process pod (--pod-port), if any
};

// The report as one JSON object: sent, received, lost, loss ratio, pps,
// rtt_us {p50, p99, p999, min, max, mean}, endpoints [{pod, address, flows,
// share, replies, moved_away, moved_in}] with share = flows / flows_answered,
// and "pod": {...} (as below) when the pod ran in the same process.
std::string toJson(const ClientReport& report);

// {"received", "answered", "arp", "ignored", "tx_failed"} on one line.
std::string toJson(const PodTotals& totals);

}  // namespace sluice::pktgen
