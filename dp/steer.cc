#include "dp/steer.h"

#include <rte_flow.h>

#include <cstring>

#include "dp/context.h"

namespace sluice::dp {
namespace {

struct Pattern {
  rte_flow_item_ipv4 ip4{}, ip4_mask{};
  rte_flow_item_ipv6 ip6{}, ip6_mask{};
  rte_flow_item_tcp tcp{}, tcp_mask{};
  rte_flow_item_udp udp{}, udp_mask{};
  rte_flow_item items[4]{};
};

// ETH / IPv4 or IPv6 (destination = the SNAT address) / TCP or UDP
// (destination port % workers == worker), as a masked match.
void buildPattern(Pattern& p, const IpAddr& snat, bool tcp, uint16_t residue, uint16_t mask) {
  p.items[0].type = RTE_FLOW_ITEM_TYPE_ETH;
  if (snat.isV4()) {
    std::memcpy(&p.ip4.hdr.dst_addr, snat.bytes.data(), 4);
    p.ip4_mask.hdr.dst_addr = 0xffffffff;
    p.items[1] = {RTE_FLOW_ITEM_TYPE_IPV4, &p.ip4, nullptr, &p.ip4_mask};
  } else {
    std::memcpy(p.ip6.hdr.dst_addr, snat.bytes.data(), 16);
    std::memset(p.ip6_mask.hdr.dst_addr, 0xff, 16);
    p.items[1] = {RTE_FLOW_ITEM_TYPE_IPV6, &p.ip6, nullptr, &p.ip6_mask};
  }
  if (tcp) {
    p.tcp.hdr.dst_port = rte_cpu_to_be_16(residue);
    p.tcp_mask.hdr.dst_port = rte_cpu_to_be_16(mask);
    p.items[2] = {RTE_FLOW_ITEM_TYPE_TCP, &p.tcp, nullptr, &p.tcp_mask};
  } else {
    p.udp.hdr.dst_port = rte_cpu_to_be_16(residue);
    p.udp_mask.hdr.dst_port = rte_cpu_to_be_16(mask);
    p.items[2] = {RTE_FLOW_ITEM_TYPE_UDP, &p.udp, nullptr, &p.udp_mask};
  }
  p.items[3].type = RTE_FLOW_ITEM_TYPE_END;
}

}  // namespace

unsigned installSteering(uint16_t port_id, unsigned workers, const std::vector<SteerQueue>& queues,
                         const std::vector<IpAddr>& snat, std::string* why) {
  if (workers < 2 || (workers & (workers - 1)) != 0) {
    *why = "the number of workers is not a power of two";
    return 0;
  }
  if (snat.empty()) {
    *why = "no SNAT addresses";
    return 0;
  }
  auto mask = static_cast<uint16_t>(workers - 1);
  std::vector<rte_flow*> made;
  for (const SteerQueue& q : queues) {
    for (const IpAddr& a : snat) {
      for (bool tcp : {true, false}) {
        Pattern p;
        // Port p belongs to worker p % workers (see kSnatPortMin).
        buildPattern(p, a, tcp, static_cast<uint16_t>(q.worker), mask);
        rte_flow_attr attr{};
        attr.ingress = 1;
        rte_flow_action_queue queue{q.queue};
        rte_flow_action actions[2]{};
        actions[0] = {RTE_FLOW_ACTION_TYPE_QUEUE, &queue};
        actions[1].type = RTE_FLOW_ACTION_TYPE_END;
        rte_flow_error err{};
        rte_flow* f = rte_flow_create(port_id, &attr, p.items, actions, &err);
        if (f == nullptr) {
          *why = err.message != nullptr ? err.message : "rte_flow_create failed";
          for (rte_flow* g : made) rte_flow_destroy(port_id, g, &err);
          return 0;
        }
        made.push_back(f);
      }
    }
  }
  return static_cast<unsigned>(made.size());
}

void removeSteering(uint16_t port_id) {
  rte_flow_error err{};
  rte_flow_flush(port_id, &err);
}

}  // namespace sluice::dp
