// Internet checksums (RFC 1071) and incremental updates (RFC 1624). Pure: no
// DPDK. The one-word update and the building blocks the checksum code shares
// (native loads, folding) are inline; whole-buffer sums live in checksum.cc.
// UDP callers store a computed 0 as 0xffff (RFC 768); these return raw values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sluice::dp {

// The ones'-complement sum is byte-order independent (RFC 1071 section 2B):
// summing native-order words and swapping the folded result gives the sum of
// big-endian words, and a checksum kept in native order can be updated with
// native words and stored back as is. So checksum code loads words natively,
// with no alignment assumption, and converts at most once.
inline uint64_t loadNative64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline uint32_t loadNative32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline uint16_t loadNative16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline void storeNative16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, sizeof(v));
}

// Folds a ones'-complement sum of 16-bit (or 32-bit) words to 16 bits, not
// inverted. Any sum that fits in 64 bits folds without loss.
inline uint16_t fold64(uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Ones'-complement sum of `len` bytes, folded to 16 bits, not inverted.
// Bytes are summed as big-endian 16-bit words; an odd tail is padded with 0.
uint16_t onesSum(const void* data, size_t len, uint32_t initial = 0);

// True when an IPv4 header of `ihl_bytes` sums to 0xffff, as a valid one
// does (RFC 1071). The option-less 20-byte header, nearly every packet, is
// five loads inline; longer ones go through onesSum.
inline bool ipv4HeaderSumValid(const uint8_t* ip, size_t ihl_bytes) {
  if (ihl_bytes != 20) return onesSum(ip, ihl_bytes) == 0xffff;
  uint64_t sum = uint64_t{loadNative32(ip)} + loadNative32(ip + 4) + loadNative32(ip + 8) +
                 loadNative32(ip + 12) + loadNative32(ip + 16);
  return fold64(sum) == 0xffff;  // 0xffff reads the same in either byte order
}

// The checksum to store: ~onesSum(...), in host order.
inline uint16_t internetChecksum(const void* data, size_t len, uint32_t initial = 0) {
  return static_cast<uint16_t>(~onesSum(data, len, initial));
}

// RFC 1624 eqn. 3: the new checksum after a 16-bit word changed from `old_word`
// to `new_word`. All values host order.
inline uint16_t checksumUpdate16(uint16_t check, uint16_t old_word, uint16_t new_word) {
  uint32_t sum = static_cast<uint16_t>(~check) + static_cast<uint16_t>(~old_word) + new_word;
  return static_cast<uint16_t>(~fold64(sum));
}

// IPv4 header checksum over `ihl_bytes` bytes at `ip`, with the checksum field
// treated as zero. Host order.
uint16_t ipv4HeaderChecksum(const uint8_t* ip, size_t ihl_bytes);

// Checksum of an L4 segment (TCP, UDP, ICMPv6) including the pseudo-header.
// `l4` points at the L4 header whose checksum field must be zero (or is
// skipped by the caller); `l4_len` covers header and payload. Host order.
uint16_t l4ChecksumV4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, const uint8_t* l4,
                      size_t l4_len);
uint16_t l4ChecksumV6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                      const uint8_t* l4, size_t l4_len);

}  // namespace sluice::dp
