// The data plane's counters, each declared once. Metrics, the CLI, logs and
// tests expand these lists, so a counter cannot exist in one and not another.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sluice::dp {

// X(name, help): things a worker did.
#define SLUICE_WORKER_EVENTS(X)                                                    \
  X(rx_packets, "packets received from rx queues")                                 \
  X(tx_packets, "packets accepted by tx queues")                                   \
  X(rx_bursts, "non-empty rx bursts")                                              \
  X(arp_replies, "ARP requests for a local address answered")                      \
  X(nd_replies, "neighbor solicitations for a local address answered")             \
  X(echo_replies, "ICMP and ICMPv6 echo requests to a local address answered")     \
  X(arp_requests, "ARP requests sent to resolve a next hop")                       \
  X(nd_solicits, "neighbor solicitations sent to resolve a next hop")              \
  X(neigh_adverts, "ARP replies and neighbor advertisements consumed")             \
  X(neigh_updates, "neighbor learnings posted to the control plane")               \
  X(neigh_updates_lost, "neighbor learnings lost because the event ring was full") \
  X(pending_held, "packets held while their next hop was resolved")                \
  X(pending_released, "held packets sent once their next hop resolved")            \
  X(idle_sleeps, "short sleeps taken by the backoff idle policy")                  \
  X(alloc_failures, "ARP/ND probes not sent for want of a free mbuf")              \
  X(flows_created, "new flows load-balanced to an endpoint")                       \
  X(flows_rebalanced, "UDP flows moved off an endpoint that left its service")     \
  X(flows_reset, "TCP flows reset because their endpoint left its service")        \
  X(ct_expired, "flows removed by the conntrack sweep")                            \
  X(ct_evicted_half_open, "half-open flows evicted to admit a new flow")           \
  X(affinity_hits, "new flows sent to a client's remembered endpoint")             \
  X(handoffs, "packets handed to the worker that owns their flow")                 \
  X(lazy_held, "new-flow packets held while their on-demand service loaded")       \
  X(lazy_released, "held packets passed on once their service was loaded")         \
  X(lazy_miss_posted, "on-demand service misses posted to the control plane")      \
  X(lazy_miss_ring_full, "service misses lost because the miss ring was full")     \
  X(busy_cycles, "TSC cycles spent in poll iterations that received or sent packets")

// X(name, help): why a packet was dropped. Every drop in the data path
// increments exactly one of these.
#define SLUICE_DROP_REASONS(X)                                                              \
  X(eth_truncated, "frame shorter than an Ethernet header")                                 \
  X(multi_segment, "frame spans several buffers")                                           \
  X(vlan_truncated, "802.1Q tag cut short")                                                 \
  X(vlan_nested, "more than one VLAN tag")                                                  \
  X(vlan_mismatch, "VLAN tag does not match the port's VLAN")                               \
  X(eth_not_for_us, "unicast frame for another MAC address")                                \
  X(ethertype_unsupported, "neither ARP, IPv4 nor IPv6")                                    \
  X(arp_malformed, "ARP packet truncated or not Ethernet/IPv4")                             \
  X(arp_not_for_us, "ARP request for an address that is not local")                         \
  X(arp_op_unsupported, "ARP operation other than request or reply")                        \
  X(ipv4_truncated, "shorter than an IPv4 header")                                          \
  X(ipv4_bad_version, "IPv4 ethertype with another IP version")                             \
  X(ipv4_bad_ihl, "IPv4 header length below 20 or beyond the frame")                        \
  X(ipv4_bad_total_length, "IPv4 total length shorter than its header or beyond the frame") \
  X(ipv4_bad_checksum, "IPv4 header checksum wrong")                                        \
  X(ipv4_fragment, "IPv4 fragment")                                                         \
  X(ipv6_truncated, "shorter than an IPv6 header")                                          \
  X(ipv6_bad_version, "IPv6 ethertype with another IP version")                             \
  X(ipv6_bad_payload_length, "IPv6 payload length beyond the frame")                        \
  X(ipv6_ext_truncated, "IPv6 extension header runs past the packet")                       \
  X(ipv6_ext_too_many, "IPv6 extension header chain too long")                              \
  X(ipv6_fragment, "IPv6 fragment")                                                         \
  X(ipv6_routing_header, "IPv6 routing header on a packet to translate or answer")          \
  X(l4_truncated, "TCP, UDP or ICMP header cut short")                                      \
  X(tcp_bad_offset, "TCP data offset below 5 or beyond the packet")                         \
  X(udp_bad_length, "UDP length disagrees with the IP length")                              \
  X(icmp_bad_checksum, "ICMP or ICMPv6 checksum wrong")                                     \
  X(nd_malformed, "neighbor discovery message malformed or hop limit not 255")              \
  X(nd_not_for_us, "neighbor solicitation for an address that is not local")                \
  X(local_unhandled, "to a local address but not ARP, ND or echo")                          \
  X(not_local, "IP packet for an address this gateway does not own")                        \
  X(no_route, "no route to the destination")                                                \
  X(no_headroom, "no room in the buffer for the Ethernet header")                           \
  X(pending_full, "next hop unresolved and the pending queue is full")                      \
  X(neigh_timeout, "next hop did not resolve in time")                                      \
  X(tx_full, "tx queue full")                                                               \
  X(no_endpoint, "new flow for a service with no ready endpoint")                           \
  X(tcp_no_flow, "TCP segment other than a SYN for a flow not tracked")                     \
  X(no_flow, "reply to a translated address for a flow not tracked")                        \
  X(endpoint_gone, "reply from an endpoint that left its service")                          \
  X(ct_full, "conntrack full of established flows; new flow refused")                       \
  X(snat_exhausted, "no free SNAT port toward this endpoint")                               \
  X(handoff_full, "ring to the owner worker full")                                          \
  X(ttl_exceeded, "TTL or hop limit would reach zero")                                      \
  X(lazy_hold_full, "on-demand service not loaded and the hold queue is full")              \
  X(lazy_hold_timeout, "on-demand service not loaded before the hold deadline")             \
  X(lazy_service_gone, "held packet's on-demand service was removed")

enum class WorkerEvent : uint16_t {
#define SLUICE_X(name, help) name,
  SLUICE_WORKER_EVENTS(SLUICE_X)
#undef SLUICE_X
      kCount
};

// kNone is "no drop"; it has no counter.
enum class Drop : uint16_t {
  kNone = 0,
#define SLUICE_X(name, help) name,
  SLUICE_DROP_REASONS(SLUICE_X)
#undef SLUICE_X
      kCount
};

inline constexpr size_t kWorkerEventCount = static_cast<size_t>(WorkerEvent::kCount);
inline constexpr size_t kDropCount = static_cast<size_t>(Drop::kCount);

// Names and help texts indexed by the enum values; kDropNames[0] is "none".
extern const char* const kWorkerEventNames[kWorkerEventCount];
extern const char* const kWorkerEventHelp[kWorkerEventCount];
extern const char* const kDropNames[kDropCount];
extern const char* const kDropHelp[kDropCount];

// One worker's counters. Written only by the owning worker (relaxed load and
// store, no read-modify-write), read by the control plane at any time.
struct alignas(64) WorkerCounters {
  std::atomic<uint64_t> events[kWorkerEventCount];
  std::atomic<uint64_t> drops[kDropCount];

  void add(WorkerEvent e, uint64_t n = 1) { bump(events[static_cast<size_t>(e)], n); }
  void drop(Drop d, uint64_t n = 1) { bump(drops[static_cast<size_t>(d)], n); }
  uint64_t get(WorkerEvent e) const {
    return events[static_cast<size_t>(e)].load(std::memory_order_relaxed);
  }
  uint64_t get(Drop d) const {
    return drops[static_cast<size_t>(d)].load(std::memory_order_relaxed);
  }

 private:
  static void bump(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

// A copy of one worker's counters, taken by the control plane.
struct WorkerCounterSnapshot {
  unsigned lcore = 0;
  uint64_t events[kWorkerEventCount] = {};
  uint64_t drops[kDropCount] = {};
  uint64_t totalDrops() const {
    uint64_t sum = 0;
    for (size_t i = 1; i < kDropCount; i++) {
      sum += drops[i];
    }
    return sum;
  }
};

// A port's hardware/driver counters (rte_eth_stats).
struct PortCounterSnapshot {
  std::string name;
  uint64_t ipackets = 0, opackets = 0, ibytes = 0, obytes = 0;
  uint64_t imissed = 0, ierrors = 0, oerrors = 0, rx_nombuf = 0;
};

}  // namespace sluice::dp
