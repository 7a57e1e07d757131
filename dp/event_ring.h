// A worker's one-way ring of small fixed-size events to the control plane
// (neighbor learnings, service misses): an SPSC rte_ring of elements, so
// posting is lock-free, allocation-free and never waits.
#pragma once

#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <memory>
#include <string>

#include "dp/api/status.h"

namespace sluice::dp {

template <class Event>
class EventRing {
  static_assert(sizeof(Event) % 4 == 0, "rte_ring_elem takes multiples of 4 bytes");

 public:
  // `size`: a power of two; the ring holds size - 1 events.
  static Result<std::unique_ptr<EventRing>> create(const std::string& name, unsigned size,
                                                   int socket) {
    std::unique_ptr<EventRing> r(new EventRing());
    r->ring_ = rte_ring_create_elem(name.c_str(), sizeof(Event), size, socket,
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (r->ring_ == nullptr) {
      return Status::error("rte_ring_create_elem(" + name + "): " + rte_strerror(rte_errno));
    }
    return r;
  }
  ~EventRing() { rte_ring_free(ring_); }
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;

  // Worker side: false when the ring is full.
  bool post(const Event& event) {
    Event copy = event;  // rte_ring_enqueue_elem takes a non-const pointer
    return rte_ring_enqueue_elem(ring_, &copy, sizeof(Event)) == 0;
  }
  // Control-plane side: up to `max` events into `out`; returns how many.
  unsigned drain(Event* out, unsigned max) {
    return rte_ring_dequeue_burst_elem(ring_, out, sizeof(Event), max, nullptr);
  }

 private:
  EventRing() = default;
  rte_ring* ring_ = nullptr;
};

}  // namespace sluice::dp
