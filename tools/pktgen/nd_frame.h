// IPv6 neighbor discovery for sluice-pktgen (RFC 4861): the client's
// neighbor solicitation for its IPv6 gateway, and the advertisements the
// client and the pod answer solicitations for their own addresses with.
// Pure: no DPDK. Builders write into memory the caller owns; the parser
// never reads past the span it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "dp/api/types.h"
#include "tools/pktgen/frame.h"

namespace sluice::pktgen {

inline constexpr uint8_t kProtoIcmpv6 = 58;
// Ethernet + IPv6 + NS/NA (24 bytes) + one link-layer address option (8).
inline constexpr size_t kNdFrameLen = kEthLen + kIpv6Len + 32;

// A neighbor solicitation or advertisement.
struct Nd {
  static constexpr uint8_t kSolicitation = 135;
  static constexpr uint8_t kAdvertisement = 136;
  uint8_t type = 0;
  MacAddr eth_src;
  IpAddr src;  // the IPv6 source (unspecified for duplicate address detection)
  IpAddr dst;
  IpAddr target;
  // The source (NS) or target (NA) link-layer address option, if present.
  std::optional<MacAddr> link_addr;
  bool solicited = false;  // NA: the S flag
};

// ff02::1:ffXX:XXXX, the solicited-node multicast address of `target`.
IpAddr solicitedNode(const IpAddr& target);

// The NS or NA in an untagged Ethernet frame (ICMPv6 the first next
// header), checked as RFC 4861 7.1 asks: hop limit 255, code 0, at least 24
// bytes, a valid ICMPv6 checksum, a target that is not multicast, options of
// non-zero length inside the packet. nullopt otherwise or when truncated.
std::optional<Nd> parseNd(std::span<const uint8_t> frame);

// Builds "who has target" from (src_mac, src_ip) to target's solicited-node
// group, with the source link-layer option, into out. Returns kNdFrameLen, or
// 0 when out is too small or an address is not IPv6.
size_t buildNeighborSolicitation(std::span<uint8_t> out, const MacAddr& src_mac,
                                 const IpAddr& src_ip, const IpAddr& target);

// Builds the solicited advertisement answering `ns` (as parsed): "ns.target
// is at own_mac", from ns.target to ns.src at the solicitation's link-layer
// address (its Ethernet source without one), flags S and O, with the target
// link-layer option. Returns kNdFrameLen, or 0 when out is too small, ns is
// not a solicitation or comes from the unspecified address (duplicate address
// detection, which pktgen does not answer).
size_t buildNeighborAdvertisement(std::span<uint8_t> out, const Nd& ns, const MacAddr& own_mac);

}  // namespace sluice::pktgen
