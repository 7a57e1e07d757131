#include "cp/metrics/metrics_config.h"

#include <charconv>
#include <optional>
#include <string_view>

#include "dp/api/types.h"

namespace sluice::cp::metrics {

namespace {

// "1.2.3.4:PORT" or "[v6]:PORT" with an address literal: a host name would
// make the listener depend on name resolution at start.
struct Listen {
  std::string host;
  uint16_t port = 0;
  std::string listen;
};

std::optional<Listen> parseListen(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) {
    host = host.substr(1, host.size() - 2);
  }
  auto addr = IpAddr::parse(host);
  if (!addr || addr->isV4() == bracketed) {
    return std::nullopt;
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return std::nullopt;
  }
  return Listen{
      .host = std::string(host), .port = static_cast<uint16_t>(value), .listen = std::string(text)};
}

}  // namespace

void readMetrics(Errors& errors, const Setting& group, MetricsSpec& out) {
  GroupReader r(errors, group);
  std::string listen = out.listen;
  if (const Setting* s = r.string("listen", listen)) {
    if (auto parsed = parseListen(listen)) {
      out.host = parsed->host;
      out.port = parsed->port;
      out.listen = parsed->listen;
    } else {
      errors.add(*s, "'" + listen +
                         "' is not ADDRESS:PORT such as 127.0.0.1:9100 or [::1]:9100 (an IP "
                         "address, not a host name; port 0..65535)");
    }
  }
  if (const Setting* s =
          r.typed("endpoints", Need::kOptional, Setting::TypeBoolean, "true or false")) {
    out.endpoints = static_cast<bool>(*s);
  }
  r.finish();
}

}  // namespace sluice::cp::metrics
