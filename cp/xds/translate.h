// Envoy resources -> Sluice services, as pure functions: a Listener says
// which service key (VIP, port, protocol) forwards to which clusters, a
// Cluster how to balance and where its endpoints come from, a
// ClusterLoadAssignment the endpoints. buildService combines them into the
// ServiceSpec the Publisher takes. Every refusal is a Status naming the
// resource; every lossy mapping is a note (text the caller logs).
//
// lb_policy -> algorithm:
//   MAGLEV, RING_HASH          maglev (ring_hash_lb_config sizes: note, unused)
//   RANDOM                     random
//   ROUND_ROBIN, LEAST_REQUEST maglev, with a note (no per-flow state to
//                              rotate or count requests with at L4 line rate)
//   LOAD_BALANCING_POLICY_CONFIG, values this subset does not know
//                              maglev, with a note
//   CLUSTER_PROVIDED           error (needs a cluster type Sluice lacks)
// health_status -> endpoint state:
//   HEALTHY, UNKNOWN  ready
//   DRAINING          terminating
//   UNHEALTHY, TIMEOUT unhealthy
//   DEGRADED          unhealthy, with a note (Envoy uses degraded hosts only
//                     when healthy ones are short; Sluice has no such tier)
//   other values      unhealthy, with a note
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cp/xds/spec.h"
#include "dp/api/dataplane.h"
#include "dp/api/service.h"
#include "dp/api/status.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"

namespace sluice::cp::xds {

// Filter names and typed_config types Sluice reads.
inline constexpr const char* kTcpProxyTypeUrl =
    "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
inline constexpr const char* kUdpProxyTypeUrl =
    "type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig";
// Listener.listener_filters (upstream field 9, ListenerFilter{name = 1,
// typed_config = 3}), where Envoy configures the UDP proxy. The proto subset
// does not define it, so it is read from the Listener's unknown fields.
inline constexpr int kListenerFiltersField = 9;

struct ClusterShare {
  std::string cluster;
  uint32_t weight = 1;  // tcp_proxy weighted_clusters weight; 1 for a single cluster
  friend bool operator==(const ClusterShare&, const ClusterShare&) = default;
};

// A Listener as Sluice reads it.
struct ListenerInfo {
  std::string name;
  ServiceKey key;
  std::vector<ClusterShare> clusters;  // at least one, names distinct
  bool affinity_client_ip = false;     // hash policy on the source IP
  friend bool operator==(const ListenerInfo&, const ListenerInfo&) = default;
};

// One LbEndpoint, before priorities and weights are resolved.
struct LbEndpointInfo {
  IpAddr addr;
  uint16_t port = 0;
  uint32_t weight = 1;  // LbEndpoint.load_balancing_weight (unset: 1)
  EndpointState state = EndpointState::kReady;
  uint32_t priority = 0;
  size_t locality = 0;           // index of its LocalityLbEndpoints
  uint32_t locality_weight = 0;  // that locality's load_balancing_weight; 0: unset
  friend bool operator==(const LbEndpointInfo&, const LbEndpointInfo&) = default;
};

// A ClusterLoadAssignment (EDS) or a cluster's inline load_assignment.
// An address:port appears once: the same endpoint in two localities is an
// error (which of its two priorities and weights would be meant?).
struct EndpointSet {
  std::string name;  // cluster_name
  std::vector<LbEndpointInfo> endpoints;
  friend bool operator==(const EndpointSet&, const EndpointSet&) = default;
};

// A Cluster as Sluice reads it.
struct ClusterInfo {
  std::string name;
  bool eds = false;
  std::string eds_name;  // EDS resource name: eds_cluster_config.service_name or `name`
  Algorithm algorithm = Algorithm::kMaglev;
  std::optional<uint32_t> table_size;  // maglev_lb_config.table_size
  EndpointSet inline_endpoints;        // STATIC (and DNS types with IP literals)
  friend bool operator==(const ClusterInfo&, const ClusterInfo&) = default;
};

// Each appends lossy mappings to `notes` (prefixed by the resource).
Result<ListenerInfo> translateListener(const envoy::config::listener::v3::Listener& listener,
                                       std::vector<std::string>* notes);
Result<ClusterInfo> translateCluster(const envoy::config::cluster::v3::Cluster& cluster,
                                     std::vector<std::string>* notes);
Result<EndpointSet> translateEndpoints(
    const envoy::config::endpoint::v3::ClusterLoadAssignment& assignment,
    std::vector<std::string>* notes);

// Priorities resolved for one cluster: the lowest priority level with a
// ready endpoint takes new flows; ready endpoints of the other levels become
// terminating (they keep their flows), the rest keep their state. `share` is
// each endpoint's fraction of the cluster's new flows (0 unless ready): with
// locality weights on every locality of the level, the locality's weight
// share times the endpoint's weight share within it (Envoy's
// locality-weighted balancing); otherwise the endpoint's weight share of the
// level.
struct ResolvedEndpoint {
  EndpointSpec spec;  // weight: the endpoint's own, clamped to 1..65535
  double share = 0;
};
std::vector<ResolvedEndpoint> resolvePriorities(const EndpointSet& set, bool* used_locality_weights,
                                                std::vector<std::string>* notes);

// What buildService needs from the resources known now.
struct ResourceView {
  std::function<const ClusterInfo*(const std::string& name)> cluster;
  std::function<const EndpointSet*(const std::string& eds_name)> endpoints;
  // Whether an EDS name is subscribed; an unsubscribed one makes the service
  // on demand (lazy loading, eviction) instead of pending.
  std::function<bool(const std::string& eds_name)> subscribed;
};

struct ServiceBuild {
  // Pending: a cluster or the endpoints of a subscribed EDS cluster have not
  // arrived; what is published stays (make-before-break). `reason` says which.
  bool pending = false;
  std::string reason;
  ServiceSpec spec;  // when not pending; source kXds
};

// The service of one listener. Weights: one cluster without locality
// weights passes endpoint weights through (scaled to 65535 only when one is
// larger). Otherwise (weighted_clusters, locality weights) an endpoint's
// share of new flows is cluster_weight / sum of the weights of the clusters
// that have ready endpoints x its share within its cluster; shares add up for
// an endpoint in two clusters (merged: ready if ready in either); the
// largest share becomes 65535 and the others round to nearest, at least 1
// (a share below 1/131070 of the largest is over-weighted; a note says so).
// On-demand (no endpoints) when an EDS cluster's name is not subscribed. The
// spec is checked with validateService; its complaints are the error.
Result<ServiceBuild> buildService(const ListenerInfo& listener, const ResourceView& view,
                                  const XdsSpec& xds, const dp::DataplaneSpec& dataplane,
                                  std::vector<std::string>* notes);

}  // namespace sluice::cp::xds
