#include "dp/route.h"

#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

#include <cstring>

namespace sluice::dp {

Result<std::unique_ptr<RouteTable>> RouteTable::create(const std::string& name, uint32_t capacity,
                                                       int socket) {
  std::unique_ptr<RouteTable> table(new RouteTable());
  table->capacity_ = capacity;
  table->nexthops_.reserve(capacity);

  rte_lpm_config c4{};
  c4.max_rules = capacity;
  c4.number_tbl8s = 256;
  table->lpm4_ = rte_lpm_create((name + "4").c_str(), socket, &c4);
  if (table->lpm4_ == nullptr) {
    return Status::error("rte_lpm_create: " + std::string(rte_strerror(rte_errno)));
  }
  rte_lpm6_config c6{};
  c6.max_rules = capacity;
  c6.number_tbl8s = 1024;
  table->lpm6_ = rte_lpm6_create((name + "6").c_str(), socket, &c6);
  if (table->lpm6_ == nullptr) {
    return Status::error("rte_lpm6_create: " + std::string(rte_strerror(rte_errno)));
  }
  return table;
}

RouteTable::~RouteTable() {
  rte_lpm_free(lpm4_);
  rte_lpm6_free(lpm6_);
}

Status RouteTable::add(const Prefix& prefix, const Nexthop& nexthop) {
  if (nexthops_.size() >= capacity_) {
    return Status::error("route table full (" + std::to_string(capacity_) + " routes)");
  }
  if (!nexthop.connected && nexthop.gateway.family != prefix.addr.family) {
    return Status::error("route " + prefix.toString() + ": gateway of the other family");
  }
  auto index = static_cast<uint32_t>(nexthops_.size());
  nexthops_.push_back(nexthop);
  Prefix net = prefix.network();
  int rc;
  if (net.len == 0) {
    (net.addr.isV4() ? default4_ : default6_) = index;
    rc = 0;
  } else if (net.addr.isV4()) {
    rc = rte_lpm_add(lpm4_, net.addr.v4HostOrder(), net.len, index);
  } else {
    rc = rte_lpm6_add(lpm6_, net.addr.bytes.data(), net.len, index);
  }
  if (rc < 0) {
    nexthops_.pop_back();
    return Status::error("route " + prefix.toString() + ": " + rte_strerror(-rc));
  }
  return Status::ok();
}

const Nexthop* RouteTable::lookup(Family family, const uint8_t* addr) const {
  uint32_t index;
  int rc;
  if (family == Family::kV4) {
    uint32_t be;
    std::memcpy(&be, addr, 4);
    rc = rte_lpm_lookup(lpm4_, rte_be_to_cpu_32(be), &index);
  } else {
    rc = rte_lpm6_lookup(lpm6_, addr, &index);
  }
  if (rc != 0) {
    int64_t def = family == Family::kV4 ? default4_ : default6_;
    if (def < 0) return nullptr;
    index = static_cast<uint32_t>(def);
  }
  if (index >= nexthops_.size()) return nullptr;
  return &nexthops_[index];
}

}  // namespace sluice::dp
