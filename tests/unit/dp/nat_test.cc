#include "dp/nat.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::dp {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kDestOptions = 60;

// ---------------------------------------------------------------------------
// Reference checksums: RFC 1071 and the pseudo-headers of RFC 768/793/8200,
// spelled out byte by byte over a freshly built buffer. Deliberately shares
// nothing with dp/checksum.

uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint16_t refSum(const Bytes& b) {
  uint64_t sum = 0;
  for (size_t i = 0; i < b.size(); i += 2) {
    const uint8_t lo = i + 1 < b.size() ? b[i + 1] : 0;
    sum += (static_cast<uint32_t>(b[i]) << 8) | lo;
  }
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// A packet and where its headers are. Offsets from the start of the IP header.
struct Packet {
  Bytes bytes;
  Family family = Family::kV4;
  uint8_t proto = kTcp;
  uint16_t l3_len = 0;  // IPv4 IHL*4, or IPv6 40 + extension headers
  bool udp_no_checksum = false;

  size_t addrLen() const { return family == Family::kV4 ? 4 : 16; }
  size_t srcOff() const { return family == Family::kV4 ? 12 : 8; }
  size_t dstOff() const { return family == Family::kV4 ? 16 : 24; }
  size_t l4Len() const { return bytes.size() - l3_len; }
  size_t l4CheckOff() const { return l3_len + (proto == kTcp ? 16 : 6); }
  const uint8_t* src() const { return bytes.data() + srcOff(); }
  const uint8_t* dst() const { return bytes.data() + dstOff(); }
};

uint16_t refIpv4HeaderChecksum(const Packet& p) {
  Bytes header(p.bytes.begin(), p.bytes.begin() + p.l3_len);
  header[10] = 0;
  header[11] = 0;
  return static_cast<uint16_t>(~refSum(header));
}

// The sum a receiver checks: 0xffff when the header checksum is right.
uint16_t refIpv4HeaderResidual(const Packet& p) {
  return refSum(Bytes(p.bytes.begin(), p.bytes.begin() + p.l3_len));
}

// The pseudo-header followed by the L4 segment, checksum field as it is.
Bytes pseudoHeaderAndL4(const Packet& p) {
  Bytes buf(p.src(), p.src() + p.addrLen());
  buf.insert(buf.end(), p.dst(), p.dst() + p.addrLen());
  const auto len = static_cast<uint32_t>(p.l4Len());
  if (p.family == Family::kV4) {
    buf.push_back(0);
    buf.push_back(p.proto);
    buf.push_back(static_cast<uint8_t>(len >> 8));
    buf.push_back(static_cast<uint8_t>(len));
  } else {
    for (int shift = 24; shift >= 0; shift -= 8) buf.push_back(static_cast<uint8_t>(len >> shift));
    buf.push_back(0);
    buf.push_back(0);
    buf.push_back(0);
    buf.push_back(p.proto);
  }
  buf.insert(buf.end(), p.bytes.begin() + p.l3_len, p.bytes.end());
  return buf;
}

// The L4 checksum as computed, before UDP's 0 -> 0xffff substitution.
uint16_t refL4Checksum(const Packet& p) {
  Bytes buf = pseudoHeaderAndL4(p);
  const size_t check = buf.size() - p.l4Len() + (p.proto == kTcp ? 16 : 6);
  buf[check] = 0;
  buf[check + 1] = 0;
  return static_cast<uint16_t>(~refSum(buf));
}

// The sum a receiver checks: 0xffff when the L4 checksum is right.
uint16_t refL4Residual(const Packet& p) {
  return refSum(pseudoHeaderAndL4(p));
}

// Writes the checksums a correct sender would.
void fillChecksums(Packet& p) {
  if (p.family == Family::kV4) put16(p.bytes.data() + 10, refIpv4HeaderChecksum(p));
  uint16_t check = 0;
  if (!p.udp_no_checksum) {
    check = refL4Checksum(p);
    if (p.proto == kUdp && check == 0) check = 0xffff;
  }
  put16(p.bytes.data() + p.l4CheckOff(), check);
}

// ---------------------------------------------------------------------------
// Packet construction.

struct Shape {
  Family family = Family::kV4;
  uint8_t proto = kTcp;
  unsigned ip_options = 0;              // IPv4: option bytes, multiple of 4, at most 40
  std::vector<unsigned> ext_headers{};  // IPv6: extension header sizes, multiples of 8
  unsigned tcp_options = 0;             // multiple of 4, at most 40
  unsigned payload = 0;
  bool udp_no_checksum = false;  // IPv4 only
};

void fillRandom(std::mt19937_64& rng, uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng());
}

Packet buildPacket(std::mt19937_64& rng, const Shape& s) {
  Packet p;
  p.family = s.family;
  p.proto = s.proto;
  p.udp_no_checksum = s.udp_no_checksum;

  unsigned l3_len = 0;
  if (s.family == Family::kV4) {
    l3_len = 20 + s.ip_options;
  } else {
    l3_len = 40;
    for (unsigned e : s.ext_headers) l3_len += e;
  }
  const unsigned l4_hdr = s.proto == kTcp ? 20 + s.tcp_options : 8;
  const unsigned total = l3_len + l4_hdr + s.payload;
  p.l3_len = static_cast<uint16_t>(l3_len);
  p.bytes.resize(total);
  fillRandom(rng, p.bytes.data(), total);  // addresses, options, payload, ...
  uint8_t* ip = p.bytes.data();

  if (s.family == Family::kV4) {
    ip[0] = static_cast<uint8_t>(0x40 | (l3_len / 4));
    put16(ip + 2, static_cast<uint16_t>(total));
    put16(ip + 6, 0x4000);  // DF, not a fragment
    ip[9] = s.proto;
  } else {
    ip[0] = static_cast<uint8_t>(0x60 | (ip[0] & 0x0f));
    put16(ip + 4, static_cast<uint16_t>(total - 40));
    // Hop-by-hop first, destination options after it, then the L4 header.
    unsigned off = 40;
    uint8_t* next_field = ip + 6;
    for (size_t i = 0; i < s.ext_headers.size(); ++i) {
      *next_field = i == 0 ? kHopByHop : kDestOptions;
      ip[off + 1] = static_cast<uint8_t>(s.ext_headers[i] / 8 - 1);
      next_field = ip + off;
      off += s.ext_headers[i];
    }
    *next_field = s.proto;
  }

  uint8_t* l4 = ip + l3_len;
  if (s.proto == kTcp) {
    l4[12] = static_cast<uint8_t>((((20 + s.tcp_options) / 4) << 4) | (l4[12] & 0x0f));
  } else {
    put16(l4 + 4, static_cast<uint16_t>(total - l3_len));
  }
  fillChecksums(p);
  return p;
}

Shape randomShape(std::mt19937_64& rng, unsigned i) {
  Shape s;
  s.family = (i & 1) != 0 ? Family::kV6 : Family::kV4;
  s.proto = (i & 2) != 0 ? kUdp : kTcp;
  if (s.family == Family::kV4) {
    if (rng() % 4 == 0) s.ip_options = 4 * static_cast<unsigned>(1 + rng() % 10);
  } else {
    const auto n = rng() % 8 == 0 ? 1 + rng() % 2 : 0;
    for (unsigned k = 0; k < n; ++k)
      s.ext_headers.push_back(8 * static_cast<unsigned>(1 + rng() % 4));
  }
  if (s.proto == kTcp && rng() % 4 == 0) s.tcp_options = 4 * static_cast<unsigned>(rng() % 11);
  // Mostly small payloads, some full-sized; both parities throughout.
  s.payload = static_cast<unsigned>(rng() % 4 == 0 ? rng() % 1461 : rng() % 257);
  s.udp_no_checksum = s.family == Family::kV4 && s.proto == kUdp && rng() % 8 == 0;
  return s;
}

// The rewrite that restores `p`'s current addresses and ports.
Rewrite rewriteTo(const Packet& p) {
  Rewrite rw{};
  std::memcpy(rw.src, p.src(), p.addrLen());
  std::memcpy(rw.dst, p.dst(), p.addrLen());
  std::memcpy(&rw.sport, p.bytes.data() + p.l3_len, 2);
  std::memcpy(&rw.dport, p.bytes.data() + p.l3_len + 2, 2);
  return rw;
}

// A new address: the old one, a random one, or the old one with a byte or a
// 16-bit word changed.
void mutateAddress(std::mt19937_64& rng, const uint8_t* old, uint8_t* out, size_t len) {
  switch (rng() % 4) {
    case 0:
      std::memcpy(out, old, len);
      break;
    case 1:
      fillRandom(rng, out, len);
      break;
    case 2:
      std::memcpy(out, old, len);
      out[rng() % len] ^= static_cast<uint8_t>(1 + rng() % 255);
      break;
    default: {
      std::memcpy(out, old, len);
      const size_t w = 2 * (rng() % (len / 2));
      put16(out + w, static_cast<uint16_t>(get16(out + w) ^ (1 + rng() % 0xffff)));
      break;
    }
  }
}

Rewrite randomRewrite(std::mt19937_64& rng, const Packet& p) {
  Rewrite rw = rewriteTo(p);
  // Junk past an IPv4 address's 4 bytes must be ignored.
  fillRandom(rng, rw.src, sizeof(rw.src));
  fillRandom(rng, rw.dst, sizeof(rw.dst));
  mutateAddress(rng, p.src(), rw.src, p.addrLen());
  mutateAddress(rng, p.dst(), rw.dst, p.addrLen());
  if (rng() % 3 != 0) rw.sport = static_cast<uint16_t>(rng());
  if (rng() % 3 != 0) rw.dport = static_cast<uint16_t>(rng());
  return rw;
}

// What a correct rewrite produces: the fields set, checksums recomputed in full.
Packet expectedAfter(const Packet& p, const Rewrite& rw) {
  Packet e = p;
  std::memcpy(e.bytes.data() + e.srcOff(), rw.src, e.addrLen());
  std::memcpy(e.bytes.data() + e.dstOff(), rw.dst, e.addrLen());
  std::memcpy(e.bytes.data() + e.l3_len, &rw.sport, 2);
  std::memcpy(e.bytes.data() + e.l3_len + 2, &rw.dport, 2);
  fillChecksums(e);
  return e;
}

void rewrite(Packet& p, const Rewrite& rw) {
  applyRewrite(p.bytes.data(), p.l3_len, p.family, p.proto, rw);
}

std::string regionOf(const Packet& p, size_t off) {
  if (p.family == Family::kV4 && (off == 10 || off == 11)) return "IPv4 header checksum";
  if (off >= p.srcOff() && off < p.srcOff() + p.addrLen()) return "source address";
  if (off >= p.dstOff() && off < p.dstOff() + p.addrLen()) return "destination address";
  if (off < p.l3_len) return "IP header";
  if (off < p.l3_len + 4u) return "ports";
  if (off == p.l4CheckOff() || off == p.l4CheckOff() + 1) return "L4 checksum";
  return p.proto == kTcp && off < p.l3_len + 20u ? "TCP header" : "L4 header or payload";
}

testing::AssertionResult sameBytes(const Packet& got, const Packet& want) {
  if (got.bytes.size() != want.bytes.size()) {
    return testing::AssertionFailure()
           << "length " << got.bytes.size() << " != " << want.bytes.size();
  }
  for (size_t i = 0; i < got.bytes.size(); ++i) {
    if (got.bytes[i] != want.bytes[i]) {
      // AssertionResult streams each value on its own, so format here.
      std::ostringstream why;
      why << "byte " << i << " (" << regionOf(want, i) << "): got 0x" << std::hex
          << int{got.bytes[i]} << ", want 0x" << int{want.bytes[i]} << std::dec << "; family "
          << (want.family == Family::kV4 ? 4 : 6) << ", proto " << int{want.proto} << ", l3_len "
          << want.l3_len << ", l4_len " << want.l4Len();
      return testing::AssertionFailure() << why.str();
    }
  }
  return testing::AssertionSuccess();
}

// Sets the first payload word so that the L4 checksum of `p` computes to 0.
// The word sits at an even offset of the L4 segment, so it adds as a whole.
void forceComputedZero(Packet& p) {
  const size_t word = p.l3_len + (p.proto == kTcp ? 20u : 8u);
  put16(p.bytes.data() + word, 0);
  // With the word at 0 the sum S is in [1, 0xffff]; 0xffff - S brings it to
  // 0xffff exactly, whose complement is 0.
  const auto s = static_cast<uint16_t>(~refL4Checksum(p));
  put16(p.bytes.data() + word, static_cast<uint16_t>(0xffff - s));
}

// ---------------------------------------------------------------------------
// The reference itself, against known answers.

TEST(NatReference, KnownIpv4HeaderChecksum) {
  // A commonly used example header: 192.168.0.1 -> 192.168.0.199, UDP.
  Packet p;
  p.bytes = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
             0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  p.l3_len = 20;
  EXPECT_EQ(refIpv4HeaderChecksum(p), 0xb861);
}

TEST(NatReference, Rfc1071Sum) {
  EXPECT_EQ(refSum({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}), 0xddf2);
  EXPECT_EQ(refSum({0xab}), 0xab00);  // odd tail padded on the right
}

// ---------------------------------------------------------------------------
// applyRewrite.

constexpr unsigned kRandomPackets = 100'000;

TEST(ApplyRewrite, MatchesFullRecomputationOnRandomPackets) {
  std::mt19937_64 rng(0x5111ce);
  unsigned odd_payloads = 0;
  unsigned ipv4_options = 0;
  unsigned ipv6_ext = 0;
  unsigned udp_none = 0;
  unsigned same_src = 0;
  unsigned same_port = 0;
  unsigned all_same = 0;
  for (unsigned i = 0; i < kRandomPackets; ++i) {
    const Shape shape = randomShape(rng, i);
    Packet pkt = buildPacket(rng, shape);
    const Packet original = pkt;
    const Rewrite rw = randomRewrite(rng, pkt);
    const Packet want = expectedAfter(pkt, rw);

    rewrite(pkt, rw);
    ASSERT_TRUE(sameBytes(pkt, want)) << "packet " << i;
    // Back again: the reverse translation restores every byte.
    rewrite(pkt, rewriteTo(original));
    ASSERT_TRUE(sameBytes(pkt, original)) << "packet " << i << ", reversed";

    odd_payloads += shape.payload % 2;
    ipv4_options += shape.ip_options != 0 ? 1 : 0;
    ipv6_ext += shape.ext_headers.empty() ? 0 : 1;
    udp_none += shape.udp_no_checksum ? 1 : 0;
    same_src += std::memcmp(rw.src, original.src(), original.addrLen()) == 0 ? 1 : 0;
    same_port += rw.sport == rewriteTo(original).sport ? 1 : 0;
    all_same += want.bytes == original.bytes ? 1 : 0;
  }
  // The generator covers what it claims to.
  EXPECT_GT(odd_payloads, kRandomPackets / 4);
  EXPECT_GT(ipv4_options, kRandomPackets / 20);
  EXPECT_GT(ipv6_ext, kRandomPackets / 40);
  EXPECT_GT(udp_none, kRandomPackets / 50);
  EXPECT_GT(same_src, kRandomPackets / 8);
  EXPECT_GT(same_port, kRandomPackets / 8);
  EXPECT_GT(all_same, 0u);
}

TEST(ApplyRewrite, UdpOverIpv4WithoutChecksumKeepsZero) {
  std::mt19937_64 rng(1);
  for (unsigned payload : {0u, 1u, 2u, 33u, 1000u}) {
    Shape s{.family = Family::kV4, .proto = kUdp, .payload = payload, .udp_no_checksum = true};
    Packet pkt = buildPacket(rng, s);
    ASSERT_EQ(get16(pkt.bytes.data() + pkt.l4CheckOff()), 0);
    const Rewrite rw = randomRewrite(rng, pkt);
    const Packet want = expectedAfter(pkt, rw);
    rewrite(pkt, rw);
    EXPECT_EQ(get16(pkt.bytes.data() + pkt.l4CheckOff()), 0);
    EXPECT_TRUE(sameBytes(pkt, want));
  }
}

TEST(ApplyRewrite, UdpComputedZeroIsStoredAsFfff) {
  std::mt19937_64 rng(2);
  for (Family family : {Family::kV4, Family::kV6}) {
    for (unsigned payload : {2u, 7u, 64u}) {
      Packet pkt = buildPacket(rng, {.family = family, .proto = kUdp, .payload = payload});
      Rewrite rw = randomRewrite(rng, pkt);
      rw.src[0] ^= 0x80;  // some change for certain
      // Make the translated packet's checksum compute to 0, then checksum the
      // original as a sender would.
      Packet want = expectedAfter(pkt, rw);
      forceComputedZero(want);
      ASSERT_EQ(refL4Checksum(want), 0);
      std::memcpy(pkt.bytes.data() + want.l3_len + 8, want.bytes.data() + want.l3_len + 8, 2);
      fillChecksums(pkt);
      fillChecksums(want);
      ASSERT_EQ(get16(want.bytes.data() + want.l4CheckOff()), 0xffff);
      ASSERT_NE(get16(pkt.bytes.data() + pkt.l4CheckOff()), 0xffff);
      const Packet original = pkt;

      rewrite(pkt, rw);
      EXPECT_EQ(get16(pkt.bytes.data() + pkt.l4CheckOff()), 0xffff);
      EXPECT_TRUE(sameBytes(pkt, want));
      // And from 0xffff back to an ordinary value.
      rewrite(pkt, rewriteTo(original));
      EXPECT_TRUE(sameBytes(pkt, original));
    }
  }
}

TEST(ApplyRewrite, TcpComputedZeroStaysZero) {
  std::mt19937_64 rng(3);
  for (Family family : {Family::kV4, Family::kV6}) {
    Packet pkt = buildPacket(rng, {.family = family, .proto = kTcp, .payload = 9});
    Rewrite rw = randomRewrite(rng, pkt);
    rw.dport = static_cast<uint16_t>(rw.dport ^ 0x0101);
    Packet want = expectedAfter(pkt, rw);
    forceComputedZero(want);
    std::memcpy(pkt.bytes.data() + want.l3_len + 20, want.bytes.data() + want.l3_len + 20, 2);
    fillChecksums(pkt);
    fillChecksums(want);
    ASSERT_EQ(get16(want.bytes.data() + want.l4CheckOff()), 0);

    rewrite(pkt, rw);
    EXPECT_EQ(get16(pkt.bytes.data() + pkt.l4CheckOff()), 0);
    EXPECT_TRUE(sameBytes(pkt, want));
  }
}

TEST(ApplyRewrite, Ipv4WithOptions) {
  std::mt19937_64 rng(4);
  for (unsigned options : {4u, 12u, 40u}) {
    for (uint8_t proto : {kTcp, kUdp}) {
      Packet pkt = buildPacket(
          rng, {.family = Family::kV4, .proto = proto, .ip_options = options, .payload = 101});
      ASSERT_EQ(pkt.bytes[0] & 0x0f, 5 + options / 4);
      const Rewrite rw = randomRewrite(rng, pkt);
      const Packet want = expectedAfter(pkt, rw);
      rewrite(pkt, rw);
      EXPECT_TRUE(sameBytes(pkt, want)) << options << " option bytes, proto " << int{proto};
    }
  }
}

TEST(ApplyRewrite, Ipv6WithExtensionHeaders) {
  std::mt19937_64 rng(5);
  for (const auto& ext : {std::vector<unsigned>{8}, std::vector<unsigned>{16, 24}}) {
    for (uint8_t proto : {kTcp, kUdp}) {
      Packet pkt = buildPacket(
          rng, {.family = Family::kV6, .proto = proto, .ext_headers = ext, .payload = 55});
      ASSERT_GT(pkt.l3_len, 40);
      ASSERT_EQ(pkt.bytes[6], kHopByHop);
      Rewrite rw = randomRewrite(rng, pkt);
      rw.src[15] ^= 1;
      rw.dst[0] ^= 0x20;
      const Packet want = expectedAfter(pkt, rw);
      rewrite(pkt, rw);
      EXPECT_TRUE(sameBytes(pkt, want)) << ext.size() << " extension headers";
    }
  }
}

// A NAT must not launder a corrupt packet: whatever a checksum was off by
// before the rewrite, it is off by the same after, so the receiver still drops
// it. Over IPv6 a zero UDP checksum is such a corrupt value, not "none".
TEST(ApplyRewrite, BadChecksumsStayBadByTheSameAmount) {
  std::mt19937_64 rng(7);
  unsigned v6_udp_zero = 0;
  for (unsigned i = 0; i < 4000; ++i) {
    Packet pkt = buildPacket(rng, randomShape(rng, i));
    if (pkt.udp_no_checksum) continue;
    uint16_t bad = static_cast<uint16_t>(rng());
    if (pkt.proto == kUdp && pkt.family == Family::kV6 && i % 8 == 3) {
      bad = 0;
      ++v6_udp_zero;
    }
    if (pkt.proto == kUdp && pkt.family == Family::kV4 && bad == 0) bad = 1;
    put16(pkt.bytes.data() + pkt.l4CheckOff(), bad);
    if (pkt.family == Family::kV4) put16(pkt.bytes.data() + 10, static_cast<uint16_t>(rng()));
    const uint16_t l4_before = refL4Residual(pkt);
    const uint16_t ip_before = refIpv4HeaderResidual(pkt);

    Rewrite rw = randomRewrite(rng, pkt);
    rw.src[1] ^= 0x11;
    rewrite(pkt, rw);
    ASSERT_EQ(refL4Residual(pkt), l4_before) << "packet " << i;
    if (pkt.family == Family::kV4) {
      ASSERT_EQ(refIpv4HeaderResidual(pkt), ip_before) << "packet " << i;
    }
  }
  EXPECT_GT(v6_udp_zero, 100u);
}

TEST(ApplyRewrite, IdentityRewriteChangesNothing) {
  std::mt19937_64 rng(6);
  for (unsigned i = 0; i < 64; ++i) {
    Packet pkt = buildPacket(rng, randomShape(rng, i));
    const Packet original = pkt;
    rewrite(pkt, rewriteTo(original));
    ASSERT_TRUE(sameBytes(pkt, original)) << "packet " << i;
  }
}

}  // namespace
}  // namespace sluice::dp
