// Stage 1 of the pipeline: parse a frame's headers into PacketMeta.
// Pure: works on a byte span, no DPDK, so it is unit-tested and fuzzed as is.
#pragma once

#include <cstdint>

#include "dp/api/counters.h"

namespace sluice::dp {

enum class L3 : uint8_t { kNone, kArp, kIpv4, kIpv6 };

// Offsets are from the start of the frame. Multi-byte numbers are host order.
struct PacketMeta {
  L3 l3 = L3::kNone;
  bool has_vlan = false;
  uint16_t vlan_id = 0;     // 12-bit VID of the tag, when has_vlan
  uint16_t ethertype = 0;   // inner ethertype (after the tag)
  uint16_t l3_off = 0;      // 14, or 18 with a VLAN tag
  uint16_t l3_hdr_len = 0;  // IPv4: IHL*4; IPv6: 40 + skipped extension headers
  uint16_t l4_off = 0;      // l3_off + l3_hdr_len (IP only)
  uint16_t ip_end = 0;      // end of the IP packet (frame may be longer: Ethernet padding)
  uint8_t proto = 0;        // IPPROTO_* of the L4 header (IP only)
  uint8_t ttl = 0;          // IPv4 TTL or IPv6 hop limit
  uint16_t sport = 0;       // TCP/UDP ports; for ICMP echo: sport = identifier
  uint16_t dport = 0;
  uint8_t icmp_type = 0;  // ICMP/ICMPv6 only
  uint8_t icmp_code = 0;
  uint16_t arp_op = 0;  // ARP only
  // An IPv6 routing header was skipped: the packet's final destination is
  // not the header's, so stages that rewrite or answer it drop it.
  bool ipv6_routing = false;
};

// Parses `len` bytes at `data`. Returns Drop::kNone and fills `meta` for a
// frame worth classifying, or the reason to drop it. Never reads past
// data + len. Checks:
//  - Ethernet: 14 bytes; one 802.1Q (0x8100) tag, a second tag is vlan_nested.
//  - ARP: htype 1, ptype 0x0800, hlen 6, plen 4, 28 bytes present.
//    Any opcode parses; classification decides what it supports.
//  - IPv4: version 4, IHL >= 5 and within the frame, total length >= IHL*4
//    and within the frame, header checksum valid, not a fragment (MF set or
//    offset != 0). Options are skipped.
//  - IPv6: version 6, payload length within the frame; hop-by-hop (0),
//    routing (43), destination options (60) headers skipped, at most 8 of
//    them, each within the packet; a fragment header (44) is ipv6_fragment.
//  - L4 within ip_end: TCP 20 bytes and data offset 5..15 within ip_end;
//    UDP 8 bytes and its length field equal to ip_end - l4_off; ICMP and
//    ICMPv6 4 bytes (type, code, checksum), 8 for echo (the identifier goes
//    to sport). Other protocols parse with no L4 fields. ICMP checksums are
//    not verified here (see icmp.cc).
// Frames over 65535 bytes are parsed as if 65535 bytes long (offsets are
// 16-bit). `meta` is reset on entry; after a drop it may be partly filled.
Drop parsePacket(const uint8_t* data, uint32_t len, PacketMeta& meta);

}  // namespace sluice::dp
