// Flow steering with rte_flow: on ports that support it, replies to SNAT
// addresses are steered by the NIC to the rx queue of the worker that owns
// their SNAT port, so no software hand-off is needed. Ports that do not
// support it (or a worker count that is not a power of two) keep the
// software hand-off, which is correct on any device.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dp/api/types.h"

namespace sluice::dp {

struct SteerQueue {
  unsigned worker;  // worker index
  uint16_t queue;   // the rx queue of this port that worker polls
};

// Installs one rule per (worker, SNAT address, TCP/UDP) on `port_id`.
// Returns the number of rules installed: all of them, or 0 after undoing a
// partial set. `why` says what the device refused when it returns 0.
unsigned installSteering(uint16_t port_id, unsigned workers, const std::vector<SteerQueue>& queues,
                         const std::vector<IpAddr>& snat, std::string* why);

// Removes every rule installSteering added on the port.
void removeSteering(uint16_t port_id);

}  // namespace sluice::dp
