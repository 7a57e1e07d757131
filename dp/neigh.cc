#include "dp/neigh.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include <cstring>

namespace sluice::dp {
namespace {

constexpr uint64_t kValid = 1ULL << 63;

uint64_t packMac(const MacAddr& mac) {
  uint64_t w = 0;
  for (uint8_t b : mac.bytes) w = (w << 8) | b;
  return w | kValid;
}

MacAddr unpackMac(uint64_t w) {
  MacAddr mac;
  for (int i = 5; i >= 0; i--) {
    mac.bytes[i] = static_cast<uint8_t>(w);
    w >>= 8;
  }
  return mac;
}

}  // namespace

NeighborTable::Key NeighborTable::makeKey(uint16_t port_idx, Family family, const uint8_t* addr) {
  Key k{};
  k.port_idx = port_idx;
  k.family = static_cast<uint8_t>(family);
  std::memcpy(k.addr, addr, family == Family::kV4 ? 4 : 16);
  return k;
}

Result<std::unique_ptr<NeighborTable>> NeighborTable::create(const std::string& name,
                                                             uint32_t capacity, int socket) {
  std::unique_ptr<NeighborTable> table(new NeighborTable());
  rte_hash_parameters params{};
  params.name = name.c_str();
  params.entries = capacity;
  params.key_len = sizeof(Key);
  // CRC32 in hardware (SSE4.2), a few instructions for these short keys;
  // rte_jhash was ~80 a lookup. Keys come from the control plane only.
  params.hash_func = rte_hash_crc;
  params.socket_id = socket;
  // One writer (the control plane), readers that never wait.
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  table->hash_ = rte_hash_create(&params);
  if (table->hash_ == nullptr) {
    return Status::error("rte_hash_create(" + name + "): " + rte_strerror(rte_errno));
  }
  table->slots_ = std::make_unique<Slot[]>(capacity);
  table->capacity_ = capacity;
  return table;
}

NeighborTable::~NeighborTable() {
  rte_hash_free(hash_);
}

bool NeighborTable::lookup(uint16_t port_idx, Family family, const uint8_t* addr,
                           MacAddr* mac) const {
  Key key = makeKey(port_idx, family, addr);
  void* data = nullptr;
  if (rte_hash_lookup_data(hash_, &key, &data) < 0) return false;
  uint64_t w = static_cast<const Slot*>(data)->mac_word.load(std::memory_order_acquire);
  if ((w & kValid) == 0) return false;
  *mac = unpackMac(w);
  return true;
}

Status NeighborTable::set(uint16_t port_idx, const IpAddr& addr, const MacAddr& mac,
                          bool is_static) {
  Key key = makeKey(port_idx, addr.family, addr.bytes.data());
  void* data = nullptr;
  if (rte_hash_lookup_data(hash_, &key, &data) >= 0) {
    auto* slot = static_cast<Slot*>(data);
    if (slot->is_static && !is_static) return Status::ok();
    slot->is_static = is_static;
    uint64_t word = packMac(mac);
    if (slot->mac_word.exchange(word, std::memory_order_acq_rel) != word) {
      gen_.fetch_add(1, std::memory_order_release);
    }
    return Status::ok();
  }
  if (used_ >= capacity_) {
    return Status::error("neighbor table full (" + std::to_string(capacity_) + " entries)");
  }
  Slot& slot = slots_[used_];
  slot.key = key;
  slot.is_static = is_static;
  slot.mac_word.store(packMac(mac), std::memory_order_release);
  int rc = rte_hash_add_key_data(hash_, &key, &slot);
  if (rc < 0) return Status::error(std::string("rte_hash_add_key_data: ") + rte_strerror(-rc));
  used_++;
  return Status::ok();
}

std::vector<NeighborTable::Entry> NeighborTable::list() const {
  std::vector<Entry> out;
  for (uint32_t i = 0; i < used_; i++) {
    const Slot& s = slots_[i];
    Entry e{};
    e.port_idx = s.key.port_idx;
    e.addr.family = static_cast<Family>(s.key.family);
    std::memcpy(e.addr.bytes.data(), s.key.addr, e.addr.size());
    e.mac = unpackMac(s.mac_word.load(std::memory_order_acquire));
    e.is_static = s.is_static;
    out.push_back(e);
  }
  return out;
}

}  // namespace sluice::dp
