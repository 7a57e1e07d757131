#include "tools/pktgen/tcp_flows.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dp/conntrack.h"
#include "dp/eth.h"
#include "tests/unit/pktgen/frame_check.h"

namespace sluice::pktgen {
namespace {

using check::Bytes;

constexpr uint64_t kTimeout = 1000;
constexpr uint64_t kOneWay = 3;  // clock units from one side to the other
constexpr uint16_t kPodId = 4;

using check::ip;
using check::kClientMac;
using check::kGatewayMac;
using check::kPodMac;

std::string nameOf(const UdpTuple& t) {
  return t.src.toString() + ":" + std::to_string(t.sport) + ">" + t.dst.toString() + ":" +
         std::to_string(t.dport);
}

dp::FlowKey keyOf(const UdpTuple& t) {
  dp::FlowKey k{};
  k.family = static_cast<uint8_t>(t.src.family);
  k.proto = kProtoTcp;
  dp::storeBe16(reinterpret_cast<uint8_t*>(&k.sport), t.sport);
  dp::storeBe16(reinterpret_cast<uint8_t*>(&k.dport), t.dport);
  std::memcpy(k.src, t.src.bytes.data(), t.src.size());
  std::memcpy(k.dst, t.dst.bytes.data(), t.dst.size());
  return k;
}

// Sluice in the middle: its conntrack, fed as dp/lb.cc feeds it (a flow is
// created only by a bare client SYN; answers pass only for tracked flows),
// and the sequence numbers each side must use given what the other sent
// through it. A segment out of sequence is a test failure.
class Gateway {
 public:
  Gateway() {
    const dp::ConntrackTimeouts timeouts{1'000'000, 1'000'000, 1'000'000, 1'000'000, 1'000'000};
    auto ct = dp::Conntrack::create(1024, timeouts);
    EXPECT_TRUE(ct.isOk());
    ct_ = std::move(ct.value());
  }

  // A client segment on its way to the pod; false when Sluice drops it.
  bool fromClient(const TcpView& v, uint64_t now) {
    const uint8_t flags = v.fields.flags;
    dp::Conntrack::Hit hit = ct_->lookup(keyOf(v.tuple), now);
    dp::Flow* f = hit.flow;
    if (f == nullptr) {
      if ((flags & (kTcpSyn | kTcpAck | kTcpRst)) != kTcpSyn) return drop();
      f = ct_->insert(keyOf(v.tuple), keyOf(v.tuple.reversed()), now).flow;
      if (f == nullptr) return drop();
    } else if (hit.is_reply) {
      return drop();
    }
    ct_->update(f, false, flags, now);

    Seq& s = seq_[nameOf(v.tuple)];
    const std::string what = nameOf(v.tuple) + " client flags " + std::to_string(flags);
    if ((flags & kTcpSyn) != 0) {
      s = Seq{};
      s.client_next = v.fields.seq + 1;
      return true;
    }
    EXPECT_EQ(v.fields.seq, s.client_next) << what;
    if ((flags & kTcpAck) != 0) {
      EXPECT_EQ(v.fields.ack, s.pod_next) << what;
    }
    s.client_next += static_cast<uint32_t>(v.payload_len) + ((flags & kTcpFin) != 0);
    return true;
  }

  // A pod segment on its way to the client; false when Sluice drops it.
  bool fromPod(const TcpView& v, uint64_t now) {
    dp::Conntrack::Hit hit = ct_->lookup(keyOf(v.tuple), now);
    if (hit.flow == nullptr || !hit.is_reply) return drop();
    ct_->update(hit.flow, true, v.fields.flags, now);

    Seq& s = seq_[nameOf(v.tuple.reversed())];
    const std::string what = nameOf(v.tuple) + " pod flags " + std::to_string(v.fields.flags);
    EXPECT_EQ(v.fields.ack, s.client_next) << what;
    if ((v.fields.flags & kTcpSyn) != 0) {
      s.pod_next = v.fields.seq + 1;
    } else {
      EXPECT_EQ(v.fields.seq, s.pod_next) << what;
      s.pod_next += static_cast<uint32_t>(v.payload_len) + ((v.fields.flags & kTcpFin) != 0);
    }
    return true;
  }

  std::optional<dp::TcpState> stateOf(const UdpTuple& client_tuple, uint64_t now) {
    dp::Flow* f = ct_->lookup(keyOf(client_tuple), now).flow;
    if (f == nullptr) return std::nullopt;
    return f->tcp;
  }
  uint32_t tracked() const { return ct_->size(); }
  uint64_t drops() const { return drops_; }

 private:
  struct Seq {
    uint32_t client_next = 0;
    uint32_t pod_next = 0;
  };
  bool drop() {
    ++drops_;
    return false;
  }

  std::unique_ptr<dp::Conntrack> ct_;
  std::map<std::string, Seq> seq_;
  uint64_t drops_ = 0;
};

// The client's state machine against the pod's answer function through
// the gateway, all in memory. `lose` decides, per segment past the gateway,
// whether it is lost on the way on; lost segments are kept.
class Conversation {
 public:
  Conversation(std::vector<UdpTuple> flows, const TcpFlowConfig& config)
      : flows_(std::move(flows)), client_(flows_, config) {}

  // A paced turn for `flow` at `now`: its segment and everything that
  // follows at once (answers, the client's immediate replies). False when
  // the flow had nothing to send.
  bool turn(uint32_t flow, uint64_t now) {
    TcpSend send;
    if (!client_.nextSegment(flow, now, send)) return false;
    for (;;) {
      Bytes f(tcpFrameLen(send.tuple.src.family, send.payload_len));
      Probe probe;
      probe.flow = send.fields.ts_val;
      probe.tsc = now;
      EXPECT_EQ(buildTcpSegment(f, kClientMac, kGatewayMac, send.tuple, send.fields,
                                send.payload_len != 0 ? &probe : nullptr, send.payload_len),
                f.size());
      sent_.push_back({send.tuple.sport, send.fields.flags});
      auto v = parseTcp(f);
      EXPECT_TRUE(v);
      if (!v || !gateway_.fromClient(*v, now) || isLost(f, *v, true)) return true;
      now += kOneWay;
      const size_t len = answerTcpInPlace(f, *v, kPodMac, kPodId);
      if (len == 0) return true;
      f.resize(len);
      auto a = parseTcp(f);
      EXPECT_TRUE(a);
      if (!a || !gateway_.fromPod(*a, now) || isLost(f, *a, false)) return true;
      now += kOneWay;
      const TcpReceived r = receive(f, now);
      if (!r.reply_due) return true;
      EXPECT_TRUE(client_.nextSegment(r.flow, now, send));
    }
  }

  // Hands `frame` (an answer) to the client at `now`.
  TcpReceived receive(const Bytes& frame, uint64_t now) {
    auto a = parseTcp(frame);
    EXPECT_TRUE(a);
    const TcpReceived r = client_.onSegment(*a, now);
    if (r.connected) connect_times_.push_back(r.connect_time);
    if (r.echo) {
      auto probe =
          readProbe(std::span(frame).subspan(a->payload, a->payload_len), a->tuple.src.family);
      EXPECT_TRUE(probe);
      if (probe) {
        EXPECT_EQ(probe->flow, r.flow);
        EXPECT_EQ(probe->pod, kPodId);
        EXPECT_EQ(probe->endpoint, flows_[r.flow].dst);
        EXPECT_EQ(now - probe->tsc, 2 * kOneWay);
      }
    }
    return r;
  }

  struct Sent {
    uint16_t sport;
    uint8_t flags;
    friend bool operator==(const Sent&, const Sent&) = default;
  };

  std::vector<UdpTuple> flows_;
  TcpFlows client_;
  Gateway gateway_;
  std::function<bool(const TcpView&, bool from_client)> lose_;
  std::vector<Bytes> lost_;
  std::vector<Sent> sent_;
  std::vector<uint64_t> connect_times_;

 private:
  bool isLost(const Bytes& frame, const TcpView& v, bool from_client) {
    if (!lose_ || !lose_(v, from_client)) return false;
    lost_.push_back(frame);
    return true;
  }
};

std::vector<UdpTuple> someFlows() {
  return {{ip("192.168.80.2"), ip("10.96.0.10"), 10000, 80},
          {ip("192.168.80.3"), ip("10.96.0.10"), 10000, 80},
          {ip("fd80::2"), ip("fd00:96::10"), 10001, 443}};
}

TcpFlowConfig configOf(TcpMode mode) {
  TcpFlowConfig c;
  c.mode = mode;
  c.timeout = kTimeout;
  return c;
}

constexpr uint8_t kData = kTcpAck | kTcpPsh;

TEST(TcpFlows, StateIsCompact) {
  EXPECT_LE(TcpFlows::kBytesPerFlow, 24u);
  std::printf("TCP client state: %zu bytes per flow, %.0f MB for 10 million flows\n",
              TcpFlows::kBytesPerFlow, TcpFlows::kBytesPerFlow * 10e6 / 1e6);
}

TEST(TcpFlows, SteadyShakesHandsOnceThenSendsEchoedData) {
  Conversation c(someFlows(), configOf(TcpMode::kSteady));
  uint64_t now = 100;
  for (unsigned round = 0; round < 10; ++round) {
    for (uint32_t flow = 0; flow < 3; ++flow) {
      ASSERT_TRUE(c.turn(flow, now));
      EXPECT_EQ(c.client_.busy(), 0u);  // every exchange completed
      now += 10;
    }
  }
  const TcpCounters& k = c.client_.counters();
  EXPECT_EQ(k.connects, 3u);
  EXPECT_EQ(k.established, 3u);
  EXPECT_EQ(k.echoes, 30u);
  EXPECT_EQ(k.segments_sent, 33u);
  EXPECT_EQ(k.segments_received, 33u);
  EXPECT_EQ(k.failed + k.stale + k.unmatched + k.reset + k.completed, 0u);
  EXPECT_EQ(c.gateway_.drops(), 0u);
  EXPECT_EQ(c.connect_times_, std::vector<uint64_t>(3, 2 * kOneWay));
  for (const UdpTuple& t : c.flows_) {
    EXPECT_EQ(c.gateway_.stateOf(t, now), dp::TcpState::kEstablished) << nameOf(t);
  }
  // Flow 0 sent SYN, then only data (the first with the handshake's ACK).
  ASSERT_GE(c.sent_.size(), 3u);
  EXPECT_EQ(c.sent_[0], (Conversation::Sent{10000, kTcpSyn}));
  EXPECT_EQ(c.sent_[1], (Conversation::Sent{10000, kData}));
  EXPECT_EQ(c.sent_[2], (Conversation::Sent{10000, kTcpSyn}));  // flow 1's turn
}

TEST(TcpFlows, ConnectRunsWholeConnectionsOnTheSameTuple) {
  TcpFlowConfig config = configOf(TcpMode::kConnect);
  config.exchanges = 2;
  Conversation c(someFlows(), config);
  uint64_t now = 100;
  for (unsigned round = 0; round < 5; ++round) {
    for (uint32_t flow = 0; flow < 3; ++flow) {
      ASSERT_TRUE(c.turn(flow, now));
      EXPECT_EQ(c.client_.busy(), 0u);
      EXPECT_EQ(c.gateway_.stateOf(c.flows_[flow], now), dp::TcpState::kClosed);
      now += 10;
    }
  }
  const TcpCounters& k = c.client_.counters();
  EXPECT_EQ(k.connects, 15u);
  EXPECT_EQ(k.established, 15u);
  EXPECT_EQ(k.completed, 15u);
  EXPECT_EQ(k.echoes, 30u);
  // SYN, data, data, FIN, final ACK; SYN-ACK, echo, echo, FIN-ACK.
  EXPECT_EQ(k.segments_sent, 15u * 5);
  EXPECT_EQ(k.segments_received, 15u * 4);
  EXPECT_EQ(k.failed + k.stale + k.unmatched + k.reset, 0u);
  EXPECT_EQ(c.gateway_.drops(), 0u);
  EXPECT_EQ(c.gateway_.tracked(), 3u);  // each flow reopened its closed entry
  const std::vector<Conversation::Sent> one = {{10000, kTcpSyn},
                                               {10000, kData},
                                               {10000, kData},
                                               {10000, kTcpFin | kTcpAck},
                                               {10000, kTcpAck}};
  EXPECT_EQ(std::vector<Conversation::Sent>(c.sent_.begin(), c.sent_.begin() + 5), one);
}

TEST(TcpFlows, ConnectWithNewPortsStepsThroughTheFlowsOwnClass) {
  // Two flows on ports 10000 and 10001 of 10000-10006: classes of two ports,
  // three of them (10006 is left over); flow 0 cycles 10000, 10002, 10004.
  std::vector<UdpTuple> flows = {{ip("192.168.80.2"), ip("10.96.0.10"), 10000, 80},
                                 {ip("192.168.80.2"), ip("10.96.0.10"), 10001, 80}};
  TcpFlowConfig config = configOf(TcpMode::kConnect);
  config.new_port = true;
  config.ports = {10000, 7};
  Conversation c(flows, config);
  uint64_t now = 100;
  std::vector<uint16_t> ports[2];
  for (unsigned round = 0; round < 4; ++round) {
    for (uint32_t flow = 0; flow < 2; ++flow) {
      const size_t first = c.sent_.size();
      ASSERT_TRUE(c.turn(flow, now));
      ports[flow].push_back(c.sent_[first].sport);
      now += 10;
    }
  }
  EXPECT_EQ(ports[0], (std::vector<uint16_t>{10000, 10002, 10004, 10000}));
  EXPECT_EQ(ports[1], (std::vector<uint16_t>{10001, 10003, 10005, 10001}));
  EXPECT_EQ(c.client_.counters().completed, 8u);
  EXPECT_EQ(c.gateway_.tracked(), 6u);
  EXPECT_EQ(c.gateway_.drops(), 0u);
}

TEST(TcpFlows, SteadyLostEchoTimesOutAndTheFlowStartsOver) {
  Conversation c(someFlows(), configOf(TcpMode::kSteady));
  ASSERT_TRUE(c.turn(0, 100));  // handshake and the first echo
  int to_lose = 1;
  c.lose_ = [&](const TcpView& v, bool from_client) {
    return !from_client && v.payload_len != 0 && to_lose-- > 0;
  };
  ASSERT_TRUE(c.turn(0, 200));
  ASSERT_EQ(c.lost_.size(), 1u);
  EXPECT_EQ(c.client_.busy(), 1u);
  EXPECT_FALSE(c.turn(0, 200 + kTimeout - 1));  // still waiting
  EXPECT_EQ(c.client_.counters().failed, 0u);
  const size_t before = c.sent_.size();
  ASSERT_TRUE(c.turn(0, 200 + kTimeout));  // overdue: a new SYN, new handshake, data
  ASSERT_EQ(c.sent_.size(), before + 2);
  EXPECT_EQ(c.sent_[before].flags, kTcpSyn);
  const TcpCounters& k = c.client_.counters();
  EXPECT_EQ(k.failed, 1u);
  EXPECT_EQ(k.connects, 2u);
  EXPECT_EQ(k.echoes, 2u);
  EXPECT_EQ(c.client_.busy(), 0u);
  EXPECT_EQ(c.gateway_.drops(), 0u);
  EXPECT_EQ(c.gateway_.stateOf(c.flows_[0], 2000), dp::TcpState::kEstablished);

  // The lost echo turns up late: it belongs to the old connection.
  const TcpReceived late = c.receive(c.lost_[0], 2000);
  EXPECT_EQ(late.kind, TcpReceived::Kind::kStale);
  EXPECT_EQ(c.client_.counters().stale, 1u);
  EXPECT_EQ(c.client_.counters().echoes, 2u);
  EXPECT_TRUE(c.turn(0, 2100));  // and the flow carries on
  EXPECT_EQ(c.client_.counters().echoes, 3u);
}

TEST(TcpFlows, ConnectRecoversFromEachLostStep) {
  // Lose, once each: a SYN before the pod, a SYN-ACK, an echo, a FIN-ACK.
  struct Loss {
    bool from_client;
    uint8_t flags;
  };
  for (const Loss& loss : {Loss{true, kTcpSyn}, Loss{false, kTcpSyn | kTcpAck}, Loss{false, kData},
                           Loss{false, kTcpFin | kTcpAck}}) {
    SCOPED_TRACE("lost flags " + std::to_string(loss.flags));
    Conversation c(someFlows(), configOf(TcpMode::kConnect));
    ASSERT_TRUE(c.turn(1, 100));  // one whole connection first
    int to_lose = 1;
    c.lose_ = [&](const TcpView& v, bool from_client) {
      return from_client == loss.from_client && v.fields.flags == loss.flags && to_lose-- > 0;
    };
    ASSERT_TRUE(c.turn(1, 200));
    ASSERT_EQ(c.lost_.size(), 1u);
    EXPECT_EQ(c.client_.busy(), 1u);
    EXPECT_EQ(c.client_.counters().completed, 1u);
    EXPECT_FALSE(c.turn(1, 300));
    ASSERT_TRUE(c.turn(1, 200 + 2 * kTimeout));
    const TcpCounters& k = c.client_.counters();
    EXPECT_EQ(k.failed, 1u);
    EXPECT_EQ(k.completed, 2u);
    EXPECT_EQ(k.connects, 3u);
    EXPECT_EQ(c.client_.busy(), 0u);
    EXPECT_EQ(c.gateway_.drops(), 0u);
    EXPECT_EQ(c.gateway_.stateOf(c.flows_[1], 3000), dp::TcpState::kClosed);
  }
}

// A segment without payload toward the client, answering `sent`.
Bytes answerTo(const TcpSend& sent, uint8_t flags, uint32_t ts_ecr) {
  TcpFields f;
  f.flags = flags;
  f.ack = sent.fields.seq + 1;
  f.ts_ecr = ts_ecr;
  Bytes frame(tcpFrameLen(sent.tuple.src.family, 0));
  EXPECT_EQ(buildTcpSegment(frame, kPodMac, kClientMac, sent.tuple.reversed(), f, nullptr, 0),
            frame.size());
  return frame;
}

TEST(TcpFlows, ResetEndsTheConnection) {
  Conversation c(someFlows(), configOf(TcpMode::kSteady));
  TcpSend syn;
  ASSERT_TRUE(c.client_.nextSegment(2, 100, syn));
  // What sluiced sends when the flow's endpoint is gone: RST from the VIP.
  const Bytes rst = answerTo(syn, kTcpRst | kTcpAck, 2);
  EXPECT_EQ(c.receive(rst, 110).kind, TcpReceived::Kind::kAccepted);
  EXPECT_EQ(c.client_.counters().reset, 1u);
  EXPECT_EQ(c.client_.busy(), 0u);
  // A RST for a flow that waits for nothing is stale.
  EXPECT_EQ(c.receive(rst, 115).kind, TcpReceived::Kind::kStale);
  EXPECT_EQ(c.client_.counters().reset, 1u);
  TcpSend again;
  ASSERT_TRUE(c.client_.nextSegment(2, 120, again));
  EXPECT_EQ(again.fields.flags, kTcpSyn);
  EXPECT_NE(again.fields.seq, syn.fields.seq);
}

TEST(TcpFlows, ForeignAndDuplicateSegmentsAreNotAccepted) {
  Conversation c(someFlows(), configOf(TcpMode::kSteady));
  ASSERT_TRUE(c.turn(0, 100));

  // The SYN-ACK of flow 0's first connection, again: flow 0 is established.
  TcpSend syn;
  Conversation fresh(someFlows(), configOf(TcpMode::kSteady));
  ASSERT_TRUE(fresh.client_.nextSegment(0, 100, syn));
  EXPECT_EQ(c.receive(answerTo(syn, kTcpSyn | kTcpAck, 0), 200).kind, TcpReceived::Kind::kStale);

  auto unmatched = [&](const Bytes& frame) {
    const uint64_t before = c.client_.counters().unmatched;
    EXPECT_EQ(c.receive(frame, 200).kind, TcpReceived::Kind::kUnmatched);
    EXPECT_EQ(c.client_.counters().unmatched, before + 1);
  };
  unmatched(answerTo(syn, kTcpSyn | kTcpAck, 3));  // flow index (TSecr) out of range
  unmatched(answerTo(syn, kTcpSyn | kTcpAck, 1));  // another flow's index on this tuple
  Bytes no_timestamps = answerTo(syn, kTcpSyn | kTcpAck, 0);
  no_timestamps[34 + 12] = 5 << 4;
  unmatched(no_timestamps);
  EXPECT_EQ(c.client_.counters().segments_received, 2u);
}

TEST(TcpFlows, DataSegmentsFillTheFrameLength) {
  TcpFlowConfig config = configOf(TcpMode::kSteady);
  config.frame_len = 300;
  const std::vector<UdpTuple> tuples = someFlows();
  Conversation c(tuples, config);
  ASSERT_TRUE(c.turn(0, 100));
  ASSERT_TRUE(c.turn(2, 100));
  TcpSend send;
  ASSERT_TRUE(c.client_.nextSegment(0, 200, send));
  EXPECT_EQ(tcpFrameLen(Family::kV4, send.payload_len), 300u);
  ASSERT_TRUE(c.client_.nextSegment(2, 200, send));
  EXPECT_EQ(tcpFrameLen(Family::kV6, send.payload_len), 300u);
  // Below a probe's frame: a probe's worth.
  config.frame_len = 60;
  Conversation small(tuples, config);
  ASSERT_TRUE(small.turn(0, 100));
  ASSERT_TRUE(small.client_.nextSegment(0, 200, send));
  EXPECT_EQ(send.payload_len, probeLen(Family::kV4));
}

}  // namespace
}  // namespace sluice::pktgen
