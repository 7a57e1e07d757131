// The service table the workers read: VIP:port/proto -> the service's
// current immutable version. The control plane builds a new version off to
// the side, publishes it with one release store and hands the old one to an
// RCU defer queue; it is freed once every worker has passed a quiescent state.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dp/api/service.h"
#include "dp/api/status.h"
#include "dp/traffic.h"
#include "dp/vip_index.h"

struct rte_rcu_qsbr;
struct rte_rcu_qsbr_dq;

namespace sluice::dp {

inline constexpr uint16_t kNoEndpoint = 0xffff;

// An endpoint as workers see it. Its index in the version's array is stable
// for as long as the endpoint stays in the service; `gen` tells a flow that
// was given this index whether it is still the same endpoint (0 = empty).
// `gen` is unique over the whole table, so it also tells a traffic cell
// (dp/traffic.h) whose counts it holds; `stat` names that cell.
struct EndpointSlot {
  uint8_t addr[16];
  uint16_t port_be;  // network order
  EndpointState state;
  uint8_t pad;
  uint32_t gen;
  uint32_t stat;  // traffic cell, or kNoStat
};
static_assert(sizeof(EndpointSlot) == 28);

// Marks a live version; a freed one is overwritten with kServiceVersionFreed,
// so a reader that kept a pointer past its grace period reads garbage it can
// detect (the RCU stress test relies on this).
inline constexpr uint32_t kServiceVersionMagic = 0x5e7c1ce5;
inline constexpr uint32_t kServiceVersionFreed = 0xdeadbeef;

struct ServiceVersion {
  uint32_t magic;
  uint32_t slot;  // index in the service table
  uint32_t gen;   // generation of the service in that slot
  uint8_t family;
  uint8_t proto;
  uint16_t port_be;
  uint8_t vip[16];
  ForwardMode mode;
  Algorithm algorithm;
  bool affinity;
  // Not loaded (ServiceSpec::on_demand): no endpoints, no table; new flows
  // wait in the worker's hold queue (dp/hold.h).
  bool on_demand;
  uint32_t affinity_timeout_s;
  uint32_t table_size;      // Maglev M; 0 when on_demand
  uint32_t endpoint_count;  // size of endpoints[]
  const EndpointSlot* endpoints;
  const uint16_t* table;  // M entries: endpoint index or kNoEndpoint; nullptr when on_demand
  // Both arrays follow the struct in the same allocation.
};

class ServiceTable {
 public:
  // `stat_capacity`: endpoints given a traffic cell of their own.
  static Result<std::unique_ptr<ServiceTable>> create(const std::string& name, uint32_t capacity,
                                                      uint32_t stat_capacity, rte_rcu_qsbr* qsbr);
  ~ServiceTable();

  // Worker side, lock-free. `vip` is 4 or 16 bytes, `port_be` network order.
  const ServiceVersion* find(uint8_t family, uint8_t proto, uint16_t port_be,
                             const uint8_t* vip) const {
    return find(family, proto, port_be, vip, VipIndex::hashOf(family, proto, port_be, vip));
  }
  // The same with the key's VipIndex::hashOf already computed.
  const ServiceVersion* find(uint8_t family, uint8_t proto, uint16_t port_be, const uint8_t* vip,
                             uint32_t hash) const;
  // Burst helpers, as Conntrack's: prefetchIndex for each packet, then
  // prefetchVersion, then find. Hints only.
  void prefetchIndex(uint32_t hash) const { index_->prefetch(hash); }
  void prefetchVersion(uint32_t hash) const {
    uint32_t slot = index_->firstCandidate(hash);
    if (slot != VipIndex::kNotFound)
      __builtin_prefetch(slots_[slot].load(std::memory_order_relaxed));
  }
  // The current version in `slot` (nullptr when empty).
  const ServiceVersion* at(uint32_t slot) const {
    return slots_[slot].load(std::memory_order_acquire);
  }

  // Control-plane side (single writer).
  Status upsert(const ServiceSpec& spec, const std::vector<uint32_t>& table);
  Status remove(const ServiceKey& key);
  // Frees versions whose grace period has passed.
  void reclaim();
  size_t size() const { return by_key_.size(); }
  size_t capacity() const { return capacity_; }
  // Bytes of the version currently published for `key` (0 if none).
  size_t versionBytes(const ServiceKey& key) const;
  // Bytes of every published version (the sum of versionBytes).
  uint64_t totalVersionBytes() const { return version_bytes_; }
  // Bytes of the VIP index (its entries; the versions are counted apart).
  size_t indexBytes() const { return index_->memoryBytes(); }

  // Where each published service's traffic is counted, in key order: the
  // cells to read (dp/traffic.h). Control plane.
  struct EndpointCells {
    IpAddr addr;
    uint16_t port;
    uint32_t gen;
    uint32_t stat;  // kNoStat: not counted on its own
  };
  struct ServiceCells {
    ServiceKey key;
    uint32_t slot;
    uint32_t gen;
    std::vector<EndpointCells> endpoints;  // in the spec's order
  };
  std::vector<ServiceCells> cells() const;

 private:
  static uint32_t hashOf(const ServiceKey& k);

  // What the control plane remembers about a service between versions: which
  // index each endpoint holds and with which generation.
  struct EndpointState {
    uint16_t index;
    uint32_t gen;
    uint32_t stat;
  };
  struct SlotState {
    uint32_t gen = 0;
    ServiceKey key;
    std::map<std::string, EndpointState> endpoints;  // by "addr:port"
    std::vector<EndpointCells> order;                // the spec's endpoints in order
    std::vector<uint16_t> free_indices;
    uint16_t next_index = 0;
    size_t bytes = 0;
  };

  void retire(ServiceVersion* old);

  ServiceTable() = default;
  std::unique_ptr<VipIndex> index_;
  rte_rcu_qsbr* qsbr_ = nullptr;
  rte_rcu_qsbr_dq* dq_ = nullptr;
  uint32_t capacity_ = 0;
  std::unique_ptr<std::atomic<ServiceVersion*>[]> slots_;
  std::vector<SlotState> state_;
  std::vector<uint32_t> free_slots_;
  std::map<std::string, uint32_t> by_key_;  // key.toString() -> slot
  uint32_t next_endpoint_gen_ = 1;
  uint64_t version_bytes_ = 0;
  std::vector<uint32_t> free_stats_;
  // Cells of endpoints that left, free again once no worker can still be
  // counting in them for the old endpoint (an RCU token).
  struct RetiredStats {
    uint64_t token;
    std::vector<uint32_t> stats;
  };
  std::vector<RetiredStats> retired_stats_;
  void retireStats(std::vector<uint32_t> stats);
};

}  // namespace sluice::dp
