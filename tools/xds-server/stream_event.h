// What happens on a client's ADS stream that sluice-xds reports: opened,
// closed, and each ACK or NACK of a response.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "envoy/config/core/v3/base.pb.h"
#include "tools/xds-server/resources.h"

namespace sluice::xds_server {

struct StreamEvent {
  enum class Kind : uint8_t { kOpened, kClosed, kAck, kNack };
  Kind kind = Kind::kOpened;
  uint64_t stream = 0;  // numbered from 1 in the order streams open
  bool delta = false;
  std::string node;  // node.id of the stream's first request
  // kAck, kNack:
  ResourceType type = ResourceType::kListener;
  std::string nonce;
  // ACK: the version accepted. NACK: SotW, the version the client keeps
  // (its request's version_info); delta, the version of the response it
  // refused.
  std::string version;
  std::string detail;  // NACK: error_detail.message; kClosed: why, when not by the client
};

// One log line without a newline: "stream 2 (sotw, node gw-1): ACK lds version 3 nonce 7".
std::string describe(const StreamEvent& event);

// A state machine's answer to one request or snapshot: responses to send,
// in order, and events to report.
template <class Response>
struct StreamOutput {
  std::vector<Response> responses;
  std::vector<StreamEvent> events;
};

// What both stream state machines share: who the stream is, for events,
// and its nonces.
class StreamBase {
 public:
  // node.id of the stream's first request.
  const std::string& node() const { return node_; }

 protected:
  StreamBase(uint64_t id, bool delta) : id_(id), delta_(delta) {}

  StreamEvent event(StreamEvent::Kind kind) const;
  // On the stream's first request: remembers its node, reports it opened.
  void noteRequest(const envoy::config::core::v3::Node& node, std::vector<StreamEvent>& events);
  uint64_t nextNonce() { return next_nonce_++; }

 private:
  uint64_t id_;
  bool delta_;
  bool opened_ = false;
  std::string node_;
  uint64_t next_nonce_ = 1;
};

}  // namespace sluice::xds_server
