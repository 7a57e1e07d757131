// sluiced's AdminBackend: its Publisher, running config and Dataplane. Lives
// on the control thread with them.
#pragma once

#include <chrono>
#include <functional>

#include "cp/admin/backend.h"
#include "dp/api/dataplane.h"

namespace sluice::cp::admin {

class DataplaneBackend : public AdminBackend {
 public:
  // `load` re-reads the config sluiced was started from (file or embedded).
  DataplaneBackend(Publisher& publisher, const Config& running, const dp::Dataplane& plane,
                   std::function<Result<Config>()> load);

  ServiceEditor& editor() override { return editor_; }
  const PublishMetrics& publishMetrics() const override { return publisher_.metrics(); }
  const Config& runningConfig() const override { return running_; }
  Result<ReloadReport> reload() override;
  DataplaneStats dataplaneStats() const override;
  std::vector<dp::ServiceTraffic> serviceTraffic() const override {
    return plane_.serviceTraffic();
  }
  std::vector<dp::ConntrackOccupancy> conntrackOccupancy() const override {
    return plane_.conntrackOccupancy();
  }
  Result<dp::FlowList> listFlows(const dp::FlowFilter& filter, uint32_t limit) override {
    return plane_.listFlows(filter, limit);
  }

  uint64_t serviceTableBytes() const override { return plane_.serviceTableBytes(); }
  std::optional<xds::XdsStats> xdsStats() const override {
    return xds_stats_ ? std::optional(xds_stats_()) : std::nullopt;
  }
  // Where xdsStats() comes from, once sluiced runs an xDS client.
  void setXdsStats(std::function<xds::XdsStats()> stats) { xds_stats_ = std::move(stats); }

  // When the workers started, for busy shares; set after launch().
  void markLaunched() { launched_ = std::chrono::steady_clock::now(); }

 private:
  Publisher& publisher_;
  const Config& running_;
  const dp::Dataplane& plane_;
  std::function<Result<Config>()> load_;
  ServiceEditor editor_;
  std::function<xds::XdsStats()> xds_stats_;
  std::chrono::steady_clock::time_point launched_ = std::chrono::steady_clock::now();
};

}  // namespace sluice::cp::admin
