// What every worker reads and nobody changes while workers run: the ports,
// the local addresses and the tables (which have their own lock-free update
// rules). Built by the Dataplane before launch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dp/api/dataplane.h"
#include "dp/api/types.h"
#include "dp/neigh.h"
#include "dp/route.h"

struct rte_mempool;
struct rte_rcu_qsbr;

namespace sluice::dp {

struct PortCtx {
  std::string name;
  uint16_t port_id = 0;
  MacAddr mac;
  uint16_t vlan = 0;
  bool tx_ipv4_cksum_offload = false;
  rte_mempool* pool = nullptr;  // for packets the gateway generates on this port
};

struct LocalAddr {
  uint16_t port_idx;
  Prefix prefix;  // the address with its subnet's length
};

// The addresses this gateway owns. A handful per port: a linear scan over one
// or two cache lines beats a hash here.
class LocalAddrs {
 public:
  void add(uint16_t port_idx, const Prefix& p) { addrs_.push_back({port_idx, p}); }
  // The local address equal to `addr`, on any port, or nullptr.
  const LocalAddr* find(Family family, const uint8_t* addr) const;
  // The same, restricted to one port.
  const LocalAddr* findOnPort(uint16_t port_idx, Family family, const uint8_t* addr) const;
  // The address to send from on `port_idx` toward `dst`: one whose subnet
  // holds `dst`, else the first of that family on the port, else nullptr.
  const LocalAddr* sourceFor(uint16_t port_idx, const IpAddr& dst) const;
  // True when `addr` lies in a subnet connected to `port_idx`.
  bool onLink(uint16_t port_idx, const IpAddr& addr) const;
  const std::vector<LocalAddr>& all() const { return addrs_; }

 private:
  std::vector<LocalAddr> addrs_;
};

struct DpContext {
  std::vector<PortCtx> ports;
  LocalAddrs locals;
  RouteTable* routes = nullptr;
  NeighborTable* neighbors = nullptr;
  rte_rcu_qsbr* qsbr = nullptr;
  IdleSpec idle;
  uint64_t tsc_hz = 0;
  uint64_t tx_drain_tsc = 0;
  uint64_t resolve_tsc = 0;         // how long a packet may wait for its next hop
  uint64_t probe_interval_tsc = 0;  // between ARP/ND probes for one next hop
};

}  // namespace sluice::dp
