// ARP (RFC 826): answer requests for local addresses, learn neighbors from
// requests addressed to us and from replies, and send requests to resolve
// next hops.
#include <rte_mbuf.h>

#include "dp/eth.h"
#include "dp/worker.h"

namespace sluice::dp {
namespace {

constexpr uint16_t kArpRequest = 1;
constexpr uint16_t kArpReply = 2;
constexpr uint16_t kArpLen = 28;
// Offsets inside the ARP payload.
constexpr unsigned kOp = 6, kSha = 8, kSpa = 14, kTha = 18, kTpa = 24;

void learnSender(Worker& w, const uint8_t* arp, uint16_t port_idx) {
  IpAddr spa;
  std::memcpy(spa.bytes.data(), arp + kSpa, 4);
  const uint8_t* sha = arp + kSha;
  bool mac_ok = (sha[0] & 1) == 0 && (sha[0] | sha[1] | sha[2] | sha[3] | sha[4] | sha[5]) != 0;
  // Only neighbors on a connected subnet, so a stray packet cannot fill the
  // table with addresses the gateway will never route to.
  if (mac_ok && !spa.isUnspecified() && w.ctx().locals.onLink(port_idx, spa)) {
    w.learnNeighbor(port_idx, Family::kV4, spa.bytes.data(), sha);
  }
}

}  // namespace

Drop arpInput(Worker& w, rte_mbuf* m, const PacketMeta& meta, uint16_t port_idx) {
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* arp = eth + meta.l3_off;
  const PortCtx& port = w.ctx().ports[port_idx];

  if (meta.arp_op == kArpReply) {
    learnSender(w, arp, port_idx);
    w.counters().add(WorkerEvent::neigh_adverts);
    rte_pktmbuf_free(m);
    return Drop::kNone;
  }
  if (meta.arp_op != kArpRequest) return Drop::arp_op_unsupported;

  const LocalAddr* local = w.ctx().locals.findOnPort(port_idx, Family::kV4, arp + kTpa);
  if (local == nullptr) return Drop::arp_not_for_us;
  learnSender(w, arp, port_idx);

  // Turn the request into the reply in place.
  storeBe16(arp + kOp, kArpReply);
  std::memcpy(arp + kTha, arp + kSha, 6);
  std::memcpy(arp + kTpa, arp + kSpa, 4);
  std::memcpy(arp + kSha, port.mac.bytes.data(), 6);
  std::memcpy(arp + kSpa, local->prefix.addr.bytes.data(), 4);
  std::memcpy(eth, eth + 6, 6);
  std::memcpy(eth + 6, port.mac.bytes.data(), 6);
  rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - (meta.l3_off + kArpLen)));
  w.counters().add(WorkerEvent::arp_replies);
  w.send(port_idx, m);
  return Drop::kNone;
}

void arpSolicit(Worker& w, uint16_t port_idx, const IpAddr& target) {
  const PortCtx& port = w.ctx().ports[port_idx];
  const LocalAddr* src = w.ctx().locals.sourceFor(port_idx, target);
  if (src == nullptr) return;
  rte_mbuf* m = rte_pktmbuf_alloc(port.pool);
  if (m == nullptr) {
    w.counters().add(WorkerEvent::alloc_failures);
    return;
  }
  uint16_t l2 = ethHeaderLen(port.vlan);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, l2 + kArpLen));
  static const uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  writeEth(p, kBroadcast, port.mac, port.vlan, kEtherTypeArp);
  uint8_t* arp = p + l2;
  storeBe16(arp, 1);  // Ethernet
  storeBe16(arp + 2, kEtherTypeIpv4);
  arp[4] = 6;
  arp[5] = 4;
  storeBe16(arp + kOp, kArpRequest);
  std::memcpy(arp + kSha, port.mac.bytes.data(), 6);
  std::memcpy(arp + kSpa, src->prefix.addr.bytes.data(), 4);
  std::memset(arp + kTha, 0, 6);
  std::memcpy(arp + kTpa, target.bytes.data(), 4);
  w.counters().add(WorkerEvent::arp_requests);
  w.send(port_idx, m);
}

}  // namespace sluice::dp
