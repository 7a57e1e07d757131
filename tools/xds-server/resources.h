// What sluice-xds serves for one service: a Listener, a Cluster and a
// ClusterLoadAssignment, all named by the service key ("10.96.0.10:80/tcp"),
// the shape sluiced's xDS client reads back:
//
//   Listener  address.socket_address {address = VIP, port_value, protocol}
//     TCP: filter_chains[0].filters[0] "envoy.filters.network.tcp_proxy",
//          TcpProxy {stat_prefix, cluster, hash_policy source_ip with client-IP affinity}
//     UDP: listener_filters[0] "envoy.filters.udp_listener.udp_proxy" (as Envoy
//          configures UDP), UdpProxyConfig {stat_prefix, cluster, hash_policies source_ip}
//   Cluster   type EDS, eds_cluster_config {eds_config {ads {}, resource_api_version V3},
//             service_name}, lb_policy MAGLEV (maglev_lb_config.table_size when set)
//             or RANDOM
//   ClusterLoadAssignment  cluster_name, one LocalityLbEndpoints whose lb_endpoints
//             are the endpoints: socket address, health_status HEALTHY (ready),
//             DRAINING (terminating) or UNHEALTHY (unhealthy), load_balancing_weight
//
// Envoy's API has no field for a service's forwarding mode (fullnat, dnat:
// sluiced's xds.forward_mode decides) nor for the client-IP affinity
// timeout (sluiced applies its default), so neither is served; nor is
// on_demand, which is the client's own state.
//
// Everything is deterministic: the same service gives the same bytes, so a
// resource's version can be a hash of its content.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dp/api/service.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"

namespace sluice::xds_server {

enum class ResourceType : uint8_t { kListener, kCluster, kEndpoint };
inline constexpr size_t kResourceTypeCount = 3;
inline constexpr ResourceType kResourceTypes[] = {ResourceType::kListener, ResourceType::kCluster,
                                                  ResourceType::kEndpoint};

// "type.googleapis.com/envoy.config.listener.v3.Listener", ...
const std::string& typeUrl(ResourceType type);
std::optional<ResourceType> resourceTypeOf(std::string_view type_url);
// "lds", "cds", "eds": for log lines.
const char* shortName(ResourceType type);

inline constexpr char kTcpProxyName[] = "envoy.filters.network.tcp_proxy";
inline constexpr char kUdpProxyName[] = "envoy.filters.udp_listener.udp_proxy";
// Upstream's Listener.listener_filters and the fields of ListenerFilter.
// Sluice's proto subset does not define them, so the UDP listener filter is
// written into the Listener's unknown fields: on the wire it is exactly what
// the full upstream Listener carries.
inline constexpr int kListenerFiltersField = 9;
inline constexpr int kListenerFilterNameField = 1;
inline constexpr int kListenerFilterTypedConfigField = 3;
// Upstream's EdsClusterConfig.eds_config, likewise outside the subset.
inline constexpr int kEdsConfigField = 1;

// The name of all three resources of `service`: its key as text.
std::string resourceName(const ServiceSpec& service);

envoy::config::listener::v3::Listener makeListener(const ServiceSpec& service);
envoy::config::cluster::v3::Cluster makeCluster(const ServiceSpec& service);
envoy::config::endpoint::v3::ClusterLoadAssignment makeLoadAssignment(const ServiceSpec& service);

}  // namespace sluice::xds_server
