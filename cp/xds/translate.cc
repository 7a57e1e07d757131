#include "cp/xds/translate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/unknown_field_set.h>

#include "cp/config.h"
#include "cp/maglev.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy.pb.h"

namespace sluice::cp::xds {

namespace cluster = envoy::config::cluster::v3;
namespace core = envoy::config::core::v3;
namespace endpoint = envoy::config::endpoint::v3;
namespace listener = envoy::config::listener::v3;
namespace tcp = envoy::extensions::filters::network::tcp_proxy::v3;
namespace udp = envoy::extensions::filters::udp::udp_proxy::v3;

namespace {

constexpr uint32_t kMaxEndpointWeight = 65535;

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

struct Socket {
  IpAddr addr;
  uint16_t port = 0;
  core::SocketAddress::Protocol protocol = core::SocketAddress::TCP;
};

// An Address that must be an IP literal and a numeric port.
Result<Socket> readSocket(const core::Address& address) {
  if (address.address_case() != core::Address::kSocketAddress) {
    return Status::error("no socket_address (pipes and internal addresses are not supported)");
  }
  const core::SocketAddress& sa = address.socket_address();
  std::optional<IpAddr> ip = IpAddr::parse(sa.address());
  if (!ip) {
    return Status::error("socket_address.address " + quoted(sa.address()) +
                         " is not an IPv4 or IPv6 literal (Sluice resolves no names)");
  }
  if (sa.port_specifier_case() != core::SocketAddress::kPortValue) {
    return Status::error("socket_address: a port_value is required (named_port is not supported)");
  }
  if (sa.port_value() == 0 || sa.port_value() > 65535) {
    return Status::error("socket_address.port_value " + std::to_string(sa.port_value()) +
                         " is not 1..65535");
  }
  if (sa.protocol() != core::SocketAddress::TCP && sa.protocol() != core::SocketAddress::UDP) {
    return Status::error("socket_address.protocol " + std::to_string(sa.protocol()) +
                         " is neither TCP nor UDP");
  }
  return Socket{*ip, static_cast<uint16_t>(sa.port_value()), sa.protocol()};
}

Status readTcpProxy(const google::protobuf::Any& any, ListenerInfo& out) {
  tcp::TcpProxy proxy;
  if (!any.UnpackTo(&proxy)) {
    return Status::error("tcp_proxy: typed_config does not parse as TcpProxy");
  }
  switch (proxy.cluster_specifier_case()) {
    case tcp::TcpProxy::kCluster:
      if (proxy.cluster().empty()) {
        return Status::error("tcp_proxy: empty cluster");
      }
      out.clusters.push_back({proxy.cluster(), 1});
      break;
    case tcp::TcpProxy::kWeightedClusters: {
      std::set<std::string> seen;
      for (const auto& c : proxy.weighted_clusters().clusters()) {
        std::string field = "tcp_proxy: weighted_clusters cluster " + quoted(c.name());
        if (c.name().empty()) {
          return Status::error("tcp_proxy: weighted_clusters: a cluster without a name");
        }
        if (c.weight() == 0) {
          return Status::error(field + ": weight 0 (weights are at least 1)");
        }
        if (!seen.insert(c.name()).second) {
          return Status::error(field + " is listed twice");
        }
        out.clusters.push_back({c.name(), c.weight()});
      }
      if (out.clusters.empty()) {
        return Status::error("tcp_proxy: weighted_clusters lists no cluster");
      }
      break;
    }
    default:
      return Status::error("tcp_proxy: neither cluster nor weighted_clusters is set");
  }
  for (const auto& hp : proxy.hash_policy()) {
    if (hp.policy_specifier_case() != envoy::type::v3::HashPolicy::kSourceIp) {
      return Status::error("tcp_proxy: hash_policy: only source_ip is supported");
    }
    out.affinity_client_ip = true;
  }
  return Status::ok();
}

Status readUdpProxy(const google::protobuf::Any& any, ListenerInfo& out,
                    std::vector<std::string>& notes) {
  udp::UdpProxyConfig proxy;
  if (!any.UnpackTo(&proxy)) {
    return Status::error("udp_proxy: typed_config does not parse as UdpProxyConfig");
  }
  if (proxy.route_specifier_case() != udp::UdpProxyConfig::kCluster || proxy.cluster().empty()) {
    return Status::error("udp_proxy: no cluster (the matcher form is not supported)");
  }
  out.clusters.push_back({proxy.cluster(), 1});
  for (const auto& hp : proxy.hash_policies()) {
    if (hp.policy_specifier_case() != udp::UdpProxyConfig::HashPolicy::kSourceIp) {
      return Status::error("udp_proxy: hash_policies: only source_ip is supported");
    }
    if (hp.source_ip()) {
      out.affinity_client_ip = true;
    }
  }
  if (proxy.use_per_packet_load_balancing()) {
    notes.push_back("udp_proxy: use_per_packet_load_balancing ignored: Sluice balances per flow");
  }
  if (proxy.use_original_src_ip()) {
    notes.push_back("udp_proxy: use_original_src_ip ignored: the xds forward_mode decides");
  }
  return Status::ok();
}

// The TCP proxy: the one filter of the one filter chain.
Status readFilterChains(const listener::Listener& l, ListenerInfo& out) {
  std::vector<const listener::FilterChain*> chains;
  for (const auto& chain : l.filter_chains()) {
    chains.push_back(&chain);
  }
  if (l.has_default_filter_chain()) {
    chains.push_back(&l.default_filter_chain());
  }
  if (chains.size() != 1) {
    return Status::error(std::to_string(chains.size()) +
                         " filter chains; a TCP listener needs exactly one (Sluice matches no "
                         "filter chains)");
  }
  const auto& filters = chains[0]->filters();
  for (const auto& filter : filters) {
    if (filter.config_type_case() != listener::Filter::kTypedConfig) {
      return Status::error("filter " + quoted(filter.name()) + " has no typed_config");
    }
    if (filter.typed_config().type_url() != kTcpProxyTypeUrl) {
      return Status::error("filter " + quoted(filter.name()) + " of type " +
                           filter.typed_config().type_url() +
                           " is not supported (only tcp_proxy is)");
    }
  }
  if (filters.size() != 1) {
    return Status::error(std::to_string(filters.size()) +
                         " filters; the filter chain needs exactly one, a tcp_proxy");
  }
  return readTcpProxy(filters[0].typed_config(), out);
}

// listener_filters, read from the unknown fields (see kListenerFiltersField).
struct ListenerFilter {
  std::string name;
  std::optional<google::protobuf::Any> typed_config;
};

Result<std::vector<ListenerFilter>> listenerFilters(const listener::Listener& l) {
  std::vector<ListenerFilter> out;
  const google::protobuf::UnknownFieldSet& unknown = l.GetReflection()->GetUnknownFields(l);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const google::protobuf::UnknownField& f = unknown.field(i);
    if (f.number() != kListenerFiltersField) {
      continue;
    }
    google::protobuf::UnknownFieldSet fields;
    if (f.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED ||
        !fields.ParseFromString(f.length_delimited())) {
      return Status::error("listener_filters[" + std::to_string(out.size()) +
                           "] does not parse as a ListenerFilter");
    }
    ListenerFilter filter;
    for (int j = 0; j < fields.field_count(); ++j) {
      const google::protobuf::UnknownField& g = fields.field(j);
      bool bytes = g.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED;
      if (g.number() == 1 && bytes) {
        filter.name = g.length_delimited();
      } else if (g.number() == 3 && bytes) {
        filter.typed_config.emplace();
        if (!filter.typed_config->ParseFromString(g.length_delimited())) {
          return Status::error("listener filter " + quoted(filter.name) +
                               ": typed_config does not parse");
        }
      } else {
        return Status::error("listener filter " + quoted(filter.name) + ": field " +
                             std::to_string(g.number()) +
                             " is not supported (only name and typed_config are)");
      }
    }
    out.push_back(std::move(filter));
  }
  return out;
}

Status readListenerFilters(const std::vector<ListenerFilter>& filters, bool udp, ListenerInfo& out,
                           std::vector<std::string>& notes) {
  for (const ListenerFilter& f : filters) {
    std::string type = f.typed_config ? f.typed_config->type_url() : "(no typed_config)";
    if (!udp || type != kUdpProxyTypeUrl) {
      return Status::error("listener filter " + quoted(f.name) + " of type " + type +
                           " is not supported" +
                           (udp ? " (only udp_proxy is)" : " on a TCP listener"));
    }
  }
  if (!udp) {
    return Status::ok();
  }
  if (filters.size() != 1) {
    return Status::error(std::to_string(filters.size()) +
                         " listener filters; a UDP listener needs exactly one, a udp_proxy");
  }
  return readUdpProxy(*filters[0].typed_config, out, notes);
}

Result<EndpointState> stateOf(int health, std::vector<std::string>& notes,
                              const std::string& field) {
  switch (health) {
    case core::HEALTHY:
    case core::UNKNOWN:
      return EndpointState::kReady;
    case core::DRAINING:
      return EndpointState::kTerminating;
    case core::UNHEALTHY:
    case core::TIMEOUT:
      return EndpointState::kUnhealthy;
    case core::DEGRADED:
      notes.push_back(field + ": DEGRADED taken as unhealthy (no new flows)");
      return EndpointState::kUnhealthy;
    default:
      notes.push_back(field + ": health_status " + std::to_string(health) +
                      " unknown, taken as unhealthy");
      return EndpointState::kUnhealthy;
  }
}

// A ClusterLoadAssignment's endpoints; errors and notes without the prefix.
Result<EndpointSet> readAssignment(const endpoint::ClusterLoadAssignment& cla,
                                   std::vector<std::string>& notes) {
  EndpointSet set;
  set.name = cla.cluster_name();
  using Identity = std::tuple<Family, std::array<uint8_t, 16>, uint16_t>;
  std::map<Identity, std::string> seen;
  for (int i = 0; i < cla.endpoints_size(); ++i) {
    const endpoint::LocalityLbEndpoints& loc = cla.endpoints(i);
    std::string lfield = "endpoints[" + std::to_string(i) + "]";
    uint32_t locality_weight = 0;
    if (loc.has_load_balancing_weight()) {
      if (loc.load_balancing_weight().value() == 0) {
        return Status::error(lfield + ".load_balancing_weight: 0 (weights are at least 1)");
      }
      locality_weight = loc.load_balancing_weight().value();
    }
    for (int j = 0; j < loc.lb_endpoints_size(); ++j) {
      const endpoint::LbEndpoint& lb = loc.lb_endpoints(j);
      std::string field = lfield + ".lb_endpoints[" + std::to_string(j) + "]";
      if (lb.host_identifier_case() != endpoint::LbEndpoint::kEndpoint) {
        return Status::error(field + ": no endpoint (endpoint_name is not supported)");
      }
      auto socket = readSocket(lb.endpoint().address());
      if (!socket) {
        return socket.status().withContext(field + ".endpoint.address");
      }
      LbEndpointInfo info;
      info.addr = socket->addr;
      info.port = socket->port;
      if (lb.has_load_balancing_weight()) {
        if (lb.load_balancing_weight().value() == 0) {
          return Status::error(field + ".load_balancing_weight: 0 (weights are at least 1)");
        }
        info.weight = lb.load_balancing_weight().value();
      }
      auto state = stateOf(lb.health_status(), notes, field);
      info.state = *state;
      info.priority = loc.priority();
      info.locality = static_cast<size_t>(i);
      info.locality_weight = locality_weight;
      std::string name = socket->addr.toString() + ":" + std::to_string(socket->port);
      auto [it, added] =
          seen.emplace(Identity{info.addr.family, info.addr.bytes, info.port}, field);
      if (!added) {
        return Status::error(field + ": endpoint " + name + " is already " + it->second);
      }
      set.endpoints.push_back(info);
    }
  }
  return set;
}

Result<Algorithm> algorithmOf(const cluster::Cluster& c, std::vector<std::string>& notes) {
  switch (c.lb_policy()) {
    case cluster::Cluster::MAGLEV:
      return Algorithm::kMaglev;
    case cluster::Cluster::RING_HASH:
      if (c.has_ring_hash_lb_config()) {
        notes.push_back("ring_hash_lb_config ignored: RING_HASH is served by a Maglev table");
      }
      return Algorithm::kMaglev;
    case cluster::Cluster::RANDOM:
      return Algorithm::kRandom;
    case cluster::Cluster::ROUND_ROBIN:
    case cluster::Cluster::LEAST_REQUEST:
      notes.push_back("lb_policy " + cluster::Cluster::LbPolicy_Name(c.lb_policy()) +
                      " mapped to maglev (Sluice hashes each new flow)");
      return Algorithm::kMaglev;
    case cluster::Cluster::CLUSTER_PROVIDED:
      return Status::error("lb_policy CLUSTER_PROVIDED is not supported");
    default:
      notes.push_back("lb_policy " + std::to_string(c.lb_policy()) + " mapped to maglev");
      return Algorithm::kMaglev;
  }
}

void addNotes(std::vector<std::string>* out, const std::string& prefix,
              const std::vector<std::string>& notes) {
  if (out == nullptr) {
    return;
  }
  for (const std::string& n : notes) {
    out->push_back(prefix + ": " + n);
  }
}

EndpointState mergedState(EndpointState a, EndpointState b) {
  if (a == EndpointState::kReady || b == EndpointState::kReady) {
    return EndpointState::kReady;
  }
  if (a == EndpointState::kTerminating || b == EndpointState::kTerminating) {
    return EndpointState::kTerminating;
  }
  return EndpointState::kUnhealthy;
}

}  // namespace

Result<ListenerInfo> translateListener(const listener::Listener& l,
                                       std::vector<std::string>* notes) {
  std::string prefix = "listener " + quoted(l.name());
  ListenerInfo out;
  out.name = l.name();
  if (l.name().empty()) {
    return Status::error("listener without a name");
  }
  if (!l.has_address()) {
    return Status::error(prefix + ": address: missing");
  }
  auto socket = readSocket(l.address());
  if (!socket) {
    return socket.status().withContext(prefix + ": address");
  }
  if (socket->addr.isUnspecified() || socket->addr.isMulticast()) {
    return Status::error(prefix + ": address: " + socket->addr.toString() +
                         " is not a unicast VIP (Sluice serves one VIP per listener)");
  }
  bool udp = socket->protocol == core::SocketAddress::UDP;
  out.key = ServiceKey{socket->addr, socket->port, udp ? Proto::kUdp : Proto::kTcp};
  auto filters = listenerFilters(l);
  if (!filters) {
    return filters.status().withContext(prefix);
  }
  std::vector<std::string> local;
  Status s = Status::ok();
  if (udp && (l.filter_chains_size() != 0 || l.has_default_filter_chain())) {
    s = Status::error(
        "filter chains on a UDP listener are not supported (its udp_proxy is a "
        "listener filter)");
  } else {
    s = readListenerFilters(*filters, udp, out, local);
  }
  if (s && !udp) {
    s = readFilterChains(l, out);
  }
  if (!s) {
    return s.withContext(prefix);
  }
  addNotes(notes, prefix, local);
  return out;
}

Result<ClusterInfo> translateCluster(const cluster::Cluster& c, std::vector<std::string>* notes) {
  if (c.name().empty()) {
    return Status::error("cluster without a name");
  }
  std::string prefix = "cluster " + quoted(c.name());
  std::vector<std::string> local;
  ClusterInfo out;
  out.name = c.name();
  auto algorithm = algorithmOf(c, local);
  if (!algorithm) {
    return algorithm.status().withContext(prefix);
  }
  out.algorithm = *algorithm;
  if (c.has_maglev_lb_config() && c.maglev_lb_config().has_table_size()) {
    uint64_t m = c.maglev_lb_config().table_size().value();
    if (m > kMaglevMaxSize || !isPrime(static_cast<uint32_t>(m))) {
      return Status::error(prefix + ": maglev_lb_config.table_size " + std::to_string(m) +
                           " is not a prime up to " + std::to_string(kMaglevMaxSize));
    }
    out.table_size = static_cast<uint32_t>(m);
    if (out.algorithm != Algorithm::kMaglev) {
      local.push_back("maglev_lb_config ignored: lb_policy is not MAGLEV");
      out.table_size.reset();
    }
  }
  bool inline_assignment = false;
  switch (c.type()) {
    case cluster::Cluster::EDS:
      out.eds = true;
      out.eds_name = c.eds_cluster_config().service_name().empty()
                         ? c.name()
                         : c.eds_cluster_config().service_name();
      if (c.has_load_assignment()) {
        local.push_back("load_assignment ignored: an EDS cluster's endpoints come from EDS");
      }
      break;
    case cluster::Cluster::STATIC:
      inline_assignment = true;
      break;
    case cluster::Cluster::STRICT_DNS:
    case cluster::Cluster::LOGICAL_DNS:
      // IP literals need no resolution; a host name fails in readAssignment.
      inline_assignment = true;
      local.push_back(cluster::Cluster::DiscoveryType_Name(c.type()) +
                      " with IP literals taken as STATIC");
      break;
    default:
      return Status::error(prefix + ": type " + std::to_string(c.type()) +
                           " is not supported (EDS, STATIC, and DNS types with IP literals are)");
  }
  if (inline_assignment) {
    auto set = readAssignment(c.load_assignment(), local);
    if (!set) {
      return set.status().withContext(prefix + ": load_assignment");
    }
    out.inline_endpoints = std::move(*set);
    out.inline_endpoints.name = c.name();
  }
  addNotes(notes, prefix, local);
  return out;
}

Result<EndpointSet> translateEndpoints(const endpoint::ClusterLoadAssignment& cla,
                                       std::vector<std::string>* notes) {
  if (cla.cluster_name().empty()) {
    return Status::error("cluster_load_assignment without a cluster_name");
  }
  std::string prefix = "cluster_load_assignment " + quoted(cla.cluster_name());
  std::vector<std::string> local;
  auto set = readAssignment(cla, local);
  if (!set) {
    return set.status().withContext(prefix);
  }
  addNotes(notes, prefix, local);
  return set;
}

std::vector<ResolvedEndpoint> resolvePriorities(const EndpointSet& set, bool* used_locality_weights,
                                                std::vector<std::string>* notes) {
  std::optional<uint32_t> active;
  for (const LbEndpointInfo& e : set.endpoints) {
    if (e.state == EndpointState::kReady && (!active || e.priority < *active)) {
      active = e.priority;
    }
  }
  // Weight sums of the active level's ready endpoints, per locality and all.
  std::map<size_t, double> locality_sum;
  std::map<size_t, uint32_t> locality_weight;
  double level_sum = 0;
  for (const LbEndpointInfo& e : set.endpoints) {
    if (active && e.priority == *active && e.state == EndpointState::kReady) {
      locality_sum[e.locality] += e.weight;
      locality_weight[e.locality] = e.locality_weight;
      level_sum += e.weight;
    }
  }
  size_t weighted = std::count_if(locality_weight.begin(), locality_weight.end(),
                                  [](const auto& lw) { return lw.second != 0; });
  bool by_locality = weighted != 0 && weighted == locality_weight.size();
  if (weighted != 0 && !by_locality && notes != nullptr) {
    notes->push_back("locality weights ignored: not every locality of priority " +
                     std::to_string(*active) + " has one");
  }
  double locality_total = 0;
  for (const auto& [loc, w] : locality_weight) {
    locality_total += w;
  }
  std::vector<ResolvedEndpoint> out;
  out.reserve(set.endpoints.size());
  for (const LbEndpointInfo& e : set.endpoints) {
    ResolvedEndpoint r;
    r.spec.addr = e.addr;
    r.spec.port = e.port;
    r.spec.weight = std::clamp<uint32_t>(e.weight, 1, kMaxEndpointWeight);
    r.spec.state = e.state;
    if (e.state == EndpointState::kReady && e.priority != *active) {
      r.spec.state = EndpointState::kTerminating;
    } else if (e.state == EndpointState::kReady) {
      r.share = by_locality ? locality_weight[e.locality] / locality_total * e.weight /
                                  locality_sum[e.locality]
                            : e.weight / level_sum;
    }
    out.push_back(r);
  }
  if (used_locality_weights != nullptr) {
    *used_locality_weights = by_locality;
  }
  return out;
}

Result<ServiceBuild> buildService(const ListenerInfo& l, const ResourceView& view,
                                  const XdsSpec& xds, const dp::DataplaneSpec& dataplane,
                                  std::vector<std::string>* notes) {
  std::string prefix = "listener " + quoted(l.name) + " (" + l.key.toString() + ")";
  ServiceBuild build;
  ServiceSpec& spec = build.spec;
  spec.key = l.key;
  spec.mode = xds.forward_mode;
  spec.affinity_client_ip = l.affinity_client_ip;
  spec.source = ServiceSource::kXds;

  // Every cluster must be there; any unsubscribed EDS name makes the
  // service on demand, any subscribed one not arrived makes it pending.
  std::vector<std::pair<const ClusterShare*, const EndpointSet*>> parts;
  for (const ClusterShare& share : l.clusters) {
    const ClusterInfo* c = view.cluster(share.cluster);
    if (c == nullptr) {
      build.pending = true;
      build.reason = "cluster " + quoted(share.cluster) + " has not arrived";
      return build;
    }
    if (&share == &l.clusters.front()) {
      spec.algorithm = c->algorithm;
      spec.table_size = c->table_size;
    } else if (notes != nullptr &&
               (c->algorithm != spec.algorithm || c->table_size != spec.table_size)) {
      notes->push_back(prefix + ": cluster " + quoted(c->name) +
                       ": its lb_policy or table_size differs from the first cluster's, "
                       "whose the service takes");
    }
    const EndpointSet* set = &c->inline_endpoints;
    if (c->eds) {
      if (!view.subscribed(c->eds_name)) {
        spec.on_demand = true;
        set = nullptr;
      } else if ((set = view.endpoints(c->eds_name)) == nullptr) {
        build.pending = true;
        build.reason = "endpoints " + quoted(c->eds_name) + " of cluster " + quoted(c->name) +
                       " have not arrived";
        return build;
      }
    }
    parts.emplace_back(&share, set);
  }

  if (!spec.on_demand) {
    std::vector<std::vector<ResolvedEndpoint>> resolved;
    bool rescale = l.clusters.size() > 1;
    double ready_weight = 0;
    for (const auto& [share, set] : parts) {
      bool by_locality = false;
      std::vector<std::string> local;
      resolved.push_back(resolvePriorities(*set, &by_locality, &local));
      addNotes(notes, prefix + ": cluster " + quoted(share->cluster), local);
      rescale = rescale || by_locality;
      if (std::any_of(resolved.back().begin(), resolved.back().end(),
                      [](const ResolvedEndpoint& r) { return r.share > 0; })) {
        ready_weight += share->weight;
      }
    }
    // Merge by identity, adding shares weighted by the cluster's weight.
    using Identity = std::tuple<Family, std::array<uint8_t, 16>, uint16_t>;
    std::map<Identity, size_t> index;
    std::vector<double> shares;
    uint32_t max_raw = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      double cluster_share = ready_weight > 0 ? parts[i].first->weight / ready_weight : 0;
      for (const ResolvedEndpoint& r : resolved[i]) {
        Identity id{r.spec.addr.family, r.spec.addr.bytes, r.spec.port};
        auto [it, added] = index.emplace(id, spec.endpoints.size());
        if (added) {
          spec.endpoints.push_back(r.spec);
          shares.push_back(0);
        } else {
          EndpointSpec& e = spec.endpoints[it->second];
          e.state = mergedState(e.state, r.spec.state);
          rescale = true;
        }
        shares[it->second] += cluster_share * r.share;
      }
    }
    for (const LbEndpointInfo& e :
         parts.empty() ? std::vector<LbEndpointInfo>{} : parts.front().second->endpoints) {
      max_raw = std::max(max_raw, e.weight);
    }
    if (!rescale && max_raw > kMaxEndpointWeight) {
      rescale = true;
    }
    double max_share = shares.empty() ? 0 : *std::max_element(shares.begin(), shares.end());
    if (rescale && max_share > 0) {
      bool rounded_up = false;
      for (size_t i = 0; i < shares.size(); ++i) {
        if (shares[i] <= 0) {
          continue;  // not ready: its own (clamped) weight, unused for new flows
        }
        double scaled = std::round(shares[i] / max_share * kMaxEndpointWeight);
        rounded_up = rounded_up || scaled < 1;
        spec.endpoints[i].weight = static_cast<uint32_t>(std::max(1.0, scaled));
      }
      if (rounded_up && notes != nullptr) {
        notes->push_back(prefix +
                         ": some endpoints' shares are below 1/65535 of the largest and were "
                         "rounded up to weight 1");
      }
    }
  }

  std::vector<std::string> errors = validateService(spec, dataplane);
  if (!errors.empty()) {
    std::string message = prefix + ":";
    for (const std::string& e : errors) {
      message += " " + e + ";";
    }
    message.pop_back();
    return Status::error(message);
  }
  return build;
}

}  // namespace sluice::cp::xds
