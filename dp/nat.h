// Address and port translation of one packet, in place, with incremental
// checksum updates (RFC 1624). Pure: works on the bytes of an IP packet.
#pragma once

#include <cstdint>

#include "dp/api/types.h"

namespace sluice::dp {

// What one direction of a translated flow becomes: the new source and
// destination address (4 bytes used for IPv4) and ports, network order.
struct Rewrite {
  uint8_t src[16];
  uint8_t dst[16];
  uint16_t sport;
  uint16_t dport;
};
static_assert(sizeof(Rewrite) == 36);

// What a translation does to the checksums: ones'-complement sums of the
// change (RFC 1624), folded, native order. `l3` is the IPv4 header's (0 for
// IPv6); `l4` the TCP/UDP checksum's, pseudo-header included. A flow's
// packets in one direction always carry the same addresses and ports, so
// conntrack computes both once, when the flow is made.
struct NatDelta {
  uint16_t l3;
  uint16_t l4;
};

// The delta of rewriting (old_src, old_dst, old_sport, old_dport) into `rw`.
// Ports as they are on the wire (network order), like Rewrite's.
NatDelta natDelta(Family family, const uint8_t* old_src, const uint8_t* old_dst, uint16_t old_sport,
                  uint16_t old_dport, const Rewrite& rw);

// applyRewrite with the delta already known: writes addresses and ports and
// adjusts the checksums by `delta`, which must be natDelta() of the packet's
// current fields. The per-packet path of a tracked flow.
void applyRewrite(uint8_t* l3, uint16_t l3_hdr_len, Family family, uint8_t proto, const Rewrite& rw,
                  NatDelta delta);

// Rewrites the packet whose IP header starts at `l3` and whose TCP or UDP
// header starts at `l3 + l3_hdr_len`: addresses, ports, the IPv4 header
// checksum and the L4 checksum (pseudo-header included), all incrementally.
// A UDP/IPv4 checksum of 0 ("none") stays 0; a computed UDP checksum of 0 is
// stored as 0xffff. The caller has checked the headers are present.
void applyRewrite(uint8_t* l3, uint16_t l3_hdr_len, Family family, uint8_t proto,
                  const Rewrite& rw);

}  // namespace sluice::dp
