// Maglev consistent hashing (Eisenbud et al., NSDI 2016), weighted. Pure C++:
// no DPDK, so it is unit-tested and benchmarked on its own.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dp/api/service.h"
#include "dp/api/status.h"

namespace sluice::cp {

// Table sizes the gateway picks from: primes, each about twice the last.
inline constexpr uint32_t kMaglevSizes[] = {251,  509,   1021,  2039,  4093,
                                            8191, 16381, 32749, 65521, 131071};
inline constexpr uint32_t kMaglevMaxSize = 131071;
// Sentinel entry of a table with no backend.
inline constexpr uint32_t kMaglevNone = 0xffffffff;

struct MaglevBackend {
  IpAddr addr;  // identity: address and port (the hashes see nothing else)
  uint16_t port = 0;
  uint32_t weight = 1;  // > 0
};

bool isPrime(uint32_t n);

// The smallest size in kMaglevSizes that is at least 100 x backends (the
// paper's bound for <= 1% imbalance), or the largest size when none is.
uint32_t maglevSizeFor(size_t backends);

// Builds the lookup table of size `m` (prime, > 0). Entry i is the index in
// `backends` of the backend that owns slot i; every entry is filled when
// there is at least one backend, all are kMaglevNone when there is none.
// Deterministic: the same set of backends gives the same table (as backend
// identities) whatever their order in `backends` and on any machine.
// Weighted: a backend's share of entries is proportional to its weight.
// Errors: m not prime or above kMaglevMaxSize, m < number of backends, a
// weight of 0, duplicates. Offset, skip, turn order and the weight scheme are
// described at the top of maglev.cc; every gateway must build them alike.
Result<std::vector<uint32_t>> buildMaglev(std::span<const MaglevBackend> backends, uint32_t m);

// Seeds of the two endpoint-identity hashes (offset and skip), fixed so every
// gateway builds the same table. Hash: sluice::hashBytes (dp/api/hash.h) over the
// family byte, the address bytes (4 or 16) and the port in network order.
inline constexpr uint64_t kMaglevOffsetSeed = 0x5eed0ff5e7a11ceULL;
inline constexpr uint64_t kMaglevSkipSeed = 0x5eed5c1b0b5eedULL;

}  // namespace sluice::cp
