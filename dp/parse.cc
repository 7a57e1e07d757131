#include "dp/parse.h"

#include "dp/checksum.h"
#include "dp/eth.h"

namespace sluice::dp {

namespace {

constexpr uint32_t kEthHdrLen = 14;
constexpr uint32_t kVlanTagLen = 4;
constexpr uint32_t kArpLen = 28;
constexpr uint32_t kIpv4MinHdrLen = 20;
constexpr uint32_t kIpv6HdrLen = 40;
constexpr uint32_t kTcpMinHdrLen = 20;
constexpr uint32_t kUdpHdrLen = 8;
constexpr uint32_t kIcmpMinLen = 4;
constexpr uint32_t kIcmpEchoLen = 8;  // type, code, checksum, identifier, sequence
constexpr uint32_t kIpv6MaxExtHeaders = 8;
// Offsets in PacketMeta are 16 bits; a longer frame is parsed as if it ended
// here, so every offset stays representable.
constexpr uint32_t kMaxFrameLen = 0xffff;

constexpr uint8_t kProtoHopByHop = 0;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoRouting = 43;
constexpr uint8_t kProtoFragment = 44;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoDstOpts = 60;

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpv6EchoRequest = 128;
constexpr uint8_t kIcmpv6EchoReply = 129;

// TCP, UDP and ICMP between meta.l4_off and meta.ip_end.
Drop parseL4(const uint8_t* data, PacketMeta& meta, bool is_v6) {
  const uint8_t* l4 = data + meta.l4_off;
  const uint32_t avail = static_cast<uint32_t>(meta.ip_end) - meta.l4_off;
  switch (meta.proto) {
    case kProtoTcp: {
      if (avail < kTcpMinHdrLen) {
        return Drop::l4_truncated;
      }
      const uint32_t data_off = static_cast<uint32_t>(l4[12] >> 4) * 4;
      if (data_off < kTcpMinHdrLen || data_off > avail) {
        return Drop::tcp_bad_offset;
      }
      meta.sport = loadBe16(l4);
      meta.dport = loadBe16(l4 + 2);
      return Drop::kNone;
    }
    case kProtoUdp: {
      if (avail < kUdpHdrLen) {
        return Drop::l4_truncated;
      }
      if (loadBe16(l4 + 4) != avail) {
        return Drop::udp_bad_length;
      }
      meta.sport = loadBe16(l4);
      meta.dport = loadBe16(l4 + 2);
      return Drop::kNone;
    }
    case kProtoIcmp:
    case kProtoIcmpv6: {
      // ICMP over IPv6 or ICMPv6 over IPv4 is just another protocol.
      if ((meta.proto == kProtoIcmpv6) != is_v6) {
        return Drop::kNone;
      }
      if (avail < kIcmpMinLen) {
        return Drop::l4_truncated;
      }
      meta.icmp_type = l4[0];
      meta.icmp_code = l4[1];
      const bool echo = is_v6 ? (l4[0] == kIcmpv6EchoRequest || l4[0] == kIcmpv6EchoReply)
                              : (l4[0] == kIcmpEchoRequest || l4[0] == kIcmpEchoReply);
      if (echo) {
        // An echo without its identifier cannot be answered or tracked.
        if (avail < kIcmpEchoLen) {
          return Drop::l4_truncated;
        }
        meta.sport = loadBe16(l4 + 4);
      }
      return Drop::kNone;
    }
    default:
      return Drop::kNone;
  }
}

Drop parseArp(const uint8_t* data, uint32_t len, PacketMeta& meta) {
  const uint32_t off = meta.l3_off;
  if (len - off < kArpLen) {
    return Drop::arp_malformed;
  }
  const uint8_t* arp = data + off;
  // htype Ethernet (1), ptype IPv4, hlen 6, plen 4.
  if (loadBe16(arp) != 1 || loadBe16(arp + 2) != kEtherTypeIpv4 || arp[4] != 6 || arp[5] != 4) {
    return Drop::arp_malformed;
  }
  meta.l3 = L3::kArp;
  meta.arp_op = loadBe16(arp + 6);
  return Drop::kNone;
}

Drop parseIpv4(const uint8_t* data, uint32_t len, PacketMeta& meta) {
  const uint32_t off = meta.l3_off;
  const uint32_t room = len - off;
  if (room < kIpv4MinHdrLen) {
    return Drop::ipv4_truncated;
  }
  const uint8_t* ip = data + off;
  if ((ip[0] >> 4) != 4) {
    return Drop::ipv4_bad_version;
  }
  const uint32_t ihl = static_cast<uint32_t>(ip[0] & 0x0f) * 4;
  if (ihl < kIpv4MinHdrLen || ihl > room) {
    return Drop::ipv4_bad_ihl;
  }
  const uint32_t total_len = loadBe16(ip + 2);
  if (total_len < ihl || total_len > room) {
    return Drop::ipv4_bad_total_length;
  }
  // A valid header, checksum field included, sums to 0xffff (RFC 1071).
  if (!ipv4HeaderSumValid(ip, ihl)) {
    return Drop::ipv4_bad_checksum;
  }
  // More-fragments flag or a fragment offset; DF (0x4000) is fine.
  if ((loadBe16(ip + 6) & 0x3fff) != 0) {
    return Drop::ipv4_fragment;
  }
  meta.l3 = L3::kIpv4;
  meta.ttl = ip[8];
  meta.proto = ip[9];
  meta.l3_hdr_len = static_cast<uint16_t>(ihl);
  meta.l4_off = static_cast<uint16_t>(off + ihl);
  meta.ip_end = static_cast<uint16_t>(off + total_len);
  return parseL4(data, meta, false);
}

Drop parseIpv6(const uint8_t* data, uint32_t len, PacketMeta& meta) {
  const uint32_t off = meta.l3_off;
  const uint32_t room = len - off;
  if (room < kIpv6HdrLen) {
    return Drop::ipv6_truncated;
  }
  const uint8_t* ip = data + off;
  if ((ip[0] >> 4) != 6) {
    return Drop::ipv6_bad_version;
  }
  const uint32_t payload_len = loadBe16(ip + 4);
  if (payload_len > room - kIpv6HdrLen) {
    return Drop::ipv6_bad_payload_length;
  }
  const uint32_t ip_end = off + kIpv6HdrLen + payload_len;
  uint32_t cur = off + kIpv6HdrLen;
  uint8_t next = ip[6];
  for (uint32_t seen = 0;; seen++) {
    if (next == kProtoFragment) {
      return Drop::ipv6_fragment;
    }
    if (next != kProtoHopByHop && next != kProtoRouting && next != kProtoDstOpts) {
      break;
    }
    if (seen == kIpv6MaxExtHeaders) {
      return Drop::ipv6_ext_too_many;
    }
    // Every extension header is at least 8 bytes, which covers the two
    // bytes read here; its length counts 8-byte units beyond the first.
    if (ip_end - cur < 8) {
      return Drop::ipv6_ext_truncated;
    }
    const uint32_t ext_len = (static_cast<uint32_t>(data[cur + 1]) + 1) * 8;
    if (ext_len > ip_end - cur) {
      return Drop::ipv6_ext_truncated;
    }
    if (next == kProtoRouting) meta.ipv6_routing = true;
    next = data[cur];
    cur += ext_len;
  }
  meta.l3 = L3::kIpv6;
  meta.ttl = ip[7];
  meta.proto = next;
  meta.l3_hdr_len = static_cast<uint16_t>(cur - off);
  meta.l4_off = static_cast<uint16_t>(cur);
  meta.ip_end = static_cast<uint16_t>(ip_end);
  return parseL4(data, meta, true);
}

}  // namespace

Drop parsePacket(const uint8_t* data, uint32_t len, PacketMeta& meta) {
  meta = PacketMeta{};
  if (len > kMaxFrameLen) {
    len = kMaxFrameLen;
  }
  if (len < kEthHdrLen) {
    return Drop::eth_truncated;
  }
  uint32_t off = kEthHdrLen;
  uint16_t ethertype = loadBe16(data + 12);
  if (ethertype == kEtherTypeVlan) {
    if (len < kEthHdrLen + kVlanTagLen) {
      return Drop::vlan_truncated;
    }
    meta.has_vlan = true;
    meta.vlan_id = loadBe16(data + 14) & 0x0fff;
    ethertype = loadBe16(data + 16);
    off += kVlanTagLen;
    if (ethertype == kEtherTypeVlan || ethertype == kEtherTypeQinQ) {
      return Drop::vlan_nested;
    }
  }
  meta.ethertype = ethertype;
  meta.l3_off = static_cast<uint16_t>(off);
  switch (ethertype) {
    case kEtherTypeIpv4:
      return parseIpv4(data, len, meta);
    case kEtherTypeIpv6:
      return parseIpv6(data, len, meta);
    case kEtherTypeArp:
      return parseArp(data, len, meta);
    default:
      return Drop::ethertype_unsupported;
  }
}

}  // namespace sluice::dp
