// The publisher: the one path by which services reach the data plane. It
// keeps the model (every service by key), diffs a new set against it, builds
// Maglev tables for what changed and hands each change to a sink (the
// Dataplane in sluiced, a recorder in tests). Pure C++.
#pragma once

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

class Publisher {
 public:
  explicit Publisher(ServiceSink& sink) : sink_(sink) {}

  // Makes the published set equal to `services`: publishes the added and
  // changed ones, removes the missing ones, leaves the equal ones alone.
  // Validation is the caller's (config loader, API); a sink error stops the
  // run and is returned, with the model left matching what was published.
  Result<PublishStats> replaceAll(const std::vector<ServiceSpec>& services);
  // One service added or changed (no-op when equal), or removed.
  Status upsert(const ServiceSpec& service);
  Status remove(const ServiceKey& key);

  // The Maglev table publish() would use for `spec`: over the ready
  // endpoints (weighted), of size spec.table_size or chosen from the number
  // of endpoints; indices refer to spec.endpoints.
  static Result<std::vector<uint32_t>> tableFor(const ServiceSpec& spec);

  const std::map<std::string, ServiceSpec>& services() const { return services_; }

 private:
  ServiceSink& sink_;
  std::map<std::string, ServiceSpec> services_;  // by key.toString()
};

}  // namespace sluice::cp
