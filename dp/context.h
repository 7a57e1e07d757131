// What every worker reads and nobody changes while workers run: the ports,
// the local addresses and the tables (which have their own lock-free update
// rules). Built by the Dataplane before launch.
#pragma once

#include <rte_config.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "dp/api/dataplane.h"
#include "dp/api/types.h"
#include "dp/conntrack.h"
#include "dp/eth.h"
#include "dp/neigh.h"
#include "dp/route.h"
#include "dp/services.h"

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

// SNAT ports: below kSnatPortMin are never used; of the rest, worker w owns
// the ports p with p % workers == w, so a reply's destination port names the
// worker that owns its flow, and with a power-of-two number of workers a NIC
// can steer replies there with one masked match (dp/steer.cc).
inline constexpr uint32_t kSnatPortMin = 1024;

struct DpContext {
  std::vector<PortCtx> ports;
  uint16_t port_idx_by_id[RTE_MAX_ETHPORTS] = {};
  LocalAddrs locals;
  RouteTable* routes = nullptr;
  NeighborTable* neighbors = nullptr;
  ServiceTable* services = nullptr;
  std::vector<IpAddr> snat_v4;
  std::vector<IpAddr> snat_v6;
  unsigned worker_count = 1;
  uint32_t snat_slice = 0;  // SNAT ports per worker
  ConntrackTimeouts ct_timeouts{};
  rte_rcu_qsbr* qsbr = nullptr;
  IdleSpec idle;
  uint64_t tsc_hz = 0;
  uint64_t tx_drain_tsc = 0;
  uint64_t resolve_tsc = 0;         // how long a packet may wait for its next hop
  uint64_t probe_interval_tsc = 0;  // between ARP/ND probes for one next hop
  uint32_t lazy_hold = 0;           // held packets per worker (DataplaneSpec::lazy_hold)
  uint64_t lazy_hold_tsc = 0;       // how long one may wait for its service to load

  bool isSnat(Family family, const uint8_t* addr) const {
    for (const IpAddr& a : family == Family::kV4 ? snat_v4 : snat_v6) {
      if (sameAddr(family, a.bytes.data(), addr)) return true;
    }
    return false;
  }
  // The worker owning SNAT port `port` (host order), or -1 for none.
  int snatOwner(uint32_t port) const {
    if (port < kSnatPortMin) return -1;
    return static_cast<int>(port % worker_count);
  }
};

}  // namespace sluice::dp
