#include "dp/checksum.h"

#include <bit>
#include <cstring>

namespace sluice::dp {

namespace {

// Native-order sums (see checksum.h) are swapped once, at the end.
inline uint16_t toHostOrder(uint16_t native_sum) {
  if constexpr (std::endian::native == std::endian::little) {
    return static_cast<uint16_t>((native_sum >> 8) | (native_sum << 8));
  } else {
    return native_sum;
  }
}

}  // namespace

uint16_t onesSum(const void* data, size_t len, uint32_t initial) {
  const auto* p = static_cast<const uint8_t*>(data);
  // Each 64-bit load is added as two 32-bit halves, so the 64-bit accumulators
  // cannot overflow for any buffer below several GiB. Two of them let the
  // additions of one iteration run in parallel.
  uint64_t a = 0;
  uint64_t b = 0;
  while (len >= 32) {
    const uint64_t w0 = loadNative64(p);
    const uint64_t w1 = loadNative64(p + 8);
    const uint64_t w2 = loadNative64(p + 16);
    const uint64_t w3 = loadNative64(p + 24);
    a += (w0 & 0xffffffffu) + (w0 >> 32) + (w1 & 0xffffffffu) + (w1 >> 32);
    b += (w2 & 0xffffffffu) + (w2 >> 32) + (w3 & 0xffffffffu) + (w3 >> 32);
    p += 32;
    len -= 32;
  }
  while (len >= 8) {
    const uint64_t w = loadNative64(p);
    a += (w & 0xffffffffu) + (w >> 32);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    b += loadNative32(p);
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    a += loadNative16(p);
    p += 2;
    len -= 2;
  }
  if (len != 0) {
    // The odd byte is the high byte of a big-endian word padded with zero;
    // copied into the first byte of a native word it lands in the right place
    // for either byte order.
    uint16_t tail = 0;
    std::memcpy(&tail, p, 1);
    b += tail;
  }
  const uint16_t sum = toHostOrder(fold64(a + b));
  return fold64(static_cast<uint64_t>(sum) + initial);
}

uint16_t ipv4HeaderChecksum(const uint8_t* ip, size_t ihl_bytes) {
  // Sum around the checksum field (bytes 10-11) instead of copying the header.
  constexpr size_t kCheckOff = 10;
  constexpr size_t kAfterCheck = 12;
  if (ihl_bytes <= kCheckOff) {
    return internetChecksum(ip, ihl_bytes);
  }
  const uint16_t head = onesSum(ip, kCheckOff);
  if (ihl_bytes <= kAfterCheck) {
    return static_cast<uint16_t>(~head);
  }
  return internetChecksum(ip + kAfterCheck, ihl_bytes - kAfterCheck, head);
}

uint16_t l4ChecksumV4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, const uint8_t* l4,
                      size_t l4_len) {
  // Pseudo-header: source, destination, zero, protocol, L4 length (RFC 768/793).
  uint32_t pseudo = onesSum(src, 4);
  pseudo += onesSum(dst, 4);
  pseudo += proto;
  pseudo += static_cast<uint32_t>(l4_len & 0xffff);
  return internetChecksum(l4, l4_len, pseudo);
}

uint16_t l4ChecksumV6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                      const uint8_t* l4, size_t l4_len) {
  // Pseudo-header: source, destination, 32-bit length, 24 zero bits, next
  // header (RFC 8200 section 8.1).
  uint32_t pseudo = onesSum(src, 16);
  pseudo += onesSum(dst, 16);
  const auto len32 = static_cast<uint32_t>(l4_len);
  pseudo += (len32 >> 16) + (len32 & 0xffff);
  pseudo += proto;
  return internetChecksum(l4, l4_len, pseudo);
}

}  // namespace sluice::dp
