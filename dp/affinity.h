// Client-IP session affinity: which endpoint a client was given for a
// service, remembered for the service's timeout. One table per worker. It is
// a cache, not a source of truth: an entry lost to a collision costs only a
// fresh Maglev pick on the client address, which lands on the same endpoint
// while the endpoint set is unchanged, on this worker and every other.
#pragma once

#include <cstdint>
#include <memory>

namespace sluice::dp {

class AffinityTable {
 public:
  // `capacity` is rounded up to a power of two.
  explicit AffinityTable(uint32_t capacity);

  struct Entry {
    uint32_t service_slot;
    uint32_t service_gen;
    uint8_t family;
    uint8_t client[16];
    uint16_t endpoint;
    uint32_t endpoint_gen;
    uint64_t expires;  // 0 = empty
  };

  // The live entry for (service, client), or nullptr.
  const Entry* find(uint32_t service_slot, uint32_t service_gen, uint8_t family,
                    const uint8_t* client, uint64_t now) const;
  // Remembers the client's endpoint until `expires`, replacing the entry for
  // the same key, else an empty or expired one, else the soonest to expire
  // among the few slots it may use.
  void remember(uint32_t service_slot, uint32_t service_gen, uint8_t family, const uint8_t* client,
                uint16_t endpoint, uint32_t endpoint_gen, uint64_t expires, uint64_t now);

 private:
  static constexpr uint32_t kProbe = 8;
  uint32_t indexFor(uint32_t service_slot, uint8_t family, const uint8_t* client) const;
  static bool matches(const Entry& e, uint32_t slot, uint32_t gen, uint8_t family,
                      const uint8_t* client);
  uint32_t mask_;
  std::unique_ptr<Entry[]> entries_;
};

}  // namespace sluice::dp
