// Weighted Maglev population. The table is filled in rounds; within a round
// backends take turns in a canonical order, each claiming the next free slot
// of its own permutation (offset, offset + skip, offset + 2 skip, ... mod m).
//
// Canonical order: weight descending, then identity (family, address bytes,
// port in network order) ascending. It depends only on the set of backends,
// so callers may pass them in any order.
//
// Weights: every round a backend earns `weight` credit and claims one slot
// when its credit reaches the largest weight, which then leaves it. The
// heaviest backends claim a slot every round, lighter ones proportionally less
// often; with equal weights this is the paper's plain round robin, so shares
// differ by at most one entry. Backends of equal weight share their credit,
// so a round costs one step per distinct weight plus one per claimed slot.
//
// Skips are not de-duplicated: two backends may share a skip (or have skips
// in a small ratio), which makes changes near them remap more than usual.
// Re-hashing one of the pair makes it worse, since removing the other then
// changes its whole permutation; tests/unit/cp/maglev_test.cc has the figures.
#include "cp/maglev.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <string>

#include "dp/api/hash.h"

namespace sluice::cp {
namespace {

// Family byte, up to 16 address bytes, port in network order.
constexpr size_t kIdentityMax = 1 + 16 + 2;

struct Identity {
  std::array<uint8_t, kIdentityMax> bytes{};  // unused address bytes stay zero
  uint8_t len = 0;                            // bytes the hashes see: 7 or 19
};

Identity identityOf(const MaglevBackend& b) {
  Identity id;
  const unsigned size = b.addr.size();
  id.bytes[0] = static_cast<uint8_t>(b.addr.family);
  std::memcpy(&id.bytes[1], b.addr.bytes.data(), size);
  id.bytes[1 + size] = static_cast<uint8_t>(b.port >> 8);
  id.bytes[2 + size] = static_cast<uint8_t>(b.port & 0xff);
  id.len = static_cast<uint8_t>(size + 3);
  return id;
}

std::string describe(const MaglevBackend& b) {
  const std::string addr = b.addr.toString();
  return (b.addr.isV4() ? addr : "[" + addr + "]") + ":" + std::to_string(b.port);
}

// One backend in canonical order: where its permutation goes next.
struct Cursor {
  uint32_t next = 0;   // the next slot of its permutation to try
  uint32_t skip = 0;   // 1..m-1
  uint32_t index = 0;  // position in the caller's array
};

// Backends of one weight, contiguous in canonical order.
struct WeightClass {
  uint32_t begin = 0;
  uint32_t end = 0;
  uint64_t weight = 0;
  uint64_t credit = 0;
};

// Validates the backends and returns their positions in canonical order.
Result<std::vector<uint32_t>> canonicalOrder(std::span<const MaglevBackend> backends,
                                             std::vector<Identity>& ids) {
  ids.resize(backends.size());
  for (size_t i = 0; i < backends.size(); ++i) {
    if (backends[i].weight == 0) {
      return Status::error("maglev: backend " + describe(backends[i]) + " has weight 0");
    }
    ids[i] = identityOf(backends[i]);
  }
  std::vector<uint32_t> order(backends.size());
  std::iota(order.begin(), order.end(), 0u);
  auto idLess = [&ids](uint32_t a, uint32_t b) {
    return std::memcmp(ids[a].bytes.data(), ids[b].bytes.data(), kIdentityMax) < 0;
  };
  std::sort(order.begin(), order.end(), idLess);
  for (size_t i = 1; i < order.size(); ++i) {
    if (!idLess(order[i - 1], order[i])) {
      return Status::error("maglev: duplicate backend " + describe(backends[order[i]]));
    }
  }
  // Identities are unique, so the stable sort gives one order per set.
  std::stable_sort(order.begin(), order.end(), [&backends](uint32_t a, uint32_t b) {
    return backends[a].weight > backends[b].weight;
  });
  return order;
}

}  // namespace

bool isPrime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint64_t d = 3; d * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

uint32_t maglevSizeFor(size_t backends) {
  for (uint32_t size : kMaglevSizes) {
    // size >= 100 * backends, without overflow for absurd counts.
    if (backends <= size / 100) return size;
  }
  return kMaglevMaxSize;
}

Result<std::vector<uint32_t>> buildMaglev(std::span<const MaglevBackend> backends, uint32_t m) {
  if (!isPrime(m)) {
    return Status::error("maglev: table size " + std::to_string(m) + " is not prime");
  }
  if (m > kMaglevMaxSize) {
    return Status::error("maglev: table size " + std::to_string(m) + " is above the maximum " +
                         std::to_string(kMaglevMaxSize));
  }
  if (backends.size() > m) {
    return Status::error("maglev: table size " + std::to_string(m) + " is smaller than the " +
                         std::to_string(backends.size()) + " backends");
  }
  std::vector<Identity> ids;
  auto order = canonicalOrder(backends, ids);
  if (!order) return order.status();
  if (backends.empty()) return std::vector<uint32_t>(m, kMaglevNone);

  const size_t n = backends.size();
  std::vector<Cursor> cursors(n);
  std::vector<WeightClass> classes;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t b = (*order)[i];
    const Identity& id = ids[b];
    cursors[i].next =
        static_cast<uint32_t>(hashBytes(id.bytes.data(), id.len, kMaglevOffsetSeed) % m);
    cursors[i].skip =
        static_cast<uint32_t>(hashBytes(id.bytes.data(), id.len, kMaglevSkipSeed) % (m - 1) + 1);
    cursors[i].index = b;
    const uint32_t weight = backends[b].weight;
    if (classes.empty() || classes.back().weight != weight) {
      classes.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(i), weight, 0});
    }
    classes.back().end = static_cast<uint32_t>(i + 1);
  }
  const uint64_t max_weight = classes.front().weight;

  std::vector<uint32_t> table(m);
  // Which slots are taken: m bits stay in L1 where the table would not.
  std::vector<uint64_t> taken((m + 63) / 64, 0);
  uint64_t* const bits = taken.data();
  const uint64_t size = m;
  uint32_t free_slots = m;
  for (;;) {
    for (WeightClass& wc : classes) {
      wc.credit += wc.weight;
      if (wc.credit < max_weight) continue;
      wc.credit -= max_weight;
      for (uint32_t i = wc.begin; i < wc.end; ++i) {
        Cursor& c = cursors[i];
        // 64-bit sums: pos + skip < 2m cannot wrap, and one subtraction
        // replaces a modulo.
        uint64_t pos = c.next;
        while (bits[pos >> 6] & (uint64_t{1} << (pos & 63))) {
          pos += c.skip;
          if (pos >= size) pos -= size;
        }
        bits[pos >> 6] |= uint64_t{1} << (pos & 63);
        table[pos] = c.index;
        pos += c.skip;
        if (pos >= size) pos -= size;
        c.next = static_cast<uint32_t>(pos);
        if (--free_slots == 0) return table;
      }
    }
  }
}

}  // namespace sluice::cp
