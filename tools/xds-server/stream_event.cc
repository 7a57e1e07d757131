#include "tools/xds-server/stream_event.h"

namespace sluice::xds_server {

std::string describe(const StreamEvent& event) {
  std::string line = "stream " + std::to_string(event.stream) + " (" +
                     (event.delta ? "delta" : "sotw") +
                     (event.node.empty() ? "" : ", node " + event.node) + "): ";
  switch (event.kind) {
    case StreamEvent::Kind::kOpened:
      return line + "opened";
    case StreamEvent::Kind::kClosed:
      return line + "closed" + (event.detail.empty() ? "" : ": " + event.detail);
    case StreamEvent::Kind::kAck:
      return line + "ACK " + shortName(event.type) + " version " + event.version + " nonce " +
             event.nonce;
    case StreamEvent::Kind::kNack:
      return line + "NACK " + shortName(event.type) + " nonce " + event.nonce +
             (event.delta             ? " (refused version " + event.version + ")"
              : event.version.empty() ? " (keeps no version)"
                                      : " (keeps version " + event.version + ")") +
             ": " + event.detail;
  }
  return line;
}

StreamEvent StreamBase::event(StreamEvent::Kind kind) const {
  StreamEvent e;
  e.kind = kind;
  e.stream = id_;
  e.delta = delta_;
  e.node = node_;
  return e;
}

void StreamBase::noteRequest(const envoy::config::core::v3::Node& node,
                             std::vector<StreamEvent>& events) {
  if (!opened_) {
    opened_ = true;
    node_ = node.id();
    events.push_back(event(StreamEvent::Kind::kOpened));
  }
}

}  // namespace sluice::xds_server
