// Bringing DPDK's environment up and down, for the control plane.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dp/api/status.h"

namespace sluice::dp {

enum class LogLevel : uint8_t { kError, kWarning, kInfo, kDebug };

// rte_eal_init with these arguments (argv[0] included) and rte_pdump_init,
// so dpdk-dumpcap can capture from the running process.
Status initEal(const std::vector<std::string>& args);
// rte_pdump_uninit and rte_eal_cleanup.
void cleanupEal();
// Cycles per second of the TSC the workers' busy_cycles counter counts
// (after initEal).
uint64_t tscHz();
// Sets DPDK's log level for all of its log types.
void setLogLevel(LogLevel level);

}  // namespace sluice::dp
