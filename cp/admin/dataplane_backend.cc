#include "cp/admin/dataplane_backend.h"

#include <utility>

#include "dp/api/eal.h"

namespace sluice::cp::admin {

DataplaneBackend::DataplaneBackend(Publisher& publisher, const Config& running,
                                   const dp::Dataplane& plane, std::function<Result<Config>()> load)
    : publisher_(publisher),
      running_(running),
      plane_(plane),
      load_(std::move(load)),
      editor_(publisher, running.dataplane) {}

Result<ReloadReport> DataplaneBackend::reload() {
  auto next = load_();
  if (!next) {
    return next.status();
  }
  return applyReload(*next, running_, publisher_);
}

DataplaneStats DataplaneBackend::dataplaneStats() const {
  auto uptime = std::chrono::steady_clock::now() - launched_;
  return {.tsc_hz = dp::tscHz(),
          .uptime_ns = static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(uptime).count()),
          .workers = plane_.workerCounters(),
          .ports = plane_.portCounters()};
}

}  // namespace sluice::cp::admin
