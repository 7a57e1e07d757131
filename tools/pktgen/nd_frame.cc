#include "tools/pktgen/nd_frame.h"

#include <array>
#include <cstring>

#include "dp/checksum.h"
#include "dp/eth.h"

namespace sluice::pktgen {
namespace {

using dp::loadBe16;
using dp::storeBe16;

constexpr uint8_t kNdHopLimit = 255;
constexpr size_t kNdLen = 24;  // type, code, checksum, flags/reserved, target
constexpr uint8_t kOptSourceLinkAddr = 1;
constexpr uint8_t kOptTargetLinkAddr = 2;
constexpr uint8_t kFlagSolicited = 0x40;
constexpr uint8_t kFlagOverride = 0x20;
// Longer ND packets than this (many options) are not ours to answer.
constexpr size_t kMaxNdLen = 256;

IpAddr v6(const uint8_t* p) {
  IpAddr a;
  a.family = Family::kV6;
  std::memcpy(a.bytes.data(), p, 16);
  return a;
}

MacAddr macAt(const uint8_t* p) {
  MacAddr m;
  std::memcpy(m.bytes.data(), p, 6);
  return m;
}

// 33:33 + the low 32 bits of the IPv6 multicast address (RFC 2464 7).
MacAddr multicastMac(const IpAddr& group) {
  MacAddr m;
  m.bytes = {0x33, 0x33, group.bytes[12], group.bytes[13], group.bytes[14], group.bytes[15]};
  return m;
}

// Writes Ethernet, IPv6 (hop limit 255) and the 32-byte NS/NA with one
// link-layer option; the checksum last.
size_t writeNd(std::span<uint8_t> out, const MacAddr& src_mac, const MacAddr& dst_mac,
               const IpAddr& src, const IpAddr& dst, uint8_t type, uint8_t flags,
               const IpAddr& target, uint8_t option) {
  if (out.size() < kNdFrameLen || src.isV4() || dst.isV4() || target.isV4()) return 0;
  uint8_t* p = out.data();
  const size_t icmp_len = kNdFrameLen - kEthLen - kIpv6Len;
  const size_t l4 = writeEthIp(p, src_mac, dst_mac, src, dst, kProtoIcmpv6, icmp_len);
  p[kEthLen + 7] = kNdHopLimit;
  uint8_t* icmp = p + l4;
  std::memset(icmp, 0, icmp_len);
  icmp[0] = type;
  icmp[4] = flags;
  std::memcpy(icmp + 8, target.bytes.data(), 16);
  icmp[24] = option;
  icmp[25] = 1;  // in units of 8 bytes
  std::memcpy(icmp + 26, src_mac.bytes.data(), 6);
  storeBe16(icmp + 2,
            dp::l4ChecksumV6(src.bytes.data(), dst.bytes.data(), kProtoIcmpv6, icmp, icmp_len));
  return kNdFrameLen;
}

}  // namespace

IpAddr solicitedNode(const IpAddr& target) {
  IpAddr a;
  a.family = Family::kV6;
  a.bytes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0, 0, 0};
  a.bytes[13] = target.bytes[13];
  a.bytes[14] = target.bytes[14];
  a.bytes[15] = target.bytes[15];
  return a;
}

std::optional<Nd> parseNd(std::span<const uint8_t> frame) {
  auto ip = parseIp(frame, kProtoIcmpv6);
  if (!ip || ip->src.isV4()) return std::nullopt;
  const uint8_t* p = frame.data();
  const size_t len = ip->end - ip->l4;
  if (p[ip->l3 + 7] != kNdHopLimit || len < kNdLen || len > kMaxNdLen) return std::nullopt;
  const uint8_t* icmp = p + ip->l4;
  if ((icmp[0] != Nd::kSolicitation && icmp[0] != Nd::kAdvertisement) || icmp[1] != 0) {
    return std::nullopt;
  }
  // The checksum over a copy with its field zeroed, compared to the field.
  std::array<uint8_t, kMaxNdLen> copy;
  std::memcpy(copy.data(), icmp, len);
  storeBe16(copy.data() + 2, 0);
  const uint16_t sum =
      dp::l4ChecksumV6(ip->src.bytes.data(), ip->dst.bytes.data(), kProtoIcmpv6, copy.data(), len);
  // 0 and 0xffff are the same in ones' complement.
  const uint16_t field = loadBe16(icmp + 2);
  if (sum != field && static_cast<uint16_t>(sum + 1) > 1) return std::nullopt;
  if (sum != field && static_cast<uint16_t>(field + 1) > 1) return std::nullopt;

  Nd nd;
  nd.type = icmp[0];
  nd.eth_src = macAt(p + 6);
  nd.src = ip->src;
  nd.dst = ip->dst;
  nd.target = v6(icmp + 8);
  nd.solicited = nd.type == Nd::kAdvertisement && (icmp[4] & kFlagSolicited) != 0;
  if (nd.target.isMulticast()) return std::nullopt;
  const uint8_t wanted = nd.type == Nd::kSolicitation ? kOptSourceLinkAddr : kOptTargetLinkAddr;
  for (size_t off = kNdLen; off < len;) {
    if (len - off < 2 || icmp[off + 1] == 0) return std::nullopt;
    const size_t opt_len = icmp[off + 1] * 8u;
    if (opt_len > len - off) return std::nullopt;
    if (icmp[off] == wanted && opt_len >= 8) nd.link_addr = macAt(icmp + off + 2);
    off += opt_len;
  }
  return nd;
}

size_t buildNeighborSolicitation(std::span<uint8_t> out, const MacAddr& src_mac,
                                 const IpAddr& src_ip, const IpAddr& target) {
  const IpAddr group = solicitedNode(target);
  return writeNd(out, src_mac, multicastMac(group), src_ip, group, Nd::kSolicitation, 0, target,
                 kOptSourceLinkAddr);
}

size_t buildNeighborAdvertisement(std::span<uint8_t> out, const Nd& ns, const MacAddr& own_mac) {
  if (ns.type != Nd::kSolicitation || ns.src.isUnspecified()) return 0;
  const MacAddr to = ns.link_addr ? *ns.link_addr : ns.eth_src;
  return writeNd(out, own_mac, to, ns.target, ns.src, Nd::kAdvertisement,
                 kFlagSolicited | kFlagOverride, ns.target, kOptTargetLinkAddr);
}

}  // namespace sluice::pktgen
