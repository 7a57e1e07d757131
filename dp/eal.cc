#include "dp/api/eal.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_pdump.h>

namespace sluice::dp {

Status initEal(const std::vector<std::string>& args) {
  // The EAL may keep pointers into argv for the life of the process.
  static std::vector<std::string> kept;
  static std::vector<char*> argv;
  kept = args;
  argv.clear();
  for (auto& a : kept) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(kept.size()), argv.data()) < 0) {
    return Status::error(std::string("rte_eal_init: ") + rte_strerror(rte_errno));
  }
  // Lets dpdk-dumpcap / dpdk-pdump attach as secondary processes and capture.
  if (rte_pdump_init() != 0) {
    RTE_LOG(WARNING, USER1, "rte_pdump_init failed: %s; live capture is unavailable\n",
            rte_strerror(rte_errno));
  }
  return Status::ok();
}

void cleanupEal() {
  rte_pdump_uninit();
  rte_eal_cleanup();
}

uint64_t tscHz() {
  return rte_get_tsc_hz();
}

void setLogLevel(LogLevel level) {
  uint32_t rte_level = RTE_LOG_INFO;
  switch (level) {
    case LogLevel::kError:
      rte_level = RTE_LOG_ERR;
      break;
    case LogLevel::kWarning:
      rte_level = RTE_LOG_WARNING;
      break;
    case LogLevel::kInfo:
      rte_level = RTE_LOG_INFO;
      break;
    case LogLevel::kDebug:
      rte_level = RTE_LOG_DEBUG;
      break;
  }
  rte_log_set_global_level(rte_level);
}

}  // namespace sluice::dp
