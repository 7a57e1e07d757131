// The neighbor table: (port, IP) -> MAC. The control plane is its only
// writer; workers read it lock-free and post what they learn from ARP and ND
// to the control plane through one SPSC ring each.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "dp/api/status.h"
#include "dp/api/types.h"
#include "dp/event_ring.h"

struct rte_hash;

namespace sluice::dp {

// A learning posted by a worker. Its size is a multiple of 4 for rte_ring_elem.
struct NeighborEvent {
  uint16_t port_idx;
  uint8_t family;  // 4 or 6
  uint8_t pad;
  uint8_t addr[16];
  uint8_t mac[6];
  uint8_t pad2[2];
};
static_assert(sizeof(NeighborEvent) == 28 && sizeof(NeighborEvent) % 4 == 0);

class NeighborTable {
 public:
  static Result<std::unique_ptr<NeighborTable>> create(const std::string& name, uint32_t capacity,
                                                       int socket);
  ~NeighborTable();

  // Worker side, lock-free. True and *mac set when the neighbor is known.
  bool lookup(uint16_t port_idx, Family family, const uint8_t* addr, MacAddr* mac) const;

  // Control-plane side (single writer). A static entry is never replaced by
  // a learned one.
  Status set(uint16_t port_idx, const IpAddr& addr, const MacAddr& mac, bool is_static);

  struct Entry {
    uint16_t port_idx;
    IpAddr addr;
    MacAddr mac;
    bool is_static;
  };
  std::vector<Entry> list() const;

  // Goes up whenever a known neighbor's MAC changes, so workers may cache
  // lookups and trust them while it stays the same. New entries do not move
  // it: nothing cached can be stale because of them.
  uint64_t generation() const { return gen_.load(std::memory_order_acquire); }

 private:
  struct Key {
    uint16_t port_idx;
    uint8_t family;
    uint8_t pad;
    uint8_t addr[16];
  };
  static_assert(sizeof(Key) == 20);
  // The MAC lives in one 64-bit word (48 bits of address, bit 63 = valid) so a
  // worker reads it in a single load while the control plane rewrites it.
  struct Slot {
    std::atomic<uint64_t> mac_word{0};
    bool is_static = false;
    Key key{};
  };
  static Key makeKey(uint16_t port_idx, Family family, const uint8_t* addr);

  NeighborTable() = default;
  rte_hash* hash_ = nullptr;
  std::unique_ptr<Slot[]> slots_;
  uint32_t capacity_ = 0;
  uint32_t used_ = 0;
  std::atomic<uint64_t> gen_{1};
};

// A worker's ring of NeighborEvents to the control plane.
using NeighborEventRing = EventRing<NeighborEvent>;
inline constexpr unsigned kNeighborEventRingSize = 1024;

}  // namespace sluice::dp
