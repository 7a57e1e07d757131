#include "cp/config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <utility>

#include <libconfig.h++>

#include "cp/maglev.h"

namespace sluice::cp {

namespace {

using libconfig::Setting;

enum class Need : uint8_t { kOptional, kRequired };

struct IntRange {
  long long lo;
  long long hi;
};

constexpr long long kU32Max = std::numeric_limits<uint32_t>::max();

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
constexpr IntRange kConntrackCapacity{1024, 16777216};
constexpr IntRange kTimeoutS{1, 604800};  // a week
constexpr IntRange kServicesCapacity{16, 1048576};
constexpr IntRange kPort{1, 65535};
// Read as any uint32_t; validateService checks the range with a reason.
constexpr IntRange kAnyU32{0, kU32Max};

template <class E>
using Choice = std::pair<std::string_view, E>;
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
constexpr Choice<Proto> kProtocols[] = {
    {"tcp", Proto::kTcp},
    {"udp", Proto::kUdp},
};
constexpr Choice<ForwardMode> kModes[] = {
    {"fullnat", ForwardMode::kFullNat},
    {"dnat", ForwardMode::kDnat},
};
constexpr Choice<Algorithm> kAlgorithms[] = {
    {"maglev", Algorithm::kMaglev},
    {"random", Algorithm::kRandom},
};
constexpr Choice<bool> kAffinities[] = {
    {"none", false},
    {"client-ip", true},
};
constexpr Choice<EndpointState> kEndpointStates[] = {
    {"ready", EndpointState::kReady},
    {"terminating", EndpointState::kTerminating},
    {"unhealthy", EndpointState::kUnhealthy},
};

constexpr uint32_t kMaxEndpoints = 65535;
constexpr uint32_t kMaxWeight = 65535;
constexpr char kAffinityTimeoutWithoutAffinity[] = "must not be set when affinity is none";

const char* familyName(Family family) {
  return family == Family::kV4 ? "IPv4" : "IPv6";
}

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

// Every error found, each as "FILE:LINE: SETTING: reason", reported in file order.
class Errors {
 public:
  explicit Errors(std::string source) : source_(std::move(source)) {}

  void add(const Setting& at, const std::string& reason) { add(at, at.getPath(), reason); }
  // Reported at the line of `at` under another path: a setting left out, or
  // one inside `at` that the file does not spell out.
  void add(const Setting& at, const std::string& path, const std::string& reason) {
    // Settings from an @include carry their own file; the root has no line.
    const char* file = at.getSourceFile();
    unsigned line = std::max(at.getSourceLine(), 1u);
    errors_.push_back({file != nullptr ? file : source_, line, path, reason});
  }
  // A missing setting is reported at the line of the group that should hold it.
  void addMissing(const Setting& parent, const char* name) {
    std::string path = parent.getPath();
    add(parent, path.empty() ? name : path + "." + name, "missing required setting");
  }

  size_t count() const { return errors_.size(); }
  std::string joined() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.file, a.line) < std::tie(b.file, b.line);
    });
    std::string text;
    for (const Entry& e : errors_) {
      if (!text.empty()) {
        text += '\n';
      }
      text += e.file + ":" + std::to_string(e.line) + ": " + e.path + ": " + e.reason;
    }
    return text;
  }

 private:
  struct Entry {
    std::string file;
    unsigned line;
    std::string path;
    std::string reason;
  };

  std::string source_;
  std::vector<Entry> errors_;
};

// Reads the children of one group. Each child read is remembered; finish()
// reports every other child as unknown, so a misspelt setting never passes
// silently as its default.
class GroupReader {
 public:
  GroupReader(Errors& errors, const Setting& group) : errors_(errors), group_(group) {}

  const Setting& self() const { return group_; }

  // The child when present and of the `type` asked for (an int64 counts as
  // an int, an array as a list); else nullptr.
  const Setting* typed(const char* name, Need need, Setting::Type type, const char* what) {
    known_.insert(name);
    if (!group_.exists(name)) {
      if (need == Need::kRequired) {
        errors_.addMissing(group_, name);
      }
      return nullptr;
    }
    const Setting* s = &group_[name];
    Setting::Type found = s->getType();
    if (found == Setting::TypeInt64) {
      found = Setting::TypeInt;
    } else if (found == Setting::TypeArray) {
      found = Setting::TypeList;
    }
    if (found != type) {
      errors_.add(*s, std::string("must be ") + what);
      return nullptr;
    }
    return s;
  }

  // Each reader returns the setting when it is present and valid (and only
  // then writes `out`), so callers can report later errors at its line.
  const Setting* string(const char* name, std::string& out, Need need = Need::kOptional) {
    const Setting* s = typed(name, need, Setting::TypeString, "a string");
    if (s != nullptr) {
      out = s->c_str();
    }
    return s;
  }

  template <class T>
  const Setting* integer(const char* name, T& out, IntRange range, Need need = Need::kOptional) {
    const Setting* s = typed(name, need, Setting::TypeInt, "an integer");
    if (s == nullptr) {
      return nullptr;
    }
    long long value =
        s->getType() == Setting::TypeInt ? static_cast<int>(*s) : static_cast<long long>(*s);
    if (value < range.lo || value > range.hi) {
      errors_.add(*s, range.hi == kU32Max ? "must be at least " + std::to_string(range.lo)
                                          : "must be " + std::to_string(range.lo) + ".." +
                                                std::to_string(range.hi));
      return nullptr;
    }
    out = static_cast<T>(value);
    return s;
  }

  // A string naming one of `choices`.
  template <class E, size_t N>
  const Setting* choice(const char* name, E& out, const Choice<E> (&choices)[N],
                        Need need = Need::kOptional) {
    std::string text;
    const Setting* s = string(name, text, need);
    if (s == nullptr) {
      return nullptr;
    }
    std::string names;
    for (const auto& [choice, value] : choices) {
      if (text == choice) {
        out = value;
        return s;
      }
      names += (names.empty() ? "" : ", ") + std::string(choice);
    }
    errors_.add(*s, "'" + text + "' is not one of " + names);
    return nullptr;
  }

  const Setting* group(const char* name, Need need = Need::kOptional) {
    return typed(name, need, Setting::TypeGroup, "a group { ... }");
  }

  // A list ( ... ) or an array [ ... ]; libconfig allows groups only in lists.
  const Setting* list(const char* name, Need need = Need::kOptional) {
    return typed(name, need, Setting::TypeList, "a list ( ... )");
  }

  void finish() {
    for (int i = 0; i < group_.getLength(); ++i) {
      const Setting& s = group_[i];
      if (known_.count(s.getName()) == 0) {
        errors_.add(s, std::string("unknown setting '") + s.getName() + "'");
      }
    }
  }

 private:
  Errors& errors_;
  const Setting& group_;
  std::set<std::string, std::less<>> known_;
};

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
    if (const Setting* neighbor = top.group("neighbor")) {
      GroupReader r(errors_, *neighbor);
      r.integer("capacity", dp.neighbor_capacity, kNeighborCapacity);
      r.integer("resolve_ms", dp.neighbor_resolve_ms, kResolveMs);
      r.finish();
    }
    if (const Setting* conntrack = top.group("conntrack")) {
      readConntrack(*conntrack);
    }
    // Order matters: each section is checked against those read before it.
    forEachGroup(top.list("ports", Need::kRequired), "port",
                 [this](GroupReader& r) { readPort(r); });
    const Setting* workers = top.list("workers", Need::kRequired);
    forEachGroup(workers, "worker", [this](GroupReader& r) { readWorker(r); });
    if (workers != nullptr) {
      checkEveryQueuePolled();
    }
    forEachGroup(top.list("addresses"), nullptr, [this](GroupReader& r) { readAddress(r); });
    forEachGroup(top.list("routes"), nullptr, [this](GroupReader& r) { readRoute(r); });
    forEachGroup(top.list("neighbors"), nullptr, [this](GroupReader& r) { readNeighbor(r); });
    if (const Setting* snat = top.list("snat")) {
      readSnat(*snat);
    }
    if (const Setting* services = top.list("services")) {
      readServices(*services);
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

  // Calls `read` for each element of `list`, which must be a group. When set,
  // `required` names what the list must hold at least one of.
  template <class Read>
  void forEachGroup(const Setting* list, const char* required, Read read) {
    if (list == nullptr) {
      return;
    }
    if (list->getLength() == 0 && required != nullptr) {
      errors_.add(*list, std::string("must list at least one ") + required);
    }
    for (int i = 0; i < list->getLength(); ++i) {
      const Setting& element = (*list)[i];
      if (!element.isGroup()) {
        errors_.add(element, "must be a group { ... }");
        continue;
      }
      GroupReader r(errors_, element);
      read(r);
      r.finish();
    }
  }

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
      port.mac = readUnicastMac(*s, mac);
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
    forEachGroup(r.list("rx", Need::kRequired), "{port, queue}",
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
      route.via = readUnicastIp(*via_at, text);
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
      addr = readUnicastIp(*address, text);
    }
    std::optional<MacAddr> mac;
    if (const Setting* s = r.string("mac", text, Need::kRequired)) {
      mac = readUnicastMac(*s, text);
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

  void readConntrack(const Setting& group) {
    GroupReader r(errors_, group);
    dp::ConntrackSpec& ct = config_.dataplane.conntrack;
    r.integer("capacity", ct.capacity, kConntrackCapacity);
    r.integer("tcp_half_open_timeout", ct.tcp_half_open_s, kTimeoutS);
    r.integer("tcp_established_timeout", ct.tcp_established_s, kTimeoutS);
    r.integer("tcp_fin_timeout", ct.tcp_fin_s, kTimeoutS);
    r.integer("tcp_closed_timeout", ct.tcp_closed_s, kTimeoutS);
    r.integer("udp_timeout", ct.udp_s, kTimeoutS);
    r.finish();
  }

  void readSnat(const Setting& list) {
    std::vector<IpAddr>& snat = config_.dataplane.snat;
    const auto& local = config_.dataplane.addresses;
    for (int i = 0; i < list.getLength(); ++i) {
      const Setting& entry = list[i];
      if (entry.getType() != Setting::TypeString) {
        errors_.add(entry, "must be a string");
        continue;
      }
      auto addr = readUnicastIp(entry, entry.c_str());
      if (!addr) {
        continue;
      }
      if (std::none_of(local.begin(), local.end(),
                       [&](const dp::LocalAddrSpec& a) { return a.prefix.addr == *addr; })) {
        errors_.add(entry, addr->toString() + " is not a local address (see addresses)");
      } else if (std::find(snat.begin(), snat.end(), *addr) != snat.end()) {
        errors_.add(entry, addr->toString() + " is already listed");
      } else {
        snat.push_back(*addr);
      }
    }
  }

  void readServices(const Setting& list) {
    forEachGroup(&list, nullptr, [this](GroupReader& r) { readService(r); });
    uint32_t capacity = config_.dataplane.services_capacity;
    if (static_cast<uint32_t>(list.getLength()) > capacity) {
      errors_.add(list, std::to_string(list.getLength()) + " services exceed services_capacity (" +
                            std::to_string(capacity) + ")");
    }
  }

  void readService(GroupReader& r) {
    ServiceSpec service;
    size_t errors_before = errors_.count();
    std::string text;
    const Setting* vip = r.string("vip", text, Need::kRequired);
    if (vip != nullptr) {
      service.key.vip = readIp(*vip, text);
    }
    r.integer("port", service.key.port, kPort, Need::kRequired);
    r.choice("protocol", service.key.proto, kProtocols, Need::kRequired);
    bool key_valid = errors_.count() == errors_before;
    r.choice("mode", service.mode, kModes);
    r.choice("algorithm", service.algorithm, kAlgorithms);
    const Setting* affinity = r.choice("affinity", service.affinity_client_ip, kAffinities);
    bool affinity_valid = affinity != nullptr || !r.self().exists("affinity");
    const Setting* timeout = r.integer("affinity_timeout", service.affinity_timeout_s, kAnyU32);
    if (timeout != nullptr && affinity_valid && !service.affinity_client_ip) {
      // As Kubernetes does: even the default is refused here, since setting it
      // suggests the operator expects affinity. Reset so that validateService
      // does not report it again.
      errors_.add(*timeout, kAffinityTimeoutWithoutAffinity);
      service.affinity_timeout_s = kDefaultAffinityTimeoutS;
    }
    uint32_t table_size = 0;
    if (r.integer("table_size", table_size, kAnyU32) != nullptr) {
      service.table_size = table_size;
    }
    forEachGroup(r.list("endpoints", Need::kRequired), nullptr,
                 [&](GroupReader& e) { service.endpoints.push_back(readEndpoint(e)); });
    bool read_cleanly = errors_.count() == errors_before;

    if (key_valid) {
      std::string key = service.key.toString();
      std::string where =
          r.self().getPath() + " (line " + std::to_string(vip->getSourceLine()) + ")";
      auto [it, added] = service_keys_.emplace(key, where);
      if (!added) {
        errors_.add(*vip, "service " + key + " is already defined by " + it->second);
      }
    }
    // Values that failed to read would only add confusing follow-on errors.
    if (read_cleanly) {
      for (const std::string& error : validateService(service, config_.dataplane)) {
        addFieldError(r.self(), error);
      }
    }
    config_.services.push_back(std::move(service));
  }

  EndpointSpec readEndpoint(GroupReader& r) {
    EndpointSpec endpoint;
    std::string text;
    if (const Setting* address = r.string("address", text, Need::kRequired)) {
      endpoint.addr = readIp(*address, text);
    }
    r.integer("port", endpoint.port, kPort, Need::kRequired);
    r.integer("weight", endpoint.weight, kAnyU32);
    r.choice("state", endpoint.state, kEndpointStates);
    return endpoint;
  }

  // Reports validateService's "FIELD: reason" at the setting FIELD names
  // ("endpoints[2].port" is libconfig's "endpoints.[2].port"), or, for a
  // field the file leaves at its default, at the closest enclosing setting.
  void addFieldError(const Setting& service, const std::string& error) {
    size_t colon = error.find(": ");
    std::string_view field = std::string_view(error).substr(0, colon);
    std::string reason = colon == std::string::npos ? error : error.substr(colon + 2);
    const Setting* at = &service;
    bool found = true;
    std::string path = service.getPath();
    while (!field.empty()) {
      size_t end = field.find_first_of(".[");
      std::string_view part = field.substr(0, end);
      field.remove_prefix(end == std::string_view::npos ? field.size() : end);
      if (part.empty() && field.starts_with('[')) {  // "[2]" after a list
        size_t close = field.find(']');
        std::string_view index = field.substr(1, close - 1);
        field.remove_prefix(close == std::string_view::npos ? field.size() : close + 1);
        path += ".[" + std::string(index) + "]";
        int i = -1;
        std::from_chars(index.data(), index.data() + index.size(), i);
        found = found && at->isList() && i >= 0 && i < at->getLength();
        at = found ? &(*at)[i] : at;
      } else if (!part.empty()) {
        std::string name(part);
        path += "." + name;
        found = found && at->isGroup() && at->exists(name);
        at = found ? &(*at)[name.c_str()] : at;
      }
      if (field.starts_with('.')) {
        field.remove_prefix(1);
      }
    }
    errors_.add(*at, path, reason);
  }

  // An address of either family; unicast and family checks are validateService's.
  IpAddr readIp(const Setting& at, const std::string& text) {
    auto addr = IpAddr::parse(text);
    if (!addr) {
      errors_.add(at, "'" + text + "' is not an IP address");
      return {};
    }
    return *addr;
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

  std::optional<IpAddr> readUnicastIp(const Setting& at, const std::string& text) {
    auto addr = IpAddr::parse(text);
    if (!addr) {
      errors_.add(at, "'" + text + "' is not an IP address");
    } else if (addr->isMulticast() || addr->isUnspecified()) {
      errors_.add(at, "'" + text + "' must be a unicast address");
      addr.reset();
    }
    return addr;
  }

  std::optional<MacAddr> readUnicastMac(const Setting& at, const std::string& text) {
    auto mac = MacAddr::parse(text);
    if (!mac) {
      errors_.add(at, "'" + text + "' is not a MAC address such as 02:00:00:00:00:01");
    } else if (mac->isMulticast() || mac->isZero()) {
      errors_.add(at, "'" + text + "' must be a unicast, non-zero MAC address");
      mac.reset();
    }
    return mac;
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
  std::map<std::string, std::string> service_keys_;  // key -> "services.[i] (line n)"
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

std::vector<std::string> validateService(const ServiceSpec& service,
                                         const dp::DataplaneSpec& dataplane) {
  std::vector<std::string> errors;
  auto fail = [&](const std::string& field, const std::string& reason) {
    errors.push_back(field + ": " + reason);
  };
  const IpAddr& vip = service.key.vip;
  if (vip.isMulticast() || vip.isUnspecified()) {
    fail("vip", "'" + vip.toString() + "' must be a unicast address");
  }
  if (service.key.port == 0) {
    fail("port", "0 is not a valid port");
  }
  if (service.mode == ForwardMode::kFullNat &&
      std::none_of(dataplane.snat.begin(), dataplane.snat.end(),
                   [&](const IpAddr& a) { return a.family == vip.family; })) {
    fail("mode", std::string("missing SNAT pool for ") + familyName(vip.family) +
                     ": fullnat needs a local address of the VIP's family in snat (or use "
                     "mode dnat)");
  }
  if (!service.affinity_client_ip && service.affinity_timeout_s != kDefaultAffinityTimeoutS) {
    fail("affinity_timeout", kAffinityTimeoutWithoutAffinity);
  } else if (service.affinity_timeout_s < 1 || service.affinity_timeout_s > kMaxAffinityTimeoutS) {
    fail("affinity_timeout", "must be 1.." + std::to_string(kMaxAffinityTimeoutS));
  }

  size_t count = service.endpoints.size();
  if (count > kMaxEndpoints) {
    fail("endpoints", std::to_string(count) + " endpoints; at most " +
                          std::to_string(kMaxEndpoints) + " are allowed");
  }
  if (service.table_size) {
    uint32_t m = *service.table_size;
    if (m > kMaglevMaxSize) {
      fail("table_size", std::to_string(m) + " is above the largest table size, " +
                             std::to_string(kMaglevMaxSize));
    } else if (!isPrime(m)) {
      fail("table_size", std::to_string(m) + " is not a prime");
    } else if (m < count) {
      fail("table_size", std::to_string(m) + " is smaller than the number of endpoints (" +
                             std::to_string(count) + ")");
    }
  }

  // Endpoint identity, as the data plane matches endpoints across versions.
  using Identity = std::tuple<Family, std::array<uint8_t, 16>, uint16_t>;
  std::map<Identity, size_t> seen;
  for (size_t i = 0; i < count; ++i) {
    const EndpointSpec& ep = service.endpoints[i];
    std::string field = "endpoints[" + std::to_string(i) + "]";
    if (ep.addr.family != vip.family) {
      fail(field + ".address", ep.addr.toString() + " is " + familyName(ep.addr.family) +
                                   " but the VIP is " + familyName(vip.family));
    } else if (ep.addr.isMulticast() || ep.addr.isUnspecified()) {
      fail(field + ".address", "'" + ep.addr.toString() + "' must be a unicast address");
    }
    if (ep.port == 0) {
      fail(field + ".port", "0 is not a valid port");
    }
    if (ep.weight == 0) {
      fail(field + ".weight",
           "0 is not a valid weight; to stop new flows to an endpoint, set its state to "
           "terminating or unhealthy");
    } else if (ep.weight > kMaxWeight) {
      fail(field + ".weight", "must be 1.." + std::to_string(kMaxWeight));
    }
    auto [it, added] = seen.emplace(Identity{ep.addr.family, ep.addr.bytes, ep.port}, i);
    if (!added) {
      fail(field, ep.toString() + " is already endpoints[" + std::to_string(it->second) + "]");
    }
  }
  return errors;
}

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
