#include "tools/pktgen/tcp_flows.h"

#include <algorithm>

namespace sluice::pktgen {
namespace {

// Phases of a flow. Resting: nothing under way (fresh, closed, established
// and idle); the others wait for an answer or have a reply due.
enum Phase : uint8_t {
  kFresh,        // never connected
  kClosed,       // the last connection ended (closed, failed or reset)
  kSynSent,      // waits for the SYN-ACK
  kAckDue,       // SYN-ACK in: the ACK with the first data is due
  kDataSent,     // waits for the echo
  kEstablished,  // steady: echo in, the next data goes on the next turn
  kDataDue,      // connect: echo in, more exchanges to go
  kFinDue,       // connect: last echo in, the FIN is due
  kFinSent,      // waits for the FIN-ACK
  kLastAckDue,   // FIN-ACK in: the final ACK is due
};

bool resting(uint8_t phase) {
  return phase == kFresh || phase == kClosed || phase == kEstablished;
}

bool awaiting(uint8_t phase) {
  return phase == kSynSent || phase == kDataSent || phase == kFinSent;
}

// Flags that decide what a segment is; PSH and the rest do not matter here.
constexpr uint8_t kKindFlags = kTcpSyn | kTcpAck | kTcpFin | kTcpRst;
// A new connection's ISN lies this far beyond everything the last one used,
// so a late answer to the old connection can never match the new one (ISNs
// that grow, as RFC 9293's clock-driven ones do).
constexpr uint32_t kIsnStep = 1u << 20;
// Spreads first ISNs over the sequence space (Knuth's multiplicative hash).
constexpr uint32_t kIsnSpread = 2654435761u;

}  // namespace

static_assert(TcpFlows::kBytesPerFlow <= 24, "10 million flows in 240 MB");

TcpFlows::TcpFlows(std::span<const UdpTuple> flows, const TcpFlowConfig& config)
    : flows_(flows), config_(config), state_(flows.size()) {
  config_.exchanges = std::max<uint8_t>(config_.exchanges, 1);
  for (size_t i = 0; i < flows.size(); ++i) {
    State& s = state_[i];
    s = State{};
    s.sport = flows[i].sport;
    s.phase = kFresh;
    s.snd_nxt = static_cast<uint32_t>(i) * kIsnSpread;
    if (config_.new_port && flows[i].sport >= config_.ports.first) {
      port_class_ = std::max<uint32_t>(port_class_, flows[i].sport - config_.ports.first + 1u);
    }
  }
  port_cycle_ = std::max<uint32_t>(1, config_.ports.count / port_class_);
}

void TcpFlows::setPhase(State& s, uint8_t phase) {
  const bool was_busy = !resting(s.phase);
  const bool is_busy = !resting(phase);
  busy_ = busy_ + is_busy - was_busy;
  s.phase = phase;
}

uint16_t TcpFlows::nextPort(uint16_t sport) const {
  if (!config_.new_port || sport < config_.ports.first) return sport;
  const uint32_t index = sport - config_.ports.first;
  const uint32_t cls = index / port_class_;
  if (cls >= port_cycle_) return sport;  // outside the cycle: cannot step safely
  const uint32_t next = (cls + 1) % port_cycle_;
  return static_cast<uint16_t>(config_.ports.first + next * port_class_ + index % port_class_);
}

size_t TcpFlows::dataPayloadLen(const UdpTuple& tuple) const {
  const size_t headers = tcpFrameLen(tuple.src.family, 0);
  const size_t probe = probeLen(tuple.src.family);
  return config_.frame_len > headers + probe ? config_.frame_len - headers : probe;
}

void TcpFlows::fill(uint32_t flow, const State& s, uint8_t flags, size_t payload_len,
                    TcpSend& out) {
  out.tuple = flows_[flow];
  out.tuple.sport = s.sport;
  out.fields = TcpFields{};
  out.fields.seq = s.snd_nxt;
  out.fields.ack = (flags & kTcpAck) != 0 ? s.rcv_nxt : 0;
  out.fields.flags = flags;
  out.fields.ts_val = flow;
  out.payload_len = payload_len;
  ++counters_.segments_sent;
}

void TcpFlows::openConnection(uint32_t flow, State& s, uint64_t now, TcpSend& out) {
  if (s.phase != kFresh) {
    s.sport = nextPort(s.sport);
    s.snd_nxt += kIsnStep;
  }
  s.rcv_nxt = 0;
  s.left = config_.exchanges;
  fill(flow, s, kTcpSyn, 0, out);
  s.snd_nxt += 1;  // the SYN takes one sequence number
  s.sent_at = now;
  setPhase(s, kSynSent);
  ++counters_.connects;
}

bool TcpFlows::nextSegment(uint32_t flow, uint64_t now, TcpSend& out) {
  State& s = state_[flow];
  switch (s.phase) {
    case kSynSent:
    case kDataSent:
    case kFinSent:
      if (now - s.sent_at < config_.timeout) return false;
      ++counters_.failed;
      [[fallthrough]];
    case kFresh:
    case kClosed:
      openConnection(flow, s, now, out);
      return true;
    case kAckDue:
    case kEstablished:
    case kDataDue: {
      const size_t len = dataPayloadLen(flows_[flow]);
      fill(flow, s, kTcpAck | kTcpPsh, len, out);
      s.snd_nxt += static_cast<uint32_t>(len);
      s.sent_at = now;
      setPhase(s, kDataSent);
      return true;
    }
    case kFinDue:
      fill(flow, s, kTcpFin | kTcpAck, 0, out);
      s.snd_nxt += 1;
      s.sent_at = now;
      setPhase(s, kFinSent);
      return true;
    case kLastAckDue:
      fill(flow, s, kTcpAck, 0, out);
      ++counters_.completed;
      setPhase(s, kClosed);
      return true;
    default:
      return false;
  }
}

TcpReceived TcpFlows::onSegment(const TcpView& view, uint64_t now) {
  TcpReceived r;
  if (!view.has_timestamps || view.fields.ts_ecr >= state_.size()) {
    ++counters_.unmatched;
    return r;
  }
  r.flow = view.fields.ts_ecr;
  const UdpTuple& base = flows_[r.flow];
  const UdpTuple answered = view.tuple.reversed();
  if (answered.src != base.src || answered.dst != base.dst || answered.dport != base.dport) {
    ++counters_.unmatched;
    return r;
  }
  State& s = state_[r.flow];
  const TcpFields& f = view.fields;
  const uint8_t kind = f.flags & kKindFlags;
  bool accepted = false;
  if (answered.sport != s.sport) {
    // An earlier connection's port: stale below.
  } else if (awaiting(s.phase) && (kind & kTcpRst) != 0) {
    ++counters_.reset;
    setPhase(s, kClosed);
    accepted = true;
  } else if (s.phase == kSynSent && kind == (kTcpSyn | kTcpAck) && f.ack == s.snd_nxt) {
    s.rcv_nxt = f.seq + 1;
    ++counters_.established;
    r.connected = true;
    r.connect_time = now - s.sent_at;
    r.reply_due = true;
    setPhase(s, kAckDue);
    accepted = true;
  } else if (s.phase == kDataSent && kind == kTcpAck && f.ack == s.snd_nxt && f.seq == s.rcv_nxt &&
             view.payload_len != 0) {
    s.rcv_nxt += static_cast<uint32_t>(view.payload_len);
    ++counters_.echoes;
    r.echo = true;
    if (config_.mode == TcpMode::kSteady) {
      setPhase(s, kEstablished);
    } else {
      setPhase(s, --s.left > 0 ? kDataDue : kFinDue);
      r.reply_due = true;
    }
    accepted = true;
  } else if (s.phase == kFinSent && kind == (kTcpFin | kTcpAck) && f.ack == s.snd_nxt &&
             f.seq == s.rcv_nxt) {
    s.rcv_nxt += 1;  // their FIN
    r.reply_due = true;
    setPhase(s, kLastAckDue);
    accepted = true;
  }
  if (!accepted) {
    ++counters_.stale;
    r.kind = TcpReceived::Kind::kStale;
    return r;
  }
  ++counters_.segments_received;
  r.kind = TcpReceived::Kind::kAccepted;
  return r;
}

}  // namespace sluice::pktgen
