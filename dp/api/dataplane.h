// The data plane as the control plane sees it: a spec to build it from, and
// a handle to start, stop and observe it. This header and the others in
// dp/api/ are the only data-plane headers cp/ includes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dp/api/counters.h"
#include "dp/api/service.h"
#include "dp/api/status.h"
#include "dp/api/types.h"

namespace sluice::dp {

// What a worker does when its queues are empty.
enum class IdlePolicy : uint8_t {
  kBusy,     // poll without pause: lowest latency, one core at 100%
  kBackoff,  // after a run of empty polls pause, then sleep briefly; the first
             // packet snaps the worker back to full-speed polling
};

struct IdleSpec {
  IdlePolicy policy = IdlePolicy::kBusy;
  // Empty polls before the worker starts pausing between polls.
  uint32_t pause_after = 64;
  // Empty polls before it sleeps between polls.
  uint32_t sleep_after = 1024;
  // Longest sleep; sleeps grow from 1 us up to this.
  uint32_t max_sleep_us = 200;
  friend bool operator==(const IdleSpec&, const IdleSpec&) = default;
};

struct PortSpec {
  std::string name;    // the operator's name for the port, e.g. "p0"
  std::string device;  // PCI address ("0000:01:00.0") or vdev string ("net_tap0,iface=t0")
  uint16_t rx_queues = 1;
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint16_t mtu = 1500;
  uint16_t vlan = 0;           // 802.1Q VLAN id on this port; 0 = untagged
  std::optional<MacAddr> mac;  // overrides the device's MAC when set
  // The ethdev name DPDK registers for the device: the vdev name before the
  // first comma, or the PCI address.
  std::string ethdevName() const { return device.substr(0, device.find(',')); }
  friend bool operator==(const PortSpec&, const PortSpec&) = default;
};

struct RxQueueRef {
  std::string port;
  uint16_t queue = 0;
  friend bool operator==(const RxQueueRef&, const RxQueueRef&) = default;
};

struct WorkerSpec {
  unsigned lcore = 1;
  // CPU the lcore runs on; defaults to the lcore's own number. Several lcores
  // may share a CPU (tests on small machines), at the cost of speed.
  std::optional<unsigned> cpu;
  std::vector<RxQueueRef> rx;
  friend bool operator==(const WorkerSpec&, const WorkerSpec&) = default;
};

// An address this gateway owns, with the prefix of its connected subnet.
struct LocalAddrSpec {
  std::string port;
  Prefix prefix;
  friend bool operator==(const LocalAddrSpec&, const LocalAddrSpec&) = default;
};

struct RouteSpec {
  Prefix prefix;
  std::optional<IpAddr> via;  // gateway; absent = directly connected
  std::string port;           // output port; empty = the port whose subnet holds `via`
  friend bool operator==(const RouteSpec&, const RouteSpec&) = default;
};

struct NeighborSpec {
  std::string port;
  IpAddr addr;
  MacAddr mac;
  friend bool operator==(const NeighborSpec&, const NeighborSpec&) = default;
};

// Per-worker connection tracking. Timeouts in seconds.
struct ConntrackSpec {
  uint32_t capacity = 262144;  // flows per worker
  uint32_t tcp_half_open_s = 10;
  uint32_t tcp_established_s = 900;
  uint32_t tcp_fin_s = 30;
  uint32_t tcp_closed_s = 5;
  uint32_t udp_s = 300;
  friend bool operator==(const ConntrackSpec&, const ConntrackSpec&) = default;
};

struct DataplaneSpec {
  std::vector<PortSpec> ports;
  std::vector<WorkerSpec> workers;
  std::vector<LocalAddrSpec> addresses;
  std::vector<RouteSpec> routes;
  std::vector<NeighborSpec> neighbors;
  IdleSpec idle;
  // Local addresses fullnat services translate clients to. Each must be one
  // of `addresses`; each worker owns a slice of every address's ports.
  std::vector<IpAddr> snat;
  ConntrackSpec conntrack;
  uint32_t services_capacity = 65536;
  // Endpoints that get their own traffic counters (per worker, 64 bytes
  // each); endpoints past this many are counted in their service only.
  uint32_t endpoint_stats_capacity = 65536;
  uint32_t mbufs_per_socket = 16383;
  uint32_t neighbor_capacity = 4096;
  uint32_t route_capacity = 1024;
  // Longest time a packet waits in a tx buffer before it is flushed.
  uint32_t tx_drain_us = 100;
  // How long a packet may wait for its next hop to resolve.
  uint32_t neighbor_resolve_ms = 1000;
  // Lazy loading (ServiceSpec::on_demand): new-flow packets to a service not
  // loaded yet wait in a queue of `lazy_hold` packets per worker (0: none
  // wait, all are dropped as lazy_hold_full) for at most `lazy_hold_ms`; a
  // worker posts at most one miss per service version per `lazy_hold_ms`.
  uint32_t lazy_hold = 256;
  uint32_t lazy_hold_ms = 500;
  friend bool operator==(const DataplaneSpec&, const DataplaneSpec&) = default;
};

struct NeighborInfo {
  std::string port;
  IpAddr addr;
  MacAddr mac;
  bool is_static = false;
};

// Traffic of a service or an endpoint, summed over the workers. "in" is
// client -> endpoint, "out" endpoint -> client (ipvsadm's InPkts/OutPkts).
struct TrafficStats {
  uint64_t new_flows = 0;
  uint64_t active_flows = 0;  // tracked now
  uint64_t in_packets = 0, in_bytes = 0;
  uint64_t out_packets = 0, out_bytes = 0;
  TrafficStats& operator+=(const TrafficStats& o) {
    new_flows += o.new_flows;
    active_flows += o.active_flows;
    in_packets += o.in_packets;
    in_bytes += o.in_bytes;
    out_packets += o.out_packets;
    out_bytes += o.out_bytes;
    return *this;
  }
};

struct EndpointTraffic {
  IpAddr addr;
  uint16_t port = 0;
  bool counted = false;  // false: past endpoint_stats_capacity, all zero
  TrafficStats traffic;
};

struct ServiceTraffic {
  ServiceKey key;
  TrafficStats traffic;
  std::vector<EndpointTraffic> endpoints;  // in the order of the service's spec
};

struct ConntrackOccupancy {
  unsigned lcore = 0;
  uint64_t capacity = 0;
  uint64_t flows = 0;
  uint64_t half_open = 0;  // TCP flows before the handshake completed
};

// Which flows listFlows returns; an unset field matches anything.
struct FlowFilter {
  std::optional<IpAddr> vip;
  std::optional<uint16_t> port;  // the service's port
  std::optional<Proto> proto;
  std::optional<IpAddr> client;
  std::optional<IpAddr> endpoint;
};

inline constexpr uint32_t kMaxFlowListLimit = 10000;

struct FlowInfo {
  unsigned lcore = 0;  // owner worker
  Proto proto = Proto::kTcp;
  IpAddr client;
  uint16_t client_port = 0;
  IpAddr vip;
  uint16_t vip_port = 0;
  IpAddr endpoint;
  uint16_t endpoint_port = 0;
  std::optional<IpAddr> snat;  // fullnat: the client's translated address
  uint16_t snat_port = 0;
  std::string state;  // "syn_sent", "syn_recv", "established", "fin_wait", "closed", "udp"
  uint64_t expires_in_ms = 0;
};

struct FlowList {
  std::vector<FlowInfo> flows;
  bool truncated = false;  // more flows matched than the limit
};

class DataplaneImpl;

// Owns ports, mempools, tables and workers. Create it after the EAL is up
// (dp/api/eal.h); destroy it before rte_eal_cleanup.
class Dataplane {
 public:
  // Validates the spec against the devices, configures and starts the ports
  // and builds the tables. Workers are not running yet.
  static Result<std::unique_ptr<Dataplane>> create(const DataplaneSpec& spec);
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  // Starts every worker on its lcore.
  Status launch();
  // Asks the workers to finish their current iteration and waits for them.
  void stop();

  // Control-plane housekeeping: applies what workers posted (neighbor
  // learnings) and frees service versions no worker can see any more. Call
  // it from the control thread every millisecond or so.
  void pollControl();

  // Publishes a new version of one service (added or changed) with one
  // atomic store; workers see it on their next packet, and the version it
  // replaces is freed after an RCU grace period. `table` is the Maglev
  // lookup table over spec.endpoints: each entry an index into
  // spec.endpoints, or 0xffffffff when no endpoint is ready. Endpoints are
  // matched to the previous version's by address and port, so flows to an
  // endpoint that stays keep going; flows to one that left are ended (TCP
  // RST) or moved (UDP) on their next packet. Costs O(this service).
  Status upsertService(const ServiceSpec& spec, const std::vector<uint32_t>& table);
  Status removeService(const ServiceKey& key);
  size_t serviceCount() const;
  // Bytes of the published service versions: each one's header, endpoint
  // array and Maglev table, summed over every service in the table. An
  // on-demand service has no endpoints and no table, so it costs one header.
  // The fixed per-slot arrays and the VIP index are not included. Control
  // thread.
  uint64_t serviceTableBytes() const;

  // Lazy loading: the on-demand services whose VIPs saw new-flow packets
  // since the last call, each key once, in no particular order. Drains the
  // workers' miss rings (lock-free, one per worker); misses of services that
  // were loaded or removed since are left out. Call it from the control
  // thread that calls pollControl, about as often; a ring left undrained
  // fills and further misses are counted as lazy_miss_ring_full (a worker
  // posts again for the same service after lazy_hold_ms).
  std::vector<ServiceKey> takeServiceMisses();

  // Runs one iteration of worker `index` on the calling thread; for tests
  // that drive the pipeline step by step instead of launching lcores.
  // Returns the number of packets received in that iteration.
  unsigned pollWorkerOnce(size_t index);

  size_t workerCount() const;
  std::vector<WorkerCounterSnapshot> workerCounters() const;
  std::vector<PortCounterSnapshot> portCounters() const;
  std::vector<NeighborInfo> neighbors() const;

  // Per-service and per-endpoint traffic of every published service, in
  // service key order. Control thread (it reads the service table's state).
  std::vector<ServiceTraffic> serviceTraffic() const;
  std::vector<ConntrackOccupancy> conntrackOccupancy() const;
  // Up to `limit` (1..kMaxFlowListLimit) tracked flows matching `filter`.
  // Each running worker walks its own table a slice per poll iteration into
  // a buffer given up front, so no worker stalls and nothing is copied
  // whole; the call waits for them (at most `timeout_ms`, then an error).
  // With the workers not launched it walks the tables itself. Control thread.
  Result<FlowList> listFlows(const FlowFilter& filter, uint32_t limit,
                             uint32_t timeout_ms = 2000) const;
  // The MAC address a port answers with.
  Result<MacAddr> portMac(const std::string& port) const;

 private:
  explicit Dataplane(std::unique_ptr<DataplaneImpl> impl);
  std::unique_ptr<DataplaneImpl> impl_;
};

}  // namespace sluice::dp
