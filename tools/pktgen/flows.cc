#include "tools/pktgen/flows.h"

#include <charconv>
#include <string>

namespace sluice::pktgen {
namespace {

constexpr uint64_t kMaxRange = uint64_t{1} << 32;

std::optional<uint64_t> parseUnsigned(std::string_view text, uint64_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || v > max) {
    return std::nullopt;
  }
  return v;
}

std::optional<uint16_t> parsePort(std::string_view text) {
  auto v = parseUnsigned(text, 65535);
  if (!v) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

// b - a for two addresses of one family, or nullopt when b < a or the
// difference does not fit in 64 bits.
std::optional<uint64_t> distance(const IpAddr& a, const IpAddr& b) {
  const unsigned n = a.size();
  // The bytes above the low 8 must be equal (IPv6), and then the low 8 decide.
  const unsigned low = n > 8 ? n - 8 : 0;
  for (unsigned i = 0; i < low; ++i) {
    if (a.bytes[i] != b.bytes[i]) return std::nullopt;
  }
  uint64_t va = 0;
  uint64_t vb = 0;
  for (unsigned i = low; i < n; ++i) {
    va = (va << 8) | a.bytes[i];
    vb = (vb << 8) | b.bytes[i];
  }
  if (vb < va) return std::nullopt;
  return vb - va;
}

}  // namespace

IpAddr addOffset(const IpAddr& address, uint64_t offset) {
  IpAddr out = address;
  unsigned carry = 0;
  for (int i = static_cast<int>(out.size()) - 1; i >= 0; --i) {
    unsigned sum = out.bytes[i] + static_cast<unsigned>(offset & 0xff) + carry;
    out.bytes[i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
    offset >>= 8;
  }
  return out;
}

Result<AddrRange> AddrRange::parse(std::string_view text) {
  const size_t dash = text.find('-');
  auto first = IpAddr::parse(text.substr(0, dash));
  if (!first) {
    return Status::error("'" + std::string(text) + "' is not an address or FIRST-LAST range");
  }
  AddrRange range{*first, 1};
  if (dash == std::string_view::npos) return range;
  auto last = IpAddr::parse(text.substr(dash + 1));
  if (!last || last->family != first->family) {
    return Status::error("'" + std::string(text) + "': the last address is not of the same family");
  }
  auto span = distance(*first, *last);
  if (!span || *span >= kMaxRange) {
    return Status::error("'" + std::string(text) +
                         "': the last address must follow the first, at most 2^32 addresses");
  }
  range.count = *span + 1;
  return range;
}

bool AddrRange::contains(const IpAddr& addr) const {
  if (addr.family != first.family) return false;
  auto d = distance(first, addr);
  return d && *d < count;
}

IpAddr AddrRange::at(uint64_t index) const {
  return addOffset(first, index);
}

Result<PortRange> PortRange::parse(std::string_view text) {
  const size_t dash = text.find('-');
  auto first = parsePort(text.substr(0, dash));
  auto last = dash == std::string_view::npos ? first : parsePort(text.substr(dash + 1));
  if (!first || !last || *last < *first) {
    return Status::error("'" + std::string(text) + "' is not a port or FIRST-LAST port range");
  }
  return PortRange{*first, static_cast<uint32_t>(*last - *first + 1)};
}

Result<Destination> Destination::parse(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const size_t close = text.find("]:");
    if (close == std::string_view::npos) {
      return Status::error("'" + std::string(text) + "' is not [IPV6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::error("'" + std::string(text) + "' is not ADDRESS:PORT");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto addr = IpAddr::parse(host);
  auto p = parsePort(port);
  if (!addr || !p || (text.starts_with('[') == addr->isV4())) {
    return Status::error("'" + std::string(text) +
                         "' is not IPV4:PORT or [IPV6]:PORT with a port 0-65535");
  }
  return Destination{*addr, *p};
}

std::string Destination::toString() const {
  return addr.isV4() ? addr.toString() + ":" + std::to_string(port)
                     : "[" + addr.toString() + "]:" + std::to_string(port);
}

Result<std::vector<UdpTuple>> makeFlows(uint64_t count, const std::vector<AddrRange>& sources,
                                        const PortRange& ports,
                                        const std::vector<Destination>& destinations) {
  if (destinations.empty()) return Status::error("no destination");
  for (size_t i = 0; i < sources.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (sources[i].first.family == sources[j].first.family) {
        return Status::error("two source ranges of one family");
      }
    }
  }
  for (size_t i = 0; i < destinations.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (destinations[i].addr == destinations[j].addr &&
          destinations[i].port == destinations[j].port) {
        return Status::error("destination " + destinations[i].toString() + " given twice");
      }
    }
  }
  std::vector<const AddrRange*> source_of;
  for (const Destination& d : destinations) {
    const AddrRange* found = nullptr;
    for (const AddrRange& r : sources) {
      if (r.first.family == d.addr.family) found = &r;
    }
    if (found == nullptr) {
      return Status::error("destination " + d.toString() + " has no source range of its family");
    }
    // Destination i gets flows i, i + D, ...: ceil((count - i) / D) of them.
    const uint64_t i = source_of.size();
    const uint64_t flows =
        count > i ? (count - i + destinations.size() - 1) / destinations.size() : 0;
    if (flows > found->count * ports.count) {
      return Status::error(std::to_string(flows) + " flows to " + d.toString() + " but only " +
                           std::to_string(found->count * ports.count) +
                           " distinct source address and port pairs");
    }
    source_of.push_back(found);
  }
  std::vector<UdpTuple> flows;
  flows.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    const size_t d = i % destinations.size();
    const uint64_t j = i / destinations.size();
    const AddrRange& src = *source_of[d];
    UdpTuple t;
    t.src = src.at(j % src.count);
    t.sport = static_cast<uint16_t>(ports.first + (j / src.count) % ports.count);
    t.dst = destinations[d].addr;
    t.dport = destinations[d].port;
    flows.push_back(t);
  }
  return flows;
}

}  // namespace sluice::pktgen
