// The client's flows: N distinct UDP tuples from source address and port
// ranges to one or more VIP:port destinations. Pure: no DPDK.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dp/api/status.h"
#include "dp/api/types.h"
#include "tools/pktgen/frame.h"

namespace sluice::pktgen {

// A run of consecutive addresses: first, first + 1, ..., first + count - 1.
struct AddrRange {
  IpAddr first;
  uint64_t count = 1;

  // "10.0.0.1" or "10.0.0.1-10.0.0.8" (both ends included, one family, at
  // most 2^32 addresses).
  static Result<AddrRange> parse(std::string_view text);
  bool contains(const IpAddr& addr) const;
  IpAddr at(uint64_t index) const;  // first + index; index < count
};

struct PortRange {
  uint16_t first = 1024;
  uint32_t count = 65536 - 1024;

  // "53" or "1024-65535" (both ends included).
  static Result<PortRange> parse(std::string_view text);
};

// A VIP and port: "10.96.0.10:53" or "[fd00::10]:53".
struct Destination {
  IpAddr addr;
  uint16_t port = 0;

  static Result<Destination> parse(std::string_view text);
  std::string toString() const;
};

// `address + offset`, carrying across bytes; wraps at the family's width.
IpAddr addOffset(const IpAddr& address, uint64_t offset);

// `count` flows spread round-robin over `destinations`. The flows to one
// destination take source addresses from the range of its family (address
// fastest, then port) so that all addresses are used first; every tuple is
// distinct. At most one source range per family. Fails when a destination's family has no source
// range or its range cannot give that many distinct (address, port) pairs.
Result<std::vector<UdpTuple>> makeFlows(uint64_t count, const std::vector<AddrRange>& sources,
                                        const PortRange& ports,
                                        const std::vector<Destination>& destinations);

}  // namespace sluice::pktgen
