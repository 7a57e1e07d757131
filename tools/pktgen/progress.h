// The client's once-a-second progress: what one second did and the flows'
// shares so far, as the human line on stderr and as one JSON object per line
// (--progress-json) for scripts. Pure: no DPDK.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::pktgen {

struct ProgressEndpoint {
  std::string label;   // its address, or "pod N" when the answers carry none
  uint64_t flows = 0;  // flows whose latest answer came from here
  uint64_t moved_away = 0;
};

struct Progress {
  unsigned second = 0;
  uint64_t sent = 0;      // in this second
  uint64_t received = 0;  // in this second
  uint64_t outstanding = 0;
  uint64_t unmatched = 0;
  bool tcp = false;
  uint64_t completed = 0;  // TCP connections closed in this second
  uint64_t failed = 0;     // TCP connections failed so far
  std::vector<ProgressEndpoint> endpoints;
};

// "pktgen:   3s sent ... pps received ... pps outstanding N unmatched N
// [conn/s N failed N] [| flows A 33.3% B 33.4% moved N]".
std::string progressLine(const Progress& p);

// {"t": 3, "sent_pps": ..., "received_pps": ..., "outstanding": ...,
// "unmatched": ..., ["conn_per_s": ..., "failed": ...,] "flows_answered": N,
// "moved": N, "endpoints": [{"endpoint": "A", "flows": N, "share": 0.3333,
// "moved_away": N}]} on one line, with its newline.
std::string progressJson(const Progress& p);

}  // namespace sluice::pktgen
