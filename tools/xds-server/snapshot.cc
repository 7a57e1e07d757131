#include "tools/xds-server/snapshot.h"

#include <cstdio>

namespace sluice::xds_server {

namespace {

// FNV-1a, 64 bits: stable across processes and builds, unlike std::hash.
uint64_t fnv1a(uint64_t hash, const std::string& bytes) {
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  for (unsigned char c : bytes) {
    hash = (hash ^ c) * kPrime;
  }
  return hash;
}

void add(ResourceMap& map, const std::string& name, const google::protobuf::Message& message) {
  auto resource = std::make_shared<Resource>();
  resource->body.PackFrom(message);
  resource->version = contentVersion(resource->body);
  map.emplace(name, std::move(resource));
}

bool sameContent(const ResourceMap& a, const ResourceMap& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    if (ia->first != ib->first ||
        (ia->second != ib->second && ia->second->version != ib->second->version)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string contentVersion(const google::protobuf::Any& body) {
  constexpr uint64_t kOffsetBasis = 0xcbf29ce484222325ULL;
  uint64_t hash = fnv1a(fnv1a(kOffsetBasis, body.type_url()), body.value());
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

Result<std::shared_ptr<const Snapshot>> nextSnapshot(const Snapshot& previous,
                                                     const std::vector<ServiceSpec>& services) {
  auto next = std::make_shared<Snapshot>();
  ResourceMap& listeners = next->resources[static_cast<size_t>(ResourceType::kListener)];
  ResourceMap& clusters = next->resources[static_cast<size_t>(ResourceType::kCluster)];
  ResourceMap& assignments = next->resources[static_cast<size_t>(ResourceType::kEndpoint)];
  for (const ServiceSpec& service : services) {
    std::string name = resourceName(service);
    auto [spec, added] = next->specs.emplace(name, nullptr);
    if (!added) {
      return Status::error("service " + name + " is listed twice");
    }
    next->endpoints += service.endpoints.size();
    auto old = previous.specs.find(name);
    if (old != previous.specs.end() && *old->second == service) {
      spec->second = old->second;
      for (size_t t = 0; t < kResourceTypeCount; ++t) {
        next->resources[t].emplace(name, previous.resources[t].at(name));
      }
      continue;
    }
    spec->second = std::make_shared<const ServiceSpec>(service);
    add(listeners, name, makeListener(service));
    add(clusters, name, makeCluster(service));
    add(assignments, name, makeLoadAssignment(service));
  }
  next->services = services.size();

  bool changed = false;
  for (size_t t = 0; t < kResourceTypeCount; ++t) {
    bool same = previous.version != 0 && sameContent(previous.resources[t], next->resources[t]);
    next->type_versions[t] = previous.type_versions[t] + (same ? 0 : 1);
    changed = changed || !same;
  }
  next->version = previous.version + (changed ? 1 : 0);
  return std::shared_ptr<const Snapshot>(std::move(next));
}

}  // namespace sluice::xds_server
