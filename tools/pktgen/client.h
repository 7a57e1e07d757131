// The client role: paced UDP probes or TCP segments over a flow table,
// answers matched to their flow, round-trip times and per-endpoint shares. run() is the worker
// lcore's loop; the main lcore reads the live counters and, after run()
// returns, the report.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "dp/api/status.h"
#include "dp/api/types.h"
#include "tools/pktgen/frame.h"
#include "tools/pktgen/options.h"
#include "tools/pktgen/port.h"
#include "tools/pktgen/shares.h"
#include "tools/pktgen/summary.h"
#include "tools/pktgen/tcp_flows.h"
#include "tools/pktgen/window.h"

struct rte_mbuf;

namespace sluice::pktgen {

class Pod;

// Written by the worker only (relaxed stores), read by the main lcore.
struct alignas(64) LiveCounters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> other{0};      // client: unmatched answers; pod: frames not answered
  std::atomic<uint64_t> completed{0};  // client, TCP connect mode: connections closed
  std::atomic<uint64_t> failed{0};     // client, TCP: connections timed out
  std::atomic<bool> done{false};

  // Client: flows per endpoint now (by their latest answer) and moves away
  // from each, for the first kEndpoints endpoints. A label is written before
  // `endpoints` is raised past it (release) and never changes after.
  static constexpr size_t kEndpoints = 16;
  static constexpr size_t kLabelLen = 48;
  std::atomic<uint32_t> endpoints{0};
  std::atomic<uint64_t> endpoint_flows[kEndpoints] = {};
  std::atomic<uint64_t> endpoint_moved_away[kEndpoints] = {};
  char endpoint_label[kEndpoints][kLabelLen] = {};
};

// Asks for `gateway`'s MAC from `source` every 200 ms (ARP for IPv4, a
// neighbor solicitation for IPv6) until the answer comes, timeout_s passes or
// `stop` is set. Answers ARP and solicitations for `own` meanwhile.
// Runs on the calling lcore before the worker starts.
Result<MacAddr> resolveGateway(const Port& port, const IpAddr& source, const IpAddr& gateway,
                               const std::vector<AddrRange>& own, unsigned timeout_s,
                               const std::atomic<bool>& stop);

class Client {
 public:
  Client(const Options& options, const Port& port, std::vector<UdpTuple> flows,
         const MacAddr& gateway_mac, const std::atomic<bool>& stop);

  // Sends for the configured duration (or until stop), then waits up to
  // drain_ms for outstanding answers. Sets live().done at the end. With a
  // pod, polls it too every iteration (client and pod on one lcore).
  void run(Pod* pod = nullptr);
  const LiveCounters& live() const { return live_; }
  // Valid once run() has returned.
  ClientReport report() const;

 private:
  struct EndpointKey {
    uint16_t pod;
    std::optional<IpAddr> address;
    friend bool operator==(const EndpointKey&, const EndpointKey&) = default;
  };
  static constexpr uint16_t kNoEndpoint = FlowShares::kNone;
  // Answers from endpoints beyond this many count as received, not in shares.
  static constexpr size_t kMaxEndpoints = 1024;

  uint16_t sendBurst(uint64_t now, uint16_t count);
  // TCP: the next segments of up to `count` flows, visited round robin.
  uint16_t sendTcp(uint64_t now, uint16_t count);
  // Writes the segment into m (its data replaced); counts it when it asks
  // for an answer.
  void buildTcp(rte_mbuf* m, uint32_t flow, const TcpSend& seg, uint64_t now);
  // TCP: sends pkts after the backlog; what the tx ring does not take joins
  // the backlog, beyond its room it is freed (those flows then time out).
  void transmitTcp(rte_mbuf** pkts, uint16_t n);
  // Sends what it can of the backlog; returns how many went.
  uint16_t flushBacklog();
  // Returns how many frames came in.
  uint16_t receive(uint64_t now, uint16_t burst);
  // A received segment; true when m now holds the reply to send.
  bool onTcp(rte_mbuf* m, const TcpView& view, uint64_t now);
  void onAnswer(const UdpView& view, const Probe& probe, uint64_t now);
  // The RTT and endpoint of an answer already matched to probe.flow.
  void recordAnswer(const Probe& probe, uint64_t now);
  uint16_t endpointIndex(const Probe& probe);

  const Options& options_;
  const Port& port_;
  std::vector<UdpTuple> flows_;
  MacAddr gateway_mac_;
  const std::atomic<bool>& stop_;
  double ns_per_cycle_;

  std::vector<EndpointKey> endpoints_;  // by FlowShares' endpoint index
  FlowShares shares_;
  uint64_t next_flow_ = 0;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
  uint64_t unmatched_ = 0;
  uint64_t skipped_ = 0;
  uint64_t send_cycles_ = 0;
  Window window_;
  std::optional<TcpFlows> tcp_;  // with --proto tcp
  // TCP segments built but not yet taken by the tx ring. A built segment is
  // part of its flow's state (the flow now waits for its answer), so a full
  // ring delays it instead of losing it, and no new segments are built
  // while the backlog waits.
  static constexpr uint16_t kBacklog = 512;
  rte_mbuf* backlog_[kBacklog] = {};
  uint16_t backlog_count_ = 0;
  LatencyHistogram rtt_ns_;
  LatencyHistogram connect_ns_;
  LiveCounters live_;
};

}  // namespace sluice::pktgen
