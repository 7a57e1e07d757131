#include "tools/xds-server/snapshot.h"

#include <algorithm>
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

std::shared_ptr<const Resource> encode(ResourceType type, const ServiceSpec& service) {
  auto resource = std::make_shared<Resource>();
  switch (type) {
    case ResourceType::kListener:
      resource->body.PackFrom(makeListener(service));
      break;
    case ResourceType::kCluster:
      resource->body.PackFrom(makeCluster(service));
      break;
    case ResourceType::kEndpoint:
      resource->body.PackFrom(makeLoadAssignment(service));
      break;
  }
  resource->version = contentVersion(resource->body);
  return resource;
}

// The names whose resource differs between `a` and `b`: a merge of the two
// sorted maps.
std::vector<std::string> changedNames(const ResourceMap& a, const ResourceMap& b) {
  std::vector<std::string> names;
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      names.push_back((ia++)->first);
    } else if (ia == a.end() || ib->first < ia->first) {
      names.push_back((ib++)->first);
    } else {
      if (ia->second != ib->second && ia->second->version != ib->second->version) {
        names.push_back(ia->first);
      }
      ++ia;
      ++ib;
    }
  }
  return names;
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
  // Taken in name order, every map is filled at its end and walked beside
  // the previous snapshot's (which hold the same names): no lookups, so a
  // change at 10k services costs a sort and a merge.
  std::vector<std::pair<std::string, const ServiceSpec*>> sorted;
  sorted.reserve(services.size());
  for (const ServiceSpec& service : services) {
    sorted.emplace_back(resourceName(service), &service);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });

  auto next = std::make_shared<Snapshot>();
  auto old_spec = previous.specs.begin();
  std::array<ResourceMap::const_iterator, kResourceTypeCount> old;
  for (size_t t = 0; t < kResourceTypeCount; ++t) {
    old[t] = previous.resources[t].begin();
  }
  for (size_t i = 0; i < sorted.size(); ++i) {
    const auto& [name, service] = sorted[i];
    if (i > 0 && sorted[i - 1].first == name) {
      return Status::error("service " + name + " is listed twice");
    }
    next->endpoints += service->endpoints.size();
    while (old_spec != previous.specs.end() && old_spec->first < name) {
      ++old_spec;
      for (auto& it : old) {
        ++it;
      }
    }
    bool same = old_spec != previous.specs.end() && old_spec->first == name &&
                *old_spec->second == *service;
    next->specs.emplace_hint(
        next->specs.end(), name,
        same ? old_spec->second : std::make_shared<const ServiceSpec>(*service));
    for (size_t t = 0; t < kResourceTypeCount; ++t) {
      ResourceMap& map = next->resources[t];
      map.emplace_hint(map.end(), name,
                       same ? old[t]->second : encode(static_cast<ResourceType>(t), *service));
    }
  }
  next->services = services.size();

  bool changed = false;
  for (size_t t = 0; t < kResourceTypeCount; ++t) {
    next->changed[t] = changedNames(previous.resources[t], next->resources[t]);
    bool same = previous.version != 0 && next->changed[t].empty();
    next->type_versions[t] = previous.type_versions[t] + (same ? 0 : 1);
    changed = changed || !same;
  }
  next->version = previous.version + (changed ? 1 : 0);
  return std::shared_ptr<const Snapshot>(std::move(next));
}

}  // namespace sluice::xds_server
