// The admin API's operations on the service model, free of gRPC: each
// validates the whole resulting service, then publishes it through the
// Publisher as one change, or changes nothing and says why. Runs on the
// control thread (cp/control_queue.h), like everything that touches the
// Publisher.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cp/admin/api_status.h"
#include "cp/publisher.h"
#include "dp/api/dataplane.h"
#include "dp/api/service.h"

namespace sluice::cp::admin {

enum class Change : uint8_t { kCreated, kUpdated, kUnchanged, kDeleted };

struct ChangeOutcome {
  ApiStatus status;
  Change change = Change::kUnchanged;
  ServiceSpec service;      // as it now runs; for a deletion, as it ran
  uint64_t publish_ns = 0;  // time in the Publisher; 0 when nothing was sent
};

struct EndpointUpdate {
  std::optional<uint32_t> weight;
  std::optional<EndpointState> state;
};

class ServiceEditor {
 public:
  // `dataplane` is the running data plane's spec: services are validated
  // against its snat pool and services_capacity.
  ServiceEditor(Publisher& publisher, const dp::DataplaneSpec& dataplane)
      : publisher_(publisher), dataplane_(dataplane) {}

  // A new service gets source api; a replaced one keeps the source it has.
  ChangeOutcome upsert(ServiceSpec spec, bool create_only);
  ChangeOutcome remove(const ServiceKey& key);
  ChangeOutcome addEndpoint(const ServiceKey& key, const EndpointSpec& endpoint);
  ChangeOutcome removeEndpoint(const ServiceKey& key, const IpAddr& addr, uint16_t port);
  // At least one of weight and state must be set.
  ChangeOutcome setEndpoint(const ServiceKey& key, const IpAddr& addr, uint16_t port,
                            const EndpointUpdate& update);

  // nullptr when the service does not exist.
  const ServiceSpec* find(const ServiceKey& key) const;
  // In key order; unset filters match everything.
  std::vector<ServiceSpec> list(std::optional<ServiceSource> source,
                                std::optional<IpAddr> vip) const;

  static ApiStatus notFound(const ServiceKey& key);

 private:
  // Validates `next` and publishes it. `endpoint` is the index of the
  // endpoint the request names, whose errors read "endpoint.FIELD".
  ChangeOutcome publish(ServiceSpec next, Change change, std::optional<size_t> endpoint);
  // Finds the endpoint or explains why not.
  const ServiceSpec* findEndpoint(const ServiceKey& key, const IpAddr& addr, uint16_t port,
                                  size_t* index, ApiStatus* error) const;

  Publisher& publisher_;
  const dp::DataplaneSpec& dataplane_;
};

}  // namespace sluice::cp::admin
