#include "tools/pktgen/client.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "tools/pktgen/nd_frame.h"
#include "tools/pktgen/pacer.h"
#include "tools/pktgen/pod.h"

namespace sluice::pktgen {
namespace {

constexpr unsigned kMaxBurst = 512;
constexpr unsigned kIdlePollsBeforeSleep = 64;
constexpr size_t kMinEthFrame = 60;  // without FCS
// A full window with no answer this long writes its requests off.
constexpr uint64_t kWindowStallMs = 200;
constexpr uint64_t kPodGraceMs = 20;

std::span<uint8_t> frameOf(rte_mbuf* m) {
  return {rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m)};
}

void bump(std::atomic<uint64_t>& counter, uint64_t value) {
  counter.store(value, std::memory_order_relaxed);
}

bool owns(const std::vector<AddrRange>& ranges, const IpAddr& addr) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const AddrRange& r) { return r.contains(addr); });
}

// Answers an ARP request for one of `own` in place; true when `m` now holds
// the reply to send.
bool answerArp(rte_mbuf* m, const std::vector<AddrRange>& own, const MacAddr& mac) {
  auto arp = parseArp(frameOf(m));
  if (!arp || arp->op != Arp::kRequest || !owns(own, arp->target_ip)) return false;
  answerArpInPlace(frameOf(m), *arp, mac);
  return true;
}

// Answers a neighbor solicitation for one of `own`: m then holds the
// advertisement to send (its data replaced).
bool answerSolicitation(rte_mbuf* m, const std::vector<AddrRange>& own, const MacAddr& mac) {
  auto ns = parseNd(frameOf(m));
  if (!ns || ns->type != Nd::kSolicitation || !owns(own, ns->target)) return false;
  rte_pktmbuf_reset(m);
  auto* data = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kNdFrameLen));
  return data != nullptr && buildNeighborAdvertisement({data, kNdFrameLen}, *ns, mac) != 0;
}

// An ARP request or neighbor solicitation for one of `own`, answered in m.
bool answerNeighbor(rte_mbuf* m, const std::vector<AddrRange>& own, const MacAddr& mac) {
  return answerArp(m, own, mac) || answerSolicitation(m, own, mac);
}

// Who-has `gateway` from `source` into a new mbuf: ARP for IPv4, a neighbor
// solicitation for IPv6. nullptr when the pool is empty.
rte_mbuf* gatewayRequest(const Port& port, const IpAddr& source, const IpAddr& gateway) {
  rte_mbuf* m = rte_pktmbuf_alloc(port.pool);
  const size_t len = gateway.isV4() ? kMinEthFrame : kNdFrameLen;
  auto* data = m == nullptr ? nullptr : reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
  if (data == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memset(data, 0, len);
  if (gateway.isV4()) {
    buildArpRequest({data, len}, port.mac, source, gateway);
  } else {
    buildNeighborSolicitation({data, len}, port.mac, source, gateway);
  }
  return m;
}

// The gateway's MAC if m is its ARP reply or neighbor advertisement.
std::optional<MacAddr> gatewayAnswer(rte_mbuf* m, const IpAddr& gateway) {
  if (gateway.isV4()) {
    auto arp = parseArp(frameOf(m));
    if (arp && arp->op == Arp::kReply && arp->sender_ip == gateway) return arp->sender_mac;
    return std::nullopt;
  }
  auto na = parseNd(frameOf(m));
  if (!na || na->type != Nd::kAdvertisement || na->target != gateway) return std::nullopt;
  return na->link_addr ? *na->link_addr : na->eth_src;
}

// SYN, FIN and data ask for an answer; the ACK after a SYN-ACK or FIN-ACK
// does not.
bool asksAnswer(const TcpSend& seg) {
  return (seg.fields.flags & (kTcpSyn | kTcpFin)) != 0 || seg.payload_len != 0;
}

TcpFlowConfig tcpConfig(const Options& o) {
  TcpFlowConfig c;
  c.mode = o.tcp_run == TcpRun::kConnect ? TcpMode::kConnect : TcpMode::kSteady;
  c.timeout = o.tcp_timeout_ms * rte_get_tsc_hz() / 1000;
  c.exchanges = static_cast<uint8_t>(o.exchanges);
  c.frame_len = o.frame_len;
  c.new_port = o.next_port;
  c.ports = o.source_ports;
  return c;
}

void sendAll(uint16_t port, rte_mbuf** pkts, uint16_t n) {
  const uint16_t sent = rte_eth_tx_burst(port, 0, pkts, n);
  if (sent < n) rte_pktmbuf_free_bulk(pkts + sent, n - sent);
}

}  // namespace

Result<MacAddr> resolveGateway(const Port& port, const IpAddr& source, const IpAddr& gateway,
                               const std::vector<AddrRange>& own, unsigned timeout_s,
                               const std::atomic<bool>& stop) {
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t deadline = rte_rdtsc() + timeout_s * hz;
  uint64_t next_request = 0;
  while (!stop.load() && rte_rdtsc() < deadline) {
    if (rte_rdtsc() >= next_request) {
      if (rte_mbuf* m = gatewayRequest(port, source, gateway)) sendAll(port.id, &m, 1);
      next_request = rte_rdtsc() + hz / 5;
    }
    rte_mbuf* pkts[32];
    const uint16_t n = rte_eth_rx_burst(port.id, 0, pkts, 32);
    std::optional<MacAddr> found;
    for (uint16_t i = 0; i < n; ++i) {
      if (auto mac = gatewayAnswer(pkts[i], gateway)) found = mac;
      if (answerNeighbor(pkts[i], own, port.mac)) {
        sendAll(port.id, &pkts[i], 1);
      } else {
        rte_pktmbuf_free(pkts[i]);
      }
    }
    if (found) return *found;
    rte_delay_us_sleep(1000);
  }
  return Status::error(std::string(gateway.isV4() ? "no ARP reply" : "no neighbor advertisement") +
                       " from gateway " + gateway.toString() + " within " +
                       std::to_string(timeout_s) + " s");
}

Client::Client(const Options& options, const Port& port, std::vector<UdpTuple> flows,
               const MacAddr& gateway_mac, const std::atomic<bool>& stop)
    : options_(options),
      port_(port),
      flows_(std::move(flows)),
      gateway_mac_(gateway_mac),
      stop_(stop),
      ns_per_cycle_(1e9 / static_cast<double>(rte_get_tsc_hz())),
      shares_(flows_.size()),
      window_(effectiveWindow(options), std::max<uint64_t>(kWindowStallMs, options.tcp_timeout_ms) *
                                            rte_get_tsc_hz() / 1000) {
  if (options.proto == Proto::kTcp) tcp_.emplace(flows_, tcpConfig(options));
}

void Client::run(Pod* pod) {
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_rdtsc();
  const uint64_t send_end = start + static_cast<uint64_t>(options_.duration_s * hz);
  const uint16_t burst = static_cast<uint16_t>(std::min(options_.burst, kMaxBurst));
  // Catch up at most 10 ms (or 4 bursts) after a stall; beyond that, skip.
  const uint64_t max_lag = std::max<uint64_t>(4 * burst, options_.rate_pps / 100);
  Pacer pacer(hz, options_.rate_pps, start, max_lag);
  bool sending = true;
  uint64_t drain_end = 0;
  unsigned idle_polls = 0;
  for (;;) {
    const uint64_t now = rte_rdtsc();
    const bool all_sent = options_.packets != 0 && sent_ >= options_.packets;
    if (sending && (now >= send_end || all_sent || stop_.load(std::memory_order_relaxed))) {
      sending = false;
      send_cycles_ = now - start;
      drain_end = now + options_.drain_ms * hz / 1000;
    }
    if (!sending && (received_ >= sent_ || now >= drain_end)) break;

    if (backlog_count_ != 0) flushBacklog();
    uint16_t got = receive(now, burst);
    if (pod != nullptr) got += pod->step();
    uint16_t sent = 0;
    if (sending) {
      uint64_t room = std::min<uint64_t>(burst, window_.room(now, sent_, received_));
      if (options_.packets != 0) room = std::min(room, options_.packets - sent_);
      const auto due = static_cast<uint16_t>(pacer.due(now, room));
      if (due != 0) {
        sent = tcp_ ? sendTcp(now, due) : sendBurst(now, due);
        pacer.sent(sent);
      }
    }
    bump(live_.sent, sent_);
    bump(live_.received, received_);
    bump(live_.other, tcp_ ? tcp_->counters().unmatched : unmatched_);
    if (tcp_) {
      bump(live_.completed, tcp_->counters().completed);
      bump(live_.failed, tcp_->counters().failed);
    }

    if (got != 0 || sent != 0) {
      idle_polls = 0;
    } else if (options_.idle_sleep_us != 0 && ++idle_polls >= kIdlePollsBeforeSleep) {
      // Sleep no longer than until the next packet is due.
      const uint64_t wake = sending ? pacer.nextDue(now) : now + hz;
      const uint64_t until_us = (wake - now) * 1'000'000 / hz;
      const uint64_t sleep_us = std::min<uint64_t>(options_.idle_sleep_us, until_us);
      if (sleep_us != 0) rte_delay_us_sleep(static_cast<unsigned>(sleep_us));
    } else {
      rte_pause();
    }
  }
  if (pod != nullptr) {
    // Segments that ask no answer (TCP's final ACKs) may still be on their
    // way through the device under test: let the pod see them, so its
    // totals match what was sent.
    const uint64_t end = rte_rdtsc() + hz * kPodGraceMs / 1000;
    while (rte_rdtsc() < end) {
      if (pod->step() == 0) rte_pause();
    }
  }
  if (backlog_count_ != 0) rte_pktmbuf_free_bulk(backlog_, backlog_count_);
  backlog_count_ = 0;
  skipped_ = pacer.skipped();
  live_.done.store(true, std::memory_order_release);
}

uint16_t Client::flushBacklog() {
  if (backlog_count_ == 0) return 0;
  const uint16_t sent = rte_eth_tx_burst(port_.id, 0, backlog_, backlog_count_);
  backlog_count_ = static_cast<uint16_t>(backlog_count_ - sent);
  std::memmove(backlog_, backlog_ + sent, backlog_count_ * sizeof(rte_mbuf*));
  return sent;
}

void Client::transmitTcp(rte_mbuf** pkts, uint16_t n) {
  flushBacklog();
  uint16_t sent = 0;
  if (backlog_count_ == 0) sent = rte_eth_tx_burst(port_.id, 0, pkts, n);
  const uint16_t keep = std::min<uint16_t>(n - sent, kBacklog - backlog_count_);
  std::memcpy(backlog_ + backlog_count_, pkts + sent, keep * sizeof(rte_mbuf*));
  backlog_count_ = static_cast<uint16_t>(backlog_count_ + keep);
  if (sent + keep < n) rte_pktmbuf_free_bulk(pkts + sent + keep, n - sent - keep);
}

uint16_t Client::sendTcp(uint64_t now, uint16_t count) {
  // A ring still full from the last turn takes no new segments.
  flushBacklog();
  if (backlog_count_ != 0) return 0;
  rte_mbuf* pkts[kMaxBurst];
  if (rte_pktmbuf_alloc_bulk(port_.pool, pkts, count) != 0) return 0;
  uint16_t n = 0;
  // Busy flows are passed over; visiting at most twice the burst keeps a
  // turn short when most flows wait for answers.
  const uint64_t visits = std::min<uint64_t>(flows_.size(), 2u * count);
  TcpSend seg;
  for (uint64_t v = 0; v < visits && n < count; ++v) {
    const auto flow = static_cast<uint32_t>(next_flow_);
    next_flow_ = next_flow_ + 1 == flows_.size() ? 0 : next_flow_ + 1;
    if (!tcp_->nextSegment(flow, now, seg)) continue;
    buildTcp(pkts[n++], flow, seg, now);
  }
  if (n < count) rte_pktmbuf_free_bulk(pkts + n, count - n);
  if (n != 0) transmitTcp(pkts, n);
  return n;
}

void Client::buildTcp(rte_mbuf* m, uint32_t flow, const TcpSend& seg, uint64_t now) {
  rte_pktmbuf_reset(m);
  const size_t len = tcpFrameLen(seg.tuple.src.family, seg.payload_len);
  auto* data = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
  if (data == nullptr) return;  // options cap the frame below an mbuf's room
  Probe probe;
  probe.flow = flow;
  probe.tsc = now;
  buildTcpSegment({data, len}, port_.mac, gateway_mac_, seg.tuple, seg.fields,
                  seg.payload_len != 0 ? &probe : nullptr, seg.payload_len);
  if (asksAnswer(seg)) ++sent_;
}

uint16_t Client::sendBurst(uint64_t now, uint16_t count) {
  rte_mbuf* pkts[kMaxBurst];
  if (rte_pktmbuf_alloc_bulk(port_.pool, pkts, count) != 0) return 0;
  const uint64_t first = next_flow_;
  uint64_t flow_index = first;
  for (uint16_t i = 0; i < count; ++i) {
    const auto flow = static_cast<uint32_t>(flow_index);
    flow_index = flow_index + 1 == flows_.size() ? 0 : flow_index + 1;
    const UdpTuple& tuple = flows_[flow];
    const size_t len = std::max<size_t>(options_.frame_len, minProbeFrameLen(tuple.src.family));
    auto* data =
        reinterpret_cast<uint8_t*>(rte_pktmbuf_append(pkts[i], static_cast<uint16_t>(len)));
    Probe probe;
    probe.flow = flow;
    probe.tsc = now;
    // Options cap frame_len below an mbuf's room, so append does not fail.
    if (data != nullptr) buildProbeFrame({data, len}, port_.mac, gateway_mac_, tuple, probe, len);
  }
  const uint16_t sent = rte_eth_tx_burst(port_.id, 0, pkts, count);
  if (sent < count) rte_pktmbuf_free_bulk(pkts + sent, count - sent);
  // The round-robin goes on from the first flow not sent: with a full tx
  // ring, flows must not be passed over (with millions of flows, each sent
  // once or twice, they would never be tracked at all).
  next_flow_ = (first + sent) % flows_.size();
  sent_ += sent;
  return sent;
}

uint16_t Client::receive(uint64_t now, uint16_t burst) {
  rte_mbuf* pkts[kMaxBurst];
  rte_mbuf* replies[kMaxBurst];
  rte_mbuf* done[kMaxBurst];
  uint16_t n_replies = 0;
  uint16_t n_done = 0;
  const uint16_t n = rte_eth_rx_burst(port_.id, 0, pkts, burst);
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    std::span<uint8_t> frame = frameOf(m);
    if (auto tcp = tcp_ ? parseTcp(frame) : std::nullopt) {
      if (m->nb_segs == 1 && onTcp(m, *tcp, now)) {
        replies[n_replies++] = m;
        continue;
      }
    } else if (auto view = parseUdp(frame)) {
      auto probe =
          readProbe(frame.subspan(view->payload, view->payload_len), view->tuple.src.family);
      if (probe) {
        onAnswer(*view, *probe, now);
      } else {
        ++unmatched_;
      }
    } else if (answerNeighbor(m, options_.sources, port_.mac)) {
      replies[n_replies++] = m;
      continue;
    }
    done[n_done++] = m;
  }
  if (n_replies != 0 && tcp_) {
    transmitTcp(replies, n_replies);
  } else if (n_replies != 0) {
    sendAll(port_.id, replies, n_replies);
  }
  if (n_done != 0) rte_pktmbuf_free_bulk(done, n_done);
  return n;
}

bool Client::onTcp(rte_mbuf* m, const TcpView& view, uint64_t now) {
  const TcpReceived r = tcp_->onSegment(view, now);
  if (r.kind != TcpReceived::Kind::kAccepted) return false;
  ++received_;
  window_.answered(now);
  if (r.connected) {
    connect_ns_.record(static_cast<uint64_t>(static_cast<double>(r.connect_time) * ns_per_cycle_));
  }
  if (r.echo) {
    std::span<const uint8_t> frame = frameOf(m);
    auto probe = readProbe(frame.subspan(view.payload, view.payload_len), view.tuple.src.family);
    if (probe && probe->flow == r.flow) recordAnswer(*probe, now);
  }
  TcpSend seg;
  if (!r.reply_due || !tcp_->nextSegment(r.flow, now, seg)) return false;
  buildTcp(m, r.flow, seg, now);
  return true;
}

void Client::onAnswer(const UdpView& view, const Probe& probe, uint64_t now) {
  if (probe.flow >= flows_.size() || view.tuple != flows_[probe.flow].reversed()) {
    ++unmatched_;
    return;
  }
  ++received_;
  window_.answered(now);
  recordAnswer(probe, now);
}

void Client::recordAnswer(const Probe& probe, uint64_t now) {
  if (now > probe.tsc) {
    rtt_ns_.record(static_cast<uint64_t>(static_cast<double>(now - probe.tsc) * ns_per_cycle_));
  }
  const uint16_t e = endpointIndex(probe);
  if (e == kNoEndpoint) return;
  const uint16_t left = shares_.answer(probe.flow, e);
  if (left != kNoEndpoint && left < LiveCounters::kEndpoints) {
    bump(live_.endpoint_flows[left], shares_.flowsAt(left));
    bump(live_.endpoint_moved_away[left], shares_.movedAway(left));
  }
  if (e < LiveCounters::kEndpoints) bump(live_.endpoint_flows[e], shares_.flowsAt(e));
}

uint16_t Client::endpointIndex(const Probe& probe) {
  const EndpointKey key{probe.pod, probe.endpoint};
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (endpoints_[i] == key) return static_cast<uint16_t>(i);
  }
  if (endpoints_.size() >= kMaxEndpoints) return kNoEndpoint;
  const uint16_t index = shares_.addEndpoint();
  endpoints_.push_back(key);
  if (index < LiveCounters::kEndpoints) {
    const std::string label =
        key.address ? key.address->toString() : "pod " + std::to_string(key.pod);
    std::snprintf(live_.endpoint_label[index], LiveCounters::kLabelLen, "%s", label.c_str());
    live_.endpoints.store(static_cast<uint32_t>(index + 1), std::memory_order_release);
  }
  return index;
}

ClientReport Client::report() const {
  ClientReport r;
  r.duration_s = static_cast<double>(send_cycles_) / static_cast<double>(rte_get_tsc_hz());
  r.offered_pps = options_.rate_pps;
  r.flows = flows_.size();
  r.sent = sent_;
  r.received = received_;
  r.unmatched = tcp_ ? tcp_->counters().unmatched : unmatched_;
  r.skipped = skipped_;
  r.window = window_.limit();
  r.written_off = window_.writtenOff();
  r.rtt_ns = rtt_ns_;
  for (uint16_t i = 0; i < endpoints_.size(); ++i) {
    r.endpoints.push_back({endpoints_[i].pod, endpoints_[i].address, shares_.flowsAt(i),
                           shares_.repliesFrom(i), shares_.movedAway(i), shares_.movedIn(i)});
  }
  r.flows_answered = shares_.flowsAnswered();
  r.flows_moved = shares_.flowsMoved();
  if (tcp_) {
    const TcpCounters& c = tcp_->counters();
    TcpReport t;
    t.connect_mode = options_.tcp_run == TcpRun::kConnect;
    t.connects = c.connects;
    t.established = c.established;
    t.completed = c.completed;
    t.failed = c.failed;
    t.reset = c.reset;
    t.stale = c.stale;
    t.unfinished = tcp_->busy();
    t.segments_sent = c.segments_sent;
    t.segments_received = c.segments_received;
    t.connect_ns = connect_ns_;
    r.tcp = t;
  }
  return r;
}

}  // namespace sluice::pktgen
