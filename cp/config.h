// sluiced's configuration: a libconfig file parsed into a validated struct.
// Pure C++ (no DPDK calls), so every error case is unit-tested without an EAL.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cp/admin/spec.h"
#include "cp/metrics/spec.h"
#include "cp/xds/spec.h"
#include "dp/api/dataplane.h"
#include "dp/api/eal.h"
#include "dp/api/service.h"
#include "dp/api/status.h"

namespace sluice::cp {

struct Config {
  std::string source;                 // file name the config came from
  std::vector<std::string> eal_args;  // eal.args, passed through as they are
  unsigned main_lcore = 0;            // the control plane's lcore
  std::optional<unsigned> main_cpu;   // its CPU; defaults to main_lcore
  dp::LogLevel log_level = dp::LogLevel::kInfo;
  dp::DataplaneSpec dataplane;
  std::vector<ServiceSpec> services;  // static services; reloaded on SIGHUP
  // The admin API's listeners; absent without an `admin` group, so that
  // several sluiced (tests, demos) do not contend for the default socket.
  std::optional<admin::AdminSpec> admin;
  // The Prometheus /metrics listener; absent (no metrics) without a
  // `metrics` group.
  std::optional<metrics::MetricsSpec> metrics;
  // The xDS client; absent (no xDS) without an `xds` group.
  std::optional<xds::XdsSpec> xds;
};

// Reads and validates a config file. On failure the Status lists every error
// found, one per line, each as "FILE:LINE: SETTING: reason".
Result<Config> loadConfigFile(const std::string& path);
// The same for config text held in memory; `source` names it in errors.
Result<Config> loadConfigText(std::string_view text, const std::string& source);

// Checks one service as the data plane needs it: unicast VIP and endpoints
// of the VIP's family, ports 1..65535, weights 1..65535, no endpoint twice,
// at most 65535 endpoints, a prime table_size between the endpoint count and
// kMaglevMaxSize, affinity_timeout 1..86400 (and left at its default without
// client-ip affinity), for fullnat an snat address of the VIP's family, and
// on_demand only on an xDS service with no endpoints.
// Returns one "FIELD: reason" per problem, FIELD relative to the service
// ("vip", "endpoints[2].port"); empty when the service is valid. Shared by
// the config loader and the admin API; checks across services (duplicates,
// capacity) are the caller's.
std::vector<std::string> validateService(const ServiceSpec& service,
                                         const dp::DataplaneSpec& dataplane);

// The argument vector for rte_eal_init: argv0, eal.args, then what sluiced
// derives from the config: --lcores (lcore@cpu for the main lcore and each
// worker), --main-lcore, --vdev for virtual ports, -a for PCI ports, and
// --no-pci when no port is a PCI device.
std::vector<std::string> buildEalArgs(const Config& config, const std::string& argv0);

// True for a PCI address such as "0000:3b:00.0" or "3b:00.0".
bool isPciAddress(std::string_view device);

}  // namespace sluice::cp
