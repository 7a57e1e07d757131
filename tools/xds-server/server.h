// sluice-xds's gRPC server: envoy.service.discovery.v3.AggregatedDiscoveryService
// with both StreamAggregatedResources (state of the world, sotw_stream.h)
// and DeltaAggregatedResources (delta_stream.h), serving one snapshot of
// services that setServices replaces; every open stream gets what changed
// pushed at once. Runs in-process too, for tests and benchmarks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dp/api/service.h"
#include "dp/api/status.h"
#include "tools/xds-server/snapshot.h"
#include "tools/xds-server/stream_event.h"

namespace grpc {
class Server;
}

namespace sluice::xds_server {

struct ServerOptions {
  // "HOST:PORT" (port 0 picks a free one; see XdsServer::address) or
  // "unix:PATH".
  std::string listen = "127.0.0.1:18000";
  // PEM files: TLS when both are set, plaintext when neither is.
  std::string tls_cert;
  std::string tls_key;
  // Largest response sent; 0 keeps gRPC's default (no limit). A smaller
  // one lets tests see how a client handles a response over its limit.
  uint32_t max_send_bytes = 0;
};

// Called on the streams' threads, possibly several at once.
using EventSink = std::function<void(const StreamEvent&)>;

class Hub;
class AdsService;

class XdsServer {
 public:
  // Listens and serves an empty snapshot (version 0) until setServices.
  static Result<std::unique_ptr<XdsServer>> start(const ServerOptions& options,
                                                  EventSink sink = {});
  ~XdsServer();
  XdsServer(const XdsServer&) = delete;
  XdsServer& operator=(const XdsServer&) = delete;

  // Serves `services` from now on and wakes every open stream to push the
  // change. Returns the snapshot served: its version is the old one when
  // nothing changed. Refuses (and keeps serving the old snapshot) two
  // services with one key.
  Result<std::shared_ptr<const Snapshot>> setServices(const std::vector<ServiceSpec>& services);
  std::shared_ptr<const Snapshot> snapshot() const;

  // What clients connect to: "127.0.0.1:PORT" with the port picked for 0,
  // or "unix:PATH".
  const std::string& address() const { return address_; }

  // Ends the open streams and stops listening (a unix socket file is
  // removed). Safe to call more than once.
  void stop();

 private:
  XdsServer();

  std::string address_;
  std::string socket_path_;  // unix sockets only
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<AdsService> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace sluice::xds_server
