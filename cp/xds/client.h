// The ADS client: one gRPC stream to the management server (state of the
// world or delta, as the spec says), run by a background thread that
// reconnects with jittered exponential backoff. Each response is decoded,
// applied by the UpdateHandler on the control thread (through the
// ControlQueue) and ACKed or NACKed with the handler's reason. Versions,
// held resources and the endpoint interest survive reconnects; nothing is
// cleared on a disconnect, so the last good tables keep forwarding.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "cp/control_queue.h"
#include "cp/xds/handler.h"
#include "cp/xds/spec.h"
#include "dp/api/status.h"

namespace sluice::cp::xds {

// A copy of the client's figures (cp/xds/stats.h's stream half).
struct ClientMetrics {
  bool connected = false;  // a stream is open and its first requests went out
  uint64_t streams_opened = 0;
  uint64_t reconnects = 0;  // streams lost (or failed to open) and retried
  uint64_t responses = 0;
  uint64_t acks = 0;
  uint64_t nacks = 0;
  // NACKs of a response identical to one rejected before, answered without
  // asking the handler again.
  uint64_t repeated_rejections = 0;
  uint64_t bytes_received = 0;  // serialized size of the responses
  // The base of the next reconnect wait (before jitter): backoff_initial_ms
  // after a good response, doubled per failed attempt up to backoff_max_ms.
  uint64_t backoff_ms = 0;
  uint64_t last_wait_ms = 0;  // the last wait actually slept (jittered)
  std::string last_nack_reason;
  std::string last_stream_error;  // why the last stream ended
  // By ResourceType: the last version accepted and the resources held.
  std::array<std::string, kResourceTypeCount> versions;
  std::array<uint64_t, kResourceTypeCount> resources{};
  uint64_t endpoint_subscriptions = 0;  // EDS names wanted now
};

class XdsClient : public EndpointInterest {
 public:
  // Starts the stream thread. A spec that cannot work (TLS files missing or
  // unreadable, half a client certificate) is an error value; an
  // unreachable server is not (the client keeps retrying).
  static Result<std::unique_ptr<XdsClient>> start(const XdsSpec& spec, ControlQueue& queue,
                                                  UpdateHandler& handler);

  XdsClient(const XdsClient&) = delete;
  XdsClient& operator=(const XdsClient&) = delete;
  ~XdsClient() override = default;  // the implementation's stops

  // Ends the stream at once (cancels it, wakes a backoff wait) and joins
  // the thread. Idempotent; any thread, the control thread included (work
  // waiting for it is withdrawn). The handler is not called after it.
  virtual void stop() = 0;
  virtual ClientMetrics metrics() const = 0;

 protected:
  XdsClient() = default;
};

}  // namespace sluice::cp::xds
