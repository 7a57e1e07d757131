// The client's TCP connections: one compact state machine per flow, driven
// by the client loop. Pure: no DPDK, any clock (TSC in the tool, a counter
// in tests).
//
// Steady mode: each flow shakes hands once and then sends data segments,
// each carrying a probe that the pod echoes. Connect mode: each flow runs
// connection after connection: SYN, SYN-ACK in, ACK + data, echo in (as
// many exchanges as configured), FIN, FIN-ACK in, final ACK; the next SYN
// goes on the same tuple (Sluice's conntrack reopens a closed flow on a new
// SYN) or, with new_port, from the next source port of the flow's own class
// of ports, a new conntrack entry each time.
//
// One segment per flow is outstanding at a time, so sequence numbers never
// overlap and every answer is checked exactly (ack = what we sent, seq =
// what the pod sent so far). A connection whose awaited answer has not come
// within `timeout` fails: it is counted and the flow starts over with a new
// SYN (new ISN) the next time nextSegment is called for it.
//
// How the loop drives it: on a paced turn call nextSegment for a flow (it
// says false when that flow is waiting for an answer); for every received
// segment call onSegment, and when it says reply_due, call nextSegment for
// that flow right away (the ACK after a SYN-ACK, the FIN after the last
// echo, the final ACK).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tools/pktgen/flows.h"
#include "tools/pktgen/frame.h"
#include "tools/pktgen/tcp_frame.h"

namespace sluice::pktgen {

enum class TcpMode : uint8_t { kSteady, kConnect };

struct TcpFlowConfig {
  TcpMode mode = TcpMode::kSteady;
  uint64_t timeout = 0;   // clock units without the awaited answer before a connection fails
  uint8_t exchanges = 1;  // connect: echoed data segments per connection, at least 1
  size_t frame_len = 0;   // data segments: this frame length, at least a probe's
  bool new_port = false;  // connect: the next connection from the next port of the class
  PortRange ports;        // the source port range the flows were made from (new_port)
};

struct TcpCounters {
  uint64_t connects = 0;     // SYNs that opened a connection (not counting retries)
  uint64_t established = 0;  // SYN-ACKs accepted
  uint64_t completed = 0;    // connect mode: connections closed by the final ACK
  uint64_t failed = 0;       // connections that timed out waiting for an answer
  uint64_t reset = 0;        // connections the other side reset
  uint64_t segments_sent = 0;
  uint64_t segments_received = 0;  // accepted answers
  uint64_t stale = 0;              // ours, but not what the flow waits for (late, duplicate)
  uint64_t unmatched = 0;          // not an answer to one of our flows
  uint64_t echoes = 0;             // data segments echoed back
};

// What nextSegment asks the loop to send.
struct TcpSend {
  UdpTuple tuple;  // client -> VIP, with the connection's source port
  TcpFields fields;
  size_t payload_len = 0;  // 0, or a probe's worth or more: carry a probe then
};

// What onSegment made of a received segment.
struct TcpReceived {
  enum class Kind : uint8_t { kAccepted, kStale, kUnmatched };
  Kind kind = Kind::kUnmatched;
  uint32_t flow = 0;
  bool echo = false;          // our data came back: its probe has the RTT and endpoint
  bool reply_due = false;     // call nextSegment(flow) now
  bool connected = false;     // a SYN-ACK: connect_time is set
  uint64_t connect_time = 0;  // clock units from our SYN to its SYN-ACK
};

class TcpFlows {
 public:
  // `flows` must outlive this object; indices into it are the flow ids
  // (carried in TSval, so at most 2^32 flows).
  TcpFlows(std::span<const UdpTuple> flows, const TcpFlowConfig& config);

  // The segment to send now for `flow`, written to out; false when the flow
  // waits for an answer that is not overdue yet. Counts the segment as sent:
  // a segment the loop then fails to send is lost like any other.
  bool nextSegment(uint32_t flow, uint64_t now, TcpSend& out);
  TcpReceived onSegment(const TcpView& view, uint64_t now);

  // Flows with a connection under way (waiting for an answer or with a
  // reply due): zero means everything sent has been answered.
  uint64_t busy() const { return busy_; }
  const TcpCounters& counters() const { return counters_; }
  size_t size() const { return state_.size(); }

  // The per-flow state, for sizing: 10 million flows take 240 MB here.
  struct State {
    uint64_t sent_at;  // clock when the awaited segment went
    uint32_t snd_nxt;  // our next sequence number
    uint32_t rcv_nxt;  // the pod's next sequence number: what we ack
    uint16_t sport;    // the connection's source port
    uint8_t phase;
    uint8_t left;  // connect: exchanges left in this connection
  };
  static constexpr size_t kBytesPerFlow = sizeof(State);

 private:
  void setPhase(State& s, uint8_t phase);
  void openConnection(uint32_t flow, State& s, uint64_t now, TcpSend& out);
  void fill(uint32_t flow, const State& s, uint8_t flags, size_t payload_len, TcpSend& out);
  uint16_t nextPort(uint16_t sport) const;
  size_t dataPayloadLen(const UdpTuple& tuple) const;

  std::span<const UdpTuple> flows_;
  TcpFlowConfig config_;
  // new_port: ports [first, first + port_class_) are the flows' own; a flow
  // steps by port_class_ through port_cycle_ classes, so flows never share.
  uint32_t port_class_ = 1;
  uint32_t port_cycle_ = 1;
  std::vector<State> state_;
  uint64_t busy_ = 0;
  TcpCounters counters_;
};

}  // namespace sluice::pktgen
