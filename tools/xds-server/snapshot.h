// One immutable set of resources that sluice-xds serves, with its
// versions. A new set of services makes the next snapshot from the last:
// a type's version is bumped only when that type's content changed, and the
// snapshot's version only when any type did, so streams push nothing for a
// file rewritten with the same services.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/any.pb.h>

#include "dp/api/service.h"
#include "dp/api/status.h"
#include "tools/xds-server/resources.h"

namespace sluice::xds_server {

struct Resource {
  google::protobuf::Any body;
  // A hash of the type URL and the bytes: delta xDS's per-resource version,
  // equal for equal content in any process (so initial_resource_versions
  // from a client that talked to an earlier sluice-xds still match).
  std::string version;
};

// Sorted by name, so responses list resources in a fixed order. Shared
// between snapshots while unchanged.
using ResourceMap = std::map<std::string, std::shared_ptr<const Resource>>;

struct Snapshot {
  uint64_t version = 0;  // 0: nothing set yet
  std::array<uint64_t, kResourceTypeCount> type_versions{};
  std::array<ResourceMap, kResourceTypeCount> resources;
  // Per type, the names added, changed or removed since the snapshot
  // before this one (version - 1), sorted: a stream in sync with that one
  // looks at these alone instead of diffing every resource.
  std::array<std::vector<std::string>, kResourceTypeCount> changed;
  size_t services = 0;
  size_t endpoints = 0;
  // What the resources were made from, by name: the next snapshot reuses
  // the resources of services that did not change instead of encoding them
  // again (a one-endpoint change at 10k services encodes one service).
  std::map<std::string, std::shared_ptr<const ServiceSpec>> specs;

  const ResourceMap& of(ResourceType type) const { return resources[static_cast<size_t>(type)]; }
  uint64_t versionOf(ResourceType type) const { return type_versions[static_cast<size_t>(type)]; }
  const std::vector<std::string>& changedOf(ResourceType type) const {
    return changed[static_cast<size_t>(type)];
  }
};

// The snapshot of `services` that follows `previous`. Refuses two services
// with one key (a resource name must be unique).
Result<std::shared_ptr<const Snapshot>> nextSnapshot(const Snapshot& previous,
                                                     const std::vector<ServiceSpec>& services);

// The content hash used as a resource version: 16 hex digits.
std::string contentVersion(const google::protobuf::Any& body);

}  // namespace sluice::xds_server
