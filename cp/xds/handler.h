// The seam between the xDS client (cp/xds/client.h: the ADS stream, versions,
// nonces, ACK/NACK, reconnects) and the controller that turns resources into
// services (cp/xds/controller.h). Free of gRPC, so each side is tested alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dp/api/status.h"

namespace sluice::cp::xds {

enum class ResourceType : uint8_t { kListener, kCluster, kEndpoint };
inline constexpr size_t kResourceTypeCount = 3;

inline constexpr const char* kListenerTypeUrl =
    "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr const char* kClusterTypeUrl =
    "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr const char* kEndpointTypeUrl =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

const char* typeUrlOf(ResourceType type);
// False for a type URL Sluice does not subscribe to.
bool resourceTypeOf(const std::string& type_url, ResourceType* type);

// One resource as it arrived: its name, its version (delta; empty in SotW),
// and the serialized message of `type` (the Any's value, unwrapped from a
// discovery.v3.Resource when the server sent one).
struct RawResource {
  std::string name;
  std::string version;
  std::string body;
};

// One response, decoded from the wire but not yet interpreted.
struct ResourceUpdate {
  ResourceType type = ResourceType::kListener;
  // SotW: listeners and clusters: `resources` is the whole set of this
  // type, anything known and not in it is gone; EDS: the assignments sent
  // (maybe only those that changed), none is gone by absence. Delta:
  // `resources` are added or changed, `removed` are gone, the rest stays.
  bool state_of_world = true;
  std::vector<RawResource> resources;
  std::vector<std::string> removed;
  std::string version_info;  // SotW response's version_info; delta: system_version_info
};

// The controller's side. Runs on the control thread (the client posts to it
// through cp/control_queue.h).
class UpdateHandler {
 public:
  virtual ~UpdateHandler() = default;
  // Applies `update` whole, or rejects it whole and changes nothing: the
  // client ACKs an ok status and NACKs an error, whose message becomes the
  // NACK's error_detail.
  virtual Status apply(const ResourceUpdate& update) = 0;
  // A stream was lost (the last good tables stay in force) or (re)opened.
  virtual void connectionChanged(bool /*connected*/) {}
};

// The client's side, for the controller: which endpoint resources (cluster
// names) it wants. Listeners and clusters are always wildcard subscriptions.
// Thread-safe; the client sends the change on its stream (SotW: the whole
// name list; delta: resource_names_subscribe/unsubscribe) and again on every
// reconnect.
class EndpointInterest {
 public:
  virtual ~EndpointInterest() = default;
  virtual void subscribe(const std::vector<std::string>& clusters) = 0;
  virtual void unsubscribe(const std::vector<std::string>& clusters) = 0;
};

}  // namespace sluice::cp::xds
