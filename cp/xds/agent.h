// sluiced's xDS side: the ADS client (cp/xds/client.h), the controller that
// turns resources into services (cp/xds/controller.h), and what links them
// to the data plane: the misses workers report for on-demand services, and
// the idle scan that evicts services. Logs every accepted and rejected
// update. Lives on the control thread, except the client's stream thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "cp/control_queue.h"
#include "cp/publisher.h"
#include "cp/xds/handler.h"
#include "cp/xds/spec.h"
#include "cp/xds/stats.h"
#include "dp/api/dataplane.h"

namespace sluice::cp::xds {

class XdsClient;
class XdsController;

class XdsAgent : public UpdateHandler, public EndpointInterest {
 public:
  // Starts the client; it connects in the background (a server that is not
  // up yet is retried with backoff, not an error). `log`: print a line per
  // update, connection change and eviction (sluiced does; benchmarks not).
  static Result<std::unique_ptr<XdsAgent>> start(const XdsSpec& spec,
                                                 const dp::DataplaneSpec& dataplane,
                                                 Publisher& publisher, ControlQueue& control,
                                                 bool log = true);
  ~XdsAgent() override;

  // Control thread, every loop iteration: hands the workers' misses to the
  // controller and, with eviction on, scans for idle services now and then.
  void poll(dp::Dataplane& plane);
  // Ends the stream and joins the client's thread; the published services
  // stay. Call after the ControlQueue closed, so that a stream thread
  // waiting for the control thread is let go.
  void stop();
  XdsStats stats() const;

  // UpdateHandler, run on the control thread by the client.
  Status apply(const ResourceUpdate& update) override;
  void connectionChanged(bool connected) override;
  // EndpointInterest, called by the controller: forwarded to the client.
  void subscribe(const std::vector<std::string>& clusters) override;
  void unsubscribe(const std::vector<std::string>& clusters) override;

 private:
  XdsAgent(const XdsSpec& spec, const dp::DataplaneSpec& dataplane, Publisher& publisher, bool log);

  XdsSpec spec_;
  bool log_;
  std::unique_ptr<XdsController> controller_;
  std::unique_ptr<XdsClient> client_;
  std::chrono::steady_clock::time_point next_scan_;
  std::chrono::milliseconds scan_interval_;
};

}  // namespace sluice::cp::xds
