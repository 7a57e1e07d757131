// The xDS controller: keeps the accepted Listeners, Clusters and
// ClusterLoadAssignments, and turns them into services on the Publisher.
//
// - An update is applied whole or rejected whole: every resource is decoded
//   and translated (cp/xds/translate.h), and every service it touches is
//   built and validated, before anything changes. A rejection lists each bad
//   resource by name, and the last good config stays.
// - Incremental: an update rebuilds only the listeners it touches (a listener;
//   the listeners of a cluster; the clusters, then listeners, of an EDS name),
//   found through reverse indexes.
// - Make-before-break: a listener whose cluster or endpoints have not arrived
//   is pending: what was published for it stays in force, and a new one is
//   not published until it is ready.
// - Removal: a removed listener removes its service. A removed cluster or
//   ClusterLoadAssignment makes its listeners pending: their last version
//   stays in force until the resource comes back or the listener goes.
// - A sink that refuses a service after the update was validated: the update
//   is reported rejected (the client NACKs), the resources are kept, and what
//   was published before the refusal stays in force.
// - Endpoint interest: eager, every EDS cluster's name is subscribed when the
//   cluster is accepted. Lazy (XdsSpec::lazy), a service is published on
//   demand (no endpoints) and its EDS names are subscribed on the first miss
//   the data plane reports. Eviction (evict_idle_s): a loaded service idle
//   that long has its EDS names unsubscribed (unless another loaded service
//   uses them), their endpoints dropped, and goes back to on demand.
// Control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cp/publisher.h"
#include "cp/xds/handler.h"
#include "cp/xds/spec.h"
#include "cp/xds/translate.h"
#include "dp/api/dataplane.h"

namespace sluice::cp::xds {

struct ControllerMetrics {
  uint64_t updates_accepted = 0;
  uint64_t updates_rejected = 0;
  uint64_t listeners = 0;  // resources known now
  uint64_t clusters = 0;
  uint64_t endpoint_resources = 0;
  uint64_t services_published = 0;  // in force now, on demand included
  uint64_t services_on_demand = 0;
  uint64_t services_pending = 0;  // listeners waiting for a cluster or endpoints
  uint64_t endpoint_subscriptions = 0;
  uint64_t misses = 0;      // reported keys of on-demand xDS services
  uint64_t lazy_loads = 0;  // on-demand services published with endpoints
  uint64_t evictions = 0;
  // Services built from resources (each touched listener of an update,
  // each load and eviction): what an update costs, O(what it touched).
  uint64_t services_built = 0;
  uint64_t connection_changes = 0;
  bool connected = false;
  std::string last_rejection;
};

class XdsController : public UpdateHandler {
 public:
  using Clock = std::function<uint64_t()>;  // monotonic nanoseconds
  XdsController(Publisher& publisher, const dp::DataplaneSpec& dataplane, const XdsSpec& spec,
                EndpointInterest& interest, Clock clock_ns);
  ~XdsController() override;

  Status apply(const ResourceUpdate& update) override;
  void connectionChanged(bool connected) override;

  // Keys the data plane reported a packet for while on demand: subscribes
  // their EDS names. Others (not xDS's, already loaded) are ignored.
  void onMisses(const std::vector<ServiceKey>& keys);
  // With evict_idle_s > 0: evicts loaded services whose in_packets did not
  // change and that had no active flow for evict_idle_s. Returns how many.
  size_t evictIdle(const std::vector<dp::ServiceTraffic>& traffic);

  ControllerMetrics metrics() const;
  // Lossy mappings since the last call ("listener 'web': ..."), for the log.
  std::vector<std::string> takeNotes();
  // What is published for a listener now, if anything.
  const ServiceSpec* published(const std::string& listener) const;

 private:
  struct Staged;
  struct Idle {
    uint64_t in_packets = 0;
    uint64_t since_ns = 0;
  };

  Status stage(const ResourceUpdate& update, Staged& staged, std::vector<std::string>& errors);
  const ClusterInfo* clusterOf(const Staged* staged, const std::string& name) const;
  const EndpointSet* endpointsOf(const Staged* staged, const std::string& name) const;
  ResourceView view(const Staged* staged) const;
  void commit(Staged& staged);
  void indexListener(const std::string& name, const ListenerInfo* before,
                     const ListenerInfo* after);
  void indexCluster(const std::string& name, const ClusterInfo* before, const ClusterInfo* after);
  void updateInterest(const std::set<std::string>& clusters_touched);
  std::set<std::string> listenersOfEds(const std::string& eds_name) const;
  // Rebuilds (or takes from `prebuilt`) and publishes each listener's service.
  Status publishListeners(const std::set<std::string>& names, std::vector<std::string>* errors,
                          const std::map<std::string, ServiceBuild>* prebuilt = nullptr);
  Status publishOne(const std::string& name, const ServiceBuild* prebuilt);
  void releaseUnused(const std::set<std::string>& eds_names);
  bool usedByOtherLoaded(const std::string& eds_name, const std::set<std::string>& leaving) const;
  void reject(const std::string& reason);

  Publisher& publisher_;
  dp::DataplaneSpec dataplane_;
  XdsSpec spec_;
  EndpointInterest& interest_;
  Clock clock_;

  // Accepted resources by name, and the bytes they came as (an identical
  // SotW resource is not decoded again).
  std::map<std::string, ListenerInfo> listeners_;
  std::map<std::string, ClusterInfo> clusters_;
  std::map<std::string, EndpointSet> endpoints_;  // by EDS name
  std::map<std::string, std::string> bodies_[kResourceTypeCount];
  // Reverse indexes.
  std::map<std::string, std::set<std::string>> listeners_of_cluster_;
  std::map<std::string, std::set<std::string>> clusters_of_eds_;
  std::map<std::string, std::string> listener_of_key_;  // key string -> listener, by translation

  // What is in force, by listener, and who owns each published key.
  std::map<std::string, ServiceSpec> published_;
  std::map<std::string, std::string> published_key_owner_;
  std::set<std::string> pending_;
  std::set<std::string> subscribed_;  // EDS names
  std::set<std::string> evicted_;     // EDS names unsubscribed for idleness
  std::set<std::string> missed_;      // listeners loaded because of a miss
  std::map<std::string, Idle> idle_;  // by listener

  ControllerMetrics metrics_;
  std::vector<std::string> notes_;
};

}  // namespace sluice::cp::xds
