#include "cp/xds/ads_state.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <string_view>
#include <utility>

namespace sluice::cp::xds {

namespace {

using google::protobuf::internal::WireFormatLite;

// google.rpc.Code INVALID_ARGUMENT, the code Envoy NACKs with.
constexpr int kInvalidArgument = 3;

class Fingerprint {
 public:
  void add(std::string_view bytes) {
    value_ = (value_ ^ std::hash<std::string_view>{}(bytes)) * 1099511628211ull;
    value_ ^= bytes.size();
  }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 1469598103934665603ull;
};

// Listener.name, Cluster.name and ClusterLoadAssignment.cluster_name are
// all field 1: a SotW resource sent without a Resource wrapper is named by
// scanning for it, which also checks that the body is well-formed protobuf
// without parsing it twice (the controller parses it).
bool scanName(const std::string& body, std::string* name) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(body.data()),
                                            static_cast<int>(body.size()));
  while (uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == 1 &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::ReadString(&in, name)) {
        return false;
      }
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  return in.ConsumedEntireMessage();
}

std::string shortType(const std::string& type_url) {
  size_t slash = type_url.rfind('/');
  return slash == std::string::npos ? type_url : type_url.substr(slash + 1);
}

std::string resourceLabel(int i, const std::string& name) {
  return "resource " + std::to_string(i) + (name.empty() ? "" : " (" + name + ")");
}

// Returns an error for a body that is not well-formed or has no name;
// fills `raw.name` from the body when the wire gave none.
std::string checkBody(int i, const std::string& type_url, RawResource& raw) {
  std::string scanned;
  if (!scanName(raw.body, &scanned)) {
    return resourceLabel(i, raw.name) + ": not a valid " + shortType(type_url);
  }
  if (raw.name.empty()) {
    raw.name = std::move(scanned);
  }
  return raw.name.empty() ? resourceLabel(i, "") + " has no name" : "";
}

void nack(const Status& verdict, google::rpc::Status* detail) {
  detail->set_code(kInvalidArgument);
  detail->set_message(verdict.message());
}

// What both forms of response share; `fingerprint` has the resources'
// share of the content.
Received envelope(const std::string& type_url, const std::string& version, const std::string& nonce,
                  Fingerprint fingerprint, bool state_of_world) {
  Received out;
  out.type_url = type_url;
  out.version = version;
  out.nonce = nonce;
  fingerprint.add(type_url);
  fingerprint.add(version);
  out.fingerprint = fingerprint.value();
  out.known_type = resourceTypeOf(type_url, &out.update.type);
  if (!out.known_type) {
    out.error = "type_url " + type_url + " is not one Sluice subscribes to";
  }
  out.update.state_of_world = state_of_world;
  out.update.version_info = version;
  return out;
}

}  // namespace

Received decodeResponse(discovery::DiscoveryResponse&& response) {
  Fingerprint fingerprint;
  for (const auto& any : response.resources()) {
    fingerprint.add(any.type_url());
    fingerprint.add(any.value());
  }
  Received out =
      envelope(response.type_url(), response.version_info(), response.nonce(), fingerprint, true);
  if (!out.known_type) {
    return out;
  }
  out.update.resources.reserve(response.resources_size());
  for (int i = 0; i < response.resources_size(); ++i) {
    auto* any = response.mutable_resources(i);
    RawResource raw;
    if (any->type_url() == out.type_url) {
      raw.body = std::move(*any->mutable_value());
    } else if (any->type_url() == kResourceWrapperTypeUrl) {
      discovery::Resource wrapped;
      if (!wrapped.ParseFromString(any->value())) {
        out.error = resourceLabel(i, "") + ": not a valid Resource";
        return out;
      }
      if (wrapped.resource().type_url() != out.type_url) {
        out.error = resourceLabel(i, wrapped.name()) + ": a Resource wrapping " +
                    shortType(wrapped.resource().type_url()) + ", expected " +
                    shortType(out.type_url);
        return out;
      }
      raw.name = wrapped.name();
      raw.version = wrapped.version();
      raw.body = std::move(*wrapped.mutable_resource()->mutable_value());
    } else {
      out.error = resourceLabel(i, "") + " is a " + shortType(any->type_url()) + ", expected " +
                  shortType(out.type_url);
      return out;
    }
    if (std::string error = checkBody(i, out.type_url, raw); !error.empty()) {
      out.error = std::move(error);
      return out;
    }
    out.update.resources.push_back(std::move(raw));
  }
  return out;
}

Received decodeResponse(discovery::DeltaDiscoveryResponse&& response) {
  Fingerprint fingerprint;
  for (const auto& resource : response.resources()) {
    fingerprint.add(resource.name());
    fingerprint.add(resource.version());
    fingerprint.add(resource.resource().type_url());
    fingerprint.add(resource.resource().value());
  }
  for (const auto& name : response.removed_resources()) {
    fingerprint.add(name);
  }
  Received out = envelope(response.type_url(), response.system_version_info(), response.nonce(),
                          fingerprint, false);
  if (!out.known_type) {
    return out;
  }
  out.update.resources.reserve(response.resources_size());
  for (int i = 0; i < response.resources_size(); ++i) {
    auto* resource = response.mutable_resources(i);
    if (resource->name().empty()) {
      out.error = resourceLabel(i, "") + " has no name";
      return out;
    }
    if (resource->resource().type_url() != out.type_url) {
      out.error = resourceLabel(i, resource->name()) + " is a " +
                  (resource->has_resource() ? shortType(resource->resource().type_url())
                                            : std::string("Resource without a body")) +
                  ", expected " + shortType(out.type_url);
      return out;
    }
    RawResource raw{resource->name(), resource->version(),
                    std::move(*resource->mutable_resource()->mutable_value())};
    if (std::string error = checkBody(i, out.type_url, raw); !error.empty()) {
      out.error = std::move(error);
      return out;
    }
    out.update.resources.push_back(std::move(raw));
  }
  out.update.removed.assign(std::make_move_iterator(response.mutable_removed_resources()->begin()),
                            std::make_move_iterator(response.mutable_removed_resources()->end()));
  return out;
}

AdsStateBase::AdsStateBase(const XdsNodeSpec& node) {
  node_.set_id(node.id);
  node_.set_cluster(node.cluster);
  if (!node.region.empty() || !node.zone.empty() || !node.sub_zone.empty()) {
    node_.mutable_locality()->set_region(node.region);
    node_.mutable_locality()->set_zone(node.zone);
    node_.mutable_locality()->set_sub_zone(node.sub_zone);
  }
  node_.set_user_agent_name("sluice");
}

std::optional<std::string> AdsStateBase::earlierRejection(const Received& received) const {
  if (!received.known_type) {
    return std::nullopt;
  }
  const auto& rejected = rejected_[index(received.update.type)];
  if (rejected && rejected->fingerprint == received.fingerprint) {
    return rejected->reason;
  }
  return std::nullopt;
}

void AdsStateBase::recordVerdict(const Received& received, const Status& verdict) {
  if (verdict) {
    rejected_ = {};
  } else {
    rejected_[index(received.update.type)] = Rejection{received.fingerprint, verdict.message()};
  }
}

std::vector<std::string> AdsStateBase::addNames(const std::vector<std::string>& names) {
  std::vector<std::string> added;
  for (const auto& name : names) {
    if (endpoint_names_.insert(name).second) {
      added.push_back(name);
    }
  }
  return added;
}

std::vector<std::string> AdsStateBase::removeNames(const std::vector<std::string>& names) {
  std::vector<std::string> removed;
  for (const auto& name : names) {
    if (endpoint_names_.erase(name) != 0) {
      removed.push_back(name);
    }
  }
  return removed;
}

// State of the world: every request of a type carries the version last
// accepted, the last nonce seen on this stream and the whole name list
// (empty for the wildcard listener and cluster subscriptions).
SotwState::Request SotwState::request(ResourceType type) {
  size_t i = index(type);
  Request r;
  r.set_type_url(typeUrlOf(type));
  r.set_version_info(accepted_[i]);
  r.set_response_nonce(nonce_[i]);
  if (!sent_[i]) {
    *r.mutable_node() = node_;
    sent_[i] = true;
  }
  if (type == ResourceType::kEndpoint) {
    for (const auto& name : endpoint_names_) {
      r.add_resource_names(name);
    }
  }
  return r;
}

std::vector<SotwState::Request> SotwState::streamOpened() {
  live_ = true;
  sent_ = {};
  nonce_ = {};
  std::vector<Request> out{request(ResourceType::kListener), request(ResourceType::kCluster)};
  // An empty first EDS request would be a wildcard: all endpoints of all
  // clusters. EDS waits for its first name.
  if (!endpoint_names_.empty()) {
    out.push_back(request(ResourceType::kEndpoint));
  }
  return out;
}

std::vector<SotwState::Request> SotwState::subscribe(const std::vector<std::string>& names) {
  if (addNames(names).empty() || !live_) {
    return {};
  }
  return {request(ResourceType::kEndpoint)};
}

std::vector<SotwState::Request> SotwState::unsubscribe(const std::vector<std::string>& names) {
  // After a first non-empty request, an empty list unsubscribes from all.
  if (removeNames(names).empty() || !live_ || !sent_[index(ResourceType::kEndpoint)]) {
    return {};
  }
  return {request(ResourceType::kEndpoint)};
}

SotwState::Request SotwState::answer(const Received& received, const Status& verdict) {
  if (!received.known_type) {
    Request r;
    r.set_type_url(received.type_url);
    r.set_response_nonce(received.nonce);
    nack(verdict, r.mutable_error_detail());
    return r;
  }
  size_t i = index(received.update.type);
  nonce_[i] = received.nonce;
  recordVerdict(received, verdict);
  if (verdict) {
    accepted_[i] = received.version;
    held_[i] = received.update.resources.size();
  }
  // A NACK carries the version last accepted, as Envoy's does.
  Request r = request(received.update.type);
  if (!verdict) {
    nack(verdict, r.mutable_error_detail());
  }
  return r;
}

// Delta: listeners and clusters are legacy wildcard subscriptions (an empty
// first subscribe list), endpoints named.
DeltaState::Request DeltaState::initialRequest(ResourceType type) {
  size_t i = index(type);
  Request r;
  r.set_type_url(typeUrlOf(type));
  *r.mutable_node() = node_;
  sent_[i] = true;
  bool named = type == ResourceType::kEndpoint;
  if (named) {
    for (const auto& name : endpoint_names_) {
      r.add_resource_names_subscribe(name);
    }
  }
  auto& initial = *r.mutable_initial_resource_versions();
  for (const auto& [name, version] : versions_[i]) {
    if (!named || endpoint_names_.contains(name)) {
      initial[name] = version;
    }
  }
  return r;
}

std::vector<DeltaState::Request> DeltaState::streamOpened() {
  live_ = true;
  sent_ = {};
  std::vector<Request> out{initialRequest(ResourceType::kListener),
                           initialRequest(ResourceType::kCluster)};
  if (!endpoint_names_.empty()) {
    out.push_back(initialRequest(ResourceType::kEndpoint));
  }
  return out;
}

std::vector<DeltaState::Request> DeltaState::subscribe(const std::vector<std::string>& names) {
  std::vector<std::string> added = addNames(names);
  if (added.empty() || !live_) {
    return {};
  }
  if (!sent_[index(ResourceType::kEndpoint)]) {
    return {initialRequest(ResourceType::kEndpoint)};
  }
  Request r;
  r.set_type_url(kEndpointTypeUrl);
  for (auto& name : added) {
    r.add_resource_names_subscribe(std::move(name));
  }
  return {r};
}

std::vector<DeltaState::Request> DeltaState::unsubscribe(const std::vector<std::string>& names) {
  std::vector<std::string> removed = removeNames(names);
  auto& held = versions_[index(ResourceType::kEndpoint)];
  for (const auto& name : removed) {
    held.erase(name);
  }
  if (removed.empty() || !live_ || !sent_[index(ResourceType::kEndpoint)]) {
    return {};
  }
  Request r;
  r.set_type_url(kEndpointTypeUrl);
  for (auto& name : removed) {
    r.add_resource_names_unsubscribe(std::move(name));
  }
  return {r};
}

DeltaState::Request DeltaState::answer(const Received& received, const Status& verdict) {
  Request r;
  r.set_type_url(received.type_url);
  r.set_response_nonce(received.nonce);
  if (!verdict) {
    nack(verdict, r.mutable_error_detail());
  }
  if (!received.known_type) {
    return r;
  }
  recordVerdict(received, verdict);
  if (verdict) {
    size_t i = index(received.update.type);
    bool named = received.update.type == ResourceType::kEndpoint;
    for (const auto& resource : received.update.resources) {
      // The controller keeps no endpoints it did not ask for: neither is
      // their version claimed on the next stream.
      if (!named || endpoint_names_.contains(resource.name)) {
        versions_[i][resource.name] = resource.version;
      }
    }
    for (const auto& name : received.update.removed) {
      versions_[i].erase(name);
    }
    accepted_[i] = received.version;
  }
  return r;
}

}  // namespace sluice::cp::xds
