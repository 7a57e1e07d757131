#include "dp/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>

#include "dp/eth.h"

namespace sluice::dp {

namespace {
// Per-worker affinity memory; a cache (see affinity.h), so a fixed size does.
constexpr uint32_t kAffinityEntries = 65536;
// The conntrack sweep passes over the whole table once per this period
// (lookups expire flows lazily; the sweep only reclaims idle ones), and
// examines at most kSweepBudget flows per loop iteration. Sweeping a fixed
// number per iteration instead made a big table's sweep read a flow line per
// packet under load.
constexpr uint64_t kSweepPeriodS = 1;
constexpr unsigned kSweepBudget = 32;
// Conntrack slots a flow listing examines per poll iteration: a few
// microseconds, so a listing of 10M slots takes a few thousand iterations.
constexpr uint32_t kFlowScanBudget = 4096;
}  // namespace

Worker::Worker(const DpContext& ctx, unsigned index, unsigned lcore, std::vector<RxQueue> rx,
               NeighborEventRing* events, ServiceMissRing* misses,
               std::unique_ptr<Conntrack> conntrack, TrafficCells traffic)
    : ctx_(ctx),
      index_(index),
      lcore_(lcore),
      rx_(std::move(rx)),
      events_(events),
      lazy_(ctx.lazy_hold, misses),
      ct_(std::move(conntrack)),
      affinity_(kAffinityEntries),
      traffic_(std::move(traffic)) {
  sweep_tsc_per_flow_ = std::max<uint64_t>(1, ctx_.tsc_hz * kSweepPeriodS / ct_->capacity());
  ct_->setRemoveHook(&Worker::flowRemoved, this);
}

void Worker::flowRemoved(void* self, const Flow& f) {
  static_cast<Worker*>(self)->traffic_.flowEnded(f.service_slot, f.service_gen, f.endpoint_stat,
                                                 f.endpoint_gen);
}

void Worker::setHandoffRings(std::vector<rte_ring*> to, std::vector<rte_ring*> from) {
  handoff_to_ = std::move(to);
  handoff_from_ = std::move(from);
}

bool Worker::resolveNeighbor(uint16_t port_idx, Family family, const uint8_t* addr, MacAddr* mac) {
  unsigned len = family == Family::kV4 ? 4 : 16;
  NeighborCacheEntry& e =
      neighbor_cache_[(addr[len - 1] ^ addr[len - 2] ^ port_idx) % kNeighborCacheSize];
  uint64_t gen = ctx_.neighbors->generation();
  if (e.gen == gen && e.port_idx == port_idx && e.family == static_cast<uint8_t>(family) &&
      sameAddr(family, e.addr, addr)) {
    *mac = e.mac;
    return true;
  }
  if (!ctx_.neighbors->lookup(port_idx, family, addr, mac)) return false;
  e.gen = gen;
  e.port_idx = port_idx;
  e.family = static_cast<uint8_t>(family);
  std::memcpy(e.addr, addr, len);
  e.mac = *mac;
  return true;
}

void Worker::handoff(unsigned owner, rte_mbuf* m) {
  if (rte_ring_sp_enqueue(handoff_to_[owner], m) != 0) return drop(m, Drop::handoff_full);
  counters_.add(WorkerEvent::handoffs);
}

uint16_t Worker::nextSnatPort(Family family) {
  // This worker's ports: first, first + W, first + 2W, ... below 65536.
  uint32_t& c = snat_cursor_[family == Family::kV4 ? 0 : 1];
  unsigned workers = ctx_.worker_count;
  uint32_t first = kSnatPortMin + (index_ + workers - kSnatPortMin % workers) % workers;
  uint32_t port = first + c * workers;
  if (++c == ctx_.snat_slice) c = 0;
  return static_cast<uint16_t>(port);
}

unsigned Worker::drainHandoffs() {
  unsigned total = 0;
  for (rte_ring* r : handoff_from_) {
    if (r == nullptr) continue;
    rte_mbuf* pkts[kBurst];
    unsigned n = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts), kBurst, nullptr);
    for (unsigned i = 0; i < n; i++) handle(pkts[i], ctx_.port_idx_by_id[pkts[i]->port], true);
    total += n;
  }
  return total;
}

void Worker::send(uint16_t port_idx, rte_mbuf* m) {
  TxBuffer& b = tx_[port_idx];
  b.pkts[b.count++] = m;
  if (b.count == kBurst) flush(port_idx);
}

void Worker::drop(rte_mbuf* m, Drop reason) {
  counters_.drop(reason);
  rte_pktmbuf_free(m);
}

void Worker::flush(uint16_t port_idx) {
  TxBuffer& b = tx_[port_idx];
  if (b.count == 0) return;
  uint16_t sent = rte_eth_tx_burst(ctx_.ports[port_idx].port_id, static_cast<uint16_t>(index_),
                                   b.pkts, b.count);
  counters_.add(WorkerEvent::tx_packets, sent);
  for (uint16_t i = sent; i < b.count; i++) drop(b.pkts[i], Drop::tx_full);
  b.count = 0;
}

void Worker::flushAll() {
  for (uint16_t p = 0; p < ctx_.ports.size(); p++) flush(p);
  last_flush_ = now_;
}

void Worker::learnNeighbor(uint16_t port_idx, Family family, const uint8_t* addr,
                           const uint8_t* mac) {
  MacAddr known;
  if (ctx_.neighbors->lookup(port_idx, family, addr, &known) &&
      std::memcmp(known.bytes.data(), mac, 6) == 0) {
    return;
  }
  NeighborEvent ev{};
  ev.port_idx = port_idx;
  ev.family = static_cast<uint8_t>(family);
  std::memcpy(ev.addr, addr, family == Family::kV4 ? 4 : 16);
  std::memcpy(ev.mac, mac, 6);
  if (events_->post(ev)) {
    counters_.add(WorkerEvent::neigh_updates);
  } else {
    counters_.add(WorkerEvent::neigh_updates_lost);
  }
}

void Worker::reinject(rte_mbuf* m) {
  handle(m, ctx_.port_idx_by_id[m->port], false);
}

void Worker::handle(rte_mbuf* m, uint16_t port_idx, bool handed_off) {
  PacketMeta meta;
  Drop d = m->nb_segs != 1
               ? Drop::multi_segment
               : parsePacket(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), meta);
  FlowProbe fp;
  bool keyed = probeOf(m, d, meta, &fp);
  dispatch(m, port_idx, handed_off, d, meta, keyed ? &fp : nullptr);
}

bool Worker::probeOf(rte_mbuf* m, Drop parsed, const PacketMeta& meta, FlowProbe* fp) const {
  if (parsed != Drop::kNone || meta.l3 == L3::kArp || (meta.proto != 6 && meta.proto != 17)) {
    return false;
  }
  flowKeyOf(m, meta, &fp->key);
  fp->probe = ct_->probe(fp->key);
  fp->vip_hash = VipIndex::hashOf(fp->key.family, fp->key.proto, fp->key.dport, fp->key.dst);
  return true;
}

void Worker::dispatch(rte_mbuf* m, uint16_t port_idx, bool handed_off, Drop d,
                      const PacketMeta& meta, const FlowProbe* fp) {
  if (d != Drop::kNone) return drop(m, d);
  const auto* data = rte_pktmbuf_mtod(m, const uint8_t*);
  const PortCtx& port = ctx_.ports[port_idx];
  if ((meta.has_vlan ? meta.vlan_id : 0) != port.vlan) return drop(m, Drop::vlan_mismatch);
  // Broadcast and multicast frames pass; unicast ones must be ours.
  if ((data[0] & 1) == 0 && std::memcmp(data, port.mac.bytes.data(), 6) != 0) {
    return drop(m, Drop::eth_not_for_us);
  }

  switch (meta.l3) {
    case L3::kArp:
      d = arpInput(*this, m, meta, port_idx);
      break;
    case L3::kIpv4:
    case L3::kIpv6: {
      Family family = meta.l3 == L3::kIpv4 ? Family::kV4 : Family::kV6;
      if (family == Family::kV6 && meta.proto == 58 &&
          (meta.icmp_type == 135 || meta.icmp_type == 136)) {
        d = ndInput(*this, m, meta, port_idx);
        break;
      }
      if (meta.ipv6_routing) {
        d = Drop::ipv6_routing_header;
        break;
      }
      if (fp != nullptr && lbInput(*this, m, meta, *fp, handed_off, &d)) break;
      const uint8_t* dst = data + meta.l3_off + (family == Family::kV4 ? 16 : 24);
      if (ctx_.locals.find(family, dst) == nullptr) {
        d = Drop::not_local;
        break;
      }
      bool echo = (family == Family::kV4 && meta.proto == 1 && meta.icmp_type == 8) ||
                  (family == Family::kV6 && meta.proto == 58 && meta.icmp_type == 128);
      d = echo ? echoInput(*this, m, meta, port_idx) : Drop::local_unhandled;
      break;
    }
    case L3::kNone:
      d = Drop::ethertype_unsupported;
      break;
  }
  if (d != Drop::kNone) drop(m, d);
}

void Worker::servicePending() {
  pending_.sweep([this](PendingPacket& p) {
    if (l2Release(*this, p)) return true;
    if (now_ >= p.deadline) {
      drop(p.m, Drop::neigh_timeout);
      return true;
    }
    if (now_ >= p.next_probe) {
      solicit(*this, p.port_idx, p.nexthop);
      // Every packet waiting on this next hop shares the probe schedule.
      uint64_t next = now_ + ctx_.probe_interval_tsc;
      pending_.sweep([&](PendingPacket& q) {
        if (q.port_idx == p.port_idx && q.nexthop == p.nexthop) q.next_probe = next;
        return false;
      });
    }
    return false;
  });
}

unsigned Worker::pollOnce() {
  now_ = rte_rdtsc();
  const uint64_t sent_before = counters_.get(WorkerEvent::tx_packets);
  // Before this poll's packets, so a loaded service's held packets go first.
  if (lazy_.size() != 0) [[unlikely]]
    lazy_.service(*this);
  unsigned total = 0;
  bool drained = true;
  for (const RxQueue& q : rx_) {
    rte_mbuf* pkts[kBurst];
    uint16_t n = rte_eth_rx_burst(q.port_id, q.queue, pkts, kBurst);
    if (n == 0) continue;
    if (n == kBurst) drained = false;
    counters_.add(WorkerEvent::rx_packets, n);
    counters_.add(WorkerEvent::rx_bursts);
    // Three passes over the burst so its cache misses overlap: parse and
    // prefetch each flow's buckets and VIP index entry, then each flow and
    // service version, then handle.
    PacketMeta metas[kBurst];
    Drop parsed[kBurst];
    FlowProbe probes[kBurst];
    bool keyed[kBurst];
    for (uint16_t i = 0; i < n; i++) {
      if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
      rte_mbuf* m = pkts[i];
      // Not every driver sets it; a packet handed to another worker needs it.
      m->port = q.port_id;
      parsed[i] = m->nb_segs != 1 ? Drop::multi_segment
                                  : parsePacket(rte_pktmbuf_mtod(m, const uint8_t*),
                                                rte_pktmbuf_data_len(m), metas[i]);
      keyed[i] = probeOf(m, parsed[i], metas[i], &probes[i]);
      if (keyed[i]) {
        ct_->prefetchBuckets(probes[i].probe);
        ctx_.services->prefetchIndex(probes[i].vip_hash);
      }
    }
    for (uint16_t i = 0; i < n; i++) {
      if (keyed[i]) {
        ct_->prefetchFlow(probes[i].probe);
        ctx_.services->prefetchVersion(probes[i].vip_hash);
      }
    }
    for (uint16_t i = 0; i < n; i++) {
      dispatch(pkts[i], q.port_idx, false, parsed[i], metas[i], keyed[i] ? &probes[i] : nullptr);
    }
    total += n;
  }
  if (!handoff_from_.empty()) total += drainHandoffs();
  if (pending_.size() != 0) servicePending();
  if (now_ - last_sweep_ >= sweep_tsc_per_flow_) {
    uint64_t due = (now_ - last_sweep_) / sweep_tsc_per_flow_;
    // A backlog past one budget is dropped: the pace, not the count, matters.
    last_sweep_ = due > kSweepBudget ? now_ : last_sweep_ + due * sweep_tsc_per_flow_;
    auto budget = static_cast<unsigned>(std::min<uint64_t>(due, kSweepBudget));
    if (unsigned expired = ct_->sweep(now_, budget); expired != 0) {
      counters_.add(WorkerEvent::ct_expired, expired);
    }
  }
  if (scan_.pending()) [[unlikely]]
    scan_.step(*ct_, kFlowScanBudget);
  gauges_.flows.store(ct_->size(), std::memory_order_relaxed);
  gauges_.half_open.store(ct_->halfOpen(), std::memory_order_relaxed);
  // Flush when the queues ran dry (nothing more is coming soon) or when the
  // drain timer says buffered packets have waited long enough.
  if (drained || now_ - last_flush_ >= ctx_.tx_drain_tsc) flushAll();
  // Only iterations that moved packets: busy_cycles / rx_packets is then the
  // cost of a packet under load, whatever the idle polls in between cost.
  if (total != 0 || counters_.get(WorkerEvent::tx_packets) != sent_before) {
    counters_.add(WorkerEvent::busy_cycles, rte_rdtsc() - now_);
  }
  return total;
}

void Worker::run(const std::atomic<bool>& stop) {
  rte_rcu_qsbr_thread_register(ctx_.qsbr, index_);
  rte_rcu_qsbr_thread_online(ctx_.qsbr, index_);
  const IdleSpec& idle = ctx_.idle;
  uint32_t empty = 0;
  uint32_t sleep_us = 1;
  while (!stop.load(std::memory_order_relaxed)) {
    unsigned n = pollOnce();
    rte_rcu_qsbr_quiescent(ctx_.qsbr, index_);
    if (n != 0 || idle.policy == IdlePolicy::kBusy) {
      empty = 0;
      sleep_us = 1;
      continue;
    }
    // A packet waiting for its next hop or its service needs the loop to
    // keep turning.
    if (++empty < idle.pause_after) continue;
    if (empty < idle.sleep_after || pending_.size() != 0 || lazy_.size() != 0) {
      rte_pause();
      continue;
    }
    // Asleep, this worker must not hold up RCU grace periods.
    rte_rcu_qsbr_thread_offline(ctx_.qsbr, index_);
    counters_.add(WorkerEvent::idle_sleeps);
    rte_delay_us_sleep(sleep_us);
    rte_rcu_qsbr_thread_online(ctx_.qsbr, index_);
    if (sleep_us < idle.max_sleep_us) sleep_us = std::min(sleep_us * 2, idle.max_sleep_us);
  }
  rte_rcu_qsbr_thread_offline(ctx_.qsbr, index_);
  rte_rcu_qsbr_thread_unregister(ctx_.qsbr, index_);
}

void Worker::release() {
  now_ = rte_rdtsc();
  flushAll();
  pending_.sweep([this](PendingPacket& p) {
    drop(p.m, Drop::neigh_timeout);
    return true;
  });
  lazy_.release(*this);
}

}  // namespace sluice::dp
