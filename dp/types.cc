#include "dp/api/types.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace sluice {

namespace {

// inet_pton needs a NUL-terminated string; anything longer than the longest
// textual address cannot be one, so a fixed buffer is enough.
constexpr size_t kMaxAddrText = INET6_ADDRSTRLEN;

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() >= kMaxAddrText) {
    return std::nullopt;
  }
  if (text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  char buf[kMaxAddrText] = {};
  std::copy(text.begin(), text.end(), buf);

  IpAddr addr;
  addr.family = text.find(':') == std::string_view::npos ? Family::kV4 : Family::kV6;
  int af = addr.isV4() ? AF_INET : AF_INET6;
  if (inet_pton(af, buf, addr.bytes.data()) != 1) {
    return std::nullopt;
  }
  return addr;
}

IpAddr IpAddr::v4(uint32_t host_order) {
  IpAddr addr;
  addr.family = Family::kV4;
  addr.bytes[0] = static_cast<uint8_t>(host_order >> 24);
  addr.bytes[1] = static_cast<uint8_t>(host_order >> 16);
  addr.bytes[2] = static_cast<uint8_t>(host_order >> 8);
  addr.bytes[3] = static_cast<uint8_t>(host_order);
  return addr;
}

std::string IpAddr::toString() const {
  char buf[kMaxAddrText] = {};
  int af = isV4() ? AF_INET : AF_INET6;
  if (inet_ntop(af, bytes.data(), buf, sizeof(buf)) == nullptr) {
    return "?";
  }
  return buf;
}

uint32_t IpAddr::v4HostOrder() const {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

bool IpAddr::isMulticast() const {
  // 224.0.0.0/4 and ff00::/8.
  return isV4() ? (bytes[0] & 0xf0) == 0xe0 : bytes[0] == 0xff;
}

bool IpAddr::isUnspecified() const {
  return std::all_of(bytes.begin(), bytes.begin() + size(), [](uint8_t b) { return b == 0; });
}

std::optional<Prefix> Prefix::parse(std::string_view text) {
  size_t slash = text.find('/');
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) {
    return std::nullopt;
  }
  if (slash == std::string_view::npos) {
    return Prefix{*addr, static_cast<uint8_t>(addr->bits())};
  }

  // from_chars alone would accept "+8" or trailing junk; insist on 1-3 digits.
  std::string_view len_text = text.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 3) {
    return std::nullopt;
  }
  if (!std::all_of(len_text.begin(), len_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  unsigned len = 0;
  std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (len > addr->bits()) {
    return std::nullopt;
  }
  return Prefix{*addr, static_cast<uint8_t>(len)};
}

std::string Prefix::toString() const {
  return addr.toString() + "/" + std::to_string(len);
}

Prefix Prefix::network() const {
  Prefix net = *this;
  for (unsigned i = 0; i < addr.size(); ++i) {
    unsigned first_bit = i * 8;
    if (first_bit >= len) {
      net.addr.bytes[i] = 0;
    } else if (first_bit + 8 > len) {
      net.addr.bytes[i] &= static_cast<uint8_t>(0xff << (first_bit + 8 - len));
    }
  }
  return net;
}

bool Prefix::contains(const IpAddr& a) const {
  if (a.family != addr.family) {
    return false;
  }
  return Prefix{a, len}.network() == network();
}

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
  // Exactly "xx:xx:xx:xx:xx:xx": 6 octets of two hex digits each.
  constexpr size_t kTextSize = 6 * 3 - 1;
  if (text.size() != kTextSize) {
    return std::nullopt;
  }
  MacAddr mac;
  for (size_t i = 0; i < mac.bytes.size(); ++i) {
    size_t pos = i * 3;
    int hi = hexValue(text[pos]);
    int lo = hexValue(text[pos + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    if (pos + 2 < text.size() && text[pos + 2] != ':') {
      return std::nullopt;
    }
    mac.bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return mac;
}

std::string MacAddr::toString() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(17);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i != 0) {
      text += ':';
    }
    text += kDigits[bytes[i] >> 4];
    text += kDigits[bytes[i] & 0xf];
  }
  return text;
}

}  // namespace sluice
