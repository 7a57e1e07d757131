// The service model: a ClusterIP (VIP:port/proto) and the endpoints that
// serve it. Plain values shared by config, admin API, xDS and the data plane.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dp/api/types.h"

namespace sluice {

enum class Proto : uint8_t { kTcp = 6, kUdp = 17 };

// fullnat: SNAT the client to a local address and DNAT the VIP to the pod;
// replies come back by plain routing. dnat: DNAT only (kube-proxy's model);
// pods must route replies through the gateway.
enum class ForwardMode : uint8_t { kFullNat, kDnat };

// maglev: consistent hash of the flow's 5-tuple (or of the client address
// with client-IP affinity). random: uniform by weight, per new flow.
enum class Algorithm : uint8_t { kMaglev, kRandom };

// ready: takes new flows. terminating and unhealthy: keep the flows they
// have, take no new ones.
enum class EndpointState : uint8_t { kReady, kTerminating, kUnhealthy };

// Who put a service in the model. A config reload replaces only the
// config-sourced services; the admin API and xDS own theirs. The data plane
// ignores it.
enum class ServiceSource : uint8_t { kConfig, kApi, kXds };

struct ServiceKey {
  IpAddr vip;
  uint16_t port = 0;
  Proto proto = Proto::kTcp;
  std::string toString() const;  // "10.96.0.10:53/udp", "[fd00::10]:80/tcp"
  friend bool operator==(const ServiceKey&, const ServiceKey&) = default;
};

struct EndpointSpec {
  IpAddr addr;
  uint16_t port = 0;
  uint32_t weight = 1;  // 1..65535
  EndpointState state = EndpointState::kReady;
  std::string toString() const;  // "10.244.1.5:8080"
  friend bool operator==(const EndpointSpec&, const EndpointSpec&) = default;
};

inline constexpr uint32_t kDefaultAffinityTimeoutS = 10800;  // Kubernetes' default
inline constexpr uint32_t kMaxAffinityTimeoutS = 86400;

struct ServiceSpec {
  ServiceKey key;
  ForwardMode mode = ForwardMode::kFullNat;
  Algorithm algorithm = Algorithm::kMaglev;
  bool affinity_client_ip = false;
  uint32_t affinity_timeout_s = kDefaultAffinityTimeoutS;  // 1..86400
  std::optional<uint32_t> table_size;                      // Maglev M; a prime
  std::vector<EndpointSpec> endpoints;
  // Lazy loading (xDS): the VIP is known but its endpoints are not loaded.
  // Workers hold the service's packets briefly in a bounded queue and report
  // the miss (Dataplane::takeServiceMisses); the control plane loads the
  // endpoints and publishes the service again without this flag. Such a
  // service has no endpoints.
  bool on_demand = false;
  ServiceSource source = ServiceSource::kConfig;
  friend bool operator==(const ServiceSpec&, const ServiceSpec&) = default;
};

const char* toString(Proto p);          // "tcp", "udp"
const char* toString(ForwardMode m);    // "fullnat", "dnat"
const char* toString(Algorithm a);      // "maglev", "random"
const char* toString(EndpointState s);  // "ready", "terminating", "unhealthy"
const char* toString(ServiceSource s);  // "config", "api", "xds"

}  // namespace sluice
