// The pod role: answers every UDP datagram sent to one of its addresses by
// sending it back with addresses and ports swapped and, in a probe, its pod id
// and the address it was reached at; answers TCP as a server that keeps no
// state (see answerTcpInPlace); answers ARP and neighbor solicitations for
// those addresses. run() is the
// worker lcore's loop, step() one turn of it.
#pragma once

#include <atomic>
#include <cstdint>

#include "tools/pktgen/client.h"
#include "tools/pktgen/options.h"
#include "tools/pktgen/port.h"
#include "tools/pktgen/summary.h"

namespace sluice::pktgen {

class Pod {
 public:
  Pod(const Options& options, const Port& port, const std::atomic<bool>& stop);

  // Until `stop`, or for duration_s when that is above 0.
  void run();
  // One poll of the port: answers what came in. Returns the frames received.
  // run() is this in a loop; the client calls it from its own loop to run a
  // pod on a second port on the same lcore.
  uint16_t step();
  // sent = answers (UDP and ARP), received = frames in, other = ignored.
  const LiveCounters& live() const { return live_; }
  // Valid once run() has returned.
  const PodTotals& totals() const { return totals_; }

 private:
  bool ownsAddress(const IpAddr& addr) const;
  // Turns the frame (len bytes, room to grow to) into its answer in place
  // and returns the answer's length; 0 when there is nothing to send.
  uint16_t answer(uint8_t* data, uint16_t len, uint16_t room);

  const Options& options_;
  const Port& port_;
  const std::atomic<bool>& stop_;
  PodTotals totals_;
  LiveCounters live_;
};

}  // namespace sluice::pktgen
