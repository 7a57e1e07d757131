#include <cstring>

#include "dp/context.h"
#include "dp/eth.h"

namespace sluice::dp {
namespace {
bool sameAddr(const IpAddr& a, Family family, const uint8_t* addr) {
  return a.family == family && dp::sameAddr(family, a.bytes.data(), addr);
}
}  // namespace

const LocalAddr* LocalAddrs::find(Family family, const uint8_t* addr) const {
  for (const LocalAddr& l : addrs_) {
    if (sameAddr(l.prefix.addr, family, addr)) return &l;
  }
  return nullptr;
}

const LocalAddr* LocalAddrs::findOnPort(uint16_t port_idx, Family family,
                                        const uint8_t* addr) const {
  for (const LocalAddr& l : addrs_) {
    if (l.port_idx == port_idx && sameAddr(l.prefix.addr, family, addr)) return &l;
  }
  return nullptr;
}

const LocalAddr* LocalAddrs::sourceFor(uint16_t port_idx, const IpAddr& dst) const {
  const LocalAddr* first = nullptr;
  for (const LocalAddr& l : addrs_) {
    if (l.port_idx != port_idx || l.prefix.addr.family != dst.family) continue;
    if (l.prefix.contains(dst)) return &l;
    if (first == nullptr) first = &l;
  }
  return first;
}

bool LocalAddrs::onLink(uint16_t port_idx, const IpAddr& addr) const {
  for (const LocalAddr& l : addrs_) {
    if (l.port_idx == port_idx && l.prefix.contains(addr)) return true;
  }
  return false;
}

}  // namespace sluice::dp
