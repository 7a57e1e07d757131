// Packets waiting for their next hop's MAC. Small and bounded per worker:
// holding is for the first packets toward a new neighbor, not a buffer.
#pragma once

#include <cstdint>

#include "dp/api/types.h"

struct rte_mbuf;

namespace sluice::dp {

struct PendingPacket {
  rte_mbuf* m = nullptr;  // data starts at the L3 header
  uint16_t port_idx = 0;
  IpAddr nexthop;
  uint64_t deadline = 0;             // tsc after which it is dropped
  uint64_t next_probe = 0;           // tsc of the next ARP/ND probe for this next hop
  bool ipv4_checksum_ready = false;  // see l2Output
};

class PendingQueue {
 public:
  static constexpr unsigned kCapacity = 64;

  unsigned size() const { return count_; }
  bool full() const { return count_ == kCapacity; }
  // The packet already waiting for the same (port, next hop), if any; its
  // probe timing is shared.
  PendingPacket* findNexthop(uint16_t port_idx, const IpAddr& nexthop);
  // Adds a packet; the caller checked !full().
  PendingPacket& push(const PendingPacket& p);
  // Visits every packet; `fn(PendingPacket&)` returns true to remove it.
  template <class Fn>
  void sweep(Fn&& fn) {
    unsigned i = 0;
    while (i < count_) {
      if (fn(slots_[i])) {
        slots_[i] = slots_[--count_];
      } else {
        i++;
      }
    }
  }

 private:
  PendingPacket slots_[kCapacity];
  unsigned count_ = 0;
};

}  // namespace sluice::dp
