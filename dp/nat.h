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

// Rewrites the packet whose IP header starts at `l3` and whose TCP or UDP
// header starts at `l3 + l3_hdr_len`: addresses, ports, the IPv4 header
// checksum and the L4 checksum (pseudo-header included), all incrementally.
// A UDP/IPv4 checksum of 0 ("none") stays 0; a computed UDP checksum of 0 is
// stored as 0xffff. The caller has checked the headers are present.
void applyRewrite(uint8_t* l3, uint16_t l3_hdr_len, Family family, uint8_t proto,
                  const Rewrite& rw);

}  // namespace sluice::dp
