#include "dp/affinity.h"

#include <cstring>

#include "dp/api/hash.h"

namespace sluice::dp {

AffinityTable::AffinityTable(uint32_t capacity) {
  uint32_t n = kProbe;
  while (n < capacity) n <<= 1;
  mask_ = n - 1;
  entries_ = std::make_unique<Entry[]>(n);
}

uint32_t AffinityTable::indexFor(uint32_t service_slot, uint8_t family,
                                 const uint8_t* client) const {
  uint8_t key[24] = {};
  std::memcpy(key, &service_slot, 4);
  key[4] = family;
  std::memcpy(key + 8, client, 16);
  return static_cast<uint32_t>(hashBytes(key, sizeof(key), 0xaff1)) & mask_;
}

bool AffinityTable::matches(const Entry& e, uint32_t slot, uint32_t gen, uint8_t family,
                            const uint8_t* client) {
  return e.service_slot == slot && e.service_gen == gen && e.family == family &&
         std::memcmp(e.client, client, 16) == 0;
}

const AffinityTable::Entry* AffinityTable::find(uint32_t service_slot, uint32_t service_gen,
                                                uint8_t family, const uint8_t* client,
                                                uint64_t now) const {
  uint32_t i = indexFor(service_slot, family, client);
  for (uint32_t p = 0; p < kProbe; p++) {
    const Entry& e = entries_[(i + p) & mask_];
    if (e.expires > now && matches(e, service_slot, service_gen, family, client)) return &e;
  }
  return nullptr;
}

void AffinityTable::remember(uint32_t service_slot, uint32_t service_gen, uint8_t family,
                             const uint8_t* client, uint16_t endpoint, uint32_t endpoint_gen,
                             uint64_t expires, uint64_t now) {
  uint32_t i = indexFor(service_slot, family, client);
  Entry* victim = nullptr;
  for (uint32_t p = 0; p < kProbe; p++) {
    Entry& e = entries_[(i + p) & mask_];
    if (matches(e, service_slot, service_gen, family, client)) {
      victim = &e;
      break;
    }
    if (victim == nullptr || (victim->expires > now && e.expires < victim->expires)) victim = &e;
  }
  victim->service_slot = service_slot;
  victim->service_gen = service_gen;
  victim->family = family;
  std::memcpy(victim->client, client, 16);
  victim->endpoint = endpoint;
  victim->endpoint_gen = endpoint_gen;
  victim->expires = expires;
}

}  // namespace sluice::dp
