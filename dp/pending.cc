#include "dp/pending.h"

namespace sluice::dp {

PendingPacket* PendingQueue::findNexthop(uint16_t port_idx, const IpAddr& nexthop) {
  for (unsigned i = 0; i < count_; i++) {
    if (slots_[i].port_idx == port_idx && slots_[i].nexthop == nexthop) return &slots_[i];
  }
  return nullptr;
}

PendingPacket& PendingQueue::push(const PendingPacket& p) {
  slots_[count_] = p;
  return slots_[count_++];
}

}  // namespace sluice::dp
