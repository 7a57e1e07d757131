// New-flow packets waiting for their on-demand service to be loaded. Small
// and bounded per worker, sized at start: holding covers the time the
// control plane takes to fetch a service's endpoints, it is not a buffer.
// Pure: it stores the packets as opaque pointers, so it is unit-tested
// without DPDK.
#pragma once

#include <cstdint>
#include <memory>

struct rte_mbuf;

namespace sluice::dp {

struct HeldPacket {
  rte_mbuf* m = nullptr;  // untouched since it arrived: data at the frame start
  uint32_t slot = 0;      // the service's slot and generation when held
  uint32_t gen = 0;
  uint64_t deadline = 0;  // tsc after which it is dropped
};

class HoldQueue {
 public:
  explicit HoldQueue(uint32_t capacity)
      : slots_(std::make_unique<HeldPacket[]>(capacity)), capacity_(capacity) {}

  uint32_t size() const { return count_; }
  uint32_t capacity() const { return capacity_; }
  bool full() const { return count_ == capacity_; }
  // Adds a packet at the back; the caller checked !full().
  void push(const HeldPacket& p) { slots_[count_++] = p; }

  // Visits every packet in arrival order; `fn(HeldPacket&)` returns true to
  // take it out. The packets kept stay in arrival order.
  template <class Fn>
  void sweep(Fn&& fn) {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < count_; i++) {
      if (fn(slots_[i])) continue;
      if (kept != i) slots_[kept] = slots_[i];
      kept++;
    }
    count_ = kept;
  }

 private:
  std::unique_ptr<HeldPacket[]> slots_;
  uint32_t capacity_;
  uint32_t count_ = 0;
};

}  // namespace sluice::dp
