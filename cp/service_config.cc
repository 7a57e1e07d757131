#include "cp/service_config.h"

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <tuple>

#include "cp/config.h"
#include "cp/maglev.h"

namespace sluice::cp {

namespace {

constexpr IntRange kConntrackCapacity{1024, 16777216};
constexpr IntRange kTimeoutS{1, 604800};  // a week
constexpr IntRange kPort{1, 65535};
// Read as any uint32_t; validateService checks the range with a reason.
constexpr IntRange kAnyU32{0, kU32Max};

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

// Services read so far: key -> "services.[i] (line n)".
using ServiceKeys = std::map<std::string, std::string>;

const char* familyName(Family family) {
  return family == Family::kV4 ? "IPv4" : "IPv6";
}

EndpointSpec readEndpoint(Errors& errors, GroupReader& r) {
  EndpointSpec endpoint;
  std::string text;
  if (const Setting* address = r.string("address", text, Need::kRequired)) {
    // Unicast and family checks are validateService's.
    endpoint.addr = readIp(errors, *address, text).value_or(IpAddr{});
  }
  r.integer("port", endpoint.port, kPort, Need::kRequired);
  r.integer("weight", endpoint.weight, kAnyU32);
  r.choice("state", endpoint.state, kEndpointStates);
  return endpoint;
}

ServiceSpec readService(Errors& errors, GroupReader& r, const dp::DataplaneSpec& dataplane,
                        ServiceKeys& keys) {
  ServiceSpec service;
  size_t errors_before = errors.count();
  std::string text;
  const Setting* vip = r.string("vip", text, Need::kRequired);
  if (vip != nullptr) {
    service.key.vip = readIp(errors, *vip, text).value_or(IpAddr{});
  }
  r.integer("port", service.key.port, kPort, Need::kRequired);
  r.choice("protocol", service.key.proto, kProtocols, Need::kRequired);
  bool key_valid = errors.count() == errors_before;
  r.choice("mode", service.mode, kModes);
  r.choice("algorithm", service.algorithm, kAlgorithms);
  const Setting* affinity = r.choice("affinity", service.affinity_client_ip, kAffinities);
  bool affinity_valid = affinity != nullptr || !r.self().exists("affinity");
  const Setting* timeout = r.integer("affinity_timeout", service.affinity_timeout_s, kAnyU32);
  if (timeout != nullptr && affinity_valid && !service.affinity_client_ip) {
    // As Kubernetes does: even the default is refused here, since setting it
    // suggests the operator expects affinity. Reset so that validateService
    // does not report it again.
    errors.add(*timeout, kAffinityTimeoutWithoutAffinity);
    service.affinity_timeout_s = kDefaultAffinityTimeoutS;
  }
  uint32_t table_size = 0;
  if (r.integer("table_size", table_size, kAnyU32) != nullptr) {
    service.table_size = table_size;
  }
  forEachGroup(errors, r.list("endpoints", Need::kRequired), nullptr,
               [&](GroupReader& e) { service.endpoints.push_back(readEndpoint(errors, e)); });
  bool read_cleanly = errors.count() == errors_before;

  if (key_valid) {
    std::string key = service.key.toString();
    std::string where = r.self().getPath() + " (line " + std::to_string(vip->getSourceLine()) + ")";
    auto [it, added] = keys.emplace(key, where);
    if (!added) {
      errors.add(*vip, "service " + key + " is already defined by " + it->second);
    }
  }
  // Values that failed to read would only add confusing follow-on errors.
  if (read_cleanly) {
    for (const std::string& error : validateService(service, dataplane)) {
      errors.addFieldError(r.self(), error);
    }
  }
  return service;
}

}  // namespace

void readConntrack(Errors& errors, const Setting& group, dp::ConntrackSpec& out) {
  GroupReader r(errors, group);
  r.integer("capacity", out.capacity, kConntrackCapacity);
  r.integer("tcp_half_open_timeout", out.tcp_half_open_s, kTimeoutS);
  r.integer("tcp_established_timeout", out.tcp_established_s, kTimeoutS);
  r.integer("tcp_fin_timeout", out.tcp_fin_s, kTimeoutS);
  r.integer("tcp_closed_timeout", out.tcp_closed_s, kTimeoutS);
  r.integer("udp_timeout", out.udp_s, kTimeoutS);
  r.finish();
}

void readSnat(Errors& errors, const Setting& list, dp::DataplaneSpec& dataplane) {
  std::vector<IpAddr>& snat = dataplane.snat;
  const auto& local = dataplane.addresses;
  for (int i = 0; i < list.getLength(); ++i) {
    const Setting& entry = list[i];
    if (entry.getType() != Setting::TypeString) {
      errors.add(entry, "must be a string");
      continue;
    }
    auto addr = readUnicastIp(errors, entry, entry.c_str());
    if (!addr) {
      continue;
    }
    if (std::none_of(local.begin(), local.end(),
                     [&](const dp::LocalAddrSpec& a) { return a.prefix.addr == *addr; })) {
      errors.add(entry, addr->toString() + " is not a local address (see addresses)");
    } else if (std::find(snat.begin(), snat.end(), *addr) != snat.end()) {
      errors.add(entry, addr->toString() + " is already listed");
    } else {
      snat.push_back(*addr);
    }
  }
}

void readServices(Errors& errors, const Setting& list, const dp::DataplaneSpec& dataplane,
                  std::vector<ServiceSpec>& out) {
  ServiceKeys keys;
  forEachGroup(errors, &list, nullptr,
               [&](GroupReader& r) { out.push_back(readService(errors, r, dataplane, keys)); });
  uint32_t capacity = dataplane.services_capacity;
  if (static_cast<uint32_t>(list.getLength()) > capacity) {
    errors.add(list, std::to_string(list.getLength()) + " services exceed services_capacity (" +
                         std::to_string(capacity) + ")");
  }
}

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
  // Lazy loading is xDS's: the config file has no such setting, and a
  // service the admin API owns has its endpoints given with it.
  if (service.on_demand && service.source != ServiceSource::kXds) {
    fail("on_demand", std::string("only services from xDS are loaded on demand, not ") +
                          toString(service.source) + " ones");
  }
  if (service.on_demand && count != 0) {
    fail("endpoints", std::to_string(count) +
                          " endpoints on an on-demand service; its endpoints are loaded when "
                          "its VIP sees a packet, and it is then published without on_demand");
  }
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

}  // namespace sluice::cp
