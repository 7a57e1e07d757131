// The /metrics HTTP endpoint (cpp-httplib). Its threads never touch the
// data plane or the publisher: each scrape calls `source`, which gathers a
// Snapshot on the control thread (cp/metrics/snapshot.h), and formats it on
// the HTTP thread.
#pragma once

#include <memory>
#include <string>

#include "cp/metrics/snapshot.h"
#include "cp/metrics/spec.h"
#include "dp/api/status.h"

namespace sluice::cp::metrics {

class MetricsServer {
 public:
  // Binds spec.host:spec.port and serves from a thread of its own; an error
  // names the setting and the reason the address was refused.
  static Result<std::unique_ptr<MetricsServer>> start(const MetricsSpec& spec,
                                                      SnapshotSource source);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Stops listening and waits for the serving thread. Scrapes in flight
  // must be able to finish: close the ControlQueue first.
  void stop();
  // The bound port (the chosen one when spec.port is 0).
  int port() const { return port_; }
  // http://HOST:PORT/metrics
  std::string url() const;

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace sluice::cp::metrics
