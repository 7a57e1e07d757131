#include "tools/pktgen/options.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "tools/pktgen/frame.h"
#include "tools/pktgen/tcp_frame.h"

namespace sluice::pktgen {
namespace {

constexpr uint64_t kMaxFlows = 10'000'000;
constexpr unsigned kMaxBurst = 512;
// --size counts the frame on the wire, its 4-byte FCS included, as RFC 2544
// and other generators do (64 is the minimum frame); the frame built is 4
// bytes shorter, the NIC appends the FCS.
constexpr unsigned kFcsLen = 4;
constexpr unsigned kMaxSize = 1518;  // 1514 bytes built: fits a default mbuf
static_assert(kMaxFlows <= kProbeFlows, "a probe names its flow in 24 bits");

std::optional<uint64_t> toUnsigned(std::string_view text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return std::nullopt;
  }
  return v;
}

std::optional<double> toSeconds(std::string_view text, double min, double max) {
  std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || v < min || v > max) {
    return std::nullopt;
  }
  return v;
}

class Parser {
 public:
  explicit Parser(const std::vector<std::string>& args) : args_(args) {}

  Result<Options> parse() {
    while (next_ < args_.size()) {
      std::string_view arg = args_[next_++];
      std::string_view name = arg;
      inline_value_.reset();
      if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        inline_value_ = arg.substr(eq + 1);
      }
      name_ = std::string(name);
      Status s;
      if (name == "--role") {
        s = value([&](std::string_view v) {
          if (v == "client") {
            o_.role = Role::kClient;
          } else if (v == "pod") {
            o_.role = Role::kPod;
          } else {
            return false;
          }
          return true;
        });
      } else if (name == "--port") {
        s = number(o_.port, 0, 65535);
      } else if (name == "--burst") {
        s = number(o_.burst, 1, kMaxBurst);
      } else if (name == "--idle-sleep-us") {
        s = number(o_.idle_sleep_us, 0, 100'000);
      } else if (name == "--link-timeout") {
        s = number(o_.link_timeout_s, 1, 3600);
      } else if (name == "--duration") {
        s = value([&](std::string_view v) {
          auto d = toSeconds(v, 0, 86'400);
          if (d) o_.duration_s = *d;
          return d.has_value();
        });
      } else if (name == "--json") {
        s = path(o_.json_path);
      } else if (name == "--progress-json") {
        s = path(o_.progress_json);
      } else if (name == "--src") {
        s = parsed<AddrRange>([&](AddrRange r) { o_.sources.push_back(r); });
      } else if (name == "--sport") {
        s = parsed<PortRange>([&](PortRange r) { o_.source_ports = r; });
      } else if (name == "--dst") {
        s = parsed<Destination>([&](Destination d) { o_.destinations.push_back(d); });
      } else if (name == "--flows") {
        s = number(o_.flows, 1, kMaxFlows);
      } else if (name == "--rate") {
        s = number(o_.rate_pps, 0, 1'000'000'000);
      } else if (name == "--packets") {
        s = number(o_.packets, 0, UINT64_MAX);
      } else if (name == "--window") {
        s = value([&](std::string_view v) {
          if (v == "none") {
            o_.window = Options::kNoWindow;
            return true;
          }
          auto n = toUnsigned(v, 0, 1'000'000);
          if (n) o_.window = *n;
          return n.has_value();
        });
      } else if (name == "--proto") {
        s = value([&](std::string_view v) {
          if (v != "udp" && v != "tcp") return false;
          o_.proto = v == "tcp" ? Proto::kTcp : Proto::kUdp;
          return true;
        });
      } else if (name == "--mode") {
        s = value([&](std::string_view v) {
          if (v != "steady" && v != "connect") return false;
          o_.tcp_run = v == "connect" ? TcpRun::kConnect : TcpRun::kSteady;
          mode_given_ = true;
          return true;
        });
      } else if (name == "--tcp-timeout-ms") {
        s = number(o_.tcp_timeout_ms, 1, 60'000);
      } else if (name == "--connect-ports") {
        s = value([&](std::string_view v) {
          if (v != "same" && v != "next") return false;
          o_.next_port = v == "next";
          ports_given_ = true;
          return true;
        });
      } else if (name == "--exchanges") {
        s = number(o_.exchanges, 1, 255);
      } else if (name == "--size") {
        s = number(size_, 0, kMaxSize);
      } else if (name == "--drain-ms") {
        s = number(o_.drain_ms, 0, 60'000);
      } else if (name == "--gateway") {
        s = value([&](std::string_view v) {
          o_.gateway = IpAddr::parse(v);
          return o_.gateway && !o_.gateway->isMulticast() && !o_.gateway->isUnspecified();
        });
      } else if (name == "--gateway-mac") {
        s = value([&](std::string_view v) {
          o_.gateway_mac = MacAddr::parse(v);
          return o_.gateway_mac && !o_.gateway_mac->isMulticast();
        });
      } else if (name == "--pod-address") {
        s = value([&](std::string_view v) {
          // A comma-separated list or one address.
          while (!v.empty()) {
            const size_t comma = v.find(',');
            auto a = IpAddr::parse(v.substr(0, comma));
            if (!a) return false;
            o_.pod_addresses.push_back(*a);
            v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
          }
          return true;
        });
      } else if (name == "--pod-port") {
        uint16_t port = 0;
        s = number(port, 0, 65535);
        if (s) o_.pod_port = port;
      } else if (name == "--pod-id") {
        s = number(o_.pod_id, 1, 65535);
      } else {
        return Status::error("unknown option '" + std::string(arg) + "'");
      }
      if (!s) return s;
    }
    if (Status s = check(); !s) return s;
    if (size_ != 0) o_.frame_len = size_ - kFcsLen;
    return o_;
  }

 private:
  // Hands the option's value to `accept`, which returns false if it is bad.
  Status path(std::string& out) {
    return value([&](std::string_view v) {
      out = v;
      return !v.empty();
    });
  }

  template <class F>
  Status value(F accept) {
    std::string_view v;
    if (inline_value_) {
      v = *inline_value_;
    } else if (next_ < args_.size()) {
      v = args_[next_++];
    } else {
      return Status::error(name_ + " needs a value");
    }
    if (!accept(v)) return Status::error(name_ + ": bad value '" + std::string(v) + "'");
    return Status::ok();
  }

  template <class T>
  Status number(T& out, uint64_t min, uint64_t max) {
    return value([&](std::string_view v) {
      auto n = toUnsigned(v, min, max);
      if (n) out = static_cast<T>(*n);
      return n.has_value();
    });
  }

  template <class T, class F>
  Status parsed(F store) {
    std::string error;
    Status s = value([&](std::string_view v) {
      Result<T> r = T::parse(v);
      if (!r) {
        error = r.status().message();
        return false;
      }
      store(*r);
      return true;
    });
    return s ? s : Status::error(name_ + ": " + error);
  }

  Status checkPodAddresses() const {
    for (size_t i = 0; i < o_.pod_addresses.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (o_.pod_addresses[i] == o_.pod_addresses[j]) {
          return Status::error("--pod-address " + o_.pod_addresses[i].toString() + " given twice");
        }
      }
    }
    return Status::ok();
  }

  Status check() const {
    if (o_.role == Role::kPod) {
      if (o_.pod_addresses.empty()) return Status::error("the pod role needs --pod-address");
      if (o_.pod_port) return Status::error("--pod-port is for the client role (its own pod)");
      return checkPodAddresses();
    }
    if (o_.pod_port) {
      if (*o_.pod_port == o_.port) return Status::error("--pod-port must differ from --port");
      if (o_.pod_addresses.empty()) return Status::error("--pod-port needs --pod-address");
      if (Status s = checkPodAddresses(); !s) return s;
    } else if (!o_.pod_addresses.empty()) {
      return Status::error("--pod-address in the client role needs --pod-port");
    }
    if (o_.destinations.empty()) return Status::error("the client role needs --dst");
    if (o_.sources.empty()) return Status::error("the client role needs --src");
    if (o_.duration_s <= 0) return Status::error("--duration must be above 0 for the client");
    if (mode_given_ && o_.proto != Proto::kTcp) return Status::error("--mode needs --proto tcp");
    if (ports_given_ && o_.tcp_run != TcpRun::kConnect) {
      return Status::error("--connect-ports needs --mode connect");
    }
    if (!o_.gateway && !o_.gateway_mac) {
      return Status::error("the client role needs --gateway IP or --gateway-mac MAC");
    }
    bool has_source = false;
    for (const AddrRange& r : o_.sources) {
      has_source |= o_.gateway && r.first.family == o_.gateway->family;
    }
    if (o_.gateway && !o_.gateway_mac && !has_source) {
      return Status::error(
          "--gateway is resolved from a --src of its family (ARP, or neighbor solicitation for "
          "IPv6); use --gateway-mac");
    }
    for (const Destination& d : o_.destinations) {
      const Family family = d.addr.family;
      const size_t min = kFcsLen + (o_.proto == Proto::kTcp ? tcpFrameLen(family, probeLen(family))
                                                            : minProbeFrameLen(family));
      if (size_ != 0 && size_ < min) {
        return Status::error("--size " + std::to_string(size_) + " is below the " +
                             std::to_string(min) + " bytes (FCS included) a " +
                             (o_.proto == Proto::kTcp ? "TCP" : "UDP") + " probe to " +
                             d.toString() + " needs");
      }
    }
    return Status::ok();
  }

  const std::vector<std::string>& args_;
  size_t next_ = 0;
  std::string name_;
  std::optional<std::string_view> inline_value_;
  bool mode_given_ = false;
  bool ports_given_ = false;
  unsigned size_ = 0;  // --size, FCS included; 0: not given
  Options o_;
};

}  // namespace

uint64_t effectiveWindow(const Options& o) {
  if (o.window == Options::kNoWindow) return 0;
  if (o.window != 0) return o.window;
  return o.rate_pps == 0 ? Options::kDefaultWindow : 0;
}

Result<Options> parseOptions(const std::vector<std::string>& args) {
  return Parser(args).parse();
}

const char* usageText() {
  return "usage: sluice-pktgen EAL-ARGS -- --role client|pod [OPTIONS]\n"
         "\n"
         "Common:\n"
         "  --port N            ethdev port id (default 0)\n"
         "  --burst N           packets per rx/tx burst (default 32)\n"
         "  --idle-sleep-us N   sleep N us after 64 empty polls (default 0: busy poll)\n"
         "  --link-timeout S    seconds to wait for the link (default 10)\n"
         "  --duration S        client: seconds of sending (default 5);\n"
         "                      pod: seconds to run (0: until SIGINT/SIGTERM)\n"
         "Client (UDP or TCP probes; JSON summary on stdout or to --json):\n"
         "  --src A[-B]         source addresses, one range per family\n"
         "  --sport P[-Q]       source ports (default 1024-65535)\n"
         "  --dst VIP:PORT      destination, repeatable; [IPV6]:PORT\n"
         "  --flows N           distinct flows (default 1, at most 10M); per flow the\n"
         "                      client keeps 41 bytes (UDP) or 65 (TCP), as measured\n"
         "                      (VmHWM): 410 MB (UDP) or 650 MB (TCP) at 10M\n"
         "  --rate PPS          offered rate (default 0: as fast as possible)\n"
         "  --packets N         stop sending after N requests (default 0: when\n"
         "                      --duration ends; it bounds the run either way)\n"
         "  --window N|none     at most N requests awaiting answers (default: 1024 at\n"
         "                      --rate 0, else no bound; 0 = default; none: no bound,\n"
         "                      for one-way runs)\n"
         "  --proto udp|tcp     probes in UDP datagrams (default) or TCP segments\n"
         "  --mode steady|connect\n"
         "                      tcp: one handshake per flow, then data segments\n"
         "                      (default); or connection after connection per flow:\n"
         "                      SYN, ACK+data, echo, FIN, FIN-ACK, ACK\n"
         "  --exchanges N       connect: echoed data segments per connection (default 1)\n"
         "  --connect-ports same|next\n"
         "                      connect: each connection on the flow's own tuple\n"
         "                      (default; the gateway reopens its entry) or from the\n"
         "                      flow's next source port (a new entry each time;\n"
         "                      flows then move between endpoints by design)\n"
         "  --tcp-timeout-ms N  tcp: a connection whose answer takes longer fails and\n"
         "                      starts over (default 1000)\n"
         "  --size BYTES        frame size on the wire, FCS included, as RFC 2544 counts\n"
         "                      it: --size 64 builds 60-byte frames and the NIC adds\n"
         "                      the 4-byte FCS (at most 1518; default and least: 64\n"
         "                      for IPv4 UDP, 96 IPv6 UDP, 88 IPv4 TCP, 120 IPv6 TCP)\n"
         "  --drain-ms N        wait for replies after sending (default 500)\n"
         "  --gateway IP        next hop, resolved from the source of its family: by\n"
         "                      ARP (IPv4) or neighbor solicitation (IPv6)\n"
         "  --gateway-mac MAC   next hop MAC (no resolution)\n"
         "  --json FILE         write the summary here instead of stdout\n"
         "  --progress-json F   also write each second's progress as one JSON object\n"
         "                      per line to F (\"-\": stderr)\n"
         "  --pod-port N        also run a pod on ethdev port N, polled in the client's\n"
         "                      loop on the same lcore (with --pod-address, --pod-id);\n"
         "                      its totals join the summary as \"pod\"\n"
         "Pod (answers UDP and TCP to its addresses, ARP and neighbor solicitations\n"
         "for them; TCP as a server that keeps no state: SYN -> SYN-ACK,\n"
         "data -> ACK + echo, FIN -> FIN-ACK):\n"
         "  --pod-address A[,B] addresses served, repeatable\n"
         "  --pod-id N          written into every answer (default 1)\n";
}

}  // namespace sluice::pktgen
