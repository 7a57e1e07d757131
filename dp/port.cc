#include "dp/port.h"

#include <rte_ethdev.h>
#include <rte_log.h>

#include <cstring>
#include <string>

namespace sluice::dp {
namespace {

constexpr uint64_t kRssWanted = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;

Status rteError(const std::string& what, int rc) {
  return Status::error(what + ": " + rte_strerror(rc < 0 ? -rc : rc));
}

}  // namespace

int portSocket(uint16_t port_id) {
  int s = rte_eth_dev_socket_id(port_id);
  return s < 0 ? 0 : s;
}

Status setupPort(const PortSpec& spec, uint16_t tx_queues, rte_mempool* pool,
                 const std::vector<IpAddr>& v6_locals, PortCtx* out) {
  uint16_t port_id;
  std::string ethdev = spec.ethdevName();
  if (rte_eth_dev_get_port_by_name(ethdev.c_str(), &port_id) != 0) {
    return Status::error("device '" + ethdev + "' not found (not probed by the EAL)");
  }
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port_id, &info); rc != 0) {
    return rteError("rte_eth_dev_info_get", rc);
  }
  if (spec.rx_queues > info.max_rx_queues) {
    return Status::error(std::to_string(spec.rx_queues) + " rx queues asked, device has " +
                         std::to_string(info.max_rx_queues));
  }
  if (tx_queues > info.max_tx_queues) {
    return Status::error(std::to_string(tx_queues) +
                         " tx queues needed (one per worker), device has " +
                         std::to_string(info.max_tx_queues));
  }

  rte_eth_conf conf{};
  if (spec.rx_queues > 1) {
    uint64_t rss = kRssWanted & info.flow_type_rss_offloads;
    if (rss == 0) {
      RTE_LOG(WARNING, USER1,
              "port %s: no RSS on IP/TCP/UDP; %u rx queues get what the device spreads\n",
              spec.name.c_str(), spec.rx_queues);
    } else {
      if (rss != kRssWanted) {
        RTE_LOG(WARNING, USER1, "port %s: RSS lacks some of IP/TCP/UDP (has 0x%llx of 0x%llx)\n",
                spec.name.c_str(), static_cast<unsigned long long>(rss),
                static_cast<unsigned long long>(kRssWanted));
      }
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf = rss;
    }
  }
  out->tx_ipv4_cksum_offload = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
  if (out->tx_ipv4_cksum_offload) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  RTE_LOG(INFO, USER1, "port %s: IPv4 checksum %s\n", spec.name.c_str(),
          out->tx_ipv4_cksum_offload ? "offloaded" : "in software");

  if (int rc = rte_eth_dev_configure(port_id, spec.rx_queues, tx_queues, &conf); rc != 0) {
    return rteError("rte_eth_dev_configure", rc);
  }
  if (int rc = rte_eth_dev_set_mtu(port_id, spec.mtu); rc != 0 && rc != -ENOTSUP) {
    return rteError("set mtu " + std::to_string(spec.mtu), rc);
  }
  if (spec.mac) {
    rte_ether_addr a;
    std::memcpy(a.addr_bytes, spec.mac->bytes.data(), 6);
    if (int rc = rte_eth_dev_default_mac_addr_set(port_id, &a); rc != 0) {
      return rteError("set mac " + spec.mac->toString(), rc);
    }
  }
  uint16_t rx_desc = spec.rx_desc, tx_desc = spec.tx_desc;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc); rc != 0) {
    return rteError("descriptor counts", rc);
  }
  int socket = portSocket(port_id);
  for (uint16_t q = 0; q < spec.rx_queues; q++) {
    if (int rc = rte_eth_rx_queue_setup(port_id, q, rx_desc, socket, nullptr, pool); rc != 0) {
      return rteError("rx queue " + std::to_string(q), rc);
    }
  }
  rte_eth_txconf txconf = info.default_txconf;
  txconf.offloads = conf.txmode.offloads;
  for (uint16_t q = 0; q < tx_queues; q++) {
    if (int rc = rte_eth_tx_queue_setup(port_id, q, tx_desc, socket, &txconf); rc != 0) {
      return rteError("tx queue " + std::to_string(q), rc);
    }
  }

  // Neighbor discovery reaches us on solicited-node multicast groups.
  std::vector<rte_ether_addr> groups;
  for (const IpAddr& a : v6_locals) {
    groups.push_back({{0x33, 0x33, 0xff, a.bytes[13], a.bytes[14], a.bytes[15]}});
  }
  // Devices without a multicast filter get all-multicast, or promiscuous
  // mode as the last resort.
  if (!groups.empty() &&
      rte_eth_dev_set_mc_addr_list(port_id, groups.data(), static_cast<uint32_t>(groups.size())) !=
          0 &&
      rte_eth_allmulticast_get(port_id) != 1 && rte_eth_allmulticast_enable(port_id) != 0 &&
      rte_eth_promiscuous_get(port_id) != 1 && rte_eth_promiscuous_enable(port_id) != 0) {
    RTE_LOG(WARNING, USER1,
            "port %s: cannot receive multicast; IPv6 neighbors may not resolve us\n",
            spec.name.c_str());
  }

  if (int rc = rte_eth_dev_start(port_id); rc != 0) return rteError("rte_eth_dev_start", rc);
  rte_ether_addr mac;
  if (int rc = rte_eth_macaddr_get(port_id, &mac); rc != 0) return rteError("read mac", rc);
  out->name = spec.name;
  out->port_id = port_id;
  std::memcpy(out->mac.bytes.data(), mac.addr_bytes, 6);
  out->vlan = spec.vlan;
  return Status::ok();
}

void closePort(uint16_t port_id) {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);
}

}  // namespace sluice::dp
