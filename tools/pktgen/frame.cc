#include "tools/pktgen/frame.h"

#include <algorithm>
#include <cstring>

#include "dp/checksum.h"

namespace sluice::pktgen {
namespace {

constexpr size_t kArpLen = 28;
constexpr uint16_t kIpv4DontFragment = 0x4000;
constexpr uint16_t kIpv4FragmentMask = 0x3fff;  // MF flag and offset
constexpr uint8_t kHopLimit = 64;

uint16_t load16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t load32(const uint8_t* p) {
  return (static_cast<uint32_t>(load16(p)) << 16) | load16(p + 2);
}

uint64_t load64(const uint8_t* p) {
  return (static_cast<uint64_t>(load32(p)) << 32) | load32(p + 4);
}

void store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void store32(uint8_t* p, uint32_t v) {
  store16(p, static_cast<uint16_t>(v >> 16));
  store16(p + 2, static_cast<uint16_t>(v));
}

void store64(uint8_t* p, uint64_t v) {
  store32(p, static_cast<uint32_t>(v >> 32));
  store32(p + 4, static_cast<uint32_t>(v));
}

void writeEth(uint8_t* p, const MacAddr& src, const MacAddr& dst, uint16_t ether_type) {
  std::memcpy(p, dst.bytes.data(), 6);
  std::memcpy(p + 6, src.bytes.data(), 6);
  store16(p + 12, ether_type);
}

IpAddr readIp(const uint8_t* p, Family family) {
  IpAddr a;
  a.family = family;
  std::memcpy(a.bytes.data(), p, family == Family::kV4 ? 4 : 16);
  return a;
}

MacAddr readMac(const uint8_t* p) {
  MacAddr m;
  std::memcpy(m.bytes.data(), p, 6);
  return m;
}

}  // namespace

namespace {

// The check byte of a probe: its flow and tsc mixed (a 64-bit multiply lets
// every input bit reach the top byte), so a foreign payload rarely passes.
uint8_t probeCheck(uint32_t flow, uint64_t tsc) {
  const uint64_t h = (tsc ^ (static_cast<uint64_t>(flow) << 40 | flow)) * 0x9e3779b97f4a7c15ull;
  return static_cast<uint8_t>((h >> 56) ^ 0x5c);
}

}  // namespace

size_t probeLen(Family family) {
  return kProbeFixedLen + (family == Family::kV4 ? 4 : 16);
}

bool writeProbe(std::span<uint8_t> payload, Family family, const Probe& probe) {
  const size_t len = probeLen(family);
  if (payload.size() < len || probe.flow >= kProbeFlows ||
      probe.endpoint.has_value() != (probe.pod != 0) ||
      (probe.endpoint && probe.endpoint->family != family)) {
    return false;
  }
  uint8_t* p = payload.data();
  store32(p, probe.flow);  // the top byte is the check's
  p[0] = probeCheck(probe.flow, probe.tsc);
  store64(p + 4, probe.tsc);
  store16(p + 12, probe.pod);
  std::memset(p + kProbeFixedLen, 0, len - kProbeFixedLen);
  if (probe.endpoint)
    std::memcpy(p + kProbeFixedLen, probe.endpoint->bytes.data(), len - kProbeFixedLen);
  return true;
}

std::optional<Probe> readProbe(std::span<const uint8_t> payload, Family family) {
  if (payload.size() < probeLen(family)) return std::nullopt;
  const uint8_t* p = payload.data();
  Probe probe;
  probe.flow = load32(p) & (kProbeFlows - 1);
  probe.tsc = load64(p + 4);
  if (p[0] != probeCheck(probe.flow, probe.tsc)) return std::nullopt;
  probe.pod = load16(p + 12);
  if (probe.pod != 0) probe.endpoint = readIp(p + kProbeFixedLen, family);
  return probe;
}

size_t ipHeaderLen(Family family) {
  return family == Family::kV4 ? kIpv4Len : kIpv6Len;
}

size_t writeEthIp(uint8_t* out, const MacAddr& src_mac, const MacAddr& dst_mac, const IpAddr& src,
                  const IpAddr& dst, uint8_t proto, size_t l4_len) {
  const Family family = src.family;
  writeEth(out, src_mac, dst_mac, family == Family::kV4 ? kEtherIpv4 : kEtherIpv6);
  uint8_t* ip = out + kEthLen;
  if (family == Family::kV4) {
    ip[0] = 0x45;
    ip[1] = 0;
    store16(ip + 2, static_cast<uint16_t>(kIpv4Len + l4_len));
    store32(ip + 4, kIpv4DontFragment);  // id 0, DF
    ip[8] = kHopLimit;
    ip[9] = proto;
    store16(ip + 10, 0);
    std::memcpy(ip + 12, src.bytes.data(), 4);
    std::memcpy(ip + 16, dst.bytes.data(), 4);
  } else {
    store32(ip, 0x60000000);
    store16(ip + 4, static_cast<uint16_t>(l4_len));
    ip[6] = proto;
    ip[7] = kHopLimit;
    std::memcpy(ip + 8, src.bytes.data(), 16);
    std::memcpy(ip + 24, dst.bytes.data(), 16);
  }
  return kEthLen + ipHeaderLen(family);
}

std::optional<IpView> parseIp(std::span<const uint8_t> frame, uint8_t proto) {
  if (frame.size() < kEthLen) return std::nullopt;
  const uint8_t* p = frame.data();
  const uint16_t ether_type = load16(p + 12);
  IpView view;
  view.l3 = kEthLen;
  const uint8_t* ip = p + kEthLen;
  const size_t l3_avail = frame.size() - kEthLen;
  if (ether_type == kEtherIpv4) {
    if (l3_avail < kIpv4Len || (ip[0] >> 4) != 4) return std::nullopt;
    const size_t ihl = static_cast<size_t>(ip[0] & 0xf) * 4;
    const size_t total = load16(ip + 2);
    if (ihl < kIpv4Len || total < ihl || total > l3_avail) return std::nullopt;
    if ((load16(ip + 6) & kIpv4FragmentMask) != 0 || ip[9] != proto) return std::nullopt;
    view.src = readIp(ip + 12, Family::kV4);
    view.dst = readIp(ip + 16, Family::kV4);
    view.l4 = kEthLen + ihl;
    view.end = kEthLen + total;
  } else if (ether_type == kEtherIpv6) {
    if (l3_avail < kIpv6Len || (ip[0] >> 4) != 6 || ip[6] != proto) return std::nullopt;
    const size_t payload_len = load16(ip + 4);
    if (payload_len > l3_avail - kIpv6Len) return std::nullopt;
    view.src = readIp(ip + 8, Family::kV6);
    view.dst = readIp(ip + 24, Family::kV6);
    view.l4 = kEthLen + kIpv6Len;
    view.end = view.l4 + payload_len;
  } else {
    return std::nullopt;
  }
  return view;
}

void reverseEthIpInPlace(std::span<uint8_t> frame, const IpView& ip, const MacAddr& own_mac) {
  uint8_t* p = frame.data();
  std::memcpy(p, p + 6, 6);
  std::memcpy(p + 6, own_mac.bytes.data(), 6);
  uint8_t* addrs = p + ip.l3 + (ip.src.isV4() ? 12 : 8);
  const size_t n = ip.src.size();
  std::memcpy(addrs, ip.dst.bytes.data(), n);
  std::memcpy(addrs + n, ip.src.bytes.data(), n);
}

uint16_t l4Checksum(std::span<uint8_t> frame, const IpView& view, uint8_t proto, size_t l4_len) {
  uint8_t* ip = frame.data() + view.l3;
  const uint8_t* l4 = frame.data() + view.l4;
  if (view.src.isV4()) {
    store16(ip + 10, 0);
    store16(ip + 10, dp::ipv4HeaderChecksum(ip, view.l4 - view.l3));
    return dp::l4ChecksumV4(ip + 12, ip + 16, proto, l4, l4_len);
  }
  return dp::l4ChecksumV6(ip + 8, ip + 24, proto, l4, l4_len);
}

size_t minProbeFrameLen(Family family) {
  return kEthLen + ipHeaderLen(family) + kUdpLen + probeLen(family);
}

size_t buildProbeFrame(std::span<uint8_t> out, const MacAddr& src_mac, const MacAddr& dst_mac,
                       const UdpTuple& tuple, const Probe& probe, size_t frame_len) {
  const Family family = tuple.src.family;
  if (tuple.dst.family != family || frame_len < minProbeFrameLen(family) ||
      frame_len > out.size() || frame_len - kEthLen > 0xffff) {
    return 0;
  }
  const size_t udp_len = frame_len - kEthLen - ipHeaderLen(family);
  if (udp_len > 0xffff) return 0;

  uint8_t* p = out.data();
  uint8_t* udp = p + writeEthIp(p, src_mac, dst_mac, tuple.src, tuple.dst, kProtoUdp, udp_len);
  store16(udp, tuple.sport);
  store16(udp + 2, tuple.dport);
  store16(udp + 4, static_cast<uint16_t>(udp_len));
  store16(udp + 6, 0);
  uint8_t* payload = udp + kUdpLen;
  const size_t payload_len = udp_len - kUdpLen;
  std::memset(payload, 0, payload_len);
  if (!writeProbe({payload, payload_len}, family, probe)) return 0;

  UdpView view;
  view.tuple = tuple;
  view.l3 = kEthLen;
  view.l4 = kEthLen + ipHeaderLen(family);
  view.payload = view.l4 + kUdpLen;
  view.payload_len = payload_len;
  setUdpChecksums(out.first(frame_len), view);
  return frame_len;
}

std::optional<UdpView> parseUdp(std::span<const uint8_t> frame) {
  auto ip = parseIp(frame, kProtoUdp);
  if (!ip || ip->end - ip->l4 < kUdpLen) return std::nullopt;
  const uint8_t* udp = frame.data() + ip->l4;
  const size_t udp_len = load16(udp + 4);
  if (udp_len < kUdpLen || udp_len > ip->end - ip->l4) return std::nullopt;
  UdpView view;
  view.tuple = {ip->src, ip->dst, load16(udp), load16(udp + 2)};
  view.l3 = ip->l3;
  view.l4 = ip->l4;
  view.payload = view.l4 + kUdpLen;
  view.payload_len = udp_len - kUdpLen;
  return view;
}

namespace {

IpView ipOf(const UdpView& view) {
  return {view.tuple.src, view.tuple.dst, view.l3, view.l4, view.payload + view.payload_len};
}

}  // namespace

void setUdpChecksums(std::span<uint8_t> frame, const UdpView& view) {
  uint8_t* udp = frame.data() + view.l4;
  store16(udp + 6, 0);
  const uint16_t sum = l4Checksum(frame, ipOf(view), kProtoUdp, kUdpLen + view.payload_len);
  // RFC 768: a computed zero is sent as all ones (zero means "none").
  store16(udp + 6, sum == 0 ? 0xffff : sum);
}

void answerUdpInPlace(std::span<uint8_t> frame, const UdpView& view, const MacAddr& own_mac,
                      uint16_t pod) {
  reverseEthIpInPlace(frame, ipOf(view), own_mac);
  const UdpTuple answer = view.tuple.reversed();
  uint8_t* udp = frame.data() + view.l4;
  store16(udp, answer.sport);
  store16(udp + 2, answer.dport);

  std::span<uint8_t> payload = frame.subspan(view.payload, view.payload_len);
  if (auto probe = readProbe(payload, view.tuple.src.family)) {
    probe->pod = pod;
    probe->endpoint = view.tuple.dst;
    writeProbe(payload, view.tuple.src.family, *probe);
  }
  UdpView answered = view;
  answered.tuple = answer;
  setUdpChecksums(frame, answered);
}

std::optional<Arp> parseArp(std::span<const uint8_t> frame) {
  if (frame.size() < kEthLen + kArpLen) return std::nullopt;
  const uint8_t* p = frame.data();
  const uint8_t* arp = p + kEthLen;
  // htype Ethernet, ptype IPv4, hlen 6, plen 4
  if (load16(p + 12) != kEtherArp || load16(arp) != 1 || load16(arp + 2) != kEtherIpv4 ||
      arp[4] != 6 || arp[5] != 4) {
    return std::nullopt;
  }
  Arp a;
  a.op = load16(arp + 6);
  a.sender_mac = readMac(arp + 8);
  a.sender_ip = readIp(arp + 14, Family::kV4);
  a.target_mac = readMac(arp + 18);
  a.target_ip = readIp(arp + 24, Family::kV4);
  return a;
}

namespace {

void writeArp(uint8_t* frame, uint16_t op, const MacAddr& sender_mac, const IpAddr& sender_ip,
              const MacAddr& target_mac, const IpAddr& target_ip) {
  uint8_t* arp = frame + kEthLen;
  store16(arp, 1);
  store16(arp + 2, kEtherIpv4);
  arp[4] = 6;
  arp[5] = 4;
  store16(arp + 6, op);
  std::memcpy(arp + 8, sender_mac.bytes.data(), 6);
  std::memcpy(arp + 14, sender_ip.bytes.data(), 4);
  std::memcpy(arp + 18, target_mac.bytes.data(), 6);
  std::memcpy(arp + 24, target_ip.bytes.data(), 4);
}

}  // namespace

size_t buildArpRequest(std::span<uint8_t> out, const MacAddr& src_mac, const IpAddr& src_ip,
                       const IpAddr& target) {
  if (out.size() < kArpFrameLen || !src_ip.isV4() || !target.isV4()) return 0;
  MacAddr broadcast;
  broadcast.bytes.fill(0xff);
  writeEth(out.data(), src_mac, broadcast, kEtherArp);
  writeArp(out.data(), Arp::kRequest, src_mac, src_ip, MacAddr{}, target);
  return kArpFrameLen;
}

void answerArpInPlace(std::span<uint8_t> frame, const Arp& request, const MacAddr& own_mac) {
  writeEth(frame.data(), own_mac, request.sender_mac, kEtherArp);
  writeArp(frame.data(), Arp::kReply, own_mac, request.target_ip, request.sender_mac,
           request.sender_ip);
}

}  // namespace sluice::pktgen
