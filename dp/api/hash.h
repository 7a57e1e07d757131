// A small seeded 64-bit hash for flow keys and endpoint identities. The same
// bytes and seed give the same value on every machine and in every run, so
// two gateway nodes pick the same endpoint for the same flow. Pure and
// header-only: the data path hashes every new flow with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sluice {

inline uint64_t mix64(uint64_t x) {
  // The finaliser of MurmurHash3 (public domain constants).
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline uint64_t hashBytes(const void* data, size_t len, uint64_t seed) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h = mix64(seed ^ (len * 0x9e3779b97f4a7c15ULL));
  while (len >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
    p += 8;
    len -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, len);
  return mix64(h ^ tail ^ (static_cast<uint64_t>(len) << 56));
}

}  // namespace sluice
