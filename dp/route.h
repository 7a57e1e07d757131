// The route table: longest-prefix match with rte_lpm (IPv4) and rte_lpm6
// (IPv6). The control plane adds routes; workers look them up lock-free.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dp/api/status.h"
#include "dp/api/types.h"

struct rte_lpm;
struct rte_lpm6;

namespace sluice::dp {

struct Nexthop {
  uint16_t port_idx = 0;  // index into the data plane's port list
  bool connected = true;  // the destination itself is on the link
  IpAddr gateway;         // the next hop when !connected
};

class RouteTable {
 public:
  static Result<std::unique_ptr<RouteTable>> create(const std::string& name, uint32_t capacity,
                                                    int socket);
  ~RouteTable();

  Status add(const Prefix& prefix, const Nexthop& nexthop);

  // The next hop for `addr` (4 or 16 bytes, network order), or nullptr.
  const Nexthop* lookup(Family family, const uint8_t* addr) const;

  size_t size() const { return nexthops_.size(); }

 private:
  RouteTable() = default;
  rte_lpm* lpm4_ = nullptr;
  rte_lpm6* lpm6_ = nullptr;
  uint32_t capacity_ = 0;
  // The LPM libraries take prefix lengths from 1; a default route (/0) is
  // kept here and used when they find nothing. -1 = none.
  int64_t default4_ = -1;
  int64_t default6_ = -1;
  // Indexed by the value stored in the LPM tables. Reserved up front so
  // workers never see it move.
  std::vector<Nexthop> nexthops_;
};

}  // namespace sluice::dp
