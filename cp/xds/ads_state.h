// The ADS protocol as a state machine, without gRPC or threads: what the
// client sends when a stream opens, when the endpoint interest changes and
// in answer to each response (ACK or NACK), in state-of-the-world or delta
// form. cp/xds/client.cc owns the stream and calls these under its lock.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cp/xds/handler.h"
#include "cp/xds/spec.h"
#include "envoy/service/discovery/v3/discovery.pb.h"

namespace sluice::cp::xds {

namespace discovery = envoy::service::discovery::v3;

// The Any type of a discovery.v3.Resource, which a SotW response may wrap
// each resource in.
inline constexpr const char* kResourceWrapperTypeUrl =
    "type.googleapis.com/envoy.service.discovery.v3.Resource";

// One response, decoded. The resources' bodies are moved out of the message.
struct Received {
  std::string type_url;
  bool known_type = false;  // one of the three types Sluice subscribes to
  std::string version;      // SotW version_info, delta system_version_info
  std::string nonce;
  // Identifies the content (type, version, resources, removals), not the
  // nonce: a server resending a rejected response is recognised.
  uint64_t fingerprint = 0;
  ResourceUpdate update;
  std::string error;  // set: cannot be applied (wrong type, undecodable)
};

Received decodeResponse(discovery::DiscoveryResponse&& response);
Received decodeResponse(discovery::DeltaDiscoveryResponse&& response);

// What both forms keep across streams.
class AdsStateBase {
 public:
  // The reason a response with this content was rejected before, if it
  // was and nothing has been accepted since (the handler's verdict cannot
  // have changed): the client NACKs it again without asking the handler.
  std::optional<std::string> earlierRejection(const Received& received) const;

  const std::string& acceptedVersion(ResourceType type) const { return accepted_[index(type)]; }
  size_t endpointNames() const { return endpoint_names_.size(); }

 protected:
  static size_t index(ResourceType type) { return static_cast<size_t>(type); }
  // An acceptance clears every remembered rejection; a rejection is
  // remembered for its type.
  void recordVerdict(const Received& received, const Status& verdict);
  // Adds (or removes) names; returns those that were not (or were) there.
  std::vector<std::string> addNames(const std::vector<std::string>& names);
  std::vector<std::string> removeNames(const std::vector<std::string>& names);

  explicit AdsStateBase(const XdsNodeSpec& node);
  envoy::config::core::v3::Node node_;
  std::set<std::string> endpoint_names_;
  std::array<std::string, kResourceTypeCount> accepted_;
  bool live_ = false;  // a stream is open: changes are sent at once
  // Per open stream: whether this type's first request (with the node) went.
  std::array<bool, kResourceTypeCount> sent_{};

 private:
  struct Rejection {
    uint64_t fingerprint = 0;
    std::string reason;
  };
  std::array<std::optional<Rejection>, kResourceTypeCount> rejected_;
};

// StreamAggregatedResources.
class SotwState : public AdsStateBase {
 public:
  using Request = discovery::DiscoveryRequest;
  using Response = discovery::DiscoveryResponse;

  explicit SotwState(const XdsNodeSpec& node) : AdsStateBase(node) {}

  // A new stream: the first request of each type, carrying the node and the
  // version last accepted (EDS only once names are wanted).
  std::vector<Request> streamOpened();
  void streamClosed() { live_ = false; }
  // The endpoint interest changed: the whole name list, when a stream is open.
  std::vector<Request> subscribe(const std::vector<std::string>& names);
  std::vector<Request> unsubscribe(const std::vector<std::string>& names);
  // ACK (verdict ok) or NACK of `received`; updates the accepted version.
  Request answer(const Received& received, const Status& verdict);
  size_t held(ResourceType type) const { return held_[index(type)]; }

 private:
  Request request(ResourceType type);
  std::vector<Request> endpointRequest();
  std::array<std::string, kResourceTypeCount> nonce_;  // last received, this stream
  std::array<size_t, kResourceTypeCount> held_{};
};

// DeltaAggregatedResources.
class DeltaState : public AdsStateBase {
 public:
  using Request = discovery::DeltaDiscoveryRequest;
  using Response = discovery::DeltaDiscoveryResponse;

  explicit DeltaState(const XdsNodeSpec& node) : AdsStateBase(node) {}

  // A new stream: per type the node, the subscription and
  // initial_resource_versions of every resource held.
  std::vector<Request> streamOpened();
  void streamClosed() { live_ = false; }
  std::vector<Request> subscribe(const std::vector<std::string>& names);
  // Also forgets the versions held for those names.
  std::vector<Request> unsubscribe(const std::vector<std::string>& names);
  // ACK or NACK by nonce; an accepted response updates the versions held.
  Request answer(const Received& received, const Status& verdict);
  size_t held(ResourceType type) const { return versions_[index(type)].size(); }
  const std::map<std::string, std::string>& versions(ResourceType type) const {
    return versions_[index(type)];
  }

 private:
  Request initialRequest(ResourceType type);
  // name -> version of each resource accepted and not removed.
  std::array<std::map<std::string, std::string>, kResourceTypeCount> versions_;
};

}  // namespace sluice::cp::xds
