// Test harness for packet-in/packet-out tests: ethdev ports made from
// rte_rings (rte_eth_from_rings), and builders for the frames tests send.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dp/api/counters.h"
#include "dp/api/types.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace sluice::test {

using Bytes = std::vector<uint8_t>;

// A port whose rx queues the test fills and whose tx queues the test drains.
class RingPort {
 public:
  RingPort(const std::string& name, unsigned rx_queues, unsigned tx_queues);
  ~RingPort();
  // The ethdev name to put in PortSpec::device.
  const std::string& ethdevName() const { return ethdev_name_; }
  // Puts a frame on rx queue `queue`.
  void inject(const Bytes& frame, unsigned queue = 0);
  // Puts a frame split across two chained mbufs (at byte `split`) on queue 0.
  void injectChained(const Bytes& frame, size_t split);
  // Takes every frame the data plane transmitted, from all tx queues, with
  // the tx queue each came from.
  struct Sent {
    Bytes frame;
    unsigned queue;
    uint64_t ol_flags;
  };
  std::vector<Sent> collect();
  // Buffers of this port's pool (every injected frame's) not back in it.
  unsigned mbufsInUse() const;

 private:
  std::string name_;
  std::string ethdev_name_;
  std::vector<rte_ring*> rx_;
  std::vector<rte_ring*> tx_;
  rte_mempool* pool_ = nullptr;
};

// Frame builders. MACs and addresses are given as parsed values.
Bytes ethHeader(const MacAddr& dst, const MacAddr& src, uint16_t ethertype, uint16_t vlan = 0);
Bytes arpFrame(uint16_t op, const MacAddr& eth_dst, const MacAddr& sha, const IpAddr& spa,
               const MacAddr& tha, const IpAddr& tpa, uint16_t vlan = 0);
Bytes icmpEchoV4(const MacAddr& dst_mac, const MacAddr& src_mac, const IpAddr& src,
                 const IpAddr& dst, uint16_t id, uint16_t seq, size_t payload_len);
Bytes icmpEchoV6(const MacAddr& dst_mac, const MacAddr& src_mac, const IpAddr& src,
                 const IpAddr& dst, uint16_t id, uint16_t seq, size_t payload_len);
// A neighbor solicitation for `target` from `src` (with a source link-layer
// option unless src is unspecified), to the target's solicited-node group.
Bytes neighborSolicit(const MacAddr& src_mac, const IpAddr& src, const IpAddr& target);
Bytes neighborAdvert(const MacAddr& dst_mac, const MacAddr& src_mac, const IpAddr& src,
                     const IpAddr& dst, const IpAddr& target, const MacAddr& target_mac);

// TCP and UDP packets with valid checksums, Ethernet-framed. The family
// follows the addresses.
struct L4Spec {
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint32_t seq = 0;    // TCP
  uint32_t ack = 0;    // TCP
  uint8_t flags = 0;   // TCP
  size_t payload = 0;  // bytes of payload
  uint8_t ttl = 64;
};
Bytes tcpFrame(const MacAddr& dst_mac, const MacAddr& src_mac, const IpAddr& src, const IpAddr& dst,
               const L4Spec& l4);
Bytes udpFrame(const MacAddr& dst_mac, const MacAddr& src_mac, const IpAddr& src, const IpAddr& dst,
               const L4Spec& l4);

// What a test reads back from an IP frame (no VLAN, no extension headers).
struct Decoded {
  MacAddr eth_dst;
  IpAddr src;
  IpAddr dst;
  uint8_t proto = 0;
  uint8_t ttl = 0;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  size_t payload = 0;
  bool ip_checksum_ok = false;  // IPv4 header (always true for IPv6)
  bool l4_checksum_ok = false;
};
Decoded decode(const Bytes& frame);

// Reference checks, written independently of dp/checksum.
uint16_t refChecksum(const uint8_t* data, size_t len, uint32_t sum = 0);
// True when the IPv4 header at `ip` has a valid checksum.
bool ipv4HeaderValid(const uint8_t* ip);
// True when the ICMP (v4) message of an IPv4 packet at `ip` has a valid checksum.
bool icmpV4Valid(const uint8_t* ip);
// True when the ICMPv6 message of an IPv6 packet (no extension headers) is valid.
bool icmpV6Valid(const uint8_t* ip);

MacAddr mac(const char* text);

// A counter summed over every worker.
uint64_t eventTotal(const std::vector<dp::WorkerCounterSnapshot>& workers, dp::WorkerEvent e);
uint64_t dropTotal(const std::vector<dp::WorkerCounterSnapshot>& workers, dp::Drop d);
IpAddr ip(const char* text);

}  // namespace sluice::test
