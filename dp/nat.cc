#include "dp/nat.h"

#include <cstring>

#include "dp/checksum.h"

namespace sluice::dp {

namespace {

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

constexpr uint16_t kIpv4CheckOff = 10;
constexpr uint16_t kIpv4SrcOff = 12;
constexpr uint16_t kIpv4DstOff = 16;
constexpr uint16_t kIpv6SrcOff = 8;
constexpr uint16_t kIpv6DstOff = 24;
constexpr uint16_t kTcpCheckOff = 16;
constexpr uint16_t kUdpCheckOff = 6;

// Everything below works on words loaded in native byte order and stores them
// back the same way (see checksum.h): as long as the checksum and the words it
// covers share one order, the arithmetic needs no conversions.

// Adds to `sum` the change of `bytes` bytes (a multiple of 4) going from `old`
// to `now`: ~old + new per word (RFC 1624 eqn. 3). Unchanged words add
// 0xffff...: ones'-complement zero. 32-bit words summed in 64 bits fold to the
// same 16-bit sum as their halves would, since 2^16 == 1 modulo 0xffff.
template <unsigned kBytes>
inline uint64_t addDelta(uint64_t sum, const uint8_t* old, const uint8_t* now) {
  static_assert(kBytes % 4 == 0);
  for (unsigned i = 0; i < kBytes; i += 4) {
    sum += static_cast<uint32_t>(~loadNative32(old + i));
    sum += loadNative32(now + i);
  }
  return sum;
}

// The checksum at `p` after the covered data changed by `delta`: as if one
// word had gone from 0 to `delta`, which is what the whole change amounts to.
inline void adjustChecksum(uint8_t* p, uint16_t delta) {
  storeNative16(p, checksumUpdate16(loadNative16(p), 0, delta));
}

}  // namespace

NatDelta natDelta(Family family, const uint8_t* old_src, const uint8_t* old_dst, uint16_t old_sport,
                  uint16_t old_dport, const Rewrite& rw) {
  uint64_t addr = 0;
  NatDelta d{};
  if (family == Family::kV4) {
    addr = addDelta<4>(addr, old_src, rw.src);
    addr = addDelta<4>(addr, old_dst, rw.dst);
    d.l3 = fold64(addr);
  } else {
    addr = addDelta<16>(addr, old_src, rw.src);
    addr = addDelta<16>(addr, old_dst, rw.dst);
  }
  uint64_t l4 = addr;
  l4 += static_cast<uint16_t>(~old_sport) + static_cast<uint32_t>(rw.sport);
  l4 += static_cast<uint16_t>(~old_dport) + static_cast<uint32_t>(rw.dport);
  d.l4 = fold64(l4);
  return d;
}

void applyRewrite(uint8_t* l3, uint16_t l3_hdr_len, Family family, uint8_t proto, const Rewrite& rw,
                  NatDelta delta) {
  if (family == Family::kV4) {
    std::memcpy(l3 + kIpv4SrcOff, rw.src, 4);
    std::memcpy(l3 + kIpv4DstOff, rw.dst, 4);
    adjustChecksum(l3 + kIpv4CheckOff, delta.l3);
  } else {
    std::memcpy(l3 + kIpv6SrcOff, rw.src, 16);
    std::memcpy(l3 + kIpv6DstOff, rw.dst, 16);
  }
  // Callers pass TCP or UDP; anything else gets its addresses rewritten only.
  if (proto != kProtoTcp && proto != kProtoUdp) return;
  uint8_t* l4 = l3 + l3_hdr_len;
  std::memcpy(l4, &rw.sport, sizeof(rw.sport));
  std::memcpy(l4 + 2, &rw.dport, sizeof(rw.dport));
  if (proto == kProtoTcp) {
    adjustChecksum(l4 + kTcpCheckOff, delta.l4);
    return;
  }
  uint8_t* check = l4 + kUdpCheckOff;
  const uint16_t old_check = loadNative16(check);
  // RFC 768: over IPv4 a zero UDP checksum means none was sent. IPv6 makes it
  // mandatory, so there a zero is just a (bad) value and is updated.
  if (old_check == 0 && family == Family::kV4) return;
  const uint16_t new_check = checksumUpdate16(old_check, 0, delta.l4);
  // A computed 0 is sent as its other ones'-complement form, 0xffff; the
  // value is symmetric under byte swapping, so native order does not matter.
  storeNative16(check, new_check == 0 ? 0xffff : new_check);
}

void applyRewrite(uint8_t* l3, uint16_t l3_hdr_len, Family family, uint8_t proto,
                  const Rewrite& rw) {
  const bool v4 = family == Family::kV4;
  const uint8_t* src = l3 + (v4 ? kIpv4SrcOff : kIpv6SrcOff);
  const uint8_t* dst = l3 + (v4 ? kIpv4DstOff : kIpv6DstOff);
  const bool ports = proto == kProtoTcp || proto == kProtoUdp;
  const uint8_t* l4 = l3 + l3_hdr_len;
  uint16_t sport = ports ? loadNative16(l4) : rw.sport;
  uint16_t dport = ports ? loadNative16(l4 + 2) : rw.dport;
  applyRewrite(l3, l3_hdr_len, family, proto, rw, natDelta(family, src, dst, sport, dport, rw));
}

}  // namespace sluice::dp
