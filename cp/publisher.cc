#include "cp/publisher.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "cp/maglev.h"

namespace sluice::cp {

namespace {

uint64_t steadyNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

Publisher::Publisher(ServiceSink& sink, Clock clock)
    : sink_(sink), clock_(clock ? std::move(clock) : Clock(steadyNs)) {}

void Publisher::record(uint64_t started_ns, uint64_t* counter) {
  uint64_t now = clock_();
  uint64_t ns = now > started_ns ? now - started_ns : 0;
  ++*(counter != nullptr ? counter : &metrics_.failures);
  metrics_.latency_sum_ns += ns;
  metrics_.latency_max_ns = std::max(metrics_.latency_max_ns, ns);
  size_t bucket = 0;
  while (bucket < kPublishLatencyBoundsUs.size() && ns > kPublishLatencyBoundsUs[bucket] * 1000) {
    ++bucket;
  }
  ++metrics_.latency_buckets[bucket];
}

Result<std::vector<uint32_t>> Publisher::tableFor(const ServiceSpec& spec) {
  if (spec.on_demand) {
    return std::vector<uint32_t>();  // no endpoints loaded, nothing to hash over
  }
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

Result<PublishStats> Publisher::replaceSource(ServiceSource source,
                                              const std::vector<ServiceSpec>& services) {
  std::set<std::string> wanted;
  for (const ServiceSpec& service : services) {
    std::string key = service.key.toString();
    if (service.source != source) {
      return Status::error("service " + key + " has source " + toString(service.source) + ", not " +
                           toString(source));
    }
    if (!wanted.insert(key).second) {
      return Status::error("service " + key + " is listed twice");
    }
    auto it = services_.find(key);
    if (it != services_.end() && it->second.source != source) {
      return Status::error("service " + key + " is owned by " + toString(it->second.source) +
                           "; delete it there before adding it from " + toString(source));
    }
  }

  PublishStats stats;
  // Removals first, so that a set near the data plane's capacity still fits
  // while it is being replaced.
  for (auto it = services_.begin(); it != services_.end();) {
    if (it->second.source != source || wanted.count(it->first) != 0) {
      ++it;
      continue;
    }
    std::string key = it->first;
    if (Status s = remove(it->second.key); !s) {
      return s;
    }
    it = services_.upper_bound(key);
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
  uint64_t started = clock_();
  auto table = tableFor(service);
  if (!table) {
    record(started, nullptr);
    return table.status();
  }
  if (Status s = sink_.upsertService(service, *table); !s) {
    record(started, nullptr);
    return s.withContext("service " + key);
  }
  record(started, &metrics_.upserts);
  services_.insert_or_assign(std::move(key), service);
  return Status::ok();
}

Status Publisher::remove(const ServiceKey& key) {
  std::string name = key.toString();
  auto it = services_.find(name);
  if (it == services_.end()) {
    return Status::error("service " + name + " does not exist");
  }
  uint64_t started = clock_();
  if (Status s = sink_.removeService(key); !s) {
    record(started, nullptr);
    return s.withContext("service " + name);
  }
  record(started, &metrics_.removals);
  services_.erase(it);
  return Status::ok();
}

}  // namespace sluice::cp
