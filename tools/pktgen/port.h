// The one ethdev port sluice-pktgen drives: one rx and one tx queue, its own
// mbuf pool, started and up.
#pragma once

#include <atomic>
#include <cstdint>

#include "dp/api/status.h"
#include "dp/api/types.h"

struct rte_mempool;

namespace sluice::pktgen {

struct Port {
  uint16_t id = 0;
  rte_mempool* pool = nullptr;
  MacAddr mac;
};

// Configures and starts port `id`, then waits up to link_timeout_s for the
// link (a memif client connects only after start) or until `stop` is set.
Result<Port> openPort(uint16_t id, unsigned link_timeout_s, const std::atomic<bool>& stop);

// Stops and closes the port and frees its pool.
void closePort(const Port& port);

}  // namespace sluice::pktgen
