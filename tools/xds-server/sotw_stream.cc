#include "tools/xds-server/sotw_stream.h"

#include <algorithm>

namespace sluice::xds_server {

namespace discovery = envoy::service::discovery::v3;

void SotwStream::onRequest(const discovery::DiscoveryRequest& request, const Snapshot& snapshot,
                           SotwOutput& out) {
  noteRequest(request.node(), out.events);
  std::optional<ResourceType> type = resourceTypeOf(request.type_url());
  if (!type) {
    return;  // a type sluice-xds does not serve: nothing to answer
  }
  TypeState& state = types_[static_cast<size_t>(*type)];
  if (!request.response_nonce().empty()) {
    if (request.response_nonce() != state.nonce) {
      return;
    }
    StreamEvent e =
        event(request.has_error_detail() ? StreamEvent::Kind::kNack : StreamEvent::Kind::kAck);
    e.type = *type;
    e.nonce = request.response_nonce();
    e.version = request.version_info();
    e.detail = request.error_detail().message();
    out.events.push_back(std::move(e));
  }

  std::set<std::string> names(request.resource_names().begin(), request.resource_names().end());
  bool wildcard = names.erase("*") != 0 || (names.empty() && *type != ResourceType::kEndpoint);
  bool first = !state.subscribed;
  bool changed = wildcard != state.wildcard || names != state.names;
  state.subscribed = true;
  state.wildcard = wildcard;
  state.names = std::move(names);
  if (first || changed) {
    respond(*type, snapshot, first, out);
  }
}

void SotwStream::onSnapshot(const Snapshot& snapshot, SotwOutput& out) {
  for (ResourceType type : kResourceTypes) {
    TypeState& state = types_[static_cast<size_t>(type)];
    if (!state.subscribed || state.synced == snapshot.version) {
      continue;
    }
    // In sync with the snapshot before: nothing to send unless it changed
    // a resource this client asked for.
    const std::vector<std::string>& changed = snapshot.changedOf(type);
    bool touched = state.wildcard
                       ? !changed.empty()
                       : std::any_of(changed.begin(), changed.end(), [&](const std::string& name) {
                           return state.names.count(name) != 0;
                         });
    if (state.synced + 1 == snapshot.version && !touched) {
      state.synced = snapshot.version;
      continue;
    }
    respond(type, snapshot, false, out);
  }
}

void SotwStream::respond(ResourceType type, const Snapshot& snapshot, bool always,
                         SotwOutput& out) {
  TypeState& state = types_[static_cast<size_t>(type)];
  state.synced = snapshot.version;
  const ResourceMap& all = snapshot.of(type);
  std::vector<const ResourceMap::value_type*> chosen;
  if (state.wildcard) {
    for (const auto& entry : all) {
      chosen.push_back(&entry);
    }
  } else {
    for (const std::string& name : state.names) {
      auto it = all.find(name);
      if (it != all.end()) {
        chosen.push_back(&*it);
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> sent;
  sent.reserve(chosen.size());
  for (const auto* entry : chosen) {
    sent.emplace_back(entry->first, entry->second->version);
  }
  if (!always && sent == state.sent) {
    return;
  }
  discovery::DiscoveryResponse& response = out.responses.emplace_back();
  response.set_version_info(std::to_string(snapshot.versionOf(type)));
  response.set_type_url(typeUrl(type));
  state.nonce = std::to_string(nextNonce());
  response.set_nonce(state.nonce);
  response.mutable_resources()->Reserve(static_cast<int>(chosen.size()));
  for (const auto* entry : chosen) {
    *response.add_resources() = entry->second->body;
  }
  state.sent = std::move(sent);
}

}  // namespace sluice::xds_server
