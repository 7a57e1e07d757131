// One DeltaAggregatedResources stream, without gRPC: requests and
// snapshots in, responses and events out.
//
// - Subscriptions per type: the first request of a type with no names is a
//   wildcard for listeners and clusters (endpoints always name what they
//   want, so that a lazily loading client gets nothing it did not ask for);
//   "*" subscribes to and unsubscribes from the wildcard of any type.
// - The stream tracks which version of each resource the client holds:
//   initial_resource_versions of the type's first request, then what it was
//   sent. A response carries only resources whose version differs, and in
//   removed_resources the names the client holds or asked for that do not
//   exist (each told once).
// - The first request of a type is always answered, if only with an empty
//   response, so the client knows it is in sync.
// - Each response has a new nonce; a request carrying one ACKs that
//   response, or NACKs it with error_detail. Refused resources are not sent
//   again until they change.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "tools/xds-server/snapshot.h"
#include "tools/xds-server/stream_event.h"

namespace sluice::xds_server {

using DeltaOutput = StreamOutput<envoy::service::discovery::v3::DeltaDiscoveryResponse>;

class DeltaStream : public StreamBase {
 public:
  explicit DeltaStream(uint64_t id) : StreamBase(id, true) {}

  void onRequest(const envoy::service::discovery::v3::DeltaDiscoveryRequest& request,
                 const Snapshot& snapshot, DeltaOutput& out);
  // Pushes what `snapshot` changed of what the client subscribed to.
  void onSnapshot(const Snapshot& snapshot, DeltaOutput& out);

 private:
  struct TypeState {
    bool subscribed = false;
    bool wildcard = false;
    std::set<std::string> names;  // subscribed by name
    // What the client holds: name -> version; "" for a subscribed name it
    // was told does not exist.
    std::map<std::string, std::string> known;
    // Responses not yet ACKed or NACKed: nonce -> snapshot version.
    std::map<uint64_t, uint64_t> pending;
    // The snapshot version the client was last brought up to date with.
    uint64_t synced = 0;
  };

  // Brings the client up to date with every resource it is interested in;
  // with `always`, answers even when nothing differs.
  void respond(ResourceType type, const Snapshot& snapshot, bool always, DeltaOutput& out);
  // Adds `name` to `response` when the client's version differs, or to its
  // removed_resources when it does not exist and the client holds it or
  // asked for it by name (told once).
  void consider(TypeState& state, const ResourceMap& all, const std::string& name,
                envoy::service::discovery::v3::DeltaDiscoveryResponse& response);
  void send(ResourceType type, const Snapshot& snapshot, bool always,
            envoy::service::discovery::v3::DeltaDiscoveryResponse& response, DeltaOutput& out);
  void ackOrNack(ResourceType type,
                 const envoy::service::discovery::v3::DeltaDiscoveryRequest& request,
                 DeltaOutput& out);

  std::array<TypeState, kResourceTypeCount> types_;
};

}  // namespace sluice::xds_server
