#include "tools/pktgen/tcp_frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/unit/pktgen/frame_check.h"

namespace sluice::pktgen {
namespace {

using check::at16;
using check::at32;
using check::Bytes;

using check::ip;
using check::kClientMac;
using check::kGatewayMac;
using check::kPodMac;

const UdpTuple kV4{ip("192.168.80.2"), ip("10.96.0.10"), 40000, 80};
const UdpTuple kV6{ip("fd80::2"), ip("fd00:96::10"), 40001, 443};

bool checksumsValid(const Bytes& f) {
  return (!check::isV4(f) || check::ipv4HeaderValid(f)) && check::l4ChecksumValid(f, 6);
}

Probe sampleProbe() {
  Probe p;
  p.flow = 12;
  p.tsc = 0x0102030405060708;
  return p;
}

// A segment built into a vector of exactly its length.
Bytes segment(const UdpTuple& t, const TcpFields& fields, const Probe* probe, size_t payload_len) {
  Bytes f(tcpFrameLen(t.src.family, payload_len));
  EXPECT_EQ(buildTcpSegment(f, kClientMac, kGatewayMac, t, fields, probe, payload_len), f.size());
  return f;
}

TcpFields fieldsOf(uint32_t seq, uint32_t ack, uint8_t flags, uint32_t ts_val) {
  TcpFields f;
  f.seq = seq;
  f.ack = ack;
  f.flags = flags;
  f.ts_val = ts_val;
  return f;
}

struct Case {
  const char* name;
  UdpTuple tuple;
  size_t payload_len;  // 0: a control segment without probe
};

class TcpSegment : public ::testing::TestWithParam<Case> {};

TEST_P(TcpSegment, BuildsValidSegmentsAndParsesThemBack) {
  const Case& c = GetParam();
  TcpFields fields = fieldsOf(0x80000001, 0x7fffffff, kTcpAck | kTcpPsh, 0xabcdef01);
  fields.ts_ecr = 0x11223344;
  fields.window = 4321;
  const Probe probe = sampleProbe();
  const Probe* p = c.payload_len != 0 ? &probe : nullptr;
  Bytes f(tcpFrameLen(c.tuple.src.family, c.payload_len) + 8, 0xee);
  const size_t len = buildTcpSegment(f, kClientMac, kGatewayMac, c.tuple, fields, p, c.payload_len);
  ASSERT_EQ(len, tcpFrameLen(c.tuple.src.family, c.payload_len));
  EXPECT_EQ(f[len], 0xee);  // nothing written past the segment
  f.resize(len);

  const bool v4 = c.tuple.src.isV4();
  EXPECT_EQ(len, (v4 ? 66u : 86u) + c.payload_len);
  EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, kGatewayMac.bytes.begin()));
  EXPECT_TRUE(std::equal(f.begin() + 6, f.begin() + 12, kClientMac.bytes.begin()));
  EXPECT_EQ(v4 ? f[14 + 9] : f[14 + 6], 6);  // protocol TCP
  EXPECT_EQ(check::l4Length(f), 32 + c.payload_len);
  EXPECT_TRUE(checksumsValid(f));
  const size_t l4 = check::l4Offset(f);
  EXPECT_EQ(at32(f, l4 + 4), 0x80000001u);
  EXPECT_EQ(f[l4 + 12] >> 4, 8);  // data offset: 20 + 12 bytes of options

  auto view = parseTcp(f);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->tuple, c.tuple);
  EXPECT_EQ(view->fields, fields);
  EXPECT_TRUE(view->has_timestamps);
  EXPECT_EQ(view->payload, l4 + 32);
  EXPECT_EQ(view->payload_len, c.payload_len);
  if (c.payload_len != 0) {
    const Family family = c.tuple.src.family;
    EXPECT_EQ(readProbe(std::span(f).subspan(view->payload, view->payload_len), family), probe);
    for (size_t i = view->payload + probeLen(family); i < f.size(); ++i) ASSERT_EQ(f[i], 0) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, TcpSegment,
                         ::testing::Values(Case{"v4_control", kV4, 0}, Case{"v4_probe", kV4, 18},
                                           Case{"v4_odd", kV4, 1001}, Case{"v6_control", kV6, 0},
                                           Case{"v6_probe", kV6, 30}, Case{"v6_odd", kV6, 333},
                                           Case{"v6_jumbo", kV6, 8000}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(TcpSegmentBuild, RefusesBadSizesAndMixedFamilies) {
  const Probe probe = sampleProbe();
  const TcpFields fields = fieldsOf(1, 0, kTcpSyn, 0);
  Bytes f(200);
  EXPECT_EQ(
      buildTcpSegment(std::span(f).first(65), kClientMac, kGatewayMac, kV4, fields, nullptr, 0),
      0u);
  // The smallest data segments: 84 bytes (88 with FCS) and 116 (120).
  EXPECT_EQ(tcpFrameLen(Family::kV4, probeLen(Family::kV4)), 84u);
  EXPECT_EQ(tcpFrameLen(Family::kV6, probeLen(Family::kV6)), 116u);
  EXPECT_EQ(buildTcpSegment(f, kClientMac, kGatewayMac, kV4, fields, &probe, 18), 84u);
  EXPECT_EQ(buildTcpSegment(f, kClientMac, kGatewayMac, kV4, fields, &probe, 17), 0u);
  EXPECT_EQ(buildTcpSegment(f, kClientMac, kGatewayMac, kV6, fields, &probe, 30), 116u);
  EXPECT_EQ(buildTcpSegment(f, kClientMac, kGatewayMac, kV6, fields, &probe, 29), 0u);
  EXPECT_EQ(buildTcpSegment(f, kClientMac, kGatewayMac, kV4, fields, nullptr, 135), 0u);
  EXPECT_EQ(buildTcpSegment(f, kClientMac, kGatewayMac, kV4, fields, nullptr, 134), 200u);
  const UdpTuple mixed{ip("192.168.80.2"), ip("fd00::1"), 1, 2};
  EXPECT_EQ(buildTcpSegment(f, kClientMac, kGatewayMac, mixed, fields, nullptr, 0), 0u);
  // The IPv4 total length field must hold header + segment.
  Bytes big(70'000);
  EXPECT_EQ(buildTcpSegment(big, kClientMac, kGatewayMac, kV4, fields, nullptr, 65535 - 51), 0u);
  EXPECT_EQ(buildTcpSegment(big, kClientMac, kGatewayMac, kV4, fields, nullptr, 65535 - 52),
            65535u + 14);
}

TEST(ParseTcp, RejectsTruncatedAndMalformedSegments) {
  const Probe probe = sampleProbe();
  const size_t probe_len = probeLen(Family::kV4);
  Bytes f = segment(kV4, fieldsOf(5, 6, kTcpAck, 7), &probe, probe_len);
  ASSERT_TRUE(parseTcp(f));
  for (size_t n = 0; n < f.size(); ++n) EXPECT_FALSE(parseTcp(std::span(f).first(n))) << n;
  Bytes padded = f;
  padded.resize(f.size() + 20, 0);  // Ethernet padding after the IP packet
  ASSERT_TRUE(parseTcp(padded));
  EXPECT_EQ(parseTcp(padded)->payload_len, probe_len);

  const size_t l4 = 34;
  auto with = [&](size_t offset, uint8_t value) {
    Bytes b = f;
    b[offset] = value;
    return b;
  };
  EXPECT_FALSE(parseTcp(with(14 + 9, 17)));       // UDP
  EXPECT_FALSE(parseTcp(with(14 + 7, 1)));        // a fragment
  EXPECT_FALSE(parseTcp(with(l4 + 12, 4 << 4)));  // data offset below 20
  // A 20-byte header: the timestamps are payload then.
  auto short_header = parseTcp(with(l4 + 12, 5 << 4));
  ASSERT_TRUE(short_header);
  EXPECT_FALSE(short_header->has_timestamps);
  EXPECT_EQ(short_header->payload_len, 12 + probe_len);
  Bytes control = segment(kV4, fieldsOf(5, 6, kTcpAck, 7), nullptr, 0);
  control[l4 + 12] = 9 << 4;  // a 36-byte header in a 32-byte segment
  EXPECT_FALSE(parseTcp(control));
  EXPECT_FALSE(parseTcp(with(l4 + 23, 11)));  // timestamps of length 11
  EXPECT_FALSE(parseTcp(with(l4 + 23, 1)));   // an option of length 1
  EXPECT_FALSE(parseTcp(with(l4 + 23, 13)));  // an option past the header
  // Options that end the list early are fine; then there are no timestamps.
  auto ended = parseTcp(with(l4 + 22, 0));
  ASSERT_TRUE(ended);
  EXPECT_FALSE(ended->has_timestamps);
  // A kind with no room for its length byte.
  Bytes tail = with(l4 + 20, 1);
  for (size_t i = l4 + 21; i < l4 + 31; ++i) tail[i] = 1;
  tail[l4 + 31] = 8;
  EXPECT_FALSE(parseTcp(tail));
}

TEST(ParseTcp, ReadsSegmentsWithoutOptionsAndIpv4Options) {
  // A 20-byte TCP header after a 24-byte IPv4 header, as another stack may send.
  Bytes f = segment(kV4, fieldsOf(1, 2, kTcpSyn, 3), nullptr, 0);
  Bytes g(f.begin(), f.begin() + 34);
  g[14] = 0x46;
  g[17] = 20 + 4 + 20;
  g.insert(g.end(), {1, 1, 1, 1});
  g.insert(g.end(), f.begin() + 34, f.begin() + 54);
  g[38 + 12] = 5 << 4;
  auto view = parseTcp(g);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->l4, 38u);
  EXPECT_FALSE(view->has_timestamps);
  EXPECT_EQ(view->fields.ts_ecr, 0u);
  EXPECT_EQ(view->payload_len, 0u);
  EXPECT_EQ(view->tuple, kV4);

  // The pod answers it, the Ethernet minimum padded when there is room.
  g.resize(60, 0);
  const size_t len = answerTcpInPlace(g, *view, kPodMac, 1);
  ASSERT_EQ(len, 60u);
  Bytes answer(g.begin(), g.begin() + static_cast<long>(len));
  EXPECT_TRUE(checksumsValid(answer));
  auto parsed = parseTcp(answer);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->fields.flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(parsed->fields.ack, 2u);
  EXPECT_EQ(parsed->tuple, kV4.reversed());
}

class PodAnswer : public ::testing::TestWithParam<UdpTuple> {};

TEST_P(PodAnswer, SynGetsSynAckWithTheStatelessIsn) {
  const UdpTuple& t = GetParam();
  Bytes f = segment(t, fieldsOf(0xfffffffe, 0, kTcpSyn, 77), nullptr, 0);
  auto view = parseTcp(f);
  ASSERT_TRUE(view);
  ASSERT_EQ(answerTcpInPlace(f, *view, kPodMac, 3), f.size());
  EXPECT_TRUE(checksumsValid(f));
  EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, kClientMac.bytes.begin()));
  EXPECT_TRUE(std::equal(f.begin() + 6, f.begin() + 12, kPodMac.bytes.begin()));
  auto answer = parseTcp(f);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->tuple, t.reversed());
  EXPECT_EQ(answer->fields.flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(answer->fields.ack, 0xffffffffu);  // seq + 1
  EXPECT_EQ(answer->fields.seq, podIsn(t, 0xfffffffe));
  EXPECT_EQ(answer->fields.ts_ecr, 77u);
  EXPECT_EQ(answer->payload_len, 0u);
}

TEST_P(PodAnswer, DataGetsTheSameDataBackStampedAndAcked) {
  const UdpTuple& t = GetParam();
  const Probe probe = sampleProbe();
  Bytes f = segment(t, fieldsOf(0xfffffff0, 1000, kTcpAck | kTcpPsh, 5), &probe, 100);
  f[f.size() - 1] = 0x5a;  // a byte after the probe, to see it echoed
  const Bytes request = f;
  auto view = parseTcp(f);
  ASSERT_TRUE(view);
  ASSERT_EQ(answerTcpInPlace(f, *view, kPodMac, 9), f.size());
  EXPECT_TRUE(checksumsValid(f));
  auto answer = parseTcp(f);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->tuple, t.reversed());
  EXPECT_EQ(answer->fields.flags & (kTcpSyn | kTcpAck | kTcpFin | kTcpRst), kTcpAck);
  EXPECT_EQ(answer->fields.seq, 1000u);              // their ack
  EXPECT_EQ(answer->fields.ack, 0xfffffff0u + 100);  // their data, wrapping
  EXPECT_EQ(answer->fields.ts_ecr, 5u);
  ASSERT_EQ(answer->payload_len, 100u);
  auto stamped =
      readProbe(std::span(f).subspan(answer->payload, answer->payload_len), t.src.family);
  ASSERT_TRUE(stamped);
  Probe expected = probe;
  expected.pod = 9;
  expected.endpoint = t.dst;
  EXPECT_EQ(*stamped, expected);
  const size_t probe_len = probeLen(t.src.family);
  EXPECT_TRUE(std::equal(f.begin() + static_cast<long>(answer->payload + probe_len), f.end(),
                         request.begin() + static_cast<long>(view->payload + probe_len)));
}

TEST_P(PodAnswer, FinGetsFinAckAndDataWithItIsAckedNotEchoed) {
  const UdpTuple& t = GetParam();
  for (size_t data : {size_t{0}, size_t{50}}) {
    Bytes f = segment(t, fieldsOf(400, 900, kTcpFin | kTcpAck, 6), nullptr, data);
    auto view = parseTcp(f);
    ASSERT_TRUE(view);
    const size_t len = answerTcpInPlace(f, *view, kPodMac, 1);
    ASSERT_EQ(len, tcpFrameLen(t.src.family, 0));
    f.resize(len);
    EXPECT_TRUE(checksumsValid(f));
    auto answer = parseTcp(f);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->fields.flags, kTcpFin | kTcpAck);
    EXPECT_EQ(answer->fields.seq, 900u);
    EXPECT_EQ(answer->fields.ack, 400 + data + 1);
    EXPECT_EQ(answer->payload_len, 0u);
  }
}

TEST_P(PodAnswer, NothingAnswersRstBareAckSynAckOrSegmentsWithoutAck) {
  const UdpTuple& t = GetParam();
  for (uint8_t flags : {kTcpRst, uint8_t{kTcpRst | kTcpAck}, kTcpAck, uint8_t{kTcpSyn | kTcpAck},
                        kTcpPsh, kTcpFin}) {
    for (size_t data : {size_t{0}, probeLen(t.src.family)}) {
      if (flags == kTcpAck && data != 0) continue;  // data: answered above
      Bytes f = segment(t, fieldsOf(1, 2, flags, 3), nullptr, data);
      const Bytes before = f;
      auto view = parseTcp(f);
      ASSERT_TRUE(view);
      EXPECT_EQ(answerTcpInPlace(f, *view, kPodMac, 1), 0u) << int{flags} << " " << data;
      EXPECT_EQ(f, before);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, PodAnswer, ::testing::Values(kV4, kV6),
                         [](const ::testing::TestParamInfo<UdpTuple>& info) {
                           return std::string(info.param.src.isV4() ? "v4" : "v6");
                         });

TEST(PodIsn, DependsOnEveryPartOfTheTupleAndTheClientIsn) {
  const uint32_t base = podIsn(kV4, 1);
  EXPECT_EQ(podIsn(kV4, 1), base);  // stateless: the same every time
  EXPECT_NE(podIsn(kV4, 2), base);
  UdpTuple t = kV4;
  t.sport += 1;
  EXPECT_NE(podIsn(t, 1), base);
  t = kV4;
  t.dport += 1;
  EXPECT_NE(podIsn(t, 1), base);
  t = kV4;
  t.src = ip("192.168.80.3");
  EXPECT_NE(podIsn(t, 1), base);
  t = kV4;
  t.dst = ip("10.96.0.11");
  EXPECT_NE(podIsn(t, 1), base);
  UdpTuple v6 = kV6;
  const uint32_t base6 = podIsn(v6, 1);
  v6.src.bytes[3] ^= 1;  // a high byte of an IPv6 address
  EXPECT_NE(podIsn(v6, 1), base6);
}

}  // namespace
}  // namespace sluice::pktgen
