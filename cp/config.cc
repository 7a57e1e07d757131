#include "cp/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include <libconfig.h++>

#include "cp/admin/admin_config.h"
#include "cp/config_reader.h"
#include "cp/metrics/metrics_config.h"
#include "cp/service_config.h"
#include "cp/xds/xds_config.h"

namespace sluice::cp {

namespace {

// DPDK's default RTE_MAX_LCORE is 128; CPUs beyond 1024 are beyond cpu_set_t.
constexpr IntRange kLcore{0, 127};
constexpr IntRange kCpu{0, 1023};
constexpr IntRange kRxQueues{1, 64};
constexpr IntRange kQueue{0, kRxQueues.hi - 1};
constexpr IntRange kDescriptors{64, 16384};
constexpr IntRange kMtu{68, 9600};
constexpr IntRange kVlan{0, 4094};
constexpr IntRange kMbufs{1023, 16777215};
constexpr IntRange kNeighborCapacity{16, 1048576};
constexpr IntRange kResolveMs{10, 60000};
constexpr IntRange kTxDrainUs{1, 100000};
constexpr IntRange kRouteCapacity{16, 1048576};
constexpr IntRange kPolls{1, kU32Max};
constexpr IntRange kMaxSleepUs{1, 100000};
constexpr IntRange kServicesCapacity{16, 1048576};
constexpr IntRange kEndpointStatsCapacity{0, 16777216};
constexpr IntRange kLazyHoldPackets{0, 65536};
constexpr IntRange kLazyHoldMs{1, 60000};

constexpr Choice<dp::LogLevel> kLogLevels[] = {
    {"error", dp::LogLevel::kError},
    {"warning", dp::LogLevel::kWarning},
    {"info", dp::LogLevel::kInfo},
    {"debug", dp::LogLevel::kDebug},
};
constexpr Choice<dp::IdlePolicy> kIdlePolicies[] = {
    {"busy", dp::IdlePolicy::kBusy},
    {"backoff", dp::IdlePolicy::kBackoff},
};

// EAL options sluiced derives from the config, and the settings it derives them from.
constexpr std::string_view kFromLcores = "eal.main_lcore, eal.main_cpu and workers (lcore, cpu)";
constexpr std::string_view kFromDevices = "ports.[].device";
constexpr std::pair<std::string_view, std::string_view> kDerivedEalOptions[] = {
    {"-l", kFromLcores},       {"-c", kFromLcores},
    {"--lcores", kFromLcores}, {"--main-lcore", "eal.main_lcore"},
    {"--vdev", kFromDevices},  {"-a", kFromDevices},
    {"--allow", kFromDevices}, {"-b", kFromDevices},
    {"--block", kFromDevices}, {"--no-pci", "ports.[].device (added when no port is a PCI device)"},
};

// "-l" matches "-l" and "-l0-3"; "--lcores" matches "--lcores" and "--lcores=...".
bool isEalOption(std::string_view arg, std::string_view option) {
  if (!arg.starts_with(option)) {
    return false;
  }
  if (arg.size() == option.size()) {
    return true;
  }
  return option.starts_with("--") ? arg[option.size()] == '=' : !arg.starts_with("--");
}

bool isPortName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '_' || c == '-';
  });
}

class Loader {
 public:
  Loader(const libconfig::Config& parsed, const std::string& source)
      : root_(parsed.getRoot()), errors_(source) {
    config_.source = source;
  }

  Result<Config> load() {
    GroupReader top(errors_, root_);
    top.choice("log_level", config_.log_level, kLogLevels);
    if (const Setting* eal = top.group("eal")) {
      readEal(*eal);
    }
    if (const Setting* idle = top.group("idle")) {
      readIdle(*idle);
    }
    dp::DataplaneSpec& dp = config_.dataplane;
    top.integer("mbufs", dp.mbufs_per_socket, kMbufs);
    top.integer("tx_drain_us", dp.tx_drain_us, kTxDrainUs);
    top.integer("route_capacity", dp.route_capacity, kRouteCapacity);
    top.integer("services_capacity", dp.services_capacity, kServicesCapacity);
    top.integer("endpoint_stats_capacity", dp.endpoint_stats_capacity, kEndpointStatsCapacity);
    if (const Setting* neighbor = top.group("neighbor")) {
      GroupReader r(errors_, *neighbor);
      r.integer("capacity", dp.neighbor_capacity, kNeighborCapacity);
      r.integer("resolve_ms", dp.neighbor_resolve_ms, kResolveMs);
      r.finish();
    }
    if (const Setting* hold = top.group("lazy_hold")) {
      GroupReader r(errors_, *hold);
      r.integer("packets", dp.lazy_hold, kLazyHoldPackets);
      r.integer("timeout_ms", dp.lazy_hold_ms, kLazyHoldMs);
      r.finish();
    }
    if (const Setting* conntrack = top.group("conntrack")) {
      readConntrack(errors_, *conntrack, dp.conntrack);
    }
    // Order matters: each section is checked against those read before it.
    forEachGroup(errors_, top.list("ports", Need::kRequired), "port",
                 [this](GroupReader& r) { readPort(r); });
    const Setting* workers = top.list("workers", Need::kRequired);
    forEachGroup(errors_, workers, "worker", [this](GroupReader& r) { readWorker(r); });
    if (workers != nullptr) {
      checkEveryQueuePolled();
    }
    forEachGroup(errors_, top.list("addresses"), nullptr,
                 [this](GroupReader& r) { readAddress(r); });
    forEachGroup(errors_, top.list("routes"), nullptr, [this](GroupReader& r) { readRoute(r); });
    forEachGroup(errors_, top.list("neighbors"), nullptr,
                 [this](GroupReader& r) { readNeighbor(r); });
    if (const Setting* snat = top.list("snat")) {
      readSnat(errors_, *snat, dp);
    }
    if (const Setting* services = top.list("services")) {
      readServices(errors_, *services, dp, config_.services);
    }
    if (const Setting* admin = top.group("admin")) {
      admin::readAdmin(errors_, *admin, config_.admin.emplace());
    }
    if (const Setting* metrics = top.group("metrics")) {
      metrics::readMetrics(errors_, *metrics, config_.metrics.emplace());
    }
    if (const Setting* xds = top.group("xds")) {
      xds::readXds(errors_, *xds, config_.xds.emplace());
    }
    top.finish();

    if (errors_.count() != 0) {
      return Status::error(errors_.joined());
    }
    return std::move(config_);
  }

 private:
  // What later sections need to know about a port, beyond its spec.
  struct PortInfo {
    const Setting* at;  // the port's group, or its rx_queues when given
    bool queues_valid;  // false: skip queue checks rather than pile on errors
  };

  void readEal(const Setting& eal) {
    GroupReader r(errors_, eal);
    if (const Setting* args = r.list("args")) {
      for (int i = 0; i < args->getLength(); ++i) {
        const Setting& arg = (*args)[i];
        if (arg.getType() != Setting::TypeString) {
          errors_.add(arg, "must be a string");
          continue;
        }
        std::string_view text = arg.c_str();
        for (const auto& [option, replacement] : kDerivedEalOptions) {
          if (isEalOption(text, option)) {
            errors_.add(arg, "'" + std::string(option) + "' is set by sluiced from " +
                                 std::string(replacement) + "; remove it");
            break;
          }
        }
        config_.eal_args.emplace_back(text);
      }
    }
    r.integer("main_lcore", config_.main_lcore, kLcore);
    unsigned cpu = 0;
    if (r.integer("main_cpu", cpu, kCpu) != nullptr) {
      config_.main_cpu = cpu;
    }
    r.finish();
  }

  void readIdle(const Setting& idle_group) {
    GroupReader r(errors_, idle_group);
    dp::IdleSpec& idle = config_.dataplane.idle;
    r.choice("policy", idle.policy, kIdlePolicies);
    // Compare only values read cleanly (or defaulted), not ones just rejected.
    size_t errors_before = errors_.count();
    r.integer("pause_after", idle.pause_after, kPolls);
    const Setting* sleep = r.integer("sleep_after", idle.sleep_after, kPolls);
    if (errors_.count() == errors_before && idle.sleep_after < idle.pause_after) {
      errors_.add(sleep != nullptr ? *sleep : idle_group,
                  "sleep_after (" + std::to_string(idle.sleep_after) +
                      ") must be at least pause_after (" + std::to_string(idle.pause_after) + ")");
    }
    r.integer("max_sleep_us", idle.max_sleep_us, kMaxSleepUs);
    r.finish();
  }

  void readPort(GroupReader& r) {
    dp::PortSpec port;
    const Setting* name = r.string("name", port.name, Need::kRequired);
    if (name != nullptr && !isPortName(port.name)) {
      errors_.add(*name, "'" + port.name + "' must be non-empty and use only A-Z a-z 0-9 _ -");
    }
    if (const Setting* device = r.string("device", port.device, Need::kRequired)) {
      if (port.device.empty()) {
        errors_.add(*device, "must not be empty");
      } else {
        for (const dp::PortSpec& other : config_.dataplane.ports) {
          if (other.ethdevName() == port.ethdevName()) {
            errors_.add(*device, "device '" + port.ethdevName() + "' is already used by port '" +
                                     other.name + "'");
            break;
          }
        }
      }
    }
    size_t errors_before = errors_.count();
    const Setting* queues = r.integer("rx_queues", port.rx_queues, kRxQueues);
    PortInfo info{queues != nullptr ? queues : &r.self(), errors_.count() == errors_before};
    r.integer("rx_desc", port.rx_desc, kDescriptors);
    r.integer("tx_desc", port.tx_desc, kDescriptors);
    r.integer("mtu", port.mtu, kMtu);
    r.integer("vlan", port.vlan, kVlan);
    std::string mac;
    if (const Setting* s = r.string("mac", mac)) {
      port.mac = readUnicastMac(errors_, *s, mac);
    }

    // A port whose name is wrong is still recorded, so that the sections
    // referring to it do not report it again as unknown.
    if (name == nullptr) {
      return;
    }
    if (portIndex(port.name)) {
      errors_.add(*name, "port '" + port.name + "' is already defined");
      return;
    }
    config_.dataplane.ports.push_back(std::move(port));
    port_info_.push_back(info);
  }

  void readWorker(GroupReader& r) {
    dp::WorkerSpec worker;
    if (const Setting* lcore = r.integer("lcore", worker.lcore, kLcore, Need::kRequired)) {
      if (worker.lcore == config_.main_lcore) {
        errors_.add(*lcore, "lcore " + std::to_string(worker.lcore) +
                                " is eal.main_lcore, which runs the control plane");
      } else if (!lcores_.insert(worker.lcore).second) {
        errors_.add(*lcore, "lcore " + std::to_string(worker.lcore) + " has another worker");
      }
    }
    unsigned cpu = 0;
    if (r.integer("cpu", cpu, kCpu) != nullptr) {
      worker.cpu = cpu;
    }
    forEachGroup(errors_, r.list("rx", Need::kRequired), "{port, queue}",
                 [&](GroupReader& q) { readRxQueue(q, worker); });
    config_.dataplane.workers.push_back(std::move(worker));
  }

  void readRxQueue(GroupReader& r, dp::WorkerSpec& worker) {
    dp::RxQueueRef ref;
    const Setting* port_at = r.string("port", ref.port, Need::kRequired);
    const Setting* queue_at = r.integer("queue", ref.queue, kQueue, Need::kRequired);
    if (port_at == nullptr || queue_at == nullptr) {
      return;
    }
    std::optional<size_t> index = portIndex(ref.port);
    if (!index) {
      errors_.add(*port_at, "unknown port '" + ref.port + "'");
      return;
    }
    const dp::PortSpec& port = config_.dataplane.ports[*index];
    if (port_info_[*index].queues_valid && ref.queue >= port.rx_queues) {
      errors_.add(*queue_at, "queue " + std::to_string(ref.queue) + " is out of range: port '" +
                                 ref.port + "' has rx_queues = " + std::to_string(port.rx_queues));
      return;
    }
    auto [it, added] = polled_.emplace(std::pair(ref.port, ref.queue), r.self().getPath());
    if (!added) {
      errors_.add(r.self(), "queue " + std::to_string(ref.queue) + " of port '" + ref.port +
                                "' is already polled by " + it->second);
      return;
    }
    worker.rx.push_back(std::move(ref));
  }

  // Packets on a queue no worker polls would fill it and then be dropped unseen.
  void checkEveryQueuePolled() {
    const auto& ports = config_.dataplane.ports;
    for (size_t i = 0; i < ports.size(); ++i) {
      if (!port_info_[i].queues_valid) {
        continue;
      }
      std::string missing;
      for (uint16_t q = 0; q < ports[i].rx_queues; ++q) {
        if (polled_.count(std::pair(ports[i].name, q)) != 0) {
          continue;
        }
        missing += (missing.empty() ? "" : ", ") + std::to_string(q);
      }
      if (!missing.empty()) {
        errors_.add(*port_info_[i].at, "rx queue(s) " + missing + " of port '" + ports[i].name +
                                           "' are not polled by any worker");
      }
    }
  }

  void readAddress(GroupReader& r) {
    dp::LocalAddrSpec local;
    std::string text;
    const Setting* port = readPortRef(r, Need::kRequired, local.port);
    const Setting* address = r.string("address", text, Need::kRequired);
    if (address == nullptr) {
      return;
    }
    auto prefix = Prefix::parse(text);
    if (!prefix || text.find('/') == std::string::npos) {
      errors_.add(*address, "'" + text + "' is not an address/length such as 192.168.1.1/24");
      return;
    }
    if (prefix->addr.isMulticast() || prefix->addr.isUnspecified()) {
      errors_.add(*address, "'" + text + "' must be a unicast address");
      return;
    }
    for (const dp::LocalAddrSpec& other : config_.dataplane.addresses) {
      if (other.prefix.addr == prefix->addr) {
        errors_.add(*address, "address " + prefix->addr.toString() +
                                  " is already assigned to port '" + other.port + "'");
        return;
      }
    }
    if (port == nullptr) {
      return;
    }
    local.prefix = *prefix;
    config_.dataplane.addresses.push_back(std::move(local));
  }

  void readRoute(GroupReader& r) {
    dp::RouteSpec route;
    std::string text;
    const Setting* prefix_at = r.string("prefix", text, Need::kRequired);
    std::optional<Prefix> prefix;
    if (prefix_at != nullptr) {
      prefix = Prefix::parse(text);
      if (!prefix) {
        errors_.add(*prefix_at, "'" + text + "' is not a prefix such as 10.0.0.0/8");
      } else if (prefix->network() != *prefix) {
        errors_.add(*prefix_at, "'" + text + "' has host bits set; did you mean " +
                                    prefix->network().toString() + "?");
      }
    }
    const Setting* via_at = r.string("via", text);
    if (via_at != nullptr) {
      route.via = readUnicastIp(errors_, *via_at, text);
    }
    if (route.via && prefix && route.via->family != prefix->addr.family) {
      errors_.add(*via_at, "'" + text + "' is not in the address family of the prefix");
      route.via.reset();
    }
    readPortRef(r, Need::kOptional, route.port);
    bool port_given = r.self().exists("port");
    if (!port_given && via_at == nullptr && !r.self().exists("via")) {
      errors_.add(r.self(), "a route without via needs a port");
    } else if (!port_given && route.via) {
      route.port = connectedPort(*route.via, *via_at);
    }
    if (!prefix) {
      return;
    }
    route.prefix = prefix->network();
    auto [it, added] = routes_.emplace(route.prefix.toString(), r.self().getPath());
    if (!added) {
      errors_.add(*prefix_at, "prefix " + it->first + " is already routed by " + it->second);
      return;
    }
    config_.dataplane.routes.push_back(std::move(route));
  }

  void readNeighbor(GroupReader& r) {
    dp::NeighborSpec neighbor;
    std::string text;
    const Setting* port = readPortRef(r, Need::kRequired, neighbor.port);
    const Setting* address = r.string("address", text, Need::kRequired);
    std::optional<IpAddr> addr;
    if (address != nullptr) {
      addr = readUnicastIp(errors_, *address, text);
    }
    std::optional<MacAddr> mac;
    if (const Setting* s = r.string("mac", text, Need::kRequired)) {
      mac = readUnicastMac(errors_, *s, text);
    }
    if (port == nullptr || !addr || !mac) {
      return;
    }
    const auto& local = config_.dataplane.addresses;
    if (std::none_of(local.begin(), local.end(), [&](const dp::LocalAddrSpec& a) {
          return a.port == neighbor.port && a.prefix.contains(*addr);
        })) {
      errors_.add(*address, addr->toString() + " is not in a subnet of port '" + neighbor.port +
                                "' (see addresses)");
      return;
    }
    for (const dp::NeighborSpec& other : config_.dataplane.neighbors) {
      if (other.port == neighbor.port && other.addr == *addr) {
        errors_.add(*address, "neighbor " + addr->toString() + " on port '" + neighbor.port +
                                  "' is already defined");
        return;
      }
    }
    neighbor.addr = *addr;
    neighbor.mac = *mac;
    config_.dataplane.neighbors.push_back(std::move(neighbor));
  }

  // Reads the `port` setting of an address, route or neighbor; nullptr unless
  // it names a known port.
  const Setting* readPortRef(GroupReader& r, Need need, std::string& out) {
    const Setting* s = r.string("port", out, need);
    if (s != nullptr && !portIndex(out)) {
      errors_.add(*s, "unknown port '" + out + "'");
      return nullptr;
    }
    return s;
  }

  // The port whose connected subnet holds `via` (the longest match), or ""
  // after reporting an error at `at`.
  std::string connectedPort(const IpAddr& via, const Setting& at) {
    const dp::LocalAddrSpec* best = nullptr;
    bool ambiguous = false;
    for (const dp::LocalAddrSpec& local : config_.dataplane.addresses) {
      if (!local.prefix.contains(via)) {
        continue;
      }
      if (best == nullptr || local.prefix.len > best->prefix.len) {
        best = &local;
        ambiguous = false;
      } else if (local.prefix.len == best->prefix.len && local.port != best->port) {
        ambiguous = true;
      }
    }
    if (best == nullptr) {
      errors_.add(at, via.toString() + " is not in a connected subnet (see addresses); set port");
      return "";
    }
    if (ambiguous) {
      errors_.add(at, via.toString() + " is in subnets of several ports; set port");
      return "";
    }
    return best->port;
  }

  std::optional<size_t> portIndex(const std::string& name) const {
    const auto& ports = config_.dataplane.ports;
    auto it = std::find_if(ports.begin(), ports.end(),
                           [&](const dp::PortSpec& port) { return port.name == name; });
    if (it == ports.end()) {
      return std::nullopt;
    }
    return it - ports.begin();
  }

  const Setting& root_;
  Errors errors_;
  Config config_;
  std::vector<PortInfo> port_info_;                                 // parallel to the port specs
  std::set<unsigned> lcores_;                                       // worker lcores seen so far
  std::map<std::pair<std::string, uint16_t>, std::string> polled_;  // (port, queue) -> rx path
  std::map<std::string, std::string> routes_;                       // network -> route path
};

Result<Config> parseAndLoad(std::string_view text, const std::string& source,
                            const std::string& include_dir) {
  libconfig::Config parsed;
  try {
    if (!include_dir.empty()) {
      parsed.setIncludeDir(include_dir.c_str());
    }
    parsed.readString(std::string(text));
    // The loader checks every type before it converts, so libconfig should
    // not throw from here on; if it does, report it rather than let it escape.
    return Loader(parsed, source).load();
  } catch (const libconfig::ParseException& e) {
    const char* file = e.getFile() != nullptr ? e.getFile() : source.c_str();
    return Status::error(std::string(file) + ":" + std::to_string(e.getLine()) +
                         ": parse error: " + e.getError());
  } catch (const libconfig::FileIOException& e) {
    return Status::error(source + ":1: parse error: " + e.what());
  } catch (const libconfig::SettingException& e) {
    return Status::error(source + ":1: " + e.getPath() + ": " + e.what());
  } catch (const std::exception& e) {
    return Status::error(source + ":1: internal error: " + e.what());
  }
}

}  // namespace
Result<Config> loadConfigFile(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) {
    return Status::error(path + ": cannot open config file: " + std::strerror(errno));
  }
  std::string text;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), file.get())) > 0) {
    text.append(buf, n);
  }
  if (std::ferror(file.get()) != 0) {
    return Status::error(path + ": cannot read config file: " + std::strerror(errno));
  }
  // @include paths are relative to the including file, not to our cwd.
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  return parseAndLoad(text, path, dir);
}

Result<Config> loadConfigText(std::string_view text, const std::string& source) {
  return parseAndLoad(text, source, "");
}

std::vector<std::string> buildEalArgs(const Config& config, const std::string& argv0) {
  std::vector<std::string> args{argv0};
  args.insert(args.end(), config.eal_args.begin(), config.eal_args.end());

  auto lcoreAt = [](unsigned lcore, std::optional<unsigned> cpu) {
    return std::to_string(lcore) + "@" + std::to_string(cpu.value_or(lcore));
  };
  std::string lcores = lcoreAt(config.main_lcore, config.main_cpu);
  for (const dp::WorkerSpec& worker : config.dataplane.workers) {
    lcores += "," + lcoreAt(worker.lcore, worker.cpu);
  }
  args.insert(args.end(), {"--lcores", lcores, "--main-lcore", std::to_string(config.main_lcore)});

  bool any_pci = false;
  for (const dp::PortSpec& port : config.dataplane.ports) {
    bool pci = isPciAddress(port.ethdevName());
    any_pci = any_pci || pci;
    args.insert(args.end(), {pci ? "-a" : "--vdev", port.device});
  }
  if (!any_pci) {
    args.emplace_back("--no-pci");
  }
  return args;
}

bool isPciAddress(std::string_view device) {
  auto hex = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
  };
  // [DDDD:]BB:DD.F
  constexpr size_t kShort = 7;
  constexpr size_t kLong = 12;
  if (device.size() == kLong) {
    if (!hex(device.substr(0, 4)) || device[4] != ':') {
      return false;
    }
    device.remove_prefix(5);
  }
  return device.size() == kShort && hex(device.substr(0, 2)) && device[2] == ':' &&
         hex(device.substr(3, 2)) && device[5] == '.' && device[6] >= '0' && device[6] <= '7';
}

}  // namespace sluice::cp
