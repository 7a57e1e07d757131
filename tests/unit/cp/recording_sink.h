// A ServiceSink for the admin API's tests: records what the Publisher sends
// and keeps the services the data plane would hold. Pure C++.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cp/publisher.h"

namespace sluice::cp::admin::testing {

// What the data plane was sent, and the services it holds as a result.
class RecordingSink : public ServiceSink {
 public:
  Status upsertService(const ServiceSpec& spec, const std::vector<uint32_t>& table) override {
    if (fail_all) {
      return Status::error("sink refused");
    }
    upserts.push_back(spec.key.toString());
    tables[spec.key.toString()] = table;
    accepted.insert_or_assign(spec.key.toString(), spec);
    return Status::ok();
  }
  Status removeService(const ServiceKey& key) override {
    if (fail_all) {
      return Status::error("sink refused");
    }
    removes.push_back(key.toString());
    accepted.erase(key.toString());
    return Status::ok();
  }
  size_t calls() const { return upserts.size() + removes.size(); }

  std::vector<std::string> upserts;
  std::vector<std::string> removes;
  std::map<std::string, std::vector<uint32_t>> tables;
  std::map<std::string, ServiceSpec> accepted;
  bool fail_all = false;
};

}  // namespace sluice::cp::admin::testing
