#include "tools/xds-server/delta_stream.h"

#include <charconv>

namespace sluice::xds_server {

namespace discovery = envoy::service::discovery::v3;

namespace {

// A client that never answers must not grow the pending map without bound;
// past this many, the oldest are forgotten (their ACKs then go unreported).
constexpr size_t kMaxPending = 1024;

}  // namespace

void DeltaStream::ackOrNack(ResourceType type, const discovery::DeltaDiscoveryRequest& request,
                            DeltaOutput& out) {
  TypeState& state = types_[static_cast<size_t>(type)];
  const std::string& text = request.response_nonce();
  uint64_t nonce = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), nonce);
  auto it = state.pending.find(nonce);
  if (ec != std::errc() || end != text.data() + text.size() || it == state.pending.end()) {
    return;  // not a nonce of this stream's responses of this type
  }
  StreamEvent e =
      event(request.has_error_detail() ? StreamEvent::Kind::kNack : StreamEvent::Kind::kAck);
  e.type = type;
  e.nonce = text;
  e.version = std::to_string(it->second);
  e.detail = request.error_detail().message();
  out.events.push_back(std::move(e));
  // A client answers responses in order, so older ones are settled too.
  state.pending.erase(state.pending.begin(), std::next(it));
}

void DeltaStream::onRequest(const discovery::DeltaDiscoveryRequest& request,
                            const Snapshot& snapshot, DeltaOutput& out) {
  noteRequest(request.node(), out.events);
  std::optional<ResourceType> type = resourceTypeOf(request.type_url());
  if (!type) {
    return;  // a type sluice-xds does not serve: nothing to answer
  }
  if (!request.response_nonce().empty()) {
    ackOrNack(*type, request, out);
  }
  TypeState& state = types_[static_cast<size_t>(*type)];
  bool first = !state.subscribed;
  if (first) {
    state.subscribed = true;
    state.known.insert(request.initial_resource_versions().begin(),
                       request.initial_resource_versions().end());
    state.wildcard = request.resource_names_subscribe().empty() && *type != ResourceType::kEndpoint;
  }
  for (const std::string& name : request.resource_names_subscribe()) {
    if (name == "*") {
      state.wildcard = true;
    } else if (state.names.insert(name).second && !first) {
      // Newly asked for: send it even if the client had it through the
      // wildcard, since it may have dropped it.
      state.known.erase(name);
    }
  }
  for (const std::string& name : request.resource_names_unsubscribe()) {
    if (name == "*") {
      state.wildcard = false;
    } else {
      state.names.erase(name);
      state.known.erase(name);
    }
  }
  bool changes_subscription =
      request.resource_names_subscribe_size() + request.resource_names_unsubscribe_size() > 0;
  if (first || changes_subscription) {
    respond(*type, snapshot, first, out);
  }
}

void DeltaStream::onSnapshot(const Snapshot& snapshot, DeltaOutput& out) {
  for (ResourceType type : kResourceTypes) {
    TypeState& state = types_[static_cast<size_t>(type)];
    if (!state.subscribed || state.synced == snapshot.version) {
      continue;
    }
    if (state.synced + 1 != snapshot.version) {
      respond(type, snapshot, false, out);
      continue;
    }
    // In sync with the snapshot before: only what it changed can differ.
    state.synced = snapshot.version;
    const ResourceMap& all = snapshot.of(type);
    discovery::DeltaDiscoveryResponse response;
    for (const std::string& name : snapshot.changedOf(type)) {
      if (state.wildcard || state.names.count(name) != 0) {
        consider(state, all, name, response);
      }
    }
    send(type, snapshot, false, response, out);
  }
}

void DeltaStream::consider(TypeState& state, const ResourceMap& all, const std::string& name,
                           discovery::DeltaDiscoveryResponse& response) {
  auto it = all.find(name);
  auto held = state.known.find(name);
  if (it != all.end()) {
    if (held == state.known.end() || held->second != it->second->version) {
      discovery::Resource* r = response.add_resources();
      r->set_name(name);
      r->set_version(it->second->version);
      *r->mutable_resource() = it->second->body;
      state.known[name] = it->second->version;
    }
    return;
  }
  bool by_name = state.names.count(name) != 0;
  if (held == state.known.end() ? by_name : !held->second.empty()) {
    response.add_removed_resources(name);
  }
  if (by_name) {
    state.known[name] = "";
  } else if (held != state.known.end()) {
    state.known.erase(held);
  }
}

void DeltaStream::respond(ResourceType type, const Snapshot& snapshot, bool always,
                          DeltaOutput& out) {
  TypeState& state = types_[static_cast<size_t>(type)];
  state.synced = snapshot.version;
  const ResourceMap& all = snapshot.of(type);
  discovery::DeltaDiscoveryResponse response;
  if (state.wildcard) {
    for (const auto& entry : all) {
      consider(state, all, entry.first, response);
    }
  }
  for (const std::string& name : state.names) {
    if (!state.wildcard || all.count(name) == 0) {
      consider(state, all, name, response);
    }
  }
  // What the client holds beyond those: gone from the wildcard's set, or no
  // longer of interest (it dropped those itself when it unsubscribed).
  for (auto held = state.known.begin(); held != state.known.end();) {
    bool by_name = state.names.count(held->first) != 0;
    bool listed = state.wildcard && all.count(held->first) != 0;
    if (by_name || listed) {
      ++held;
      continue;
    }
    if (state.wildcard && !held->second.empty()) {
      response.add_removed_resources(held->first);
    }
    held = state.known.erase(held);
  }
  send(type, snapshot, always, response, out);
}

void DeltaStream::send(ResourceType type, const Snapshot& snapshot, bool always,
                       discovery::DeltaDiscoveryResponse& response, DeltaOutput& out) {
  if (!always && response.resources_size() == 0 && response.removed_resources_size() == 0) {
    return;
  }
  TypeState& state = types_[static_cast<size_t>(type)];
  uint64_t nonce = nextNonce();
  response.set_system_version_info(std::to_string(snapshot.version));
  response.set_type_url(typeUrl(type));
  response.set_nonce(std::to_string(nonce));
  state.pending.emplace(nonce, snapshot.version);
  if (state.pending.size() > kMaxPending) {
    state.pending.erase(state.pending.begin());
  }
  out.responses.push_back(std::move(response));
}

}  // namespace sluice::xds_server
