// The publisher: the one path by which services reach the data plane. It
// keeps the model (every service by key), diffs a new set against it, builds
// Maglev tables for what changed and hands each change to a sink (the
// Dataplane in sluiced, a recorder in tests). Pure C++.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "dp/api/service.h"
#include "dp/api/status.h"

namespace sluice::cp {

class ServiceSink {
 public:
  virtual ~ServiceSink() = default;
  virtual Status upsertService(const ServiceSpec& spec, const std::vector<uint32_t>& table) = 0;
  virtual Status removeService(const ServiceKey& key) = 0;
};

struct PublishStats {
  size_t added = 0;
  size_t changed = 0;
  size_t removed = 0;
  size_t unchanged = 0;
};

// Upper bounds, in microseconds, of the publish latency histogram's buckets;
// a last bucket holds everything slower.
inline constexpr std::array<uint64_t, 12> kPublishLatencyBoundsUs = {
    10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000, 250000};

// Every call that reached the sink, and how long it took from the call to
// Publisher::upsert/remove to the sink's answer (Maglev build included).
struct PublishMetrics {
  uint64_t upserts = 0;   // services published (added or changed)
  uint64_t removals = 0;  // services removed
  uint64_t failures = 0;  // calls the table builder or the sink refused
  uint64_t latency_sum_ns = 0;
  uint64_t latency_max_ns = 0;
  // latency_buckets[i]: calls at most kPublishLatencyBoundsUs[i] (and above
  // the bound before it); the last entry: slower than every bound.
  std::array<uint64_t, kPublishLatencyBoundsUs.size() + 1> latency_buckets{};
  uint64_t count() const { return upserts + removals + failures; }
};

class Publisher {
 public:
  // Nanoseconds on a monotonic clock; injected by tests.
  using Clock = std::function<uint64_t()>;
  explicit Publisher(ServiceSink& sink, Clock clock = {});

  // Makes the published services of `source` equal to `services` (each of
  // which must carry that source): publishes the added and changed ones,
  // removes the missing ones, leaves the equal ones and every service of
  // another source alone. A key listed twice, or owned by another source, is
  // refused before anything is sent. Validation of each service is the
  // caller's (config loader, API); a sink error stops the run and is
  // returned, with the model left matching what was published.
  Result<PublishStats> replaceSource(ServiceSource source,
                                     const std::vector<ServiceSpec>& services);
  // One service added or changed (no-op when equal), or removed.
  Status upsert(const ServiceSpec& service);
  Status remove(const ServiceKey& key);

  // The Maglev table publish() would use for `spec`: over the ready
  // endpoints (weighted), of size spec.table_size or chosen from the number
  // of endpoints; indices refer to spec.endpoints. Empty for an on-demand
  // service (no endpoints loaded).
  static Result<std::vector<uint32_t>> tableFor(const ServiceSpec& spec);

  const std::map<std::string, ServiceSpec>& services() const { return services_; }
  const PublishMetrics& metrics() const { return metrics_; }

 private:
  void record(uint64_t started_ns, uint64_t* counter);

  ServiceSink& sink_;
  Clock clock_;
  std::map<std::string, ServiceSpec> services_;  // by key.toString()
  PublishMetrics metrics_;
};

}  // namespace sluice::cp
