// The `xds` group of sluiced's config: where the management server is, who
// this gateway says it is, and how services from xDS are loaded. Absent
// without an `xds` group (no xDS client runs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dp/api/service.h"

namespace sluice::cp::xds {

// StreamAggregatedResources (state of the world) or DeltaAggregatedResources.
enum class XdsMode : uint8_t { kSotw, kDelta };

struct XdsTlsSpec {
  std::string ca_file;      // PEM roots the server's certificate must chain to
  std::string cert_file;    // optional client certificate (mutual TLS) ...
  std::string key_file;     // ... and its key; both or neither
  std::string server_name;  // overrides the name checked in the certificate
  friend bool operator==(const XdsTlsSpec&, const XdsTlsSpec&) = default;
};

// core.v3.Node as sent in the first request of every stream.
struct XdsNodeSpec {
  std::string id;
  std::string cluster;
  std::string region, zone, sub_zone;  // core.v3.Locality
  friend bool operator==(const XdsNodeSpec&, const XdsNodeSpec&) = default;
};

struct XdsSpec {
  // gRPC target: "host:port", "ipv4:127.0.0.1:18000", "unix:/run/xds.sock".
  std::string server;
  XdsMode mode = XdsMode::kDelta;
  XdsNodeSpec node;
  std::optional<XdsTlsSpec> tls;  // absent: plaintext
  // Largest response accepted (gRPC's default of 4 MiB is too small for a
  // full sync of a large cluster).
  uint32_t max_receive_bytes = 64u << 20;
  // Reconnect backoff: the first wait, doubled per failed attempt up to
  // backoff_max_ms, each wait jittered; reset after a good response.
  uint32_t backoff_initial_ms = 500;
  uint32_t backoff_max_ms = 30000;
  // How services from xDS forward (Envoy's API has no such field).
  ForwardMode forward_mode = ForwardMode::kFullNat;
  // Lazy loading: a cluster's endpoints (EDS) are subscribed only once its
  // VIP sees a packet.
  bool lazy = false;
  // Eviction: a service with no packet and no tracked flow for this long
  // has its EDS unsubscribed and its endpoints freed; 0 = never.
  uint32_t evict_idle_s = 0;
  friend bool operator==(const XdsSpec&, const XdsSpec&) = default;
};

}  // namespace sluice::cp::xds
