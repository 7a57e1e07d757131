// Bringing one ethdev up: configure (RSS, offloads, MTU, MAC), queue set-up,
// multicast for neighbor discovery, start.
#pragma once

#include <cstdint>
#include <vector>

#include "dp/api/dataplane.h"
#include "dp/api/status.h"
#include "dp/context.h"

namespace sluice::dp {

// Resolves spec.device to a port id and starts it with spec.rx_queues rx
// queues and `tx_queues` tx queues (one per worker). Fills `out` (not its
// pool). `v6_locals` are the port's IPv6 addresses, whose solicited-node
// groups the port must receive.
Status setupPort(const PortSpec& spec, uint16_t tx_queues, rte_mempool* pool,
                 const std::vector<IpAddr>& v6_locals, PortCtx* out);

// Stops and closes a port set up by setupPort.
void closePort(uint16_t port_id);

// NUMA socket of a port, mapped to 0 when the device does not say.
int portSocket(uint16_t port_id);

}  // namespace sluice::dp
