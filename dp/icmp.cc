// ICMP and ICMPv6 echo (ping) to local addresses: the request becomes the
// reply in place and is routed back like any packet the gateway originates.
#include <rte_mbuf.h>

#include "dp/checksum.h"
#include "dp/eth.h"
#include "dp/worker.h"

namespace sluice::dp {
namespace {

constexpr uint8_t kReplyTtl = 64;

void swap(uint8_t* a, uint8_t* b, size_t n) {
  uint8_t tmp[16];
  std::memcpy(tmp, a, n);
  std::memcpy(a, b, n);
  std::memcpy(b, tmp, n);
}

}  // namespace

Drop echoInput(Worker& w, rte_mbuf* m, const PacketMeta& meta, uint16_t /*port_idx*/) {
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* ip = eth + meta.l3_off;
  uint8_t* icmp = eth + meta.l4_off;
  size_t len = meta.ip_end - meta.l4_off;
  Family family = meta.l3 == L3::kIpv4 ? Family::kV4 : Family::kV6;

  // The reply reuses the request's checksum, so a corrupt request must not
  // turn into a reply that looks valid.
  uint16_t old_word = loadBe16(icmp);
  if (family == Family::kV4) {
    if (internetChecksum(icmp, len) != 0) return Drop::icmp_bad_checksum;
    swap(ip + 12, ip + 16, 4);
    ip[8] = kReplyTtl;
    icmp[0] = 0;  // echo reply
  } else {
    if (l4ChecksumV6(ip + 8, ip + 24, 58, icmp, len) != 0) return Drop::icmp_bad_checksum;
    swap(ip + 8, ip + 24, 16);
    ip[7] = kReplyTtl;
    icmp[0] = 129;  // echo reply
  }
  storeBe16(icmp + 2, checksumUpdate16(loadBe16(icmp + 2), old_word, loadBe16(icmp)));

  // Drop any Ethernet padding and the L2 header; l2Output writes a new one.
  rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - meta.ip_end));
  rte_pktmbuf_adj(m, meta.l3_off);
  m->l3_len = meta.l3_hdr_len;
  w.counters().add(WorkerEvent::echo_replies);
  return l2Output(w, m, family);
}

}  // namespace sluice::dp
