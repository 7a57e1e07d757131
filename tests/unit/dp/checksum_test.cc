#include "dp/checksum.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace sluice::dp {
namespace {

using Bytes = std::vector<uint8_t>;

// Reference: RFC 1071 taken literally, one big-endian byte pair at a time.
uint16_t refOnesSum(const uint8_t* p, size_t n, uint32_t initial = 0) {
  uint64_t sum = initial;
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
  return static_cast<uint16_t>(sum);
}

uint16_t refChecksum(const Bytes& b) {
  return static_cast<uint16_t>(~refOnesSum(b.data(), b.size()));
}

Bytes randomBytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) {
    x = static_cast<uint8_t>(rng());
  }
  return b;
}

uint16_t load16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

void store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

TEST(OnesSum, Rfc1071Example) {
  // RFC 1071 section 3: these bytes sum to 0xddf2, checksum 0x220d.
  const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(onesSum(bytes, sizeof(bytes)), 0xddf2);
  EXPECT_EQ(internetChecksum(bytes, sizeof(bytes)), 0x220d);
}

TEST(OnesSum, EdgeCases) {
  const uint8_t ff[64] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(onesSum(nullptr, 0), 0);
  EXPECT_EQ(onesSum(nullptr, 0, 0x1234), 0x1234);
  EXPECT_EQ(onesSum(nullptr, 0, 0x12345), 0x2346);  // folded
  EXPECT_EQ(onesSum(ff, sizeof(ff)), 0xffff);
  EXPECT_EQ(onesSum(ff, 1), 0xff00);  // odd byte is the high byte
  EXPECT_EQ(onesSum(ff, 3), 0xff00);  // 0xffff + 0xff00 = 0x1feff -> 0xff00
  EXPECT_EQ(onesSum(ff, 64, 0xffffffff), refOnesSum(ff, 64, 0xffffffff));
  const uint8_t zeros[7] = {};
  EXPECT_EQ(onesSum(zeros, sizeof(zeros)), 0);
  EXPECT_EQ(internetChecksum(zeros, sizeof(zeros)), 0xffff);
}

TEST(OnesSum, MatchesReferenceForEveryLengthAndAlignment) {
  std::mt19937 rng(42);
  const Bytes buf = randomBytes(rng, 256);
  const Bytes ones(256, 0xff);  // worst case for carries
  for (size_t len = 0; len <= 200; len++) {
    for (size_t off = 0; off < 16; off++) {
      const uint32_t initial = (off % 3 == 0) ? 0 : static_cast<uint32_t>(rng());
      ASSERT_EQ(onesSum(buf.data() + off, len, initial), refOnesSum(buf.data() + off, len, initial))
          << "len " << len << " off " << off << " initial " << initial;
      ASSERT_EQ(internetChecksum(buf.data() + off, len),
                static_cast<uint16_t>(~refOnesSum(buf.data() + off, len)));
      ASSERT_EQ(onesSum(ones.data() + off, len), refOnesSum(ones.data() + off, len));
    }
  }
}

TEST(OnesSum, LongBuffers) {
  std::mt19937 rng(7);
  for (size_t len : {1499u, 1500u, 9000u, 65535u}) {
    const Bytes buf = randomBytes(rng, len + 3);
    EXPECT_EQ(onesSum(buf.data() + 3, len), refOnesSum(buf.data() + 3, len)) << len;
  }
}

TEST(OnesSum, StoredChecksumMakesTheSumAllOnes) {
  std::mt19937 rng(3);
  for (int i = 0; i < 1000; i++) {
    Bytes b = randomBytes(rng, 2 + 2 * (rng() % 40));
    store16(b.data(), 0);
    store16(b.data(), internetChecksum(b.data(), b.size()));
    EXPECT_EQ(onesSum(b.data(), b.size()), 0xffff);
  }
}

TEST(ChecksumUpdate16, EqualsRecomputation) {
  std::mt19937 rng(99);
  for (int i = 0; i < 20000; i++) {
    const size_t words = 2 + rng() % 40;
    Bytes b = randomBytes(rng, words * 2);
    // Word 0 stays nonzero and unchanged, so the data never becomes all zero,
    // the one case where eqn. 3 gives 0x0000 and recomputation 0xffff (equal
    // in ones' complement).
    b[0] |= 0x80;
    const uint16_t before = refChecksum(b);
    const size_t at = 2 * (1 + rng() % (words - 1));
    const uint16_t old_word = load16(b.data() + at);
    uint16_t new_word = static_cast<uint16_t>(rng());
    if (i % 4 == 0) {
      new_word = (i % 8 == 0) ? 0 : 0xffff;  // the edge values
    }
    store16(b.data() + at, new_word);
    ASSERT_EQ(checksumUpdate16(before, old_word, new_word), refChecksum(b))
        << "iteration " << i << " old " << old_word << " new " << new_word;
  }
}

TEST(ChecksumUpdate16, ChainOfUpdatesOnAnIpv4Header) {
  // NAT-style: rewrite the addresses word by word, then verify the header.
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; i++) {
    Bytes ip = randomBytes(rng, 20);
    ip[0] = 0x45;
    store16(ip.data() + 10, ipv4HeaderChecksum(ip.data(), ip.size()));
    for (size_t at = 12; at < 20; at += 2) {
      const uint16_t new_word = static_cast<uint16_t>(rng());
      const uint16_t check =
          checksumUpdate16(load16(ip.data() + 10), load16(ip.data() + at), new_word);
      store16(ip.data() + at, new_word);
      store16(ip.data() + 10, check);
    }
    EXPECT_EQ(load16(ip.data() + 10), ipv4HeaderChecksum(ip.data(), ip.size()));
    EXPECT_EQ(refOnesSum(ip.data(), ip.size()), 0xffff);
  }
}

TEST(Ipv4HeaderChecksum, KnownHeaders) {
  // 192.168.0.1 -> 192.168.0.199, UDP, TTL 64, DF, total length 115.
  uint8_t h1[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                  0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(ipv4HeaderChecksum(h1, sizeof(h1)), 0xb861);
  // The field's current value does not matter.
  h1[10] = 0x12;
  h1[11] = 0x34;
  EXPECT_EQ(ipv4HeaderChecksum(h1, sizeof(h1)), 0xb861);

  // Worked by hand: 4500 003c 1c46 4000 4006 [b1e6] ac10 0a63 ac10 0a0c.
  // 4500+003c+1c46+4000+4006+ac10+0a63+ac10+0a0c = 0x24e17 -> 0x4e19, ~ = 0xb1e6.
  const uint8_t h2[] = {0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06,
                        0x00, 0x00, 0xac, 0x10, 0x0a, 0x63, 0xac, 0x10, 0x0a, 0x0c};
  EXPECT_EQ(ipv4HeaderChecksum(h2, sizeof(h2)), 0xb1e6);
}

TEST(Ipv4HeaderChecksum, WithOptionsMatchesReference) {
  std::mt19937 rng(11);
  for (size_t ihl = 20; ihl <= 60; ihl += 4) {
    for (int i = 0; i < 200; i++) {
      Bytes h = randomBytes(rng, ihl);
      const uint16_t got = ipv4HeaderChecksum(h.data(), ihl);
      store16(h.data() + 10, 0);
      EXPECT_EQ(got, refChecksum(h)) << ihl;
      store16(h.data() + 10, got);
      EXPECT_EQ(refOnesSum(h.data(), ihl), 0xffff);
    }
  }
}

uint16_t refL4(const uint8_t* src, const uint8_t* dst, size_t addr_len, uint8_t proto,
               const uint8_t* l4, size_t l4_len) {
  Bytes pseudo(src, src + addr_len);
  pseudo.insert(pseudo.end(), dst, dst + addr_len);
  if (addr_len == 4) {
    pseudo.push_back(0);
    pseudo.push_back(proto);
    pseudo.push_back(static_cast<uint8_t>(l4_len >> 8));
    pseudo.push_back(static_cast<uint8_t>(l4_len));
  } else {
    pseudo.push_back(static_cast<uint8_t>(l4_len >> 24));
    pseudo.push_back(static_cast<uint8_t>(l4_len >> 16));
    pseudo.push_back(static_cast<uint8_t>(l4_len >> 8));
    pseudo.push_back(static_cast<uint8_t>(l4_len));
    pseudo.insert(pseudo.end(), {0, 0, 0, proto});
  }
  pseudo.insert(pseudo.end(), l4, l4 + l4_len);
  return refChecksum(pseudo);
}

TEST(L4Checksum, KnownV4Udp) {
  // 10.0.0.1 -> 10.0.0.2, UDP 1 -> 2, length 8, no payload. By hand:
  // 0a00+0001+0a00+0002+0011+0008 + 0001+0002+0008 = 0x1427, ~ = 0xebd8.
  const uint8_t src[4] = {10, 0, 0, 1};
  const uint8_t dst[4] = {10, 0, 0, 2};
  const uint8_t udp[8] = {0, 1, 0, 2, 0, 8, 0, 0};
  EXPECT_EQ(l4ChecksumV4(src, dst, 17, udp, sizeof(udp)), 0xebd8);
}

TEST(L4Checksum, KnownV6IcmpEcho) {
  // ::1 -> ::2, ICMPv6 echo request, id 0 seq 0. By hand:
  // 0001+0002+0008+003a + 8000 = 0x8045, ~ = 0x7fba.
  uint8_t src[16] = {};
  uint8_t dst[16] = {};
  src[15] = 1;
  dst[15] = 2;
  const uint8_t echo[8] = {128, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(l4ChecksumV6(src, dst, 58, echo, sizeof(echo)), 0x7fba);
}

TEST(L4Checksum, MatchesReference) {
  std::mt19937 rng(2024);
  for (int i = 0; i < 3000; i++) {
    const size_t len = rng() % 1600;
    const size_t off = rng() % 8;
    const Bytes buf = randomBytes(rng, len + off);
    const Bytes addrs = randomBytes(rng, 32);
    const auto proto = static_cast<uint8_t>(rng());
    const uint8_t* l4 = buf.data() + off;
    ASSERT_EQ(l4ChecksumV4(addrs.data(), addrs.data() + 4, proto, l4, len),
              refL4(addrs.data(), addrs.data() + 4, 4, proto, l4, len))
        << "v4 len " << len;
    ASSERT_EQ(l4ChecksumV6(addrs.data(), addrs.data() + 16, proto, l4, len),
              refL4(addrs.data(), addrs.data() + 16, 16, proto, l4, len))
        << "v6 len " << len;
  }
}

TEST(L4Checksum, V6LengthIsThirtyTwoBits) {
  // An IPv6 jumbogram's upper-layer length does not fit in 16 bits.
  std::mt19937 rng(6);
  const Bytes seg = randomBytes(rng, 70001);
  const Bytes addrs = randomBytes(rng, 32);
  EXPECT_EQ(l4ChecksumV6(addrs.data(), addrs.data() + 16, 17, seg.data(), seg.size()),
            refL4(addrs.data(), addrs.data() + 16, 16, 17, seg.data(), seg.size()));
}

TEST(L4Checksum, StoredChecksumVerifies) {
  // A receiver sums pseudo-header and segment with the checksum in place and
  // expects all ones; check that round trip for TCP over IPv6.
  std::mt19937 rng(8);
  for (int i = 0; i < 500; i++) {
    Bytes seg = randomBytes(rng, 20 + rng() % 200);
    const Bytes addrs = randomBytes(rng, 32);
    store16(seg.data() + 16, 0);
    const uint16_t check = l4ChecksumV6(addrs.data(), addrs.data() + 16, 6, seg.data(), seg.size());
    store16(seg.data() + 16, check);
    EXPECT_EQ(l4ChecksumV6(addrs.data(), addrs.data() + 16, 6, seg.data(), seg.size()), 0);
  }
}

}  // namespace
}  // namespace sluice::dp
