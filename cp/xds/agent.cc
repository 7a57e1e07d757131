#include "cp/xds/agent.h"

#include <algorithm>
#include <cstdio>

#include "cp/xds/client.h"
#include "cp/xds/controller.h"

namespace sluice::cp::xds {

namespace {

const char* typeName(ResourceType type) {
  switch (type) {
    case ResourceType::kListener:
      return "listener";
    case ResourceType::kCluster:
      return "cluster";
    case ResourceType::kEndpoint:
      return "endpoint";
  }
  return "?";
}

uint64_t monotonicNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

XdsAgent::XdsAgent(const XdsSpec& spec, const dp::DataplaneSpec& dataplane, Publisher& publisher,
                   bool log)
    : spec_(spec),
      log_(log),
      controller_(std::make_unique<XdsController>(publisher, dataplane, spec_, *this, monotonicNs)),
      next_scan_(std::chrono::steady_clock::now()),
      // An idle service goes at most a quarter of its idle time late.
      scan_interval_(std::clamp<std::chrono::milliseconds>(
          std::chrono::milliseconds(uint64_t{spec.evict_idle_s} * 250),
          std::chrono::milliseconds(100), std::chrono::milliseconds(5000))) {}

XdsAgent::~XdsAgent() {
  stop();
}

Result<std::unique_ptr<XdsAgent>> XdsAgent::start(const XdsSpec& spec,
                                                  const dp::DataplaneSpec& dataplane,
                                                  Publisher& publisher, ControlQueue& control,
                                                  bool log) {
  std::unique_ptr<XdsAgent> agent(new XdsAgent(spec, dataplane, publisher, log));
  auto client = XdsClient::start(agent->spec_, control, *agent);
  if (!client) {
    return Status::error("xds: " + client.status().message());
  }
  agent->client_ = std::move(*client);
  return agent;
}

void XdsAgent::stop() {
  if (client_) {
    client_->stop();
  }
}

void XdsAgent::poll(dp::Dataplane& plane) {
  if (spec_.lazy) {
    std::vector<ServiceKey> misses = plane.takeServiceMisses();
    if (!misses.empty()) {
      controller_->onMisses(misses);
    }
  }
  if (spec_.evict_idle_s == 0) {
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (now < next_scan_) {
    return;
  }
  next_scan_ = now + scan_interval_;
  if (size_t evicted = controller_->evictIdle(plane.serviceTraffic()); evicted != 0 && log_) {
    std::printf("sluiced: xds: evicted %zu idle services (no packet and no flow for %u s)\n",
                evicted, spec_.evict_idle_s);
    std::fflush(stdout);
  }
}

Status XdsAgent::apply(const ResourceUpdate& update) {
  Status s = controller_->apply(update);
  std::vector<std::string> notes = controller_->takeNotes();
  if (!log_) {
    return s;
  }
  for (const std::string& note : notes) {
    std::printf("sluiced: xds: note: %s\n", note.c_str());
  }
  if (s) {
    std::printf("sluiced: xds: accepted %s update %s: %zu resources, %zu removed\n",
                typeName(update.type), update.version_info.c_str(), update.resources.size(),
                update.removed.size());
  } else {
    std::printf("sluiced: xds: rejected %s update %s, last good config kept: %s\n",
                typeName(update.type), update.version_info.c_str(), s.message().c_str());
  }
  std::fflush(stdout);
  return s;
}

void XdsAgent::connectionChanged(bool connected) {
  controller_->connectionChanged(connected);
  if (!log_) {
    return;
  }
  if (connected) {
    std::printf("sluiced: xds: connected to %s\n", spec_.server.c_str());
  } else {
    std::printf("sluiced: xds: lost %s; the last good services keep forwarding\n",
                spec_.server.c_str());
  }
  std::fflush(stdout);
}

void XdsAgent::subscribe(const std::vector<std::string>& clusters) {
  if (client_) {
    client_->subscribe(clusters);
  }
}

void XdsAgent::unsubscribe(const std::vector<std::string>& clusters) {
  if (client_) {
    client_->unsubscribe(clusters);
  }
}

XdsStats XdsAgent::stats() const {
  XdsStats s;
  if (client_) {
    ClientMetrics c = client_->metrics();
    s.connected = c.connected;
    s.streams_opened = c.streams_opened;
    s.reconnects = c.reconnects;
    s.responses = c.responses;
    s.acks = c.acks;
    s.nacks = c.nacks;
    s.bytes_received = c.bytes_received;
    s.backoff_ms = c.connected ? 0 : c.backoff_ms;
    s.last_nack = c.last_nack_reason;
    s.versions = c.versions;
    s.resources = c.resources;
  }
  ControllerMetrics m = controller_->metrics();
  s.updates_accepted = m.updates_accepted;
  s.updates_rejected = m.updates_rejected;
  s.services = m.services_published;
  s.services_pending = m.services_pending;
  s.services_on_demand = m.services_on_demand;
  s.endpoint_subscriptions = m.endpoint_subscriptions;
  s.misses = m.misses;
  s.lazy_loads = m.lazy_loads;
  s.evictions = m.evictions;
  return s;
}

}  // namespace sluice::cp::xds
