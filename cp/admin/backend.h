// What the admin API drives: the model (through a ServiceEditor), the config
// reload and the data plane's counters. sluiced implements it over its
// Publisher and Dataplane (cp/admin/dataplane_backend.h); tests implement it
// over a recording sink. Every method runs on the control thread.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cp/admin/editor.h"
#include "cp/config.h"
#include "cp/publisher.h"
#include "cp/reload.h"
#include "cp/xds/stats.h"
#include "dp/api/counters.h"
#include "dp/api/dataplane.h"

namespace sluice::cp::admin {

struct DataplaneStats {
  uint64_t tsc_hz = 0;
  uint64_t uptime_ns = 0;  // since the workers started
  std::vector<dp::WorkerCounterSnapshot> workers;
  std::vector<dp::PortCounterSnapshot> ports;
};

class AdminBackend {
 public:
  virtual ~AdminBackend() = default;
  virtual ServiceEditor& editor() = 0;
  virtual const PublishMetrics& publishMetrics() const = 0;
  // The config sluiced runs with (its services as loaded at start).
  virtual const Config& runningConfig() const = 0;
  // Re-reads the config file and applies its services (cp/reload.h).
  virtual Result<ReloadReport> reload() = 0;
  virtual DataplaneStats dataplaneStats() const = 0;
  virtual std::vector<dp::ServiceTraffic> serviceTraffic() const = 0;
  virtual std::vector<dp::ConntrackOccupancy> conntrackOccupancy() const = 0;
  // dp::Dataplane::listFlows: bounded, may wait for the workers.
  virtual Result<dp::FlowList> listFlows(const dp::FlowFilter& filter, uint32_t limit) = 0;
  // Bytes of the published service versions (dp::Dataplane::serviceTableBytes).
  virtual uint64_t serviceTableBytes() const { return 0; }
  // The xDS client's and controller's figures; absent when sluiced runs no
  // xDS client.
  virtual std::optional<xds::XdsStats> xdsStats() const { return std::nullopt; }
};

}  // namespace sluice::cp::admin
