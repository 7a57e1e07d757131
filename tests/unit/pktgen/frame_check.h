// Independent checks of the frames the pktgen tests build: checksums summed
// one big-endian byte pair at a time (RFC 1071), not with dp/checksum.h, so
// a bug there cannot hide itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dp/api/types.h"

namespace sluice::pktgen::check {

using Bytes = std::vector<uint8_t>;

inline IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

inline MacAddr mac(const char* text) {
  return *MacAddr::parse(text);
}

inline const MacAddr kClientMac = mac("02:00:00:00:00:0c");
inline const MacAddr kGatewayMac = mac("02:00:00:00:00:01");
inline const MacAddr kPodMac = mac("02:00:00:00:00:0d");

inline uint32_t sumWords(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i < n; i += 2) {
    sum += static_cast<uint32_t>(p[i]) << 8;
    if (i + 1 < n) sum += p[i + 1];
  }
  return sum;
}

inline uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

inline uint16_t at16(const Bytes& b, size_t off) {
  return static_cast<uint16_t>((b[off] << 8) | b[off + 1]);
}

inline uint32_t at32(const Bytes& b, size_t off) {
  return static_cast<uint32_t>(at16(b, off)) << 16 | at16(b, off + 2);
}

inline bool isV4(const Bytes& f) {
  return at16(f, 12) == 0x0800;
}

// Offset of the transport header of an untagged IPv4 or IPv6 frame.
inline size_t l4Offset(const Bytes& f) {
  return isV4(f) ? 14 + (f[14] & 0xf) * 4u : 14 + 40;
}

// Length of the transport segment, from the IP header's length field.
inline size_t l4Length(const Bytes& f) {
  return isV4(f) ? at16(f, 16) - (f[14] & 0xf) * 4u : at16(f, 18);
}

// A header whose checksum field is right sums (with it) to 0xffff.
inline bool ipv4HeaderValid(const Bytes& f) {
  const size_t ihl = (f[14] & 0xf) * 4u;
  return fold(sumWords(&f[14], ihl)) == 0xffff;
}

// The transport checksum of a frame, over the pseudo-header and the segment.
inline bool l4ChecksumValid(const Bytes& f, uint8_t proto) {
  const size_t ip = 14;
  const size_t l4 = l4Offset(f);
  const size_t len = l4Length(f);
  uint32_t pseudo = proto + static_cast<uint32_t>(len);
  pseudo = isV4(f) ? sumWords(&f[ip + 12], 8, pseudo) : sumWords(&f[ip + 8], 32, pseudo);
  return fold(sumWords(&f[l4], len, pseudo)) == 0xffff;
}

}  // namespace sluice::pktgen::check
