// The load-balancing stage: a TCP/UDP packet to a VIP is matched to its flow
// (or given one: affinity, then Maglev or random, then a SNAT port), and
// translated; a reply is matched by its reply key and translated back. Flows
// live in the conntrack of the worker that owns them; a packet that arrives
// at another worker is handed over first (DESIGN.md "Flow ownership").
#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "dp/api/hash.h"
#include "dp/checksum.h"
#include "dp/eth.h"
#include "dp/nat.h"
#include "dp/services.h"
#include "dp/worker.h"

namespace sluice::dp {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kRstTtl = 64;
// Candidate SNAT ports tried before a new flow is refused.
constexpr unsigned kSnatTries = 64;
constexpr uint64_t kFlowHashSeed = 0xf10a5eed;

struct View {
  uint8_t* frame;
  uint8_t* l3;
  uint8_t* l4;
  Family family;
  uint8_t fam;  // 4 or 6
  unsigned alen;
  uint8_t* src;
  uint8_t* dst;
  uint8_t tcp_flags;
};

View viewOf(rte_mbuf* m, const PacketMeta& meta) {
  View v;
  v.frame = rte_pktmbuf_mtod(m, uint8_t*);
  v.l3 = v.frame + meta.l3_off;
  v.l4 = v.frame + meta.l4_off;
  v.family = meta.l3 == L3::kIpv4 ? Family::kV4 : Family::kV6;
  v.fam = v.family == Family::kV4 ? 4 : 6;
  v.alen = v.family == Family::kV4 ? 4 : 16;
  v.src = v.l3 + (v.family == Family::kV4 ? 12 : 8);
  v.dst = v.l3 + (v.family == Family::kV4 ? 16 : 24);
  v.tcp_flags = meta.proto == kTcp ? v.l4[13] : 0;
  return v;
}

FlowKey keyOf(const View& v, uint8_t proto) {
  FlowKey k{};
  k.family = v.fam;
  k.proto = proto;
  std::memcpy(&k.sport, v.l4, 2);
  std::memcpy(&k.dport, v.l4 + 2, 2);
  std::memcpy(k.src, v.src, v.alen);
  std::memcpy(k.dst, v.dst, v.alen);
  return k;
}

// The worker that owns a client's dnat flows, and the flows of services with
// client-IP affinity: a hash of the client's address, which NAT does not
// change, so requests and replies agree, and one worker's affinity memory
// sees every new flow of that client.
unsigned clientOwner(const uint8_t* addr, unsigned alen, unsigned workers) {
  return static_cast<unsigned>(hashBytes(addr, alen, kFlowHashSeed) % workers);
}

Rewrite rewriteOf(const uint8_t* src, const uint8_t* dst, uint16_t sport, uint16_t dport) {
  Rewrite r{};
  std::memcpy(r.src, src, 16);
  std::memcpy(r.dst, dst, 16);
  r.sport = sport;
  r.dport = dport;
  return r;
}

// A flow's translations: toward the endpoint a packet takes the reply key
// reversed, toward the client the orig key reversed.
Rewrite towardEndpoint(const Flow& f) {
  return rewriteOf(f.reply.dst, f.reply.src, f.reply.dport, f.reply.sport);
}
Rewrite towardClient(const Flow& f) {
  return rewriteOf(f.orig.dst, f.orig.src, f.orig.dport, f.orig.sport);
}

// Translates and routes a packet; the TTL goes down by one as at any router.
// `delta` is the flow's precomputed checksum change for `rw`.
Drop translate(Worker& w, rte_mbuf* m, const PacketMeta& meta, const View& v, const Rewrite& rw,
               NatDelta delta) {
  if (v.family == Family::kV4) {
    if (v.l3[8] <= 1) return Drop::ttl_exceeded;
    uint16_t old_word = loadBe16(v.l3 + 8);
    v.l3[8]--;
    storeBe16(v.l3 + 10, checksumUpdate16(loadBe16(v.l3 + 10), old_word, loadBe16(v.l3 + 8)));
  } else {
    if (v.l3[7] <= 1) return Drop::ttl_exceeded;
    v.l3[7]--;
  }
  applyRewrite(v.l3, meta.l3_hdr_len, v.family, meta.proto, rw, delta);
  rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - meta.ip_end));
  rte_pktmbuf_adj(m, meta.l3_off);
  m->l3_len = meta.l3_hdr_len;
  return l2Output(w, m, v.family, /*ipv4_checksum_ready=*/true);
}

// Answers a client's segment with a RST from the VIP, in place (RFC 793:
// seq = their ack if they sent one, else ack their sequence space).
Drop resetClient(Worker& w, rte_mbuf* m, const PacketMeta& meta, const View& v) {
  uint8_t* tcp = v.l4;
  uint32_t seq = loadBe32(tcp + 4);
  uint32_t ack = loadBe32(tcp + 8);
  uint8_t flags = tcp[13];
  uint32_t payload = meta.ip_end - meta.l4_off - (tcp[12] >> 4) * 4u;
  uint8_t tmp[16];
  std::memcpy(tmp, v.src, v.alen);
  std::memcpy(v.src, v.dst, v.alen);
  std::memcpy(v.dst, tmp, v.alen);
  uint16_t port = loadBe16(tcp);
  storeBe16(tcp, loadBe16(tcp + 2));
  storeBe16(tcp + 2, port);
  if ((flags & kTcpAck) != 0) {
    storeBe32(tcp + 4, ack);
    storeBe32(tcp + 8, 0);
    tcp[13] = kTcpRst;
  } else {
    uint32_t len = payload + ((flags & kTcpSyn) ? 1 : 0) + ((flags & kTcpFin) ? 1 : 0);
    storeBe32(tcp + 4, 0);
    storeBe32(tcp + 8, seq + len);
    tcp[13] = kTcpRst | kTcpAck;
  }
  tcp[12] = 5 << 4;
  storeBe16(tcp + 14, 0);  // window
  storeBe16(tcp + 16, 0);  // checksum
  storeBe16(tcp + 18, 0);  // urgent pointer
  auto ip_len = static_cast<uint16_t>(meta.l3_hdr_len + 20);
  if (v.family == Family::kV4) {
    storeBe16(v.l3 + 2, ip_len);
    v.l3[8] = kRstTtl;
    storeBe16(tcp + 16, l4ChecksumV4(v.src, v.dst, kTcp, tcp, 20));
  } else {
    storeBe16(v.l3 + 4, static_cast<uint16_t>(ip_len - 40));
    v.l3[7] = kRstTtl;
    storeBe16(tcp + 16, l4ChecksumV6(v.src, v.dst, kTcp, tcp, 20));
  }
  rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - (meta.l4_off + 20)));
  rte_pktmbuf_adj(m, meta.l3_off);
  m->l3_len = meta.l3_hdr_len;
  w.counters().add(WorkerEvent::flows_reset);
  return l2Output(w, m, v.family);
}

// The flow's service and endpoint cells count a packet of `bytes` (IP
// length) that left translated, toward the endpoint or the client.
void countPacket(Worker& w, const Flow& f, uint32_t bytes, bool toward_endpoint) {
  TrafficCell& sc = w.traffic().service(f.service_slot, f.service_gen);
  TrafficCell* ec = w.traffic().endpoint(f.endpoint_stat, f.endpoint_gen);
  if (toward_endpoint) {
    TrafficCells::countIn(sc, bytes);
    if (ec != nullptr) TrafficCells::countIn(*ec, bytes);
  } else {
    TrafficCells::countOut(sc, bytes);
    if (ec != nullptr) TrafficCells::countOut(*ec, bytes);
  }
}

uint32_t ipBytes(const PacketMeta& meta) {
  return static_cast<uint32_t>(meta.ip_end - meta.l3_off);
}

// Translates a tracked flow's packet and counts it once it left.
Drop translateFlow(Worker& w, rte_mbuf* m, const PacketMeta& meta, const View& v, const Flow& f,
                   bool toward_endpoint) {
  const uint32_t bytes = ipBytes(meta);
  Drop d = toward_endpoint ? translate(w, m, meta, v, towardEndpoint(f), f.to_endpoint)
                           : translate(w, m, meta, v, towardClient(f), f.to_client);
  if (d == Drop::kNone) countPacket(w, f, bytes, toward_endpoint);
  return d;
}

// Picks the endpoint index for a new flow, or kNoEndpoint.
uint16_t pickEndpoint(Worker& w, const ServiceVersion* svc, const FlowKey& key) {
  uint64_t h;
  if (svc->affinity) {
    const AffinityTable::Entry* e =
        w.affinity().find(svc->slot, svc->gen, key.family, key.src, w.now());
    if (e != nullptr && e->endpoint < svc->endpoint_count) {
      const EndpointSlot& ep = svc->endpoints[e->endpoint];
      if (ep.gen == e->endpoint_gen && ep.state == EndpointState::kReady) {
        w.counters().add(WorkerEvent::affinity_hits);
        return e->endpoint;
      }
    }
    // Hash the client alone, so every worker and gateway agrees.
    h = hashBytes(key.src, 16, kFlowHashSeed);
  } else {
    h = hashBytes(&key, sizeof(key), kFlowHashSeed);
  }
  if (svc->algorithm == Algorithm::kRandom && !svc->affinity) h = rte_rand();
  return svc->table[h % svc->table_size];
}

// Finds a SNAT port of this worker's slice that no tracked flow toward this
// endpoint uses; *probe is then the reply key's.
uint16_t allocSnatPort(Worker& w, FlowKey& reply, Conntrack::Probe* probe) {
  for (unsigned i = 0; i < kSnatTries; i++) {
    reply.dport = rte_cpu_to_be_16(w.nextSnatPort(static_cast<Family>(reply.family)));
    *probe = w.conntrack().probe(reply);
    if (w.conntrack().lookup(reply, *probe, w.now()).flow == nullptr) return reply.dport;
  }
  return 0;
}

Drop newFlow(Worker& w, rte_mbuf* m, const PacketMeta& meta, const View& v,
             const ServiceVersion* svc, const FlowProbe& fp) {
  const FlowKey& orig = fp.key;
  if (meta.proto == kTcp && (v.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst)) != kTcpSyn) {
    return Drop::tcp_no_flow;
  }
  // Not loaded yet: the packet waits (one branch, taken by no loaded service).
  if (svc->on_demand) [[unlikely]]
    return w.lazy().hold(w, m, svc);
  uint16_t idx = pickEndpoint(w, svc, orig);
  if (idx == kNoEndpoint) return Drop::no_endpoint;
  const EndpointSlot& ep = svc->endpoints[idx];

  FlowKey reply{};
  Conntrack::Probe reply_probe;
  reply.family = orig.family;
  reply.proto = orig.proto;
  reply.sport = ep.port_be;
  std::memcpy(reply.src, ep.addr, 16);
  if (svc->mode == ForwardMode::kFullNat) {
    const auto& pool = v.family == Family::kV4 ? w.ctx().snat_v4 : w.ctx().snat_v6;
    if (pool.empty()) return Drop::snat_exhausted;
    const IpAddr& snat = pool[hashBytes(orig.src, 16, kFlowHashSeed) % pool.size()];
    std::memcpy(reply.dst, snat.bytes.data(), 16);
    if (allocSnatPort(w, reply, &reply_probe) == 0) return Drop::snat_exhausted;
  } else {
    std::memcpy(reply.dst, orig.src, 16);
    reply.dport = orig.sport;
    reply_probe = w.conntrack().probe(reply);
    // Another flow may hold this reply key (the same client port to another
    // VIP with the same endpoint): it stays, this one is refused.
    if (w.conntrack().lookup(reply, reply_probe, w.now()).flow != nullptr) return Drop::ct_full;
  }

  // Both keys just missed: the orig key in forward(), the reply key above.
  Conntrack::Inserted ins = w.conntrack().insertAbsent(orig, fp.probe, reply, reply_probe, w.now());
  if (ins.flow == nullptr) return Drop::ct_full;
  if (ins.evicted_half_open) w.counters().add(WorkerEvent::ct_evicted_half_open);
  Flow* f = ins.flow;
  f->to_endpoint =
      natDelta(v.family, orig.src, orig.dst, orig.sport, orig.dport, towardEndpoint(*f));
  f->to_client =
      natDelta(v.family, reply.src, reply.dst, reply.sport, reply.dport, towardClient(*f));
  f->service_slot = svc->slot;
  f->service_gen = svc->gen;
  f->endpoint_slot = idx;
  f->endpoint_gen = ep.gen;
  f->endpoint_stat = ep.stat;
  TrafficCells::countNewFlow(w.traffic().service(svc->slot, svc->gen));
  if (TrafficCell* ec = w.traffic().endpoint(ep.stat, ep.gen)) TrafficCells::countNewFlow(*ec);
  w.conntrack().update(f, false, v.tcp_flags, w.now());
  if (svc->affinity) {
    uint64_t expires = w.now() + svc->affinity_timeout_s * w.ctx().tsc_hz;
    w.affinity().remember(svc->slot, svc->gen, orig.family, orig.src, idx, ep.gen, expires,
                          w.now());
  }
  w.counters().add(WorkerEvent::flows_created);
  return translateFlow(w, m, meta, v, *f, true);
}

// True when the flow's service and endpoint are still the ones it was given.
bool flowCurrent(const Worker& w, const Flow& f) {
  const ServiceVersion* cur = w.ctx().services->at(f.service_slot);
  return cur != nullptr && cur->gen == f.service_gen && f.endpoint_slot < cur->endpoint_count &&
         cur->endpoints[f.endpoint_slot].gen == f.endpoint_gen;
}

Drop forward(Worker& w, rte_mbuf* m, const PacketMeta& meta, const View& v,
             const ServiceVersion* svc, const FlowProbe& fp) {
  Conntrack::Hit hit = w.conntrack().lookup(fp.key, fp.probe, w.now());
  if (hit.flow != nullptr && !hit.is_reply) {
    Flow* f = hit.flow;
    if (flowCurrent(w, *f)) {
      w.conntrack().update(f, false, v.tcp_flags, w.now());
      return translateFlow(w, m, meta, v, *f, true);
    }
    // Its endpoint left the service: a TCP flow is reset, a UDP flow
    // starts over on a live endpoint. Nothing is blackholed.
    w.conntrack().remove(f);
    if (meta.proto == kTcp) {
      if ((v.tcp_flags & kTcpRst) != 0) return Drop::endpoint_gone;
      return resetClient(w, m, meta, v);
    }
    w.counters().add(WorkerEvent::flows_rebalanced);
  } else if (hit.flow != nullptr) {
    // The client's key is another flow's reply key: it cannot be indexed
    // twice, so this flow is refused as a full table would refuse it.
    return Drop::ct_full;
  }
  return newFlow(w, m, meta, v, svc, fp);
}

Drop reverse(Worker& w, rte_mbuf* m, const PacketMeta& meta, const View& v, const FlowProbe& fp) {
  Conntrack::Hit hit = w.conntrack().lookup(fp.key, fp.probe, w.now());
  if (hit.flow == nullptr || !hit.is_reply) return Drop::no_flow;
  if (!flowCurrent(w, *hit.flow)) return Drop::endpoint_gone;
  w.conntrack().update(hit.flow, true, v.tcp_flags, w.now());
  return translateFlow(w, m, meta, v, *hit.flow, false);
}

}  // namespace

void flowKeyOf(rte_mbuf* m, const PacketMeta& meta, FlowKey* key) {
  *key = keyOf(viewOf(m, meta), meta.proto);
}

bool lbInput(Worker& w, rte_mbuf* m, const PacketMeta& meta, const FlowProbe& fp, bool handed_off,
             Drop* drop) {
  const DpContext& ctx = w.ctx();
  View v = viewOf(m, meta);
  uint16_t dport_be;
  std::memcpy(&dport_be, v.l4 + 2, 2);
  bool multi = ctx.worker_count > 1 && !handed_off;

  // A request to a VIP.
  if (const ServiceVersion* svc =
          ctx.services->find(v.fam, meta.proto, dport_be, v.dst, fp.vip_hash)) {
    if (multi && (svc->mode == ForwardMode::kDnat || svc->affinity)) {
      unsigned owner = clientOwner(v.src, v.alen, ctx.worker_count);
      if (owner != w.index()) {
        w.handoff(owner, m);
        *drop = Drop::kNone;
        return true;
      }
    }
    *drop = forward(w, m, meta, v, svc, fp);
    return true;
  }
  // A reply to a fullnat flow: the SNAT port names the owner.
  if (ctx.isSnat(v.family, v.dst)) {
    int owner = ctx.snatOwner(rte_be_to_cpu_16(dport_be));
    if (owner < 0) return false;  // a port below the SNAT range: for the gateway
    if (multi && static_cast<unsigned>(owner) != w.index()) {
      w.handoff(static_cast<unsigned>(owner), m);
      *drop = Drop::kNone;
      return true;
    }
    *drop = reverse(w, m, meta, v, fp);
    return true;
  }
  // A reply to a dnat flow: routed to the client through the gateway.
  if (ctx.locals.find(v.family, v.dst) == nullptr) {
    if (multi) {
      unsigned owner = clientOwner(v.dst, v.alen, ctx.worker_count);
      if (owner != w.index()) {
        w.handoff(owner, m);
        *drop = Drop::kNone;
        return true;
      }
    }
    *drop = reverse(w, m, meta, v, fp);
    if (*drop == Drop::no_flow) *drop = Drop::not_local;
    return true;
  }
  return false;
}

}  // namespace sluice::dp
