#include "tools/pktgen/port.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

namespace sluice::pktgen {
namespace {

constexpr unsigned kMbufs = 8191;
constexpr unsigned kMbufCache = 256;
constexpr uint16_t kRxDesc = 1024;
constexpr uint16_t kTxDesc = 1024;

Status rteError(uint16_t id, const std::string& what, int rc) {
  return Status::error("port " + std::to_string(id) + ": " + what + ": " +
                       std::strerror(rc < 0 ? -rc : rc));
}

}  // namespace

Result<Port> openPort(uint16_t id, unsigned link_timeout_s, const std::atomic<bool>& stop) {
  if (!rte_eth_dev_is_valid_port(id)) {
    return Status::error("no ethdev port " + std::to_string(id) + " (" +
                         std::to_string(rte_eth_dev_count_avail()) +
                         " available; give one with --vdev or -a)");
  }
  Port port;
  port.id = id;
  const int socket = rte_eth_dev_socket_id(id);
  const std::string pool_name = "pktgen_pool_" + std::to_string(id);
  port.pool =
      rte_pktmbuf_pool_create(pool_name.c_str(), kMbufs, kMbufCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                              socket < 0 ? SOCKET_ID_ANY : socket);
  if (port.pool == nullptr) return rteError(id, "mbuf pool", rte_errno);

  rte_eth_conf conf{};
  uint16_t rx_desc = kRxDesc;
  uint16_t tx_desc = kTxDesc;
  int rc = rte_eth_dev_configure(id, 1, 1, &conf);
  if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rx_desc, &tx_desc);
  if (rc == 0) rc = rte_eth_rx_queue_setup(id, 0, rx_desc, socket, nullptr, port.pool);
  if (rc == 0) rc = rte_eth_tx_queue_setup(id, 0, tx_desc, socket, nullptr);
  if (rc == 0) rc = rte_eth_dev_start(id);
  if (rc != 0) {
    rte_mempool_free(port.pool);
    return rteError(id, "configure and start", rc);
  }
  rte_ether_addr mac;
  if (rc = rte_eth_macaddr_get(id, &mac); rc != 0) {
    closePort(port);
    return rteError(id, "read mac", rc);
  }
  std::memcpy(port.mac.bytes.data(), mac.addr_bytes, 6);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(link_timeout_s);
  for (;;) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(id, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) break;
    if (stop.load() || std::chrono::steady_clock::now() >= deadline) {
      closePort(port);
      return Status::error("port " + std::to_string(id) + ": link not up within " +
                           std::to_string(link_timeout_s) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return port;
}

void closePort(const Port& port) {
  rte_eth_dev_stop(port.id);
  rte_eth_dev_close(port.id);
  rte_mempool_free(port.pool);
}

}  // namespace sluice::pktgen
