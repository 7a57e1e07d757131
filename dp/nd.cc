// IPv6 neighbor discovery (RFC 4861): answer solicitations for local
// addresses, learn neighbors from solicitations and advertisements, and
// solicit next hops.
#include <rte_mbuf.h>

#include "dp/checksum.h"
#include "dp/eth.h"
#include "dp/worker.h"

namespace sluice::dp {
namespace {

constexpr uint8_t kIcmp6 = 58;
constexpr uint8_t kNs = 135;
constexpr uint8_t kNa = 136;
constexpr uint8_t kOptSourceLl = 1;
constexpr uint8_t kOptTargetLl = 2;
constexpr uint16_t kNdLen = 24;        // type, code, checksum, flags/reserved, target
constexpr uint16_t kNdWithLlLen = 32;  // plus one link-layer address option
constexpr uint32_t kNaSolicited = 0x40000000;
constexpr uint32_t kNaOverride = 0x20000000;

const uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

// The link-layer address option of `type` in a validated ND message, or
// nullptr. Sets *ok = false when an option is malformed.
const uint8_t* findLlOption(const uint8_t* icmp, uint16_t len, uint8_t type, bool* ok) {
  const uint8_t* found = nullptr;
  uint16_t off = kNdLen;
  while (off < len) {
    if (len - off < 2 || icmp[off + 1] == 0 || icmp[off + 1] * 8 > len - off) {
      *ok = false;
      return nullptr;
    }
    if (icmp[off] == type && icmp[off + 1] == 1) found = icmp + off + 2;
    off = static_cast<uint16_t>(off + icmp[off + 1] * 8);
  }
  return found;
}

void writeIpv6(uint8_t* ip, uint16_t payload_len, uint8_t hop_limit, const uint8_t* src,
               const uint8_t* dst) {
  storeBe32(ip, 0x60000000);
  storeBe16(ip + 4, payload_len);
  ip[6] = kIcmp6;
  ip[7] = hop_limit;
  std::memmove(ip + 8, src, 16);
  std::memmove(ip + 24, dst, 16);
}

void finishIcmp6(uint8_t* ip, uint16_t len) {
  uint8_t* icmp = ip + 40;
  storeBe16(icmp + 2, 0);
  storeBe16(icmp + 2, l4ChecksumV6(ip + 8, ip + 24, kIcmp6, icmp, len));
}

bool unicastMac(const uint8_t* mac) {
  return (mac[0] & 1) == 0 && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) != 0;
}

}  // namespace

Drop ndInput(Worker& w, rte_mbuf* m, const PacketMeta& meta, uint16_t port_idx) {
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* ip = eth + meta.l3_off;
  uint8_t* icmp = eth + meta.l4_off;
  auto len = static_cast<uint16_t>(meta.ip_end - meta.l4_off);
  if (meta.ttl != 255 || meta.icmp_code != 0 || len < kNdLen || icmp[8] == 0xff) {
    return Drop::nd_malformed;
  }
  if (l4ChecksumV6(ip + 8, ip + 24, kIcmp6, icmp, len) != 0) return Drop::icmp_bad_checksum;
  bool ok = true;
  const uint8_t* target = icmp + 8;
  IpAddr src{Family::kV6, {}};
  std::memcpy(src.bytes.data(), ip + 8, 16);

  if (meta.icmp_type == kNa) {
    const uint8_t* tll = findLlOption(icmp, len, kOptTargetLl, &ok);
    if (!ok) return Drop::nd_malformed;
    IpAddr t{Family::kV6, {}};
    std::memcpy(t.bytes.data(), target, 16);
    if (tll != nullptr && unicastMac(tll) && w.ctx().locals.onLink(port_idx, t)) {
      w.learnNeighbor(port_idx, Family::kV6, target, tll);
    }
    w.counters().add(WorkerEvent::neigh_adverts);
    rte_pktmbuf_free(m);
    return Drop::kNone;
  }

  const uint8_t* sll = findLlOption(icmp, len, kOptSourceLl, &ok);
  bool dad = src.isUnspecified();
  // A duplicate-address probe carries no source link-layer address.
  if (!ok || (dad && sll != nullptr)) return Drop::nd_malformed;
  const LocalAddr* local = w.ctx().locals.findOnPort(port_idx, Family::kV6, target);
  if (local == nullptr) return Drop::nd_not_for_us;
  if (sll != nullptr && unicastMac(sll) && w.ctx().locals.onLink(port_idx, src)) {
    w.learnNeighbor(port_idx, Family::kV6, src.bytes.data(), sll);
  }

  // Answer in place: to the solicitor, or to all nodes for a DAD probe.
  const PortCtx& port = w.ctx().ports[port_idx];
  uint8_t dst_mac[6];
  if (dad) {
    const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
    std::memcpy(dst_mac, all_nodes_mac, 6);
  } else {
    std::memcpy(dst_mac, sll != nullptr ? sll : eth + 6, 6);
  }
  uint8_t dst_ip[16];
  std::memcpy(dst_ip, dad ? kAllNodes : ip + 8, 16);
  uint8_t target_copy[16];
  std::memcpy(target_copy, target, 16);

  uint16_t want = meta.l3_off + 40 + kNdWithLlLen;
  uint16_t have = rte_pktmbuf_data_len(m);
  if (have < want) {
    if (rte_pktmbuf_append(m, want - have) == nullptr) return Drop::nd_malformed;
  } else {
    rte_pktmbuf_trim(m, have - want);
  }
  eth = rte_pktmbuf_mtod(m, uint8_t*);
  ip = eth + meta.l3_off;
  std::memcpy(eth, dst_mac, 6);
  std::memcpy(eth + 6, port.mac.bytes.data(), 6);
  writeIpv6(ip, kNdWithLlLen, 255, target_copy, dst_ip);
  icmp = ip + 40;
  icmp[0] = kNa;
  icmp[1] = 0;
  storeBe32(icmp + 4, (dad ? 0 : kNaSolicited) | kNaOverride);
  std::memcpy(icmp + 8, target_copy, 16);
  icmp[24] = kOptTargetLl;
  icmp[25] = 1;
  std::memcpy(icmp + 26, port.mac.bytes.data(), 6);
  finishIcmp6(ip, kNdWithLlLen);
  w.counters().add(WorkerEvent::nd_replies);
  w.send(port_idx, m);
  return Drop::kNone;
}

void ndSolicit(Worker& w, uint16_t port_idx, const IpAddr& target) {
  const PortCtx& port = w.ctx().ports[port_idx];
  const LocalAddr* src = w.ctx().locals.sourceFor(port_idx, target);
  if (src == nullptr) return;
  rte_mbuf* m = rte_pktmbuf_alloc(port.pool);
  if (m == nullptr) {
    w.counters().add(WorkerEvent::alloc_failures);
    return;
  }
  uint16_t l2 = ethHeaderLen(port.vlan);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, l2 + 40 + kNdWithLlLen));
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  // Solicited-node multicast group of the target, and its MAC.
  uint8_t group[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0};
  std::memcpy(group + 13, target.bytes.data() + 13, 3);
  const uint8_t group_mac[6] = {
      0x33, 0x33, 0xff, target.bytes[13], target.bytes[14], target.bytes[15]};
  writeEth(p, group_mac, port.mac, port.vlan, kEtherTypeIpv6);
  uint8_t* ip = p + l2;
  writeIpv6(ip, kNdWithLlLen, 255, src->prefix.addr.bytes.data(), group);
  uint8_t* icmp = ip + 40;
  icmp[0] = kNs;
  icmp[1] = 0;
  storeBe32(icmp + 4, 0);
  std::memcpy(icmp + 8, target.bytes.data(), 16);
  icmp[24] = kOptSourceLl;
  icmp[25] = 1;
  std::memcpy(icmp + 26, port.mac.bytes.data(), 6);
  finishIcmp6(ip, kNdWithLlLen);
  w.counters().add(WorkerEvent::nd_solicits);
  w.send(port_idx, m);
}

}  // namespace sluice::dp
