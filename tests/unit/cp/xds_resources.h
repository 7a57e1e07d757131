// Envoy resources for the xDS translation and controller tests, built with
// the generated messages as a management server would send them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/unknown_field_set.h>

#include "cp/xds/handler.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy.pb.h"

namespace sluice::cp::xds::testing {

namespace cluster = envoy::config::cluster::v3;
namespace core = envoy::config::core::v3;
namespace endpoint = envoy::config::endpoint::v3;
namespace listener = envoy::config::listener::v3;
namespace tcp = envoy::extensions::filters::network::tcp_proxy::v3;
namespace udp = envoy::extensions::filters::udp::udp_proxy::v3;

inline void setSocket(core::Address* out, const std::string& ip, uint32_t port, bool udp = false) {
  core::SocketAddress* sa = out->mutable_socket_address();
  sa->set_address(ip);
  sa->set_port_value(port);
  sa->set_protocol(udp ? core::SocketAddress::UDP : core::SocketAddress::TCP);
}

inline listener::Listener tcpListenerWith(const std::string& name, const std::string& ip,
                                          uint32_t port, const tcp::TcpProxy& proxy) {
  listener::Listener l;
  l.set_name(name);
  setSocket(l.mutable_address(), ip, port);
  listener::Filter* f = l.add_filter_chains()->add_filters();
  f->set_name("envoy.filters.network.tcp_proxy");
  f->mutable_typed_config()->PackFrom(proxy);
  return l;
}

inline listener::Listener tcpListener(const std::string& name, const std::string& ip, uint32_t port,
                                      const std::string& cluster_name,
                                      bool source_ip_hash = false) {
  tcp::TcpProxy proxy;
  proxy.set_stat_prefix(name);
  proxy.set_cluster(cluster_name);
  if (source_ip_hash) {
    proxy.add_hash_policy()->mutable_source_ip();
  }
  return tcpListenerWith(name, ip, port, proxy);
}

inline listener::Listener weightedListener(
    const std::string& name, const std::string& ip, uint32_t port,
    const std::vector<std::pair<std::string, uint32_t>>& clusters) {
  tcp::TcpProxy proxy;
  proxy.set_stat_prefix(name);
  for (const auto& [c, w] : clusters) {
    auto* cw = proxy.mutable_weighted_clusters()->add_clusters();
    cw->set_name(c);
    cw->set_weight(w);
  }
  return tcpListenerWith(name, ip, port, proxy);
}

// Listener.listener_filters (field 9) holding `any`, encoded by hand: the
// proto subset does not define ListenerFilter{name = 1, typed_config = 3}.
inline void addListenerFilter(listener::Listener& l, const std::string& name,
                              const google::protobuf::Any& any) {
  google::protobuf::UnknownFieldSet filter;
  filter.AddLengthDelimited(1, name);
  filter.AddLengthDelimited(3, any.SerializeAsString());
  std::string bytes;
  filter.SerializeToString(&bytes);
  l.GetReflection()->MutableUnknownFields(&l)->AddLengthDelimited(9, bytes);
}

inline listener::Listener udpListener(const std::string& name, const std::string& ip, uint32_t port,
                                      const std::string& cluster_name,
                                      bool source_ip_hash = false) {
  listener::Listener l;
  l.set_name(name);
  setSocket(l.mutable_address(), ip, port, true);
  udp::UdpProxyConfig proxy;
  proxy.set_stat_prefix(name);
  proxy.set_cluster(cluster_name);
  if (source_ip_hash) {
    proxy.add_hash_policies()->set_source_ip(true);
  }
  google::protobuf::Any any;
  any.PackFrom(proxy);
  addListenerFilter(l, "envoy.filters.udp_listener.udp_proxy", any);
  return l;
}

inline cluster::Cluster edsCluster(const std::string& name,
                                   cluster::Cluster::LbPolicy policy = cluster::Cluster::MAGLEV,
                                   const std::string& service_name = "") {
  cluster::Cluster c;
  c.set_name(name);
  c.set_type(cluster::Cluster::EDS);
  c.set_lb_policy(policy);
  if (!service_name.empty()) {
    c.mutable_eds_cluster_config()->set_service_name(service_name);
  }
  return c;
}

struct Ep {
  std::string ip;
  uint32_t port = 8080;
  core::HealthStatus health = core::HEALTHY;
  uint32_t weight = 0;  // 0: unset
};

struct Locality {
  std::vector<Ep> endpoints;
  uint32_t priority = 0;
  uint32_t weight = 0;  // 0: unset
};

inline void fillAssignment(endpoint::ClusterLoadAssignment* cla, const std::string& name,
                           const std::vector<Locality>& localities) {
  cla->set_cluster_name(name);
  for (const Locality& loc : localities) {
    endpoint::LocalityLbEndpoints* l = cla->add_endpoints();
    l->set_priority(loc.priority);
    if (loc.weight != 0) {
      l->mutable_load_balancing_weight()->set_value(loc.weight);
    }
    for (const Ep& ep : loc.endpoints) {
      endpoint::LbEndpoint* lb = l->add_lb_endpoints();
      setSocket(lb->mutable_endpoint()->mutable_address(), ep.ip, ep.port);
      lb->set_health_status(ep.health);
      if (ep.weight != 0) {
        lb->mutable_load_balancing_weight()->set_value(ep.weight);
      }
    }
  }
}

inline endpoint::ClusterLoadAssignment assignment(const std::string& name,
                                                  const std::vector<Locality>& localities) {
  endpoint::ClusterLoadAssignment cla;
  fillAssignment(&cla, name, localities);
  return cla;
}

inline cluster::Cluster staticCluster(const std::string& name,
                                      const std::vector<Locality>& localities) {
  cluster::Cluster c;
  c.set_name(name);
  c.set_type(cluster::Cluster::STATIC);
  c.set_lb_policy(cluster::Cluster::MAGLEV);
  fillAssignment(c.mutable_load_assignment(), name, localities);
  return c;
}

inline RawResource raw(const std::string& name, const google::protobuf::Message& m) {
  return RawResource{name, "", m.SerializeAsString()};
}

inline RawResource raw(const listener::Listener& l) {
  return raw(l.name(), l);
}
inline RawResource raw(const cluster::Cluster& c) {
  return raw(c.name(), c);
}
inline RawResource raw(const endpoint::ClusterLoadAssignment& cla) {
  return raw(cla.cluster_name(), cla);
}

inline ResourceUpdate sotw(ResourceType type, std::vector<RawResource> resources) {
  ResourceUpdate u;
  u.type = type;
  u.state_of_world = true;
  u.resources = std::move(resources);
  return u;
}

inline ResourceUpdate delta(ResourceType type, std::vector<RawResource> resources,
                            std::vector<std::string> removed = {}) {
  ResourceUpdate u;
  u.type = type;
  u.state_of_world = false;
  u.resources = std::move(resources);
  u.removed = std::move(removed);
  return u;
}

}  // namespace sluice::cp::xds::testing
