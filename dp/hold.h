// Lazy loading on the worker side: a new flow to an on-demand service (one
// whose endpoints are not loaded) is held in the worker's HoldQueue and the
// miss is posted to the control plane through the worker's SPSC miss ring.
// Each poll, before its rx bursts, the worker looks at its held packets
// again: those whose service was loaded go through the load-balancing path
// in arrival order (a packet that arrives in the very poll the service is
// published, after the look, may pass them by one poll); the others
// are dropped and counted at their deadline, or as soon as their service is
// removed.
#pragma once

#include <cstdint>
#include <memory>

#include "dp/api/counters.h"
#include "dp/event_ring.h"
#include "dp/hold_queue.h"

struct rte_mbuf;

namespace sluice::dp {

struct ServiceVersion;
class Worker;

// A miss posted by a worker: the service's key as the worker read it, and
// the slot and generation it was found in. A multiple of 4 for rte_ring_elem.
struct ServiceMiss {
  uint8_t family;  // 4 or 6
  uint8_t proto;
  uint16_t port_be;
  uint8_t vip[16];
  uint32_t slot;
  uint32_t gen;
};
static_assert(sizeof(ServiceMiss) == 28 && sizeof(ServiceMiss) % 4 == 0);

// A worker's ring of ServiceMisses to the control plane.
using ServiceMissRing = EventRing<ServiceMiss>;
inline constexpr unsigned kServiceMissRingSize = 1024;

// A worker's lazy-loading state. The hold queue and the release batch are
// sized at start; nothing here allocates afterwards.
class LazyHold {
 public:
  LazyHold(uint32_t capacity, ServiceMissRing* misses)
      : queue_(capacity), release_(std::make_unique<rte_mbuf*[]>(capacity)), misses_(misses) {}

  uint32_t size() const { return queue_.size(); }

  // Holds `m`, a new flow's first packet to on-demand service `svc`, and
  // posts the miss unless this service's was posted within the last hold
  // period and has not been answered (loaded) since. Returns Drop::kNone when it took the packet,
  // else the reason the caller drops it for.
  Drop hold(Worker& w, rte_mbuf* m, const ServiceVersion* svc);
  // Releases, drops or keeps every held packet (see the file comment).
  // Cheap to skip: call it only when size() != 0.
  void service(Worker& w);
  // Drops every held packet (the worker stopped).
  void release(Worker& w);

 private:
  void postMiss(Worker& w, const ServiceVersion* svc);

  HoldQueue queue_;
  std::unique_ptr<rte_mbuf*[]> release_;  // packets leaving the queue this poll
  ServiceMissRing* misses_;
  // The last miss posted per service, direct-mapped by slot: a flood of new
  // flows to one service posts one miss, not one per packet. A collision only
  // posts again, and the control plane drops duplicates.
  struct MissMark {
    uint32_t slot = 0;
    uint32_t gen = 0;     // 0: no mark (generations start at 1)
    uint64_t posted = 0;  // tsc
  };
  static constexpr unsigned kMissMarks = 1024;
  MissMark marks_[kMissMarks];
};

}  // namespace sluice::dp
