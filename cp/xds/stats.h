// What sluiced reports about xDS (/metrics, sluicectl): the client's stream
// and the controller's model, copied into plain values on the control
// thread. Pure, so the metrics library needs neither gRPC nor protobuf.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "cp/xds/handler.h"

namespace sluice::cp::xds {

struct XdsStats {
  // The ADS stream.
  bool connected = false;
  uint64_t streams_opened = 0;
  uint64_t reconnects = 0;  // streams lost (or failed to open) and retried
  uint64_t responses = 0;
  uint64_t acks = 0;
  uint64_t nacks = 0;
  uint64_t bytes_received = 0;
  uint64_t backoff_ms = 0;  // the wait before the next attempt; 0 while connected
  std::string last_nack;    // the last NACK's error_detail
  // By ResourceType: the last version accepted, and resources held.
  std::array<std::string, kResourceTypeCount> versions;
  std::array<uint64_t, kResourceTypeCount> resources{};
  // The model.
  uint64_t updates_accepted = 0;
  uint64_t updates_rejected = 0;
  uint64_t services = 0;          // published from xDS (loaded or on demand)
  uint64_t services_pending = 0;  // waiting for their cluster or endpoints
  uint64_t services_on_demand = 0;
  uint64_t endpoint_subscriptions = 0;  // EDS names subscribed now
  // Lazy loading and eviction.
  uint64_t misses = 0;      // services the data plane reported a packet for
  uint64_t lazy_loads = 0;  // services loaded because of a miss
  uint64_t evictions = 0;
};

}  // namespace sluice::cp::xds
