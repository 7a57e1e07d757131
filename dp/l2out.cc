// The output stage: route, resolve the next hop's MAC (holding the packet
// while ARP/ND runs), write the Ethernet header, finish the IPv4 header
// checksum in hardware or software, and buffer for tx.
#include <rte_mbuf.h>

#include "dp/checksum.h"
#include "dp/eth.h"
#include "dp/worker.h"

namespace sluice::dp {

namespace {

Drop emit(Worker& w, rte_mbuf* m, uint16_t port_idx, const MacAddr& mac, bool checksum_ready) {
  const PortCtx& port = w.ctx().ports[port_idx];
  uint8_t* ip = rte_pktmbuf_mtod(m, uint8_t*);
  bool v4 = (ip[0] >> 4) == 4;
  uint16_t l2 = ethHeaderLen(port.vlan);
  auto* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, l2));
  if (eth == nullptr) return Drop::no_headroom;
  writeEth(eth, mac.bytes.data(), port.mac, port.vlan, v4 ? kEtherTypeIpv4 : kEtherTypeIpv6);
  if (v4) {
    if (port.tx_ipv4_cksum_offload) {
      storeBe16(ip + 10, 0);
      m->l2_len = l2;
      m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    } else if (!checksum_ready) {
      storeBe16(ip + 10, 0);
      storeBe16(ip + 10, ipv4HeaderChecksum(ip, m->l3_len));
    }
  }
  w.send(port_idx, m);
  return Drop::kNone;
}

}  // namespace

void solicit(Worker& w, uint16_t port_idx, const IpAddr& target) {
  if (target.isV4()) {
    arpSolicit(w, port_idx, target);
  } else {
    ndSolicit(w, port_idx, target);
  }
}

Drop l2Output(Worker& w, rte_mbuf* m, Family family, bool ipv4_checksum_ready) {
  const uint8_t* ip = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint8_t* dst = ip + (family == Family::kV4 ? 16 : 24);
  const Nexthop* nh = w.ctx().routes->lookup(family, dst);
  if (nh == nullptr) return Drop::no_route;

  IpAddr next = nh->gateway;
  if (nh->connected) {
    next.family = family;
    next.bytes = {};
    std::memcpy(next.bytes.data(), dst, next.size());
  }
  MacAddr mac;
  if (w.resolveNeighbor(nh->port_idx, family, next.bytes.data(), &mac)) {
    return emit(w, m, nh->port_idx, mac, ipv4_checksum_ready);
  }

  PendingQueue& pending = w.pending();
  if (pending.full()) return Drop::pending_full;
  PendingPacket p;
  p.m = m;
  p.port_idx = nh->port_idx;
  p.nexthop = next;
  p.deadline = w.now() + w.ctx().resolve_tsc;
  p.ipv4_checksum_ready = ipv4_checksum_ready;
  const PendingPacket* waiting = pending.findNexthop(nh->port_idx, next);
  p.next_probe = waiting != nullptr ? waiting->next_probe : w.now() + w.ctx().probe_interval_tsc;
  pending.push(p);
  w.counters().add(WorkerEvent::pending_held);
  if (waiting == nullptr) solicit(w, nh->port_idx, next);
  return Drop::kNone;
}

bool l2Release(Worker& w, PendingPacket& p) {
  MacAddr mac;
  if (!w.resolveNeighbor(p.port_idx, p.nexthop.family, p.nexthop.bytes.data(), &mac)) {
    return false;
  }
  w.counters().add(WorkerEvent::pending_released);
  Drop d = emit(w, p.m, p.port_idx, mac, p.ipv4_checksum_ready);
  if (d != Drop::kNone) w.drop(p.m, d);
  return true;
}

}  // namespace sluice::dp
