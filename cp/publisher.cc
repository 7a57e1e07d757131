#include "cp/publisher.h"

#include <set>

#include "cp/maglev.h"

namespace sluice::cp {

Result<std::vector<uint32_t>> Publisher::tableFor(const ServiceSpec& spec) {
  // Sized from every endpoint, not only the ready ones, so that endpoints
  // going in and out of ready do not resize (and so reshuffle) the table.
  uint32_t m = spec.table_size.value_or(maglevSizeFor(spec.endpoints.size()));
  std::vector<MaglevBackend> backends;
  std::vector<uint32_t> endpoint_of;  // backend index -> index in spec.endpoints
  for (size_t i = 0; i < spec.endpoints.size(); ++i) {
    const EndpointSpec& ep = spec.endpoints[i];
    if (ep.state != EndpointState::kReady) {
      continue;
    }
    backends.push_back({.addr = ep.addr, .port = ep.port, .weight = ep.weight});
    endpoint_of.push_back(static_cast<uint32_t>(i));
  }
  if (backends.empty()) {
    return std::vector<uint32_t>(m, kMaglevNone);
  }
  auto table = buildMaglev(backends, m);
  if (!table) {
    return table.status().withContext("service " + spec.key.toString());
  }
  for (uint32_t& entry : *table) {
    entry = endpoint_of[entry];
  }
  return table;
}

Result<PublishStats> Publisher::replaceAll(const std::vector<ServiceSpec>& services) {
  std::set<std::string> wanted;
  for (const ServiceSpec& service : services) {
    if (!wanted.insert(service.key.toString()).second) {
      return Status::error("service " + service.key.toString() + " is listed twice");
    }
  }

  PublishStats stats;
  // Removals first, so that a set near the data plane's capacity still fits
  // while it is being replaced.
  for (auto it = services_.begin(); it != services_.end();) {
    if (wanted.count(it->first) != 0) {
      ++it;
      continue;
    }
    if (Status s = sink_.removeService(it->second.key); !s) {
      return s.withContext("service " + it->first);
    }
    it = services_.erase(it);
    ++stats.removed;
  }
  for (const ServiceSpec& service : services) {
    auto it = services_.find(service.key.toString());
    if (it != services_.end() && it->second == service) {
      ++stats.unchanged;
      continue;
    }
    bool added = it == services_.end();
    if (Status s = upsert(service); !s) {
      return s;
    }
    ++(added ? stats.added : stats.changed);
  }
  return stats;
}

Status Publisher::upsert(const ServiceSpec& service) {
  std::string key = service.key.toString();
  auto it = services_.find(key);
  if (it != services_.end() && it->second == service) {
    return Status::ok();
  }
  auto table = tableFor(service);
  if (!table) {
    return table.status();
  }
  if (Status s = sink_.upsertService(service, *table); !s) {
    return s.withContext("service " + key);
  }
  services_.insert_or_assign(std::move(key), service);
  return Status::ok();
}

Status Publisher::remove(const ServiceKey& key) {
  std::string name = key.toString();
  auto it = services_.find(name);
  if (it == services_.end()) {
    return Status::error("service " + name + " does not exist");
  }
  if (Status s = sink_.removeService(key); !s) {
    return s.withContext("service " + name);
  }
  services_.erase(it);
  return Status::ok();
}

}  // namespace sluice::cp
