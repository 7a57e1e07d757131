// Small helpers the stages share for reading and writing header fields: the
// one home of big-endian loads and stores, ethertypes and the Ethernet
// header. Pure: no DPDK, so the pure stages (parse) use it too.
#pragma once

#include <cstdint>
#include <cstring>

#include "dp/api/types.h"

namespace sluice::dp {

// Big-endian loads and stores. Callers check the bounds; byte access makes no
// alignment assumption, and GCC and Clang compile it to one load and a swap.
inline uint16_t loadBe16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline void storeBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline uint32_t loadBe32(const uint8_t* p) {
  return static_cast<uint32_t>(loadBe16(p)) << 16 | loadBe16(p + 2);
}
inline void storeBe32(uint8_t* p, uint32_t v) {
  storeBe16(p, static_cast<uint16_t>(v >> 16));
  storeBe16(p + 2, static_cast<uint16_t>(v));
}

// Address equality for `family` (4 or 16 bytes). Each branch has a constant
// length the compiler expands inline; a variable-length memcmp is a libc call.
inline bool sameAddr(Family family, const uint8_t* a, const uint8_t* b) {
  return family == Family::kV4 ? std::memcmp(a, b, 4) == 0 : std::memcmp(a, b, 16) == 0;
}

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;  // 802.1Q
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;  // 802.1ad outer tag
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

// Length of the Ethernet header writeEth produces for a port's VLAN.
inline uint16_t ethHeaderLen(uint16_t vlan) {
  return vlan != 0 ? 18 : 14;
}

// Writes an Ethernet header (with an 802.1Q tag when vlan != 0) at `p`.
inline void writeEth(uint8_t* p, const uint8_t* dst, const MacAddr& src, uint16_t vlan,
                     uint16_t ethertype) {
  std::memcpy(p, dst, 6);
  std::memcpy(p + 6, src.bytes.data(), 6);
  if (vlan != 0) {
    storeBe16(p + 12, kEtherTypeVlan);
    storeBe16(p + 14, vlan);
    p += 4;
  }
  storeBe16(p + 12, ethertype);
}

}  // namespace sluice::dp
