// One StreamAggregatedResources (state of the world) stream, without gRPC:
// requests and snapshots in, responses and events out.
//
// - Listeners and clusters: a request with no names, or with "*", is a
//   wildcard subscription; endpoints (EDS) answer only the names asked for
//   ("*" asks for all).
// - The first request of a type is always answered. Later, a response is
//   sent when what the client asked for differs from what it was last sent:
//   its names changed, or the snapshot changed them.
// - version_info is the snapshot's version of that type; each response has
//   a new nonce. A request carrying the latest nonce of its type ACKs it, or
//   NACKs it with error_detail; one carrying an older nonce is stale (the
//   client has not yet seen the latest response) and ignored, as the
//   protocol asks.
#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "tools/xds-server/snapshot.h"
#include "tools/xds-server/stream_event.h"

namespace sluice::xds_server {

using SotwOutput = StreamOutput<envoy::service::discovery::v3::DiscoveryResponse>;

class SotwStream : public StreamBase {
 public:
  explicit SotwStream(uint64_t id) : StreamBase(id, false) {}

  void onRequest(const envoy::service::discovery::v3::DiscoveryRequest& request,
                 const Snapshot& snapshot, SotwOutput& out);
  // Pushes what `snapshot` changed of what the client subscribed to.
  void onSnapshot(const Snapshot& snapshot, SotwOutput& out);

 private:
  struct TypeState {
    bool subscribed = false;
    bool wildcard = false;
    std::set<std::string> names;
    std::string nonce;  // of the last response
    // (name, version) of each resource in the last response.
    std::vector<std::pair<std::string, std::string>> sent;
    // The snapshot version the client was last brought up to date with.
    uint64_t synced = 0;
  };

  void respond(ResourceType type, const Snapshot& snapshot, bool always, SotwOutput& out);

  std::array<TypeState, kResourceTypeCount> types_;
};

}  // namespace sluice::xds_server
