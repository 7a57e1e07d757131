// The Publisher's sink in sluiced: publishes straight into the data plane.
#pragma once

#include <vector>

#include "cp/publisher.h"
#include "dp/api/dataplane.h"

namespace sluice::cp {

class DataplaneSink : public ServiceSink {
 public:
  explicit DataplaneSink(dp::Dataplane& plane) : plane_(plane) {}
  Status upsertService(const ServiceSpec& spec, const std::vector<uint32_t>& table) override {
    return plane_.upsertService(spec, table);
  }
  Status removeService(const ServiceKey& key) override { return plane_.removeService(key); }

 private:
  dp::Dataplane& plane_;
};

}  // namespace sluice::cp
