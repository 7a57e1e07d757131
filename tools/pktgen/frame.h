// The frames sluice-pktgen sends and answers: Ethernet + IPv4/IPv6 + UDP
// carrying a probe, and ARP. Pure: no DPDK. Builders write into memory the
// caller owns (an mbuf's data in the tool, a vector in tests); parsers never
// read past the span they are given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "dp/api/types.h"

namespace sluice::pktgen {

inline constexpr size_t kEthLen = 14;
inline constexpr size_t kIpv4Len = 20;
inline constexpr size_t kIpv6Len = 40;
inline constexpr size_t kUdpLen = 8;
inline constexpr size_t kArpFrameLen = kEthLen + 28;

inline constexpr uint16_t kEtherIpv4 = 0x0800;
inline constexpr uint16_t kEtherArp = 0x0806;
inline constexpr uint16_t kEtherIpv6 = 0x86dd;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;

// One direction of a UDP flow.
struct UdpTuple {
  IpAddr src;
  IpAddr dst;
  uint16_t sport = 0;
  uint16_t dport = 0;

  // The tuple of the answer: source and destination swapped.
  UdpTuple reversed() const { return {dst, src, dport, sport}; }
  friend bool operator==(const UdpTuple&, const UdpTuple&) = default;
};

// The probe at the start of every payload the client sends (UDP datagrams
// and TCP data segments), big-endian on the wire:
//   0 check u8 | 1 flow u24 | 4 tsc u64 | 12 pod u16 | 14 endpoint address
// The endpoint address has the family of the packet that carries the probe,
// 4 bytes in IPv4 and 16 in IPv6, so an IPv4 UDP probe fills the 60-byte
// minimum Ethernet frame exactly (64 bytes on the wire with the FCS). A
// request has pod 0 and a zero address; the pod answering writes both, so
// the client learns which endpoint served a flow even behind full NAT.
// `check` is derived from flow and tsc, which the pod leaves alone: foreign
// payloads fail it 255 times in 256 before the client's tuple check.
inline constexpr uint32_t kProbeFlows = 1u << 24;  // flow indexes a probe can carry
inline constexpr size_t kProbeFixedLen = 14;       // the probe before the address

// The probe's length in a packet of `family`: 18 (IPv4) or 30 (IPv6).
size_t probeLen(Family family);

struct Probe {
  uint32_t flow = 0;               // below kProbeFlows
  uint64_t tsc = 0;                // the client's clock when it built the request
  uint16_t pod = 0;                // 0 in a request; the answering pod's --pod-id
  std::optional<IpAddr> endpoint;  // with pod != 0: the address the pod was reached at
  friend bool operator==(const Probe&, const Probe&) = default;
};

// Writes `probe` to payload[0, probeLen(family)). False when the payload is
// shorter, flow is not below kProbeFlows, or pod and endpoint disagree (an
// endpoint, of `family`, goes with pod != 0 and only with it).
bool writeProbe(std::span<uint8_t> payload, Family family, const Probe& probe);
// The probe at the start of a payload carried by a `family` packet, or
// nullopt when the payload is too short or the check byte is wrong.
std::optional<Probe> readProbe(std::span<const uint8_t> payload, Family family);

// Smallest frame carrying a probe, without FCS: Ethernet + IP + UDP +
// probeLen (60 for IPv4, 92 for IPv6).
size_t minProbeFrameLen(Family family);

// Builds a `frame_len`-byte probe frame into out[0, frame_len): the probe,
// then zero padding; IPv4 header and UDP checksums set. Returns frame_len, or
// 0 when out is too small, frame_len is below minProbeFrameLen or above what
// the IP length field holds, the tuple mixes families, or writeProbe refuses
// the probe.
size_t buildProbeFrame(std::span<uint8_t> out, const MacAddr& src_mac, const MacAddr& dst_mac,
                       const UdpTuple& tuple, const Probe& probe, size_t frame_len);

// Where the IP packet of a received frame lies, and its addresses.
struct IpView {
  IpAddr src;
  IpAddr dst;
  size_t l3 = 0;   // offset of the IP header
  size_t l4 = 0;   // offset of the transport header
  size_t end = 0;  // offset just past the IP packet, by its length field
};

// Parses an untagged Ethernet frame holding IPv4 (any header length, not a
// fragment) or IPv6 (`proto` as the first next header) whose length fields
// are consistent with the frame. Ethernet padding after the packet is fine.
std::optional<IpView> parseIp(std::span<const uint8_t> frame, uint8_t proto);

size_t ipHeaderLen(Family family);

// Writes Ethernet and an IP header (IPv4 without options, DF) announcing
// `l4_len` bytes of `proto` at out, which must have room for them. Returns the
// offset of the transport header. The IPv4 header checksum is left zero (see
// l4Checksum).
size_t writeEthIp(uint8_t* out, const MacAddr& src_mac, const MacAddr& dst_mac, const IpAddr& src,
                  const IpAddr& dst, uint8_t proto, size_t l4_len);

// Readdresses the frame `ip` describes as its answer, in place: Ethernet
// destination = its source, source = own_mac, IP addresses swapped.
void reverseEthIpInPlace(std::span<uint8_t> frame, const IpView& ip, const MacAddr& own_mac);

// Sets the IPv4 header checksum (IPv4 only) and returns the transport
// checksum of the `l4_len` bytes at ip.l4 with the IP pseudo-header, the
// transport's checksum field taken as it is (callers zero it first).
uint16_t l4Checksum(std::span<uint8_t> frame, const IpView& ip, uint8_t proto, size_t l4_len);

// Where the parts of a received UDP datagram are, and its tuple.
struct UdpView {
  UdpTuple tuple;
  size_t l3 = 0;       // offset of the IP header
  size_t l4 = 0;       // offset of the UDP header
  size_t payload = 0;  // offset of the UDP payload
  size_t payload_len = 0;
};

// Parses an untagged Ethernet frame holding IPv4 (any header length, not a
// fragment) or IPv6 (UDP as the first next header) and UDP whose lengths are
// consistent with each other and with the frame. Checksums are not verified.
std::optional<UdpView> parseUdp(std::span<const uint8_t> frame);

// Turns the datagram `view` describes into its answer in place: MACs,
// addresses and ports swapped (source MAC = own_mac), the payload's probe (if
// any) stamped with `pod` and the address it was sent to, checksums
// recomputed. The frame keeps its length.
void answerUdpInPlace(std::span<uint8_t> frame, const UdpView& view, const MacAddr& own_mac,
                      uint16_t pod);

// Recomputes the IPv4 header checksum (IPv4 only) and the UDP checksum of the
// datagram `view` describes.
void setUdpChecksums(std::span<uint8_t> frame, const UdpView& view);

// An ARP packet for IPv4 over Ethernet.
struct Arp {
  static constexpr uint16_t kRequest = 1;
  static constexpr uint16_t kReply = 2;
  uint16_t op = 0;
  MacAddr sender_mac;
  IpAddr sender_ip;
  MacAddr target_mac;
  IpAddr target_ip;
};

// The ARP packet in an untagged Ethernet frame, or nullopt when the frame is
// not Ethernet/IPv4 ARP or is truncated.
std::optional<Arp> parseArp(std::span<const uint8_t> frame);

// Builds a broadcast "who has target" from (src_mac, src_ip) into out.
// Returns kArpFrameLen, or 0 when out is too small or an address is not IPv4.
size_t buildArpRequest(std::span<uint8_t> out, const MacAddr& src_mac, const IpAddr& src_ip,
                       const IpAddr& target);

// Turns the ARP request in `frame` (as parsed into `request`) into the reply
// "target_ip is at own_mac", in place.
void answerArpInPlace(std::span<uint8_t> frame, const Arp& request, const MacAddr& own_mac);

}  // namespace sluice::pktgen
