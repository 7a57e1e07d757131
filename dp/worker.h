// A worker lcore: polls its (port, rx queue) pairs and runs every packet to
// completion. Owns one tx queue per port, its counters, its pending queue, its
// hold queue for on-demand services and its rings of neighbor learnings and
// service misses. Nothing here makes a syscall, takes a lock,
// allocates from the heap, logs or throws (the backoff sleep is the one
// documented exception, taken only when there is nothing to do).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dp/affinity.h"
#include "dp/api/counters.h"
#include "dp/conntrack.h"
#include "dp/context.h"
#include "dp/flow_scan.h"
#include "dp/hold.h"
#include "dp/parse.h"
#include "dp/pending.h"
#include "dp/traffic.h"

struct rte_mbuf;
struct rte_ring;

namespace sluice::dp {

inline constexpr uint16_t kBurst = 32;
inline constexpr uint16_t kMaxPorts = 16;

// A TCP/UDP packet's conntrack key as it arrived and where it lives in the
// worker's table: computed once, in the burst's first pass.
struct FlowProbe {
  FlowKey key;
  Conntrack::Probe probe;
  uint32_t vip_hash;  // VipIndex::hashOf the destination as a VIP
};

struct RxQueue {
  uint16_t port_idx;
  uint16_t port_id;
  uint16_t queue;
};

class Worker {
 public:
  Worker(const DpContext& ctx, unsigned index, unsigned lcore, std::vector<RxQueue> rx,
         NeighborEventRing* events, ServiceMissRing* misses, std::unique_ptr<Conntrack> conntrack,
         TrafficCells traffic);

  // Rings to and from the other workers: to[i] carries packets whose flow
  // worker i owns; from[i] the ones worker i hands here (index = self unused).
  void setHandoffRings(std::vector<rte_ring*> to, std::vector<rte_ring*> from);

  // One pass over every rx queue, then pending packets and tx drain.
  // Returns the number of packets received.
  unsigned pollOnce();
  // Polls until `stop` is set, applying the idle policy.
  void run(const std::atomic<bool>& stop);
  // Frees whatever is still buffered or pending (after the worker stopped).
  void release();

  const DpContext& ctx() const { return ctx_; }
  WorkerCounters& counters() { return counters_; }
  const WorkerCounters& counters() const { return counters_; }
  unsigned lcore() const { return lcore_; }
  unsigned index() const { return index_; }

  // Buffers `m` for transmission on port `port_idx`.
  void send(uint16_t port_idx, rte_mbuf* m);
  // Frees `m` and counts the reason.
  void drop(rte_mbuf* m, Drop reason);
  // Tells the control plane that `addr` on `port_idx` is at `mac`, unless
  // the neighbor table already says so.
  void learnNeighbor(uint16_t port_idx, Family family, const uint8_t* addr, const uint8_t* mac);
  PendingQueue& pending() { return pending_; }
  LazyHold& lazy() { return lazy_; }
  // Runs a packet that waited in the hold queue through the pipeline again,
  // as if it had just arrived on its port (m->port).
  void reinject(rte_mbuf* m);
  uint64_t now() const { return now_; }
  Conntrack& conntrack() { return *ct_; }
  const Conntrack& conntrack() const { return *ct_; }
  AffinityTable& affinity() { return affinity_; }
  TrafficCells& traffic() { return traffic_; }
  const TrafficCells& traffic() const { return traffic_; }
  // The control plane's flow listings of this worker's table.
  FlowScan& flowScan() { return scan_; }
  // Conntrack occupancy as of the last poll iteration, for the control plane.
  uint32_t publishedFlows() const { return gauges_.flows.load(std::memory_order_relaxed); }
  uint32_t publishedHalfOpen() const { return gauges_.half_open.load(std::memory_order_relaxed); }
  // The MAC of neighbor `addr` on `port_idx`, through a small per-worker
  // cache in front of the neighbor table (valid while its generation holds).
  bool resolveNeighbor(uint16_t port_idx, Family family, const uint8_t* addr, MacAddr* mac);
  // Passes `m` to worker `owner`, which owns its flow.
  void handoff(unsigned owner, rte_mbuf* m);
  // Next candidate SNAT port of this worker's slice for `family`.
  uint16_t nextSnatPort(Family family);

 private:
  void handle(rte_mbuf* m, uint16_t port_idx, bool handed_off);
  // Fills *fp for a parsed TCP/UDP packet; false for anything else.
  bool probeOf(rte_mbuf* m, Drop parsed, const PacketMeta& meta, FlowProbe* fp) const;
  // The part of handle() after parsing: `parsed` is parsePacket's verdict;
  // `fp` the packet's flow probe when it is TCP/UDP (nullptr otherwise).
  void dispatch(rte_mbuf* m, uint16_t port_idx, bool handed_off, Drop parsed,
                const PacketMeta& meta, const FlowProbe* fp);
  unsigned drainHandoffs();
  void flush(uint16_t port_idx);
  void flushAll();
  void servicePending();
  static void flowRemoved(void* self, const Flow& f);

  const DpContext& ctx_;
  unsigned index_;
  unsigned lcore_;
  std::vector<RxQueue> rx_;
  NeighborEventRing* events_;
  uint64_t now_ = 0;
  uint64_t last_flush_ = 0;
  uint64_t last_sweep_ = 0;
  uint64_t sweep_tsc_per_flow_ = 1;
  PendingQueue pending_;
  LazyHold lazy_;
  std::unique_ptr<Conntrack> ct_;
  AffinityTable affinity_;
  TrafficCells traffic_;
  FlowScan scan_{kMaxFlowListLimit};
  std::vector<rte_ring*> handoff_to_;
  std::vector<rte_ring*> handoff_from_;
  uint32_t snat_cursor_[2] = {0, 0};

  struct NeighborCacheEntry {
    uint64_t gen = 0;  // 0 = empty
    uint16_t port_idx = 0;
    uint8_t family = 0;
    uint8_t addr[16] = {};
    MacAddr mac;
  };
  static constexpr unsigned kNeighborCacheSize = 256;  // direct mapped
  NeighborCacheEntry neighbor_cache_[kNeighborCacheSize];

  struct TxBuffer {
    uint16_t count = 0;
    rte_mbuf* pkts[kBurst];
  };
  TxBuffer tx_[kMaxPorts];
  alignas(64) WorkerCounters counters_{};
  struct alignas(64) Gauges {
    std::atomic<uint32_t> flows{0};
    std::atomic<uint32_t> half_open{0};
  } gauges_;
};

// Stage entry points (one file each). Each consumes the mbuf: it sends it,
// holds it, or returns the reason the caller drops it for.
Drop arpInput(Worker& w, rte_mbuf* m, const PacketMeta& meta, uint16_t port_idx);
Drop ndInput(Worker& w, rte_mbuf* m, const PacketMeta& meta, uint16_t port_idx);
Drop echoInput(Worker& w, rte_mbuf* m, const PacketMeta& meta, uint16_t port_idx);
// Load balancing of TCP/UDP: requests to a VIP, replies to a translated
// flow. Returns false when the packet is none of these (it is then for the
// gateway itself); otherwise it consumed the packet or set *drop.
bool lbInput(Worker& w, rte_mbuf* m, const PacketMeta& meta, const FlowProbe& fp, bool handed_off,
             Drop* drop);
// The conntrack key of a parsed TCP/UDP packet as it arrived.
void flowKeyOf(rte_mbuf* m, const PacketMeta& meta, FlowKey* key);
// Routes an IP packet whose data starts at its L3 header (m->l3_len set):
// route lookup, neighbor lookup (holding the packet while it resolves),
// Ethernet header, checksum finish, tx buffer.
// `ipv4_checksum_ready`: the IPv4 header checksum is already right (kept
// incrementally), so a port without offload need not sum the header again.
Drop l2Output(Worker& w, rte_mbuf* m, Family family, bool ipv4_checksum_ready = false);
// Sends the packet a pending entry holds, if its next hop is now known.
bool l2Release(Worker& w, PendingPacket& p);
// ARP request or neighbor solicitation for `target` on `port_idx`.
void solicit(Worker& w, uint16_t port_idx, const IpAddr& target);
void arpSolicit(Worker& w, uint16_t port_idx, const IpAddr& target);
void ndSolicit(Worker& w, uint16_t port_idx, const IpAddr& target);

}  // namespace sluice::dp
