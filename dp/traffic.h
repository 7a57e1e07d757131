// Per-service and per-endpoint traffic counters of one worker. Each counted
// thing has a 64-byte cell the worker alone writes (relaxed stores, no
// read-modify-write) and the control plane reads at any time.
//
// Cells are indexed by service slot or endpoint stat id, both of which the
// control plane reuses. A cell therefore carries the generation of its
// owner: the worker restarts a cell from zero when it first counts for a new
// generation, and a flow that outlives its service or endpoint only
// decrements a cell still of its own generation. A reader takes a cell's
// numbers only when the generation it expects is there before and after
// the read (a seqlock whose sequence is the generation).
//
// Pure C++: no DPDK.
#pragma once

#include <atomic>
#include <cstdint>

#include "dp/api/dataplane.h"
#include "dp/large_array.h"

namespace sluice::dp {

// An endpoint without a cell of its own (past endpoint_stats_capacity).
inline constexpr uint32_t kNoStat = 0xffffffff;

struct alignas(64) TrafficCell {
  uint32_t gen;  // whose counts these are; 0 = nobody's (or being reset)
  uint32_t active;
  uint64_t new_flows;
  uint64_t in_packets;
  uint64_t in_bytes;
  uint64_t out_packets;
  uint64_t out_bytes;
};
static_assert(sizeof(TrafficCell) == 64);

class TrafficCells {
 public:
  TrafficCells() = default;
  // Zeroed cells for `services` slots and `endpoints` stat ids; false from
  // ok() when the memory cannot be had.
  TrafficCells(uint32_t services, uint32_t endpoints)
      : services_(LargeArray<TrafficCell>::zeroed(services)),
        endpoints_(LargeArray<TrafficCell>::zeroed(endpoints)),
        service_count_(services),
        endpoint_count_(endpoints) {}
  bool ok() const {
    return (service_count_ == 0 || services_) && (endpoint_count_ == 0 || endpoints_);
  }
  size_t memoryBytes() const { return services_.mappedBytes() + endpoints_.mappedBytes(); }

  // Worker side. The cell of service `slot` / endpoint `stat` for
  // generation `gen` (restarted if it held another's); nullptr for kNoStat.
  TrafficCell& service(uint32_t slot, uint32_t gen) { return own(services_[slot], gen); }
  TrafficCell* endpoint(uint32_t stat, uint32_t gen) {
    return stat == kNoStat ? nullptr : &own(endpoints_[stat], gen);
  }
  static void countNewFlow(TrafficCell& c) {
    bump(c.new_flows, 1);
    store32(c.active, load32(c.active) + 1);
  }
  static void countIn(TrafficCell& c, uint32_t bytes) {
    bump(c.in_packets, 1);
    bump(c.in_bytes, bytes);
  }
  static void countOut(TrafficCell& c, uint32_t bytes) {
    bump(c.out_packets, 1);
    bump(c.out_bytes, bytes);
  }
  // A flow of service `slot`/`service_gen` and endpoint `stat`/`endpoint_gen`
  // ended: each cell still of that generation has one active flow less.
  void flowEnded(uint32_t slot, uint32_t service_gen, uint32_t stat, uint32_t endpoint_gen) {
    release(services_[slot], service_gen);
    if (stat != kNoStat) release(endpoints_[stat], endpoint_gen);
  }

  // Control-plane side: adds the cell's numbers to *out when it holds
  // generation `gen`; a cell of another generation counts as zero.
  void readService(uint32_t slot, uint32_t gen, TrafficStats* out) const {
    read(services_[slot], gen, out);
  }
  void readEndpoint(uint32_t stat, uint32_t gen, TrafficStats* out) const {
    if (stat != kNoStat) read(endpoints_[stat], gen, out);
  }

 private:
  static uint64_t load64(const uint64_t& v) {
    return std::atomic_ref<const uint64_t>(v).load(std::memory_order_relaxed);
  }
  static uint32_t load32(const uint32_t& v) {
    return std::atomic_ref<const uint32_t>(v).load(std::memory_order_relaxed);
  }
  static void store32(uint32_t& v, uint32_t x) {
    std::atomic_ref<uint32_t>(v).store(x, std::memory_order_relaxed);
  }
  static void bump(uint64_t& v, uint64_t n) {
    std::atomic_ref<uint64_t>(v).store(load64(v) + n, std::memory_order_relaxed);
  }

  static TrafficCell& own(TrafficCell& c, uint32_t gen) {
    if (load32(c.gen) != gen) [[unlikely]] {
      store32(c.gen, 0);
      std::atomic_thread_fence(std::memory_order_release);
      for (uint64_t* v : {&c.new_flows, &c.in_packets, &c.in_bytes, &c.out_packets, &c.out_bytes})
        std::atomic_ref<uint64_t>(*v).store(0, std::memory_order_relaxed);
      store32(c.active, 0);
      std::atomic_ref<uint32_t>(c.gen).store(gen, std::memory_order_release);
    }
    return c;
  }
  static void release(TrafficCell& c, uint32_t gen) {
    if (gen != 0 && load32(c.gen) == gen) {
      uint32_t a = load32(c.active);
      if (a != 0) store32(c.active, a - 1);
    }
  }
  static void read(const TrafficCell& c, uint32_t gen, TrafficStats* out) {
    if (gen == 0 || std::atomic_ref<const uint32_t>(c.gen).load(std::memory_order_acquire) != gen)
      return;
    TrafficStats t;
    t.new_flows = load64(c.new_flows);
    t.active_flows = load32(c.active);
    t.in_packets = load64(c.in_packets);
    t.in_bytes = load64(c.in_bytes);
    t.out_packets = load64(c.out_packets);
    t.out_bytes = load64(c.out_bytes);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (load32(c.gen) != gen) return;  // restarted meanwhile: a new owner's
    *out += t;
  }

  LargeArray<TrafficCell> services_;
  LargeArray<TrafficCell> endpoints_;
  uint32_t service_count_ = 0;
  uint32_t endpoint_count_ = 0;
};

}  // namespace sluice::dp
