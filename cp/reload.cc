#include "cp/reload.h"

namespace sluice::cp {

std::vector<std::string> settingsNeedingRestart(const Config& next, const Config& running) {
  std::vector<std::string> names;
  auto check = [&](bool same, const char* name) {
    if (!same) {
      names.emplace_back(name);
    }
  };
  const dp::DataplaneSpec& a = next.dataplane;
  const dp::DataplaneSpec& b = running.dataplane;
  check(next.eal_args == running.eal_args && next.main_lcore == running.main_lcore &&
            next.main_cpu == running.main_cpu,
        "eal");
  check(next.log_level == running.log_level, "log_level");
  check(a.ports == b.ports, "ports");
  check(a.workers == b.workers, "workers");
  check(a.addresses == b.addresses, "addresses");
  check(a.routes == b.routes, "routes");
  check(a.neighbors == b.neighbors, "neighbors");
  check(a.idle == b.idle, "idle");
  check(a.snat == b.snat, "snat");
  check(a.conntrack == b.conntrack, "conntrack");
  check(
      a.neighbor_capacity == b.neighbor_capacity && a.neighbor_resolve_ms == b.neighbor_resolve_ms,
      "neighbor");
  check(a.services_capacity == b.services_capacity, "services_capacity");
  check(a.endpoint_stats_capacity == b.endpoint_stats_capacity, "endpoint_stats_capacity");
  check(a.mbufs_per_socket == b.mbufs_per_socket, "mbufs");
  check(a.route_capacity == b.route_capacity, "route_capacity");
  check(a.tx_drain_us == b.tx_drain_us, "tx_drain_us");
  check(a.lazy_hold == b.lazy_hold && a.lazy_hold_ms == b.lazy_hold_ms, "lazy_hold");
  check(next.admin == running.admin, "admin");
  return names;
}

Result<ReloadReport> applyReload(const Config& next, const Config& running, Publisher& publisher) {
  // The file's services were checked against the file's data plane; the
  // running one is what they will meet (snat changes wait for a restart).
  std::string problems;
  for (const ServiceSpec& service : next.services) {
    for (const std::string& error : validateService(service, running.dataplane)) {
      problems += (problems.empty() ? "" : "\n") + ("service " + service.key.toString() + ": ") +
                  error + " (with the running data plane)";
    }
  }
  if (!problems.empty()) {
    return Status::error(problems);
  }
  auto stats = publisher.replaceSource(ServiceSource::kConfig, next.services);
  if (!stats) {
    return stats.status();
  }
  return ReloadReport{.source = next.source,
                      .stats = *stats,
                      .restart_required = settingsNeedingRestart(next, running)};
}

}  // namespace sluice::cp
