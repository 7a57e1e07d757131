// The VIP lookup every packet makes: VIP:port/proto -> service slot, written
// by one thread (the control plane) while the workers read it without locks.
// Pure C++ (std::atomic), so it is unit-tested on its own.
//
// Open addressing with linear probing over 64-bit entries: the key's 32-bit
// hash in the high half, slot + 1 in the low half, 0 for empty. Each entry is
// written with one atomic store, so a reader sees an entry whole or not at
// all. The index keeps no keys: a reader checks each candidate slot against
// the key itself (the caller's `match`), so a hash collision costs one more
// probe, never a wrong answer. Erased entries become tombstones, which
// readers step over; when they pile up the writer builds a clean table and
// swaps it in, and the old one is the caller's to free after a grace period
// (readers may still be walking it).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace sluice::dp {

class VipIndex {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  struct Table {
    uint32_t mask = 0;
    uint32_t tombstones = 0;
    std::unique_ptr<std::atomic<uint64_t>[]> entries;
  };

  // Room for `capacity` keys; the table has at least 4x as many entries, so
  // probes stay short at full load.
  explicit VipIndex(uint32_t capacity);

  // The hash of a key: `family` 4 or 6, `vip` 4 or 16 bytes.
  static uint32_t hashOf(uint8_t family, uint8_t proto, uint16_t port_be, const uint8_t* vip);

  // Reader side: the first slot with hash `h` for which match(slot) holds, or
  // kNotFound. Lock-free, allocation-free.
  template <class Match>
  uint32_t find(uint32_t h, Match&& match) const {
    const Table* t = table_.load(std::memory_order_acquire);
    for (uint32_t i = h & t->mask, n = 0; n <= t->mask; i = (i + 1) & t->mask, n++) {
      uint64_t e = t->entries[i].load(std::memory_order_acquire);
      if (e == 0) return kNotFound;
      if (static_cast<uint32_t>(e >> 32) == h && static_cast<uint32_t>(e) != kTombstoneLow) {
        uint32_t slot = static_cast<uint32_t>(e) - 1;
        if (match(slot)) return slot;
      }
    }
    return kNotFound;
  }

  // Burst helpers (hints, no effect on results): fetch the entry where a
  // probe for `h` starts; then, once it has arrived, the first candidate's
  // slot (kNotFound when that entry is not one for `h`).
  void prefetch(uint32_t h) const {
    const Table* t = table_.load(std::memory_order_acquire);
    __builtin_prefetch(&t->entries[h & t->mask]);
  }
  uint32_t firstCandidate(uint32_t h) const {
    const Table* t = table_.load(std::memory_order_acquire);
    uint64_t e = t->entries[h & t->mask].load(std::memory_order_relaxed);
    if (static_cast<uint32_t>(e >> 32) != h || e == 0 ||
        static_cast<uint32_t>(e) == kTombstoneLow) {
      return kNotFound;
    }
    return static_cast<uint32_t>(e) - 1;
  }

  // Writer side (one thread). The caller knows which keys are present: it
  // never inserts a slot twice, erases only what it inserted and keeps at
  // most `capacity` entries.
  void insert(uint32_t h, uint32_t slot);
  void erase(uint32_t h, uint32_t slot);
  // After an erase: when tombstones fill a quarter of the table, a clean copy
  // replaces it and the old table is returned, to be freed once no reader can
  // be in it. nullptr otherwise.
  std::unique_ptr<Table> compactIfNeeded();

  size_t memoryBytes() const;

 private:
  static constexpr uint32_t kTombstoneLow = UINT32_MAX;

  static std::unique_ptr<Table> makeTable(uint32_t entries);
  static void place(Table& t, uint64_t entry, uint32_t h);

  std::unique_ptr<Table> owned_;  // what table_ points to
  std::atomic<Table*> table_{nullptr};
};

}  // namespace sluice::dp
