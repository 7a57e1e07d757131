#include "cp/xds/controller.h"

#include <algorithm>
#include <utility>

namespace sluice::cp::xds {

namespace cluster = envoy::config::cluster::v3;
namespace endpoint = envoy::config::endpoint::v3;
namespace listener = envoy::config::listener::v3;

namespace {

const char* kindOf(ResourceType type) {
  switch (type) {
    case ResourceType::kListener:
      return "listener";
    case ResourceType::kCluster:
      return "cluster";
    case ResourceType::kEndpoint:
      return "cluster_load_assignment";
  }
  return "resource";
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

// A rejection's reason becomes the NACK's error_detail and a log line: it
// must fit a server's receive limit (gRPC's default is 4 MiB) however many
// resources were bad. Envoy truncates its NACK messages to the same 4 KiB.
constexpr size_t kMaxReasonBytes = 4096;

std::string joinErrors(const std::vector<std::string>& errors) {
  std::string reason;
  for (size_t i = 0; i < errors.size(); ++i) {
    std::string more = "; ... " + std::to_string(errors.size() - i) + " more errors";
    size_t sep = reason.empty() ? 0 : 2;
    bool last = i + 1 == errors.size();
    if (reason.size() + sep + errors[i].size() + (last ? 0 : more.size()) > kMaxReasonBytes) {
      return reason.empty() ? errors[i].substr(0, kMaxReasonBytes - more.size()) + more
                            : reason + more;
    }
    reason += (sep != 0 ? "; " : "") + errors[i];
  }
  return reason;
}

// Decodes and translates one resource body into `out`; "" when it fits.
template <class Message, class Info, class Translate>
std::string decode(const RawResource& raw, ResourceType type,
                   const std::string& (Message::*name)() const, Translate translate,
                   std::optional<Info>& out, std::vector<std::string>& notes) {
  std::string prefix = std::string(kindOf(type)) + " " + quoted(raw.name);
  Message message;
  if (!message.ParseFromString(raw.body)) {
    return prefix + ": body does not parse as " + Message::descriptor()->full_name();
  }
  if ((message.*name)() != raw.name) {
    return prefix + ": the resource holds " + kindOf(type) + " " + quoted((message.*name)());
  }
  auto info = translate(message, &notes);
  if (!info) {
    return info.status().message();
  }
  out = std::move(*info);
  return "";
}

}  // namespace

// An update decoded and translated, not yet applied: the changed resources of
// its one type (nullopt: removed), and what it would publish.
struct XdsController::Staged {
  ResourceType type = ResourceType::kListener;
  std::map<std::string, std::optional<ListenerInfo>> listeners;
  std::map<std::string, std::optional<ClusterInfo>> clusters;
  std::map<std::string, std::optional<EndpointSet>> endpoints;
  std::map<std::string, std::string> bodies;  // the new bodies of the changed ones
  std::set<std::string> affected;             // listeners to rebuild
  std::map<std::string, ServiceBuild> builds;
  std::vector<std::string> notes;
  // EDS names a loaded (or loading) service needs after the update and that
  // are not subscribed: subscribed on commit, counted as subscribed here.
  std::set<std::string> wanted;
};

XdsController::XdsController(Publisher& publisher, const dp::DataplaneSpec& dataplane,
                             const XdsSpec& spec, EndpointInterest& interest, Clock clock_ns)
    : publisher_(publisher),
      dataplane_(dataplane),
      spec_(spec),
      interest_(interest),
      clock_(std::move(clock_ns)) {}

XdsController::~XdsController() = default;

const ClusterInfo* XdsController::clusterOf(const Staged* staged, const std::string& name) const {
  if (staged != nullptr) {
    if (auto it = staged->clusters.find(name); it != staged->clusters.end()) {
      return it->second ? &*it->second : nullptr;
    }
  }
  auto it = clusters_.find(name);
  return it == clusters_.end() ? nullptr : &it->second;
}

const EndpointSet* XdsController::endpointsOf(const Staged* staged, const std::string& name) const {
  if (staged != nullptr) {
    if (auto it = staged->endpoints.find(name); it != staged->endpoints.end()) {
      return it->second ? &*it->second : nullptr;
    }
  }
  auto it = endpoints_.find(name);
  return it == endpoints_.end() ? nullptr : &it->second;
}

ResourceView XdsController::view(const Staged* staged) const {
  ResourceView v;
  v.cluster = [this, staged](const std::string& name) { return clusterOf(staged, name); };
  v.endpoints = [this, staged](const std::string& name) { return endpointsOf(staged, name); };
  // Eager: a cluster's EDS name is subscribed as the cluster is accepted,
  // so one in this very update counts as subscribed; evicted ones do not.
  v.subscribed = [this, staged](const std::string& name) {
    return subscribed_.count(name) != 0 || (staged != nullptr && staged->wanted.count(name) != 0) ||
           (!spec_.lazy && evicted_.count(name) == 0);
  };
  return v;
}

std::set<std::string> XdsController::listenersOfEds(const std::string& eds_name) const {
  std::set<std::string> out;
  auto c = clusters_of_eds_.find(eds_name);
  if (c == clusters_of_eds_.end()) {
    return out;
  }
  for (const std::string& cluster_name : c->second) {
    if (auto l = listeners_of_cluster_.find(cluster_name); l != listeners_of_cluster_.end()) {
      out.insert(l->second.begin(), l->second.end());
    }
  }
  return out;
}

Status XdsController::stage(const ResourceUpdate& update, Staged& staged,
                            std::vector<std::string>& errors) {
  staged.type = update.type;
  auto& bodies = bodies_[static_cast<size_t>(update.type)];
  std::set<std::string> present;
  for (const RawResource& raw : update.resources) {
    if (raw.name.empty()) {
      errors.push_back(std::string("a ") + kindOf(update.type) + " resource without a name");
      continue;
    }
    if (!present.insert(raw.name).second) {
      errors.push_back(std::string(kindOf(update.type)) + " " + quoted(raw.name) +
                       " is in the update twice");
      continue;
    }
    if (update.type == ResourceType::kEndpoint && subscribed_.count(raw.name) == 0) {
      continue;  // not asked for (or no longer): kept, it would never be freed
    }
    if (auto it = bodies.find(raw.name); it != bodies.end() && it->second == raw.body) {
      continue;  // unchanged
    }
    std::string error;
    switch (update.type) {
      case ResourceType::kListener:
        error =
            decode<listener::Listener>(raw, update.type, &listener::Listener::name,
                                       translateListener, staged.listeners[raw.name], staged.notes);
        break;
      case ResourceType::kCluster:
        error = decode<cluster::Cluster>(raw, update.type, &cluster::Cluster::name,
                                         translateCluster, staged.clusters[raw.name], staged.notes);
        break;
      case ResourceType::kEndpoint:
        error = decode<endpoint::ClusterLoadAssignment>(
            raw, update.type, &endpoint::ClusterLoadAssignment::cluster_name, translateEndpoints,
            staged.endpoints[raw.name], staged.notes);
        break;
    }
    if (!error.empty()) {
      errors.push_back(error);
    }
    staged.bodies[raw.name] = raw.body;
  }
  // What is gone: in SotW whatever listener or cluster is known and was not
  // sent. A SotW EDS response may carry only the assignments that changed
  // (xDS: only LDS and CDS are sent whole); endpoints go with the last
  // cluster that names them (updateInterest) or with eviction.
  auto removeMissing = [&](auto& known, auto& changes) {
    if (update.state_of_world && update.type == ResourceType::kEndpoint) {
      return;
    }
    if (update.state_of_world) {
      for (const auto& [name, info] : known) {
        if (present.count(name) == 0) {
          changes[name].reset();
        }
      }
    } else {
      for (const std::string& name : update.removed) {
        if (known.count(name) != 0 && present.count(name) == 0) {
          changes[name].reset();
        }
      }
    }
  };
  switch (update.type) {
    case ResourceType::kListener:
      removeMissing(listeners_, staged.listeners);
      for (const auto& [name, info] : staged.listeners) {
        staged.affected.insert(name);
      }
      break;
    case ResourceType::kCluster:
      removeMissing(clusters_, staged.clusters);
      for (const auto& [name, info] : staged.clusters) {
        if (auto it = listeners_of_cluster_.find(name); it != listeners_of_cluster_.end()) {
          staged.affected.insert(it->second.begin(), it->second.end());
        }
      }
      break;
    case ResourceType::kEndpoint:
      removeMissing(endpoints_, staged.endpoints);
      for (const auto& [name, info] : staged.endpoints) {
        std::set<std::string> users = listenersOfEds(name);
        staged.affected.insert(users.begin(), users.end());
      }
      break;
  }
  if (!errors.empty()) {
    return Status::error("invalid resources");
  }

  // Keys: one listener per key, and none of another source's.
  std::map<std::string, std::string> new_keys;
  for (const auto& [name, info] : staged.listeners) {
    if (!info) {
      continue;
    }
    std::string key = info->key.toString();
    auto owner = listener_of_key_.find(key);
    bool owner_moves = owner != listener_of_key_.end() && staged.listeners.count(owner->second);
    if (owner != listener_of_key_.end() && owner->second != name && !owner_moves) {
      errors.push_back("listener " + quoted(name) + ": " + key + " is already listener " +
                       quoted(owner->second) + "'s");
    } else if (auto [it, added] = new_keys.emplace(key, name); !added) {
      errors.push_back("listener " + quoted(name) + ": " + key + " is also listener " +
                       quoted(it->second) + "'s");
    }
    auto in_force = publisher_.services().find(key);
    if (in_force != publisher_.services().end() && in_force->second.source != ServiceSource::kXds) {
      errors.push_back("listener " + quoted(name) + ": " + key + " is a " +
                       toString(in_force->second.source) + " service");
    }
  }

  auto listenerOf = [&](const std::string& name) -> const ListenerInfo* {
    if (auto it = staged.listeners.find(name); it != staged.listeners.end()) {
      return it->second ? &*it->second : nullptr;
    }
    auto known = listeners_.find(name);
    return known == listeners_.end() ? nullptr : &known->second;
  };
  // A loaded service whose update brings an EDS name not subscribed (a
  // canary cluster, a cluster's new service_name, STATIC to EDS) stays
  // loaded: the name is wanted now, and what is published stays until its
  // endpoints come (make-before-break), instead of going back to on demand.
  for (const std::string& name : staged.affected) {
    auto p = published_.find(name);
    const ListenerInfo* info = listenerOf(name);
    if (info == nullptr ||
        ((p == published_.end() || p->second.on_demand) && missed_.count(name) == 0)) {
      continue;
    }
    for (const ClusterShare& share : info->clusters) {
      const ClusterInfo* c = clusterOf(&staged, share.cluster);
      if (c != nullptr && c->eds && subscribed_.count(c->eds_name) == 0) {
        staged.wanted.insert(c->eds_name);
      }
    }
  }

  // Build every touched service against the staged state.
  ResourceView v = view(&staged);
  for (const std::string& name : staged.affected) {
    const ListenerInfo* info = listenerOf(name);
    if (info == nullptr) {
      continue;
    }
    ++metrics_.services_built;
    auto build = buildService(*info, v, spec_, dataplane_, &staged.notes);
    if (!build) {
      errors.push_back(build.status().message());
      continue;
    }
    staged.builds.emplace(name, std::move(*build));
  }
  return errors.empty() ? Status::ok() : Status::error("invalid services");
}

void XdsController::indexListener(const std::string& name, const ListenerInfo* before,
                                  const ListenerInfo* after) {
  if (before != nullptr) {
    for (const ClusterShare& c : before->clusters) {
      auto it = listeners_of_cluster_.find(c.cluster);
      if (it != listeners_of_cluster_.end() && it->second.erase(name) && it->second.empty()) {
        listeners_of_cluster_.erase(it);
      }
    }
    if (auto it = listener_of_key_.find(before->key.toString());
        it != listener_of_key_.end() && it->second == name) {
      listener_of_key_.erase(it);
    }
  }
  if (after != nullptr) {
    for (const ClusterShare& c : after->clusters) {
      listeners_of_cluster_[c.cluster].insert(name);
    }
    listener_of_key_[after->key.toString()] = name;
  }
}

void XdsController::indexCluster(const std::string& name, const ClusterInfo* before,
                                 const ClusterInfo* after) {
  if (before != nullptr && before->eds) {
    auto it = clusters_of_eds_.find(before->eds_name);
    if (it != clusters_of_eds_.end() && it->second.erase(name) && it->second.empty()) {
      clusters_of_eds_.erase(it);
    }
  }
  if (after != nullptr && after->eds) {
    clusters_of_eds_[after->eds_name].insert(name);
  }
}

void XdsController::commit(Staged& staged) {
  auto& bodies = bodies_[static_cast<size_t>(staged.type)];
  auto apply = [&](auto& known, auto& changes, auto index) {
    for (auto& [name, info] : changes) {
      auto it = known.find(name);
      const auto* before = it == known.end() ? nullptr : &it->second;
      index(name, before, info ? &*info : nullptr);
      if (info) {
        known.insert_or_assign(name, std::move(*info));
        bodies[name] = std::move(staged.bodies[name]);
      } else if (it != known.end()) {
        known.erase(it);
        bodies.erase(name);
      }
    }
  };
  std::set<std::string> eds_touched;
  switch (staged.type) {
    case ResourceType::kListener:
      apply(listeners_, staged.listeners,
            [this](const std::string& n, const ListenerInfo* b, const ListenerInfo* a) {
              indexListener(n, b, a);
            });
      break;
    case ResourceType::kCluster:
      for (const auto& [name, info] : staged.clusters) {
        if (const ClusterInfo* old = clusterOf(nullptr, name); old != nullptr && old->eds) {
          eds_touched.insert(old->eds_name);
        }
        if (info && info->eds) {
          eds_touched.insert(info->eds_name);
        }
      }
      apply(clusters_, staged.clusters,
            [this](const std::string& n, const ClusterInfo* b, const ClusterInfo* a) {
              indexCluster(n, b, a);
            });
      updateInterest(eds_touched);
      break;
    case ResourceType::kEndpoint:
      apply(endpoints_, staged.endpoints, [](const std::string&, const auto*, const auto*) {});
      break;
  }
  std::vector<std::string> wanted;
  for (const std::string& name : staged.wanted) {
    if (subscribed_.insert(name).second) {
      evicted_.erase(name);
      wanted.push_back(name);
    }
  }
  if (!wanted.empty()) {
    interest_.subscribe(wanted);
  }
  notes_.insert(notes_.end(), staged.notes.begin(), staged.notes.end());
}

// After clusters changed: EDS names no cluster uses are unsubscribed and
// their endpoints dropped; eager, new ones are subscribed.
void XdsController::updateInterest(const std::set<std::string>& eds_names) {
  std::vector<std::string> subscribe, unsubscribe;
  for (const std::string& name : eds_names) {
    bool used = clusters_of_eds_.count(name) != 0;
    if (!used) {
      evicted_.erase(name);
      endpoints_.erase(name);
      bodies_[static_cast<size_t>(ResourceType::kEndpoint)].erase(name);
      if (subscribed_.erase(name) != 0) {
        unsubscribe.push_back(name);
      }
    } else if (!spec_.lazy && evicted_.count(name) == 0 && subscribed_.insert(name).second) {
      subscribe.push_back(name);
    }
  }
  if (!unsubscribe.empty()) {
    interest_.unsubscribe(unsubscribe);
  }
  if (!subscribe.empty()) {
    interest_.subscribe(subscribe);
  }
}

Status XdsController::publishOne(const std::string& name, const ServiceBuild* prebuilt) {
  auto info = listeners_.find(name);
  auto old = published_.find(name);
  if (info == listeners_.end()) {
    pending_.erase(name);
    idle_.erase(name);
    missed_.erase(name);
    if (old == published_.end()) {
      return Status::ok();
    }
    std::string key = old->second.key.toString();
    Status s = Status::ok();
    if (auto owner = published_key_owner_.find(key);
        owner != published_key_owner_.end() && owner->second == name) {
      published_key_owner_.erase(owner);
      s = publisher_.remove(old->second.key);
    }
    published_.erase(old);
    return s;
  }
  // Notes were taken when the update was staged.
  if (prebuilt == nullptr) {
    ++metrics_.services_built;
  }
  Result<ServiceBuild> build =
      prebuilt != nullptr ? Result<ServiceBuild>(*prebuilt)
                          : buildService(info->second, view(nullptr), spec_, dataplane_, nullptr);
  if (!build) {
    return build.status();
  }
  if (build->pending) {
    pending_.insert(name);
    return Status::ok();
  }
  pending_.erase(name);
  const ServiceSpec& spec = build->spec;
  if (Status s = publisher_.upsert(spec); !s) {
    return s.withContext("listener " + quoted(name));
  }
  std::string key = spec.key.toString();
  std::optional<ServiceSpec> before;
  if (old != published_.end()) {
    before = old->second;
  }
  published_[name] = spec;
  published_key_owner_[key] = name;
  if (!spec.on_demand && (!before || before->on_demand)) {
    idle_.erase(name);  // loaded now: idle time counts from here
    if (before && missed_.erase(name) != 0) {
      ++metrics_.lazy_loads;
    }
  }
  // Make-before-break across keys: the new key is up before the old goes.
  if (before && before->key != spec.key) {
    std::string old_key = before->key.toString();
    if (auto owner = published_key_owner_.find(old_key);
        owner != published_key_owner_.end() && owner->second == name) {
      published_key_owner_.erase(owner);
      if (Status s = publisher_.remove(before->key); !s) {
        return s.withContext("listener " + quoted(name));
      }
    }
  }
  return Status::ok();
}

Status XdsController::publishListeners(const std::set<std::string>& names,
                                       std::vector<std::string>* errors,
                                       const std::map<std::string, ServiceBuild>* prebuilt) {
  std::vector<std::string> failed;
  for (const std::string& name : names) {
    const ServiceBuild* build = nullptr;
    if (prebuilt != nullptr) {
      auto it = prebuilt->find(name);
      build = it == prebuilt->end() ? nullptr : &it->second;
    }
    if (Status s = publishOne(name, build); !s) {
      failed.push_back(s.message());
    }
  }
  if (errors != nullptr) {
    errors->insert(errors->end(), failed.begin(), failed.end());
  }
  return failed.empty() ? Status::ok() : Status::error(failed.front());
}

void XdsController::reject(const std::string& reason) {
  ++metrics_.updates_rejected;
  metrics_.last_rejection = reason;
}

Status XdsController::apply(const ResourceUpdate& update) {
  Staged staged;
  std::vector<std::string> errors;
  Status s = stage(update, staged, errors);
  if (s) {
    // Lazy: the EDS names the touched services were loaded with, to let go
    // of those no loaded service needs once the update is in.
    std::set<std::string> used_before;
    for (const std::string& name : spec_.lazy ? staged.affected : std::set<std::string>{}) {
      auto it = listeners_.find(name);
      for (const ClusterShare& share :
           it == listeners_.end() ? std::vector<ClusterShare>{} : it->second.clusters) {
        const ClusterInfo* c = clusterOf(nullptr, share.cluster);
        if (c != nullptr && c->eds && subscribed_.count(c->eds_name) != 0) {
          used_before.insert(c->eds_name);
        }
      }
    }
    std::set<std::string> affected = std::move(staged.affected);
    std::map<std::string, ServiceBuild> builds = std::move(staged.builds);
    commit(staged);
    // The builds were made against the staged state, which the committed
    // one now equals. A sink that refuses makes the update rejected, with
    // what was published before the refusal left in force.
    s = publishListeners(affected, &errors, &builds);
    releaseUnused(used_before);
  }
  if (!s) {
    std::string reason = joinErrors(errors);
    reject(reason);
    return Status::error(reason);
  }
  ++metrics_.updates_accepted;
  return Status::ok();
}

void XdsController::connectionChanged(bool connected) {
  ++metrics_.connection_changes;
  metrics_.connected = connected;
}

void XdsController::onMisses(const std::vector<ServiceKey>& keys) {
  std::vector<std::string> subscribe;
  std::set<std::string> loading;
  for (const ServiceKey& key : keys) {
    auto owner = published_key_owner_.find(key.toString());
    if (owner == published_key_owner_.end()) {
      continue;
    }
    const std::string& name = owner->second;
    auto spec = published_.find(name);
    auto info = listeners_.find(name);
    if (spec == published_.end() || !spec->second.on_demand || info == listeners_.end()) {
      continue;
    }
    ++metrics_.misses;
    missed_.insert(name);
    loading.insert(name);
    for (const ClusterShare& share : info->second.clusters) {
      const ClusterInfo* c = clusterOf(nullptr, share.cluster);
      if (c != nullptr && c->eds && subscribed_.insert(c->eds_name).second) {
        evicted_.erase(c->eds_name);
        subscribe.push_back(c->eds_name);
      }
    }
  }
  if (!subscribe.empty()) {
    interest_.subscribe(subscribe);
  }
  // Pending now, or loaded at once when the endpoints were already here.
  (void)publishListeners(loading, nullptr);
}

// A listener removed or moved to other clusters leaves its old EDS names
// subscribed with no loaded service to go idle and be evicted: they are
// unsubscribed here, their endpoints dropped, their other users (on demand
// or pending) rebuilt on demand.
void XdsController::releaseUnused(const std::set<std::string>& eds_names) {
  std::vector<std::string> unsubscribe;
  std::set<std::string> affected;
  for (const std::string& name : eds_names) {
    std::set<std::string> users = listenersOfEds(name);
    bool loading = std::any_of(users.begin(), users.end(),
                               [this](const std::string& l) { return missed_.count(l) != 0; });
    if (subscribed_.count(name) == 0 || loading || usedByOtherLoaded(name, {})) {
      continue;
    }
    subscribed_.erase(name);
    endpoints_.erase(name);
    bodies_[static_cast<size_t>(ResourceType::kEndpoint)].erase(name);
    unsubscribe.push_back(name);
    affected.insert(users.begin(), users.end());
  }
  if (!unsubscribe.empty()) {
    interest_.unsubscribe(unsubscribe);
    (void)publishListeners(affected, nullptr);
  }
}

bool XdsController::usedByOtherLoaded(const std::string& eds_name,
                                      const std::set<std::string>& leaving) const {
  for (const std::string& name : listenersOfEds(eds_name)) {
    auto it = published_.find(name);
    if (leaving.count(name) == 0 && it != published_.end() && !it->second.on_demand) {
      return true;
    }
  }
  return false;
}

size_t XdsController::evictIdle(const std::vector<dp::ServiceTraffic>& traffic) {
  if (spec_.evict_idle_s == 0) {
    return 0;
  }
  uint64_t now = clock_();
  uint64_t idle_ns = uint64_t{spec_.evict_idle_s} * 1000000000ull;
  std::set<std::string> idle;
  for (const dp::ServiceTraffic& t : traffic) {
    auto owner = published_key_owner_.find(t.key.toString());
    if (owner == published_key_owner_.end()) {
      continue;
    }
    const std::string& name = owner->second;
    if (published_.at(name).on_demand) {
      idle_.erase(name);
      continue;
    }
    auto [it, added] = idle_.try_emplace(name, Idle{t.traffic.in_packets, now});
    if (!added && (it->second.in_packets != t.traffic.in_packets || t.traffic.active_flows != 0)) {
      it->second = Idle{t.traffic.in_packets, now};
    } else if (added && t.traffic.active_flows != 0) {
      it->second.since_ns = now;
    }
    if (now - it->second.since_ns >= idle_ns) {
      idle.insert(name);
    }
  }
  std::set<std::string> drop;
  for (const std::string& name : idle) {
    for (const ClusterShare& share : listeners_.at(name).clusters) {
      const ClusterInfo* c = clusterOf(nullptr, share.cluster);
      if (c != nullptr && c->eds && subscribed_.count(c->eds_name) != 0 &&
          !usedByOtherLoaded(c->eds_name, idle)) {
        drop.insert(c->eds_name);
      }
    }
  }
  if (drop.empty()) {
    return 0;
  }
  std::set<std::string> affected;
  for (const std::string& eds_name : drop) {
    subscribed_.erase(eds_name);
    evicted_.insert(eds_name);
    endpoints_.erase(eds_name);
    bodies_[static_cast<size_t>(ResourceType::kEndpoint)].erase(eds_name);
    std::set<std::string> users = listenersOfEds(eds_name);
    affected.insert(users.begin(), users.end());
  }
  interest_.unsubscribe(std::vector<std::string>(drop.begin(), drop.end()));
  std::set<std::string> was_loaded;
  for (const std::string& name : affected) {
    if (auto it = published_.find(name); it != published_.end() && !it->second.on_demand) {
      was_loaded.insert(name);
    }
  }
  (void)publishListeners(affected, nullptr);
  size_t evicted = 0;
  for (const std::string& name : was_loaded) {
    if (auto it = published_.find(name); it != published_.end() && it->second.on_demand) {
      ++evicted;
      idle_.erase(name);
    }
  }
  metrics_.evictions += evicted;
  return evicted;
}

ControllerMetrics XdsController::metrics() const {
  ControllerMetrics m = metrics_;
  m.listeners = listeners_.size();
  m.clusters = clusters_.size();
  m.endpoint_resources = endpoints_.size();
  m.services_published = published_.size();
  m.services_on_demand = static_cast<uint64_t>(std::count_if(
      published_.begin(), published_.end(), [](const auto& p) { return p.second.on_demand; }));
  m.services_pending = pending_.size();
  m.endpoint_subscriptions = subscribed_.size();
  return m;
}

std::vector<std::string> XdsController::takeNotes() {
  return std::exchange(notes_, {});
}

const ServiceSpec* XdsController::published(const std::string& listener) const {
  auto it = published_.find(listener);
  return it == published_.end() ? nullptr : &it->second;
}

}  // namespace sluice::cp::xds
