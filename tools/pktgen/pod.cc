#include "tools/pktgen/pod.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include <algorithm>

#include "tools/pktgen/frame.h"
#include "tools/pktgen/nd_frame.h"
#include "tools/pktgen/tcp_frame.h"

namespace sluice::pktgen {
namespace {

constexpr unsigned kMaxBurst = 512;
constexpr unsigned kIdlePollsBeforeSleep = 64;

}  // namespace

Pod::Pod(const Options& options, const Port& port, const std::atomic<bool>& stop)
    : options_(options), port_(port), stop_(stop) {}

bool Pod::ownsAddress(const IpAddr& addr) const {
  const auto& own = options_.pod_addresses;
  return std::find(own.begin(), own.end(), addr) != own.end();
}

uint16_t Pod::answer(uint8_t* data, uint16_t len, uint16_t room) {
  std::span<uint8_t> frame(data, len);
  if (auto view = parseUdp(frame)) {
    if (!ownsAddress(view->tuple.dst)) return 0;
    answerUdpInPlace(frame, *view, port_.mac, options_.pod_id);
    ++totals_.answered;
    return len;
  }
  if (auto view = parseTcp(frame)) {
    if (!ownsAddress(view->tuple.dst)) return 0;
    const size_t answer_len = answerTcpInPlace(frame, *view, port_.mac, options_.pod_id);
    if (answer_len == 0) {
      // Not ignored: a final ACK or a reset is what a server takes silently.
      ++totals_.tcp_quiet;
      if ((view->fields.flags & kTcpRst) != 0) ++totals_.rst;
      return 0;
    }
    ++totals_.answered;
    ++totals_.tcp;
    return static_cast<uint16_t>(answer_len);
  }
  if (auto arp = parseArp(frame)) {
    if (arp->op != Arp::kRequest || !ownsAddress(arp->target_ip)) return 0;
    answerArpInPlace(frame, *arp, port_.mac);
    ++totals_.arp;
    return len;
  }
  if (auto ns = parseNd(frame)) {
    // The advertisement replaces the solicitation, which may be shorter.
    if (ns->type != Nd::kSolicitation || !ownsAddress(ns->target)) return 0;
    const size_t na_len = buildNeighborAdvertisement({data, room}, *ns, port_.mac);
    if (na_len == 0) return 0;
    ++totals_.nd;
    return static_cast<uint16_t>(na_len);
  }
  return 0;
}

uint16_t Pod::step() {
  const uint16_t burst = static_cast<uint16_t>(std::min(options_.burst, kMaxBurst));
  rte_mbuf* pkts[kMaxBurst];
  rte_mbuf* out[kMaxBurst];
  rte_mbuf* drop[kMaxBurst];
  uint16_t n_out = 0;
  uint16_t n_drop = 0;
  const uint16_t n = rte_eth_rx_burst(port_.id, 0, pkts, burst);
  if (n == 0) return 0;
  const uint64_t quiet_before = totals_.tcp_quiet;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    // Answers are built in the received frame; single-segment mbufs only.
    const uint16_t room = static_cast<uint16_t>(rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m));
    const uint16_t len =
        m->nb_segs == 1 ? answer(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m), room) : 0;
    if (len != 0) {
      rte_pktmbuf_data_len(m) = len;
      rte_pktmbuf_pkt_len(m) = len;
      out[n_out++] = m;
    } else {
      drop[n_drop++] = m;
    }
  }
  totals_.received += n;
  totals_.ignored += n_drop - (totals_.tcp_quiet - quiet_before);
  if (n_out != 0) {
    const uint16_t sent = rte_eth_tx_burst(port_.id, 0, out, n_out);
    if (sent < n_out) {
      rte_pktmbuf_free_bulk(out + sent, n_out - sent);
      totals_.tx_failed += n_out - sent;
    }
  }
  if (n_drop != 0) rte_pktmbuf_free_bulk(drop, n_drop);
  live_.sent.store(totals_.answered + totals_.arp, std::memory_order_relaxed);
  live_.received.store(totals_.received, std::memory_order_relaxed);
  live_.other.store(totals_.ignored, std::memory_order_relaxed);
  return n;
}

void Pod::run() {
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t end = options_.duration_s > 0
                           ? rte_rdtsc() + static_cast<uint64_t>(options_.duration_s * hz)
                           : UINT64_MAX;
  unsigned idle_polls = 0;
  while (!stop_.load(std::memory_order_relaxed) && rte_rdtsc() < end) {
    if (step() != 0) {
      idle_polls = 0;
    } else if (options_.idle_sleep_us != 0 && ++idle_polls >= kIdlePollsBeforeSleep) {
      rte_delay_us_sleep(options_.idle_sleep_us);
    } else {
      rte_pause();
    }
  }
  live_.done.store(true, std::memory_order_release);
}

}  // namespace sluice::pktgen
