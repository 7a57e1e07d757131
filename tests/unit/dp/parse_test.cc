#include "dp/parse.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace sluice::dp {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr size_t kEth = 14;
constexpr size_t kEthVlan = 18;

// The test's own checksum, independent of dp/checksum.cc: a byte-pair sum.
uint16_t refChecksum(const uint8_t* p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i += 2) {
    uint32_t word = static_cast<uint32_t>(p[i]) << 8;
    if (i + 1 < n) {
      word |= p[i + 1];
    }
    sum += word;
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}

void append16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void append(Bytes& b, const Bytes& more) {
  b.insert(b.end(), more.begin(), more.end());
}

// Ethernet header, with an 802.1Q tag when tci is given (tci includes PCP/DEI).
Bytes eth(uint16_t ethertype, int tci = -1) {
  Bytes b = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
  if (tci >= 0) {
    append16(b, 0x8100);
    append16(b, static_cast<uint16_t>(tci));
  }
  append16(b, ethertype);
  return b;
}

Bytes arp(uint16_t op) {
  Bytes b;
  append16(b, 1);       // htype Ethernet
  append16(b, 0x0800);  // ptype IPv4
  b.push_back(6);
  b.push_back(4);
  append16(b, op);
  append(b, {0x02, 0, 0, 0, 0, 0x01, 10, 0, 0, 1});  // sender MAC, IP
  append(b, {0, 0, 0, 0, 0, 0, 10, 0, 0, 2});        // target MAC, IP
  return b;
}

struct Ipv4Opts {
  uint8_t proto = 6;
  uint8_t ttl = 64;
  uint16_t frag = 0x4000;  // DF
  Bytes options;           // a multiple of 4 bytes
};

// IPv4 header with a correct checksum and total length, followed by payload.
Bytes ipv4(const Ipv4Opts& o, const Bytes& payload) {
  const size_t ihl = 20 + o.options.size();
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x40 | (ihl / 4)));
  b.push_back(0);
  append16(b, static_cast<uint16_t>(ihl + payload.size()));
  append16(b, 0x1234);  // id
  append16(b, o.frag);
  b.push_back(o.ttl);
  b.push_back(o.proto);
  append16(b, 0);
  append(b, {192, 0, 2, 1, 198, 51, 100, 7});
  append(b, o.options);
  put16(b, 10, refChecksum(b.data(), ihl));
  append(b, payload);
  return b;
}

// Recomputes the IPv4 header checksum of a frame after a test edited it,
// when the header (as its IHL says) is there to fix.
void fixIpv4Checksum(Bytes& frame, size_t l3_off) {
  if (frame.size() < l3_off + 20) {
    return;
  }
  const size_t ihl = static_cast<size_t>(frame[l3_off] & 0x0f) * 4;
  if (ihl < 12 || frame.size() < l3_off + ihl) {
    return;
  }
  put16(frame, l3_off + 10, 0);
  put16(frame, l3_off + 10, refChecksum(frame.data() + l3_off, ihl));
}

// IPv6 header; payload holds any extension headers followed by L4.
Bytes ipv6(uint8_t next, const Bytes& payload, uint8_t hop_limit = 64) {
  Bytes b = {0x60, 0x01, 0x23, 0x45};  // version, traffic class, flow label
  append16(b, static_cast<uint16_t>(payload.size()));
  b.push_back(next);
  b.push_back(hop_limit);
  Bytes src(16, 0);
  src[0] = 0x20;
  src[1] = 0x01;
  src[15] = 1;
  Bytes dst = src;
  dst[15] = 2;
  append(b, src);
  append(b, dst);
  append(b, payload);
  return b;
}

// Hop-by-hop, routing or destination options header of (units+1)*8 bytes.
Bytes ext(uint8_t next, uint8_t units) {
  Bytes b((static_cast<size_t>(units) + 1) * 8, 0);
  b[0] = next;
  b[1] = units;
  b[2] = 1;  // PadN, so the options are well formed
  b[3] = static_cast<uint8_t>(b.size() - 4);
  return b;
}

Bytes tcp(uint16_t sport, uint16_t dport, uint8_t data_off_words = 5, size_t payload = 0) {
  Bytes b(static_cast<size_t>(data_off_words) * 4 + payload, 0);
  put16(b, 0, sport);
  put16(b, 2, dport);
  b[12] = static_cast<uint8_t>(data_off_words << 4);
  b[13] = 0x02;  // SYN
  put16(b, 14, 65535);
  return b;
}

Bytes udp(uint16_t sport, uint16_t dport, size_t payload = 0) {
  Bytes b(8 + payload, 0xab);
  put16(b, 0, sport);
  put16(b, 2, dport);
  put16(b, 4, static_cast<uint16_t>(b.size()));
  put16(b, 6, 0);
  return b;
}

Bytes icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t seq, size_t payload = 0) {
  Bytes b = {type, code, 0, 0};
  append16(b, id);
  append16(b, seq);
  b.resize(b.size() + payload, 0x5a);
  return b;
}

Bytes frame(Bytes l2, const Bytes& l3) {
  append(l2, l3);
  return l2;
}

// Parses from an exactly sized heap copy, so ASan flags any read past len.
Drop parse(const Bytes& f, PacketMeta& meta, size_t len) {
  Bytes copy(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(len));
  return parsePacket(copy.data(), static_cast<uint32_t>(copy.size()), meta);
}

Drop parse(const Bytes& f, PacketMeta& meta) {
  return parse(f, meta, f.size());
}

Drop parse(const Bytes& f) {
  PacketMeta meta;
  return parse(f, meta);
}

// Every field, so a test states the whole expected result.
void expectMeta(const PacketMeta& got, const PacketMeta& want) {
  EXPECT_EQ(got.l3, want.l3);
  EXPECT_EQ(got.has_vlan, want.has_vlan);
  EXPECT_EQ(got.vlan_id, want.vlan_id);
  EXPECT_EQ(got.ethertype, want.ethertype);
  EXPECT_EQ(got.l3_off, want.l3_off);
  EXPECT_EQ(got.l3_hdr_len, want.l3_hdr_len);
  EXPECT_EQ(got.l4_off, want.l4_off);
  EXPECT_EQ(got.ip_end, want.ip_end);
  EXPECT_EQ(got.proto, want.proto);
  EXPECT_EQ(got.ttl, want.ttl);
  EXPECT_EQ(got.sport, want.sport);
  EXPECT_EQ(got.dport, want.dport);
  EXPECT_EQ(got.icmp_type, want.icmp_type);
  EXPECT_EQ(got.icmp_code, want.icmp_code);
  EXPECT_EQ(got.arp_op, want.arp_op);
}

// A meta full of stale values, to show parsePacket resets every field.
PacketMeta staleMeta() {
  PacketMeta m;
  m.l3 = L3::kIpv6;
  m.has_vlan = true;
  m.vlan_id = 99;
  m.ethertype = 0xffff;
  m.l3_off = m.l3_hdr_len = m.l4_off = m.ip_end = 0xeeee;
  m.proto = m.ttl = m.icmp_type = m.icmp_code = 0xdd;
  m.sport = m.dport = m.arp_op = 0xcccc;
  return m;
}

// ---- Well-formed frames ----

TEST(ParseArp, Request) {
  PacketMeta meta = staleMeta();
  ASSERT_EQ(parse(frame(eth(0x0806), arp(1)), meta), Drop::kNone);
  PacketMeta want;
  want.l3 = L3::kArp;
  want.ethertype = 0x0806;
  want.l3_off = kEth;
  want.arp_op = 1;
  expectMeta(meta, want);
}

TEST(ParseArp, ReplyPaddedToMinimumFrame) {
  Bytes f = frame(eth(0x0806), arp(2));
  f.resize(60, 0);
  PacketMeta meta;
  ASSERT_EQ(parse(f, meta), Drop::kNone);
  PacketMeta want;
  want.l3 = L3::kArp;
  want.ethertype = 0x0806;
  want.l3_off = kEth;
  want.arp_op = 2;
  expectMeta(meta, want);
}

TEST(ParseArp, AnyOpcodeParses) {
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x0806), arp(9)), meta), Drop::kNone);
  EXPECT_EQ(meta.arp_op, 9);
}

TEST(ParseArp, VlanTagged) {
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x0806, 0x0064), arp(1)), meta), Drop::kNone);
  PacketMeta want;
  want.l3 = L3::kArp;
  want.has_vlan = true;
  want.vlan_id = 100;
  want.ethertype = 0x0806;
  want.l3_off = kEthVlan;
  want.arp_op = 1;
  expectMeta(meta, want);
}

TEST(ParseIpv4, Tcp) {
  PacketMeta meta = staleMeta();
  Ipv4Opts o;
  o.ttl = 17;
  ASSERT_EQ(parse(frame(eth(0x0800), ipv4(o, tcp(40000, 443, 5, 10))), meta), Drop::kNone);
  PacketMeta want;
  want.l3 = L3::kIpv4;
  want.ethertype = 0x0800;
  want.l3_off = kEth;
  want.l3_hdr_len = 20;
  want.l4_off = kEth + 20;
  want.ip_end = kEth + 20 + 30;
  want.proto = 6;
  want.ttl = 17;
  want.sport = 40000;
  want.dport = 443;
  expectMeta(meta, want);
}

TEST(ParseIpv4, TcpWithOptionsAndDataOffset15) {
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x0800), ipv4({}, tcp(1, 2, 15))), meta), Drop::kNone);
  EXPECT_EQ(meta.ip_end, kEth + 20 + 60);
  EXPECT_EQ(meta.sport, 1);
  EXPECT_EQ(meta.dport, 2);
}

TEST(ParseIpv4, UdpWithOptions) {
  Ipv4Opts o;
  o.proto = 17;
  o.ttl = 1;
  o.options = {0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00};  // router alert, NOPs, EOL
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x0800), ipv4(o, udp(53, 33333, 5))), meta), Drop::kNone);
  PacketMeta want;
  want.l3 = L3::kIpv4;
  want.ethertype = 0x0800;
  want.l3_off = kEth;
  want.l3_hdr_len = 28;
  want.l4_off = kEth + 28;
  want.ip_end = kEth + 28 + 13;
  want.proto = 17;
  want.ttl = 1;
  want.sport = 53;
  want.dport = 33333;
  expectMeta(meta, want);
}

TEST(ParseIpv4, MaximumOptions) {
  Ipv4Opts o;
  o.proto = 17;
  o.options = Bytes(40, 0x01);
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x0800), ipv4(o, udp(1, 2))), meta), Drop::kNone);
  EXPECT_EQ(meta.l3_hdr_len, 60);
  EXPECT_EQ(meta.l4_off, kEth + 60);
}

TEST(ParseIpv4, EthernetPaddingIsNotPartOfThePacket) {
  Ipv4Opts o;
  o.proto = 17;
  Bytes f = frame(eth(0x0800), ipv4(o, udp(7, 8)));
  ASSERT_EQ(f.size(), 42u);
  f.resize(60, 0);
  PacketMeta meta;
  ASSERT_EQ(parse(f, meta), Drop::kNone);
  EXPECT_EQ(meta.ip_end, 42);
  EXPECT_EQ(meta.sport, 7);
  EXPECT_EQ(meta.dport, 8);
}

TEST(ParseIpv4, IcmpEchoRequestAndReply) {
  Ipv4Opts o;
  o.proto = 1;
  for (uint8_t type : {uint8_t{8}, uint8_t{0}}) {
    PacketMeta meta = staleMeta();
    ASSERT_EQ(parse(frame(eth(0x0800), ipv4(o, icmp(type, 0, 0xbeef, 3, 56))), meta), Drop::kNone);
    PacketMeta want;
    want.l3 = L3::kIpv4;
    want.ethertype = 0x0800;
    want.l3_off = kEth;
    want.l3_hdr_len = 20;
    want.l4_off = kEth + 20;
    want.ip_end = kEth + 20 + 64;
    want.proto = 1;
    want.ttl = 64;
    want.sport = 0xbeef;
    want.icmp_type = type;
    expectMeta(meta, want);
  }
}

TEST(ParseIpv4, IcmpErrorHasNoIdentifier) {
  Ipv4Opts o;
  o.proto = 1;
  PacketMeta meta;
  // Destination unreachable, fragmentation needed: bytes 4-7 are unused/MTU.
  ASSERT_EQ(parse(frame(eth(0x0800), ipv4(o, icmp(3, 4, 0, 1500, 28))), meta), Drop::kNone);
  EXPECT_EQ(meta.icmp_type, 3);
  EXPECT_EQ(meta.icmp_code, 4);
  EXPECT_EQ(meta.sport, 0);
  EXPECT_EQ(meta.dport, 0);
}

TEST(ParseIpv4, IcmpNonEchoNeedsOnlyFourBytes) {
  Ipv4Opts o;
  o.proto = 1;
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x0800), ipv4(o, {11, 0, 0, 0})), meta), Drop::kNone);
  EXPECT_EQ(meta.icmp_type, 11);
}

TEST(ParseIpv4, OtherProtocolHasNoL4Fields) {
  Ipv4Opts o;
  o.proto = 47;  // GRE
  PacketMeta meta = staleMeta();
  ASSERT_EQ(parse(frame(eth(0x0800), ipv4(o, {1, 2})), meta), Drop::kNone);
  PacketMeta want;
  want.l3 = L3::kIpv4;
  want.ethertype = 0x0800;
  want.l3_off = kEth;
  want.l3_hdr_len = 20;
  want.l4_off = kEth + 20;
  want.ip_end = kEth + 22;
  want.proto = 47;
  want.ttl = 64;
  expectMeta(meta, want);
}

TEST(ParseIpv4, Icmpv6ProtocolOverIpv4IsJustAProtocol) {
  Ipv4Opts o;
  o.proto = 58;
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x0800), ipv4(o, {128})), meta), Drop::kNone);
  EXPECT_EQ(meta.proto, 58);
  EXPECT_EQ(meta.icmp_type, 0);
}

TEST(ParseIpv4, EmptyPayloadOfUnknownProtocol) {
  Ipv4Opts o;
  o.proto = 253;
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x0800), ipv4(o, {})), meta), Drop::kNone);
  EXPECT_EQ(meta.l4_off, meta.ip_end);
}

TEST(ParseIpv4, VlanTaggedUdp) {
  Ipv4Opts o;
  o.proto = 17;
  PacketMeta meta = staleMeta();
  // PCP 5 and DEI set: only the 12-bit VID is reported.
  ASSERT_EQ(parse(frame(eth(0x0800, 0xbfff), ipv4(o, udp(1000, 2000, 4))), meta), Drop::kNone);
  PacketMeta want;
  want.l3 = L3::kIpv4;
  want.has_vlan = true;
  want.vlan_id = 0x0fff;
  want.ethertype = 0x0800;
  want.l3_off = kEthVlan;
  want.l3_hdr_len = 20;
  want.l4_off = kEthVlan + 20;
  want.ip_end = kEthVlan + 32;
  want.proto = 17;
  want.ttl = 64;
  want.sport = 1000;
  want.dport = 2000;
  expectMeta(meta, want);
}

TEST(ParseIpv6, Udp) {
  PacketMeta meta = staleMeta();
  ASSERT_EQ(parse(frame(eth(0x86dd), ipv6(17, udp(5353, 5353, 20), 255)), meta), Drop::kNone);
  PacketMeta want;
  want.l3 = L3::kIpv6;
  want.ethertype = 0x86dd;
  want.l3_off = kEth;
  want.l3_hdr_len = 40;
  want.l4_off = kEth + 40;
  want.ip_end = kEth + 40 + 28;
  want.proto = 17;
  want.ttl = 255;
  want.sport = 5353;
  want.dport = 5353;
  expectMeta(meta, want);
}

TEST(ParseIpv6, TcpAfterHopByHopAndDestinationOptions) {
  Bytes payload = ext(60, 0);  // HBH, 8 bytes -> dstopts
  append(payload, ext(6, 1));  // dstopts, 16 bytes -> TCP
  append(payload, tcp(12345, 80, 8, 3));
  PacketMeta meta = staleMeta();
  ASSERT_EQ(parse(frame(eth(0x86dd), ipv6(0, payload, 3)), meta), Drop::kNone);
  PacketMeta want;
  want.l3 = L3::kIpv6;
  want.ethertype = 0x86dd;
  want.l3_off = kEth;
  want.l3_hdr_len = 40 + 8 + 16;
  want.l4_off = kEth + 64;
  want.ip_end = kEth + 64 + 35;
  want.proto = 6;
  want.ttl = 3;
  want.sport = 12345;
  want.dport = 80;
  expectMeta(meta, want);
}

TEST(ParseIpv6, RoutingHeaderIsSkipped) {
  Bytes payload = ext(17, 2);  // routing, 24 bytes -> UDP
  append(payload, udp(9, 10));
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x86dd), ipv6(43, payload)), meta), Drop::kNone);
  EXPECT_EQ(meta.l3_hdr_len, 64);
  EXPECT_TRUE(meta.ipv6_routing);
  EXPECT_EQ(meta.proto, 17);
  EXPECT_EQ(meta.sport, 9);
  EXPECT_EQ(meta.dport, 10);
}

TEST(ParseIpv6, EightExtensionHeadersAreAllowed) {
  Bytes payload;
  for (int i = 0; i < 7; i++) {
    append(payload, ext(60, 0));
  }
  append(payload, ext(6, 0));
  append(payload, tcp(1, 2));
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x86dd), ipv6(0, payload)), meta), Drop::kNone);
  EXPECT_EQ(meta.l3_hdr_len, 40 + 64);
  EXPECT_EQ(meta.proto, 6);
}

TEST(ParseIpv6, ExtensionHeaderEndingThePacket) {
  // No next header (59) after a destination options header: nothing to parse.
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x86dd), ipv6(60, ext(59, 0))), meta), Drop::kNone);
  EXPECT_EQ(meta.proto, 59);
  EXPECT_EQ(meta.l4_off, meta.ip_end);
}

TEST(ParseIpv6, IcmpEchoRequestAndReply) {
  for (uint8_t type : {uint8_t{128}, uint8_t{129}}) {
    PacketMeta meta = staleMeta();
    ASSERT_EQ(parse(frame(eth(0x86dd), ipv6(58, icmp(type, 0, 0x0102, 7, 8))), meta), Drop::kNone);
    PacketMeta want;
    want.l3 = L3::kIpv6;
    want.ethertype = 0x86dd;
    want.l3_off = kEth;
    want.l3_hdr_len = 40;
    want.l4_off = kEth + 40;
    want.ip_end = kEth + 40 + 16;
    want.proto = 58;
    want.ttl = 64;
    want.sport = 0x0102;
    want.icmp_type = type;
    expectMeta(meta, want);
  }
}

TEST(ParseIpv6, NeighborSolicitation) {
  // Type 135: 4 reserved bytes, a target address and a source link-layer option.
  Bytes ns = {135, 0, 0, 0, 0, 0, 0, 0};
  Bytes target(16, 0);
  target[0] = 0xfe;
  target[1] = 0x80;
  target[15] = 1;
  append(ns, target);
  append(ns, {1, 1, 0x02, 0, 0, 0, 0, 0x01});
  PacketMeta meta = staleMeta();
  ASSERT_EQ(parse(frame(eth(0x86dd, 7), ipv6(58, ns, 255)), meta), Drop::kNone);
  PacketMeta want;
  want.l3 = L3::kIpv6;
  want.has_vlan = true;
  want.vlan_id = 7;
  want.ethertype = 0x86dd;
  want.l3_off = kEthVlan;
  want.l3_hdr_len = 40;
  want.l4_off = kEthVlan + 40;
  want.ip_end = kEthVlan + 40 + 32;
  want.proto = 58;
  want.ttl = 255;
  want.icmp_type = 135;
  expectMeta(meta, want);
}

TEST(ParseIpv6, IcmpProtocolOverIpv6IsJustAProtocol) {
  PacketMeta meta;
  ASSERT_EQ(parse(frame(eth(0x86dd), ipv6(1, {8})), meta), Drop::kNone);
  EXPECT_EQ(meta.proto, 1);
  EXPECT_EQ(meta.icmp_type, 0);
}

TEST(ParseIpv6, EthernetPaddingIsNotPartOfThePacket) {
  Bytes f = frame(eth(0x86dd), ipv6(17, udp(1, 2)));
  f.resize(f.size() + 10, 0);
  PacketMeta meta;
  ASSERT_EQ(parse(f, meta), Drop::kNone);
  EXPECT_EQ(meta.ip_end, kEth + 48);
}

// ---- Malformed frames: one test per drop reason ----

TEST(ParseDrop, EthTruncated) {
  const Bytes f = frame(eth(0x0806), arp(1));
  PacketMeta meta;
  for (size_t len = 0; len < kEth; len++) {
    EXPECT_EQ(parse(f, meta, len), Drop::eth_truncated) << len;
  }
  EXPECT_EQ(parsePacket(nullptr, 0, meta), Drop::eth_truncated);
}

TEST(ParseDrop, VlanTruncated) {
  const Bytes f = frame(eth(0x0806, 5), arp(1));
  PacketMeta meta;
  for (size_t len = kEth; len < kEthVlan; len++) {
    EXPECT_EQ(parse(f, meta, len), Drop::vlan_truncated) << len;
  }
}

TEST(ParseDrop, VlanNested) {
  EXPECT_EQ(parse(frame(eth(0x8100, 5), {0x00, 0x06, 0x08, 0x00})), Drop::vlan_nested);
  EXPECT_EQ(parse(frame(eth(0x88a8, 5), {0x00, 0x06, 0x08, 0x00})), Drop::vlan_nested);
}

TEST(ParseDrop, EthertypeUnsupported) {
  EXPECT_EQ(parse(frame(eth(0x88cc), Bytes(46, 0))), Drop::ethertype_unsupported);  // LLDP
  EXPECT_EQ(parse(frame(eth(0x88cc, 1), Bytes(46, 0))), Drop::ethertype_unsupported);
  // An 802.3 length field, and an S-tag as the outer tag.
  EXPECT_EQ(parse(frame(eth(0x002e), Bytes(46, 0))), Drop::ethertype_unsupported);
  EXPECT_EQ(parse(frame(eth(0x88a8), Bytes(46, 0))), Drop::ethertype_unsupported);
  // Nothing after the header at all still names the ethertype.
  EXPECT_EQ(parse(eth(0x9000)), Drop::ethertype_unsupported);
}

TEST(ParseDrop, ArpMalformed) {
  const Bytes good = frame(eth(0x0806), arp(1));
  PacketMeta meta;
  EXPECT_EQ(parse(good, meta, good.size() - 1), Drop::arp_malformed);
  EXPECT_EQ(parse(eth(0x0806)), Drop::arp_malformed);
  struct Edit {
    size_t off;
    uint8_t value;
  };
  for (Edit e : {Edit{kEth + 1, 6},      // htype IEEE 802
                 Edit{kEth + 2, 0x86},   // ptype 0x86dd
                 Edit{kEth + 4, 8},      // hlen
                 Edit{kEth + 5, 16}}) {  // plen
    Bytes f = good;
    f[e.off] = e.value;
    EXPECT_EQ(parse(f), Drop::arp_malformed) << e.off;
  }
}

TEST(ParseDrop, Ipv4Truncated) {
  const Bytes f = frame(eth(0x0800), ipv4({}, tcp(1, 2)));
  PacketMeta meta;
  for (size_t len = kEth; len < kEth + 20; len++) {
    EXPECT_EQ(parse(f, meta, len), Drop::ipv4_truncated) << len;
  }
}

TEST(ParseDrop, Ipv4BadVersion) {
  for (uint8_t version : {0, 5, 6, 15}) {
    Bytes f = frame(eth(0x0800), ipv4({}, tcp(1, 2)));
    f[kEth] = static_cast<uint8_t>((version << 4) | 5);
    fixIpv4Checksum(f, kEth);
    EXPECT_EQ(parse(f), Drop::ipv4_bad_version) << int{version};
  }
}

TEST(ParseDrop, Ipv4BadIhl) {
  for (uint8_t ihl : {0, 1, 4}) {
    Bytes f = frame(eth(0x0800), ipv4({}, tcp(1, 2)));
    f[kEth] = static_cast<uint8_t>(0x40 | ihl);
    EXPECT_EQ(parse(f), Drop::ipv4_bad_ihl) << int{ihl};
  }
  // IHL 15 (60 bytes) in a frame holding only 40 bytes of IP.
  Ipv4Opts o;
  o.proto = 253;
  Bytes f = frame(eth(0x0800), ipv4(o, Bytes(20, 0)));
  f[kEth] = 0x4f;
  EXPECT_EQ(parse(f), Drop::ipv4_bad_ihl);
}

TEST(ParseDrop, Ipv4BadTotalLength) {
  Ipv4Opts o;
  o.options = Bytes(4, 0x01);
  const Bytes good = frame(eth(0x0800), ipv4(o, tcp(1, 2)));
  for (uint16_t total : {0, 1, 20, 23, 45, 0xffff}) {  // below IHL*4 = 24, or beyond the frame
    Bytes f = good;
    put16(f, kEth + 2, total);
    fixIpv4Checksum(f, kEth);
    EXPECT_EQ(parse(f), Drop::ipv4_bad_total_length) << total;
  }
}

TEST(ParseDrop, Ipv4BadChecksum) {
  const Bytes good = frame(eth(0x0800), ipv4({}, tcp(1, 2)));
  Bytes f = good;
  f[kEth + 10] ^= 0x01;
  EXPECT_EQ(parse(f), Drop::ipv4_bad_checksum);
  f = good;
  f[kEth + 8] = 63;  // TTL changed without fixing the checksum
  EXPECT_EQ(parse(f), Drop::ipv4_bad_checksum);
  // The checksum covers options too.
  Ipv4Opts o;
  o.options = {1, 1, 1, 0};
  f = frame(eth(0x0800), ipv4(o, tcp(1, 2)));
  f[kEth + 23] = 7;
  EXPECT_EQ(parse(f), Drop::ipv4_bad_checksum);
}

TEST(ParseDrop, Ipv4Fragment) {
  for (uint16_t frag : {0x2000, 0x0001, 0x1fff, 0x2040, 0x6000, 0x4001}) {
    Ipv4Opts o;
    o.frag = frag;
    EXPECT_EQ(parse(frame(eth(0x0800), ipv4(o, tcp(1, 2)))), Drop::ipv4_fragment) << frag;
  }
  Ipv4Opts o;
  o.frag = 0;  // neither DF nor a fragment
  EXPECT_EQ(parse(frame(eth(0x0800), ipv4(o, tcp(1, 2)))), Drop::kNone);
}

TEST(ParseDrop, Ipv6Truncated) {
  const Bytes f = frame(eth(0x86dd), ipv6(17, udp(1, 2)));
  PacketMeta meta;
  for (size_t len = kEth; len < kEth + 40; len++) {
    EXPECT_EQ(parse(f, meta, len), Drop::ipv6_truncated) << len;
  }
}

TEST(ParseDrop, Ipv6BadVersion) {
  for (uint8_t version : {0, 4, 7}) {
    Bytes f = frame(eth(0x86dd), ipv6(17, udp(1, 2)));
    f[kEth] = static_cast<uint8_t>(version << 4);
    EXPECT_EQ(parse(f), Drop::ipv6_bad_version) << int{version};
  }
}

TEST(ParseDrop, Ipv6BadPayloadLength) {
  Bytes f = frame(eth(0x86dd), ipv6(17, udp(1, 2)));
  put16(f, kEth + 4, 9);
  EXPECT_EQ(parse(f), Drop::ipv6_bad_payload_length);
  put16(f, kEth + 4, 0xffff);
  EXPECT_EQ(parse(f), Drop::ipv6_bad_payload_length);
}

TEST(ParseDrop, Ipv6ExtTruncated) {
  // The header's length runs past the payload length (padding follows, so the
  // frame itself is long enough: the limit is the packet, not the frame).
  Bytes payload = ext(6, 1);
  Bytes f = frame(eth(0x86dd), ipv6(0, payload));
  put16(f, kEth + 4, 8);
  f.resize(f.size() + 40, 0);
  EXPECT_EQ(parse(f), Drop::ipv6_ext_truncated);
  // Fewer than 8 bytes left for the next extension header.
  payload = ext(60, 0);
  append(payload, {6, 0, 0, 0});
  EXPECT_EQ(parse(frame(eth(0x86dd), ipv6(0, payload))), Drop::ipv6_ext_truncated);
  // Next header says HBH but the payload is empty.
  EXPECT_EQ(parse(frame(eth(0x86dd), ipv6(0, {}))), Drop::ipv6_ext_truncated);
  // Maximum length (255 units, 2048 bytes) in a small packet.
  payload = ext(6, 0);
  payload[1] = 255;
  append(payload, tcp(1, 2));
  EXPECT_EQ(parse(frame(eth(0x86dd), ipv6(43, payload))), Drop::ipv6_ext_truncated);
}

TEST(ParseDrop, Ipv6ExtTooMany) {
  Bytes payload;
  for (int i = 0; i < 8; i++) {
    append(payload, ext(i % 2 == 0 ? 60 : 43, 0));
  }
  append(payload, ext(6, 0));
  append(payload, tcp(1, 2));
  EXPECT_EQ(parse(frame(eth(0x86dd), ipv6(0, payload))), Drop::ipv6_ext_too_many);
}

TEST(ParseDrop, Ipv6Fragment) {
  Bytes frag = {17, 0, 0x00, 0x01, 0, 0, 0, 42};  // fragment header, M=1
  append(frag, udp(1, 2));
  EXPECT_EQ(parse(frame(eth(0x86dd), ipv6(44, frag))), Drop::ipv6_fragment);
  Bytes payload = ext(44, 0);
  append(payload, frag);
  EXPECT_EQ(parse(frame(eth(0x86dd), ipv6(0, payload))), Drop::ipv6_fragment);
}

TEST(ParseDrop, L4TruncatedTcp) {
  const Bytes seg = tcp(1, 2);
  for (size_t n = 0; n < 20; n++) {
    Bytes f = frame(eth(0x0800), ipv4({}, Bytes(seg.begin(), seg.begin() + n)));
    EXPECT_EQ(parse(f), Drop::l4_truncated) << n;
    f = frame(eth(0x86dd), ipv6(6, Bytes(seg.begin(), seg.begin() + n)));
    EXPECT_EQ(parse(f), Drop::l4_truncated) << n;
  }
  // Bounded by the IP length, not the frame: padding does not count.
  Bytes f = frame(eth(0x0800), ipv4({}, Bytes(seg.begin(), seg.begin() + 10)));
  f.resize(f.size() + 30, 0);
  EXPECT_EQ(parse(f), Drop::l4_truncated);
}

TEST(ParseDrop, L4TruncatedUdp) {
  Ipv4Opts o;
  o.proto = 17;
  for (size_t n = 0; n < 8; n++) {
    Bytes payload(n, 0);
    EXPECT_EQ(parse(frame(eth(0x0800), ipv4(o, payload))), Drop::l4_truncated) << n;
    EXPECT_EQ(parse(frame(eth(0x86dd), ipv6(17, payload))), Drop::l4_truncated) << n;
  }
}

TEST(ParseDrop, L4TruncatedIcmp) {
  Ipv4Opts o;
  o.proto = 1;
  for (size_t n = 0; n < 4; n++) {
    Bytes payload(n, 3);
    EXPECT_EQ(parse(frame(eth(0x0800), ipv4(o, payload))), Drop::l4_truncated) << n;
    EXPECT_EQ(parse(frame(eth(0x86dd), ipv6(58, payload))), Drop::l4_truncated) << n;
  }
  // An echo needs its identifier too (8 bytes).
  for (size_t n = 4; n < 8; n++) {
    Bytes echo = icmp(8, 0, 1, 1);
    echo.resize(n);
    EXPECT_EQ(parse(frame(eth(0x0800), ipv4(o, echo))), Drop::l4_truncated) << n;
    echo = icmp(128, 0, 1, 1);
    echo.resize(n);
    EXPECT_EQ(parse(frame(eth(0x86dd), ipv6(58, echo))), Drop::l4_truncated) << n;
  }
}

TEST(ParseDrop, TcpBadOffset) {
  for (uint8_t words : {0, 1, 4}) {
    Bytes seg = tcp(1, 2, 5, 40);
    seg[12] = static_cast<uint8_t>(words << 4);
    EXPECT_EQ(parse(frame(eth(0x0800), ipv4({}, seg))), Drop::tcp_bad_offset) << int{words};
    EXPECT_EQ(parse(frame(eth(0x86dd), ipv6(6, seg))), Drop::tcp_bad_offset) << int{words};
  }
  // Data offset 15 (60 bytes) in a 40-byte segment, with padding after the packet.
  Bytes seg = tcp(1, 2, 5, 20);
  seg[12] = 0xf0;
  Bytes f = frame(eth(0x0800), ipv4({}, seg));
  f.resize(f.size() + 40, 0);
  EXPECT_EQ(parse(f), Drop::tcp_bad_offset);
}

TEST(ParseDrop, UdpBadLength) {
  Ipv4Opts o;
  o.proto = 17;
  for (uint16_t ulen : {0, 7, 8, 11, 13, 0xffff}) {  // the segment is 12 bytes
    Bytes seg = udp(1, 2, 4);
    put16(seg, 4, ulen);
    EXPECT_EQ(parse(frame(eth(0x0800), ipv4(o, seg))), Drop::udp_bad_length) << ulen;
    EXPECT_EQ(parse(frame(eth(0x86dd), ipv6(17, seg))), Drop::udp_bad_length) << ulen;
  }
}

// ---- Robustness ----

std::vector<Bytes> validFrames() {
  Ipv4Opts udp4;
  udp4.proto = 17;
  udp4.options = {0x01, 0x01, 0x01, 0x00};
  Ipv4Opts icmp4;
  icmp4.proto = 1;
  Bytes ext_chain = ext(60, 0);
  append(ext_chain, ext(6, 1));
  append(ext_chain, tcp(1, 2, 6));
  return {
      frame(eth(0x0806), arp(1)),
      frame(eth(0x0806, 12), arp(2)),
      frame(eth(0x0800), ipv4({}, tcp(1, 2, 7, 5))),
      frame(eth(0x0800, 3), ipv4(udp4, udp(1, 2, 9))),
      frame(eth(0x0800), ipv4(icmp4, icmp(8, 0, 1, 2, 4))),
      frame(eth(0x86dd), ipv6(0, ext_chain)),
      frame(eth(0x86dd, 4000), ipv6(17, udp(1, 2, 3))),
      frame(eth(0x86dd), ipv6(58, icmp(128, 0, 1, 2, 4))),
  };
}

TEST(ParseRobustness, EveryTruncationIsDropped) {
  for (const Bytes& f : validFrames()) {
    PacketMeta meta;
    ASSERT_EQ(parse(f, meta), Drop::kNone);
    for (size_t len = 0; len < f.size(); len++) {
      const Drop d = parse(f, meta, len);
      EXPECT_NE(d, Drop::kNone) << "len " << len << " of " << f.size();
      if (len < kEth) {
        EXPECT_EQ(d, Drop::eth_truncated);
      }
    }
  }
}

TEST(ParseRobustness, RandomMutationsStayInBounds) {
  std::mt19937 rng(1234);
  for (const Bytes& base : validFrames()) {
    for (int round = 0; round < 3000; round++) {
      Bytes f = base;
      f.resize(f.size() + rng() % 16, static_cast<uint8_t>(rng()));
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; i++) {
        f[rng() % f.size()] = static_cast<uint8_t>(rng());
      }
      if (rng() % 2 == 0) {
        fixIpv4Checksum(f, kEth);  // let mutations get past the checksum too
      }
      const size_t len = rng() % (f.size() + 1);
      PacketMeta meta;
      const Drop d = parse(f, meta, len);
      ASSERT_LT(static_cast<size_t>(d), kDropCount);
      if (d != Drop::kNone) {
        continue;
      }
      EXPECT_LE(meta.l3_off + 0u, len);
      if (meta.l3 == L3::kIpv4 || meta.l3 == L3::kIpv6) {
        EXPECT_EQ(meta.l4_off, meta.l3_off + meta.l3_hdr_len);
        EXPECT_LE(meta.l4_off, meta.ip_end);
        EXPECT_LE(meta.ip_end + 0u, len);
      }
    }
  }
}

TEST(ParseRobustness, OversizedLengthIsClampedNotOverflowed) {
  // A frame longer than 64 KiB: offsets are 16 bits, so the parser treats the
  // frame as 65535 bytes long; a packet fitting in that still parses.
  Ipv4Opts o;
  o.proto = 17;
  Bytes f = frame(eth(0x0800), ipv4(o, udp(1, 2, 100)));
  f.resize(70000, 0);
  PacketMeta meta;
  ASSERT_EQ(parse(f, meta), Drop::kNone);
  EXPECT_EQ(meta.ip_end, kEth + 128);
}

}  // namespace
}  // namespace sluice::dp
