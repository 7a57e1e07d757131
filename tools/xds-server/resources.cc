#include "tools/xds-server/resources.h"

#include <array>
#include <charconv>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/unknown_field_set.h>

#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy.pb.h"

namespace sluice::xds_server {

namespace {

namespace cluster = envoy::config::cluster::v3;
namespace core = envoy::config::core::v3;
namespace endpoint = envoy::config::endpoint::v3;
namespace listener = envoy::config::listener::v3;
namespace tcp = envoy::extensions::filters::network::tcp_proxy::v3;
namespace udp = envoy::extensions::filters::udp::udp_proxy::v3;

// ConfigSource fields (upstream config_source.proto): ads = 3 (an empty
// AggregatedConfigSource), resource_api_version = 6 with V3 = 2. Envoy
// refuses a v3 cluster whose EDS source asks for the deprecated v2 API,
// which an unset version means.
constexpr int kConfigSourceAdsField = 3;
constexpr int kConfigSourceApiVersionField = 6;
constexpr uint64_t kApiVersionV3 = 2;

google::protobuf::UnknownFieldSet& unknownFields(google::protobuf::Message& message) {
  return *message.GetReflection()->MutableUnknownFields(&message);
}

std::string typeUrlFor(const google::protobuf::Descriptor* descriptor) {
  return "type.googleapis.com/" + descriptor->full_name();
}

const std::array<std::string, kResourceTypeCount>& typeUrls() {
  static const std::array<std::string, kResourceTypeCount> urls = {
      typeUrlFor(listener::Listener::descriptor()),
      typeUrlFor(cluster::Cluster::descriptor()),
      typeUrlFor(endpoint::ClusterLoadAssignment::descriptor()),
  };
  return urls;
}

void setSocketAddress(core::SocketAddress& out, const IpAddr& addr, uint16_t port, Proto proto) {
  out.set_address(addr.toString());
  out.set_port_value(port);
  out.set_protocol(proto == Proto::kUdp ? core::SocketAddress::UDP : core::SocketAddress::TCP);
}

core::HealthStatus healthOf(EndpointState state) {
  switch (state) {
    case EndpointState::kReady:
      return core::HEALTHY;
    case EndpointState::kTerminating:
      return core::DRAINING;
    case EndpointState::kUnhealthy:
      return core::UNHEALTHY;
  }
  return core::UNKNOWN;
}

// The UDP proxy as Envoy configures it: a listener filter (field 9), which
// the proto subset does not define (see kListenerFiltersField).
void addUdpProxy(listener::Listener& out, const ServiceSpec& service, const std::string& name) {
  udp::UdpProxyConfig proxy;
  proxy.set_stat_prefix(name);
  proxy.set_cluster(name);
  if (service.affinity_client_ip) {
    proxy.add_hash_policies()->set_source_ip(true);
  }
  google::protobuf::Any typed;
  typed.PackFrom(proxy);
  google::protobuf::UnknownFieldSet filter;
  filter.AddLengthDelimited(kListenerFilterNameField, kUdpProxyName);
  filter.AddLengthDelimited(kListenerFilterTypedConfigField, typed.SerializeAsString());
  std::string bytes;
  filter.SerializeToString(&bytes);
  unknownFields(out).AddLengthDelimited(kListenerFiltersField, bytes);
}

void addTcpProxy(listener::Listener& out, const ServiceSpec& service, const std::string& name) {
  tcp::TcpProxy proxy;
  proxy.set_stat_prefix(name);
  proxy.set_cluster(name);
  if (service.affinity_client_ip) {
    proxy.add_hash_policy()->mutable_source_ip();
  }
  listener::Filter* filter = out.add_filter_chains()->add_filters();
  filter->set_name(kTcpProxyName);
  filter->mutable_typed_config()->PackFrom(proxy);
}

}  // namespace

const std::string& typeUrl(ResourceType type) {
  return typeUrls()[static_cast<size_t>(type)];
}

std::optional<ResourceType> resourceTypeOf(std::string_view type_url) {
  for (ResourceType type : kResourceTypes) {
    if (typeUrl(type) == type_url) {
      return type;
    }
  }
  return std::nullopt;
}

const char* shortName(ResourceType type) {
  switch (type) {
    case ResourceType::kListener:
      return "lds";
    case ResourceType::kCluster:
      return "cds";
    case ResourceType::kEndpoint:
      return "eds";
  }
  return "?";
}

std::string resourceName(const ServiceSpec& service) {
  const ServiceKey& key = service.key;
  if (!key.vip.isV4()) {
    return key.toString();
  }
  // ServiceKey::toString's text, without inet_ntop's sprintf: a snapshot
  // names every service each time the services change.
  std::string name;
  name.reserve(sizeof("255.255.255.255:65535/tcp"));
  char digits[8];
  auto append = [&](unsigned value, char after) {
    name.append(digits, std::to_chars(digits, digits + sizeof(digits), value).ptr);
    name += after;
  };
  for (size_t i = 0; i < 4; ++i) {
    append(key.vip.bytes[i], i < 3 ? '.' : ':');
  }
  append(key.port, '/');
  name += toString(key.proto);
  return name;
}

listener::Listener makeListener(const ServiceSpec& service) {
  std::string name = resourceName(service);
  listener::Listener out;
  out.set_name(name);
  setSocketAddress(*out.mutable_address()->mutable_socket_address(), service.key.vip,
                   service.key.port, service.key.proto);
  if (service.key.proto == Proto::kUdp) {
    addUdpProxy(out, service, name);
  } else {
    addTcpProxy(out, service, name);
  }
  return out;
}

cluster::Cluster makeCluster(const ServiceSpec& service) {
  std::string name = resourceName(service);
  cluster::Cluster out;
  out.set_name(name);
  out.set_type(cluster::Cluster::EDS);
  cluster::Cluster::EdsClusterConfig* eds = out.mutable_eds_cluster_config();
  eds->set_service_name(name);
  google::protobuf::UnknownFieldSet source;
  source.AddLengthDelimited(kConfigSourceAdsField, "");
  source.AddVarint(kConfigSourceApiVersionField, kApiVersionV3);
  std::string bytes;
  source.SerializeToString(&bytes);
  unknownFields(*eds).AddLengthDelimited(kEdsConfigField, bytes);
  if (service.algorithm == Algorithm::kMaglev) {
    out.set_lb_policy(cluster::Cluster::MAGLEV);
    if (service.table_size) {
      out.mutable_maglev_lb_config()->mutable_table_size()->set_value(*service.table_size);
    }
  } else {
    out.set_lb_policy(cluster::Cluster::RANDOM);
  }
  return out;
}

endpoint::ClusterLoadAssignment makeLoadAssignment(const ServiceSpec& service) {
  endpoint::ClusterLoadAssignment out;
  out.set_cluster_name(resourceName(service));
  endpoint::LocalityLbEndpoints* locality = out.add_endpoints();
  for (const EndpointSpec& ep : service.endpoints) {
    endpoint::LbEndpoint* lb = locality->add_lb_endpoints();
    setSocketAddress(*lb->mutable_endpoint()->mutable_address()->mutable_socket_address(), ep.addr,
                     ep.port, service.key.proto);
    lb->set_health_status(healthOf(ep.state));
    lb->mutable_load_balancing_weight()->set_value(ep.weight);
  }
  return out;
}

}  // namespace sluice::xds_server
