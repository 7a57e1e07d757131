// Address types shared by the control plane and the data plane. Plain values:
// no DPDK types, so config parsing and tests use them without an EAL.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

enum class Family : uint8_t { kV4 = 4, kV6 = 6 };

// An IPv4 or IPv6 address in network byte order. IPv4 uses bytes[0..3]; the
// rest stay zero so two equal addresses compare equal byte for byte.
struct IpAddr {
  Family family = Family::kV4;
  std::array<uint8_t, 16> bytes{};

  static std::optional<IpAddr> parse(std::string_view text);
  static IpAddr v4(uint32_t host_order);
  std::string toString() const;
  // Width of the address in bytes (4 or 16).
  unsigned size() const { return family == Family::kV4 ? 4 : 16; }
  unsigned bits() const { return size() * 8; }
  bool isV4() const { return family == Family::kV4; }
  // IPv4 as a host-order integer; only meaningful when isV4().
  uint32_t v4HostOrder() const;
  bool isMulticast() const;
  bool isUnspecified() const;
  friend bool operator==(const IpAddr&, const IpAddr&) = default;
};

// An address with a prefix length, e.g. 10.0.0.1/24. Keeps the host bits, so
// it describes both an interface address and the subnet it sits in.
struct Prefix {
  IpAddr addr;
  uint8_t len = 0;

  // "10.0.0.0/8", "fd00::/64"; a bare address means a host prefix.
  static std::optional<Prefix> parse(std::string_view text);
  std::string toString() const;
  // The same prefix with its host bits cleared.
  Prefix network() const;
  bool contains(const IpAddr& a) const;
  friend bool operator==(const Prefix&, const Prefix&) = default;
};

struct MacAddr {
  std::array<uint8_t, 6> bytes{};

  static std::optional<MacAddr> parse(std::string_view text);
  std::string toString() const;
  bool isMulticast() const { return (bytes[0] & 1) != 0; }
  bool isZero() const { return bytes == std::array<uint8_t, 6>{}; }
  friend bool operator==(const MacAddr&, const MacAddr&) = default;
};

}  // namespace sluice
