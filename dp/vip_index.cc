#include "dp/vip_index.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace sluice::dp {
namespace {

__extension__ using U128 = unsigned __int128;

inline uint64_t mix(uint64_t a, uint64_t b) {
  U128 p = static_cast<U128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

constexpr uint64_t kK0 = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kK1 = 0xbf58476d1ce4e5b9ULL;
constexpr uint64_t kK2 = 0x94d049bb133111ebULL;

}  // namespace

VipIndex::VipIndex(uint32_t capacity) {
  owned_ = makeTable(std::bit_ceil(std::max<uint32_t>(16, capacity) * 4));
  table_.store(owned_.get(), std::memory_order_release);
}

uint32_t VipIndex::hashOf(uint8_t family, uint8_t proto, uint16_t port_be, const uint8_t* vip) {
  uint64_t tail = uint64_t{port_be} | uint64_t{proto} << 16 | uint64_t{family} << 24;
  uint64_t h;
  if (family == 4) {
    uint32_t a;
    std::memcpy(&a, vip, 4);
    h = mix((tail << 32 | a) ^ kK0, kK1);
  } else {
    uint64_t w[2];
    std::memcpy(w, vip, 16);
    h = mix(mix(w[0] ^ kK0, w[1] ^ kK1) ^ tail, kK2);
  }
  return static_cast<uint32_t>(h ^ (h >> 32));
}

std::unique_ptr<VipIndex::Table> VipIndex::makeTable(uint32_t entries) {
  auto t = std::make_unique<Table>();
  t->mask = entries - 1;
  t->entries = std::make_unique<std::atomic<uint64_t>[]>(entries);
  for (uint32_t i = 0; i < entries; i++) t->entries[i].store(0, std::memory_order_relaxed);
  return t;
}

void VipIndex::place(Table& t, uint64_t entry, uint32_t h) {
  for (uint32_t i = h & t.mask;; i = (i + 1) & t.mask) {
    uint64_t e = t.entries[i].load(std::memory_order_relaxed);
    bool tomb = e != 0 && static_cast<uint32_t>(e) == kTombstoneLow;
    if (e == 0 || tomb) {
      if (tomb) t.tombstones--;
      t.entries[i].store(entry, std::memory_order_release);
      return;
    }
  }
}

void VipIndex::insert(uint32_t h, uint32_t slot) {
  place(*owned_, uint64_t{h} << 32 | (slot + 1), h);
}

void VipIndex::erase(uint32_t h, uint32_t slot) {
  Table& t = *owned_;
  const uint64_t want = uint64_t{h} << 32 | (slot + 1);
  for (uint32_t i = h & t.mask, n = 0; n <= t.mask; i = (i + 1) & t.mask, n++) {
    uint64_t e = t.entries[i].load(std::memory_order_relaxed);
    if (e == 0) return;
    if (e == want) {
      t.entries[i].store(uint64_t{h} << 32 | kTombstoneLow, std::memory_order_release);
      t.tombstones++;
      return;
    }
  }
}

std::unique_ptr<VipIndex::Table> VipIndex::compactIfNeeded() {
  Table& t = *owned_;
  if (t.tombstones <= (t.mask + 1) / 4) return nullptr;
  std::unique_ptr<Table> fresh = makeTable(t.mask + 1);
  for (uint32_t i = 0; i <= t.mask; i++) {
    uint64_t e = t.entries[i].load(std::memory_order_relaxed);
    if (e != 0 && static_cast<uint32_t>(e) != kTombstoneLow) {
      place(*fresh, e, static_cast<uint32_t>(e >> 32));
    }
  }
  table_.store(fresh.get(), std::memory_order_release);
  std::swap(owned_, fresh);
  return fresh;
}

size_t VipIndex::memoryBytes() const {
  return sizeof(Table) + (size_t{owned_->mask} + 1) * sizeof(uint64_t);
}

}  // namespace sluice::dp
