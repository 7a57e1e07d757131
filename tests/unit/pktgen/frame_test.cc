#include "tools/pktgen/frame.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tests/unit/pktgen/frame_check.h"

namespace sluice::pktgen {
namespace {

using check::at16;
using check::Bytes;
using check::ipv4HeaderValid;

bool udpChecksumValid(const Bytes& f) {
  if (at16(f, check::l4Offset(f) + 6) == 0) return false;  // we always send one
  return check::l4ChecksumValid(f, 17);
}

using check::ip;
using check::kClientMac;
using check::kGatewayMac;
using check::kPodMac;

Probe sampleProbe() {
  Probe p;
  p.flow = 0xabcdef;
  p.tsc = 0x1122334455667788;
  return p;
}

TEST(Probe, RoundTripsInEitherFamily) {
  EXPECT_EQ(probeLen(Family::kV4), 18u);
  EXPECT_EQ(probeLen(Family::kV6), 30u);
  for (const char* endpoint : {"10.244.0.11", "fd44::11"}) {
    const IpAddr e = ip(endpoint);
    Bytes payload(probeLen(e.family));
    Probe p = sampleProbe();
    ASSERT_TRUE(writeProbe(payload, e.family, p));
    EXPECT_EQ(readProbe(payload, e.family), p);
    p.pod = 9;
    p.endpoint = e;
    ASSERT_TRUE(writeProbe(payload, e.family, p));
    EXPECT_EQ(readProbe(payload, e.family), p);
    // Big-endian on the wire: flow in bytes 1-3, tsc 4-11, pod 12-13, address.
    EXPECT_EQ(payload[1], 0xab);
    EXPECT_EQ(payload[3], 0xef);
    EXPECT_EQ(payload[4], 0x11);
    EXPECT_EQ(payload[11], 0x88);
    EXPECT_EQ(payload[13], 9);
    EXPECT_TRUE(std::equal(payload.begin() + 14, payload.end(), e.bytes.begin()));
  }
}

TEST(Probe, RefusesWhatItCannotCarry) {
  Bytes payload(probeLen(Family::kV6));
  Probe p = sampleProbe();
  p.flow = kProbeFlows - 1;
  EXPECT_TRUE(writeProbe(payload, Family::kV4, p));
  EXPECT_EQ(readProbe(payload, Family::kV4)->flow, kProbeFlows - 1);
  p.flow = kProbeFlows;
  EXPECT_FALSE(writeProbe(payload, Family::kV4, p));
  p = sampleProbe();
  p.pod = 3;  // an answer names its endpoint
  EXPECT_FALSE(writeProbe(payload, Family::kV4, p));
  p.endpoint = ip("fd44::11");  // of the packet's family
  EXPECT_FALSE(writeProbe(payload, Family::kV4, p));
  EXPECT_TRUE(writeProbe(payload, Family::kV6, p));
  p.pod = 0;  // a request names none
  EXPECT_FALSE(writeProbe(payload, Family::kV6, p));
}

TEST(Probe, RejectsShortOrForeignPayloads) {
  for (Family family : {Family::kV4, Family::kV6}) {
    const size_t len = probeLen(family);
    Bytes payload(len);
    EXPECT_FALSE(writeProbe(std::span(payload).first(len - 1), family, sampleProbe()));
    ASSERT_TRUE(writeProbe(payload, family, sampleProbe()));
    EXPECT_TRUE(readProbe(payload, family));
    EXPECT_FALSE(readProbe(std::span(payload).first(len - 1), family));
    Bytes bad_check = payload;
    bad_check[0] ^= 1;
    EXPECT_FALSE(readProbe(bad_check, family));
    EXPECT_FALSE(readProbe(Bytes(len, 0), family));
  }
  // An IPv4 probe is too short to read as IPv6.
  Bytes v4(probeLen(Family::kV4));
  ASSERT_TRUE(writeProbe(v4, Family::kV4, sampleProbe()));
  EXPECT_FALSE(readProbe(v4, Family::kV6));
  // A probe whose flow or tsc changed keeps a check byte that no longer
  // fits, nearly always: of 4096 other flows, about 16 would pass by chance.
  Bytes payload(probeLen(Family::kV4));
  ASSERT_TRUE(writeProbe(payload, Family::kV4, sampleProbe()));
  int passed = 0;
  for (uint32_t flow = 1; flow <= 4096; ++flow) {
    Bytes changed = payload;
    changed[2] = static_cast<uint8_t>(payload[2] ^ (flow >> 8));
    changed[3] = static_cast<uint8_t>(payload[3] ^ flow);
    changed[11] = static_cast<uint8_t>(payload[11] + 1);  // tsc + 1
    passed += readProbe(changed, Family::kV4).has_value();
  }
  EXPECT_LT(passed, 40);
}

struct Case {
  const char* name;
  UdpTuple tuple;
  size_t frame_len;
};

class ProbeFrame : public ::testing::TestWithParam<Case> {};

TEST_P(ProbeFrame, BuildsValidFramesAndParsesThemBack) {
  const Case& c = GetParam();
  Bytes f(c.frame_len + 8, 0xee);
  const Probe probe = sampleProbe();
  ASSERT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, c.tuple, probe, c.frame_len), c.frame_len);
  f.resize(c.frame_len);
  const bool v4 = c.tuple.src.isV4();
  EXPECT_EQ(at16(f, 12), v4 ? 0x0800 : 0x86dd);
  EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, kGatewayMac.bytes.begin()));
  EXPECT_TRUE(std::equal(f.begin() + 6, f.begin() + 12, kClientMac.bytes.begin()));
  if (v4) {
    EXPECT_EQ(at16(f, 16), c.frame_len - 14);  // total length
    EXPECT_TRUE(ipv4HeaderValid(f));
  } else {
    EXPECT_EQ(at16(f, 18), c.frame_len - 54);  // payload length
  }
  EXPECT_TRUE(udpChecksumValid(f));

  auto view = parseUdp(f);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->tuple, c.tuple);
  const Family family = c.tuple.src.family;
  EXPECT_EQ(view->payload_len, c.frame_len - minProbeFrameLen(family) + probeLen(family));
  EXPECT_EQ(readProbe(std::span(f).subspan(view->payload, view->payload_len), family), probe);
  for (size_t i = view->payload + probeLen(family); i < f.size(); ++i) ASSERT_EQ(f[i], 0) << i;
}

TEST_P(ProbeFrame, PodAnswerSwapsAndStampsWithValidChecksums) {
  const Case& c = GetParam();
  Bytes f(c.frame_len);
  ASSERT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, c.tuple, sampleProbe(), c.frame_len),
            c.frame_len);
  auto view = parseUdp(f);
  ASSERT_TRUE(view);
  answerUdpInPlace(f, *view, kPodMac, 42);

  EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, kClientMac.bytes.begin()));
  EXPECT_TRUE(std::equal(f.begin() + 6, f.begin() + 12, kPodMac.bytes.begin()));
  if (c.tuple.src.isV4()) {
    EXPECT_TRUE(ipv4HeaderValid(f));
  }
  EXPECT_TRUE(udpChecksumValid(f));
  auto answer = parseUdp(f);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->tuple, c.tuple.reversed());
  auto probe =
      readProbe(std::span(f).subspan(answer->payload, answer->payload_len), c.tuple.src.family);
  ASSERT_TRUE(probe);
  Probe expected = sampleProbe();
  expected.pod = 42;
  expected.endpoint = c.tuple.dst;
  EXPECT_EQ(*probe, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Families, ProbeFrame,
    ::testing::Values(Case{"v4_min", {ip("192.168.80.2"), ip("10.96.0.10"), 40000, 53}, 60},
                      Case{"v4_padded", {ip("192.168.80.2"), ip("10.96.0.10"), 1, 65535}, 1514},
                      Case{"v4_odd", {ip("192.168.80.255"), ip("10.96.0.10"), 65535, 5353}, 123},
                      Case{"v6_min", {ip("fd80::2"), ip("fd00:96::10"), 40000, 53}, 92},
                      Case{"v6_odd", {ip("fd80::ffff:2"), ip("fd00:96::10"), 5, 80}, 333}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(ProbeFrameBuild, RefusesBadSizesAndMixedFamilies) {
  Bytes f(200);
  UdpTuple v4{ip("192.168.80.2"), ip("10.96.0.10"), 1, 2};
  UdpTuple v6{ip("fd80::2"), ip("fd00:96::10"), 1, 2};
  // 14 + 20 + 8 + 18: the Ethernet minimum of 60 (64 with the FCS).
  EXPECT_EQ(minProbeFrameLen(Family::kV4), 60u);
  EXPECT_EQ(minProbeFrameLen(Family::kV6), 92u);
  EXPECT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, v4, {}, 60), 60u);
  EXPECT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, v4, {}, 59), 0u);
  EXPECT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, v6, {}, 92), 92u);
  EXPECT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, v6, {}, 91), 0u);
  EXPECT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, v4, {}, 201), 0u);
  UdpTuple mixed{ip("192.168.80.2"), ip("fd00::1"), 1, 2};
  EXPECT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, mixed, {}, 120), 0u);
  Probe too_many = sampleProbe();
  too_many.flow = kProbeFlows;
  EXPECT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, v4, too_many, 60), 0u);
}

// A datagram one byte short of a probe parses as UDP but carries no probe.
TEST(ProbeFrameBuild, OneByteBelowTheMinimumHasNoProbe) {
  for (const UdpTuple& t : {UdpTuple{ip("192.168.80.2"), ip("10.96.0.10"), 1, 2},
                            UdpTuple{ip("fd80::2"), ip("fd00:96::10"), 1, 2}}) {
    const size_t min = minProbeFrameLen(t.src.family);
    Bytes f(min);
    ASSERT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, t, sampleProbe(), min), min);
    f.pop_back();
    EXPECT_FALSE(parseUdp(f));  // the IP length now runs past the frame
    const size_t ip_len = t.src.isV4() ? 16 : 18;
    f[ip_len + 1] -= 1;
    f[check::l4Offset(f) + 5] -= 1;  // UDP length
    auto view = parseUdp(f);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->payload_len, probeLen(t.src.family) - 1);
    EXPECT_FALSE(readProbe(std::span(f).subspan(view->payload, view->payload_len), t.src.family));
  }
}

TEST(ParseUdp, RejectsTruncatedAndInconsistentFrames) {
  Bytes f(100);
  UdpTuple t{ip("192.168.80.2"), ip("10.96.0.10"), 1, 2};
  ASSERT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, t, {}, 100), 100u);
  ASSERT_TRUE(parseUdp(f));
  // Every truncation below the IP total length fails.
  for (size_t n = 0; n < f.size(); ++n) EXPECT_FALSE(parseUdp(std::span(f).first(n))) << n;
  // Ethernet padding after the IP packet is fine.
  Bytes padded = f;
  padded.resize(130, 0);
  EXPECT_TRUE(parseUdp(padded));
  Bytes fragment = f;
  fragment[14 + 7] = 1;  // fragment offset 8 bytes
  EXPECT_FALSE(parseUdp(fragment));
  Bytes tcp = f;
  tcp[14 + 9] = 6;
  EXPECT_FALSE(parseUdp(tcp));
  Bytes long_udp = f;
  long_udp[14 + 20 + 5] += 1;  // UDP length past the IP packet
  EXPECT_FALSE(parseUdp(long_udp));
  Bytes short_ihl = f;
  short_ihl[14] = 0x44;
  EXPECT_FALSE(parseUdp(short_ihl));
}

TEST(ParseUdp, HonoursIpv4Options) {
  // A 24-byte IPv4 header (one NOP option word) before UDP.
  Bytes f(100);
  UdpTuple t{ip("192.168.80.2"), ip("10.96.0.10"), 7, 9};
  ASSERT_EQ(buildProbeFrame(f, kClientMac, kGatewayMac, t, sampleProbe(), 96), 96u);
  f.resize(96);
  Bytes with_options(f.begin(), f.begin() + 34);
  with_options[14] = 0x46;
  with_options[17] += 4;  // total length
  with_options.insert(with_options.end(), {1, 1, 1, 1});
  with_options.insert(with_options.end(), f.begin() + 34, f.end());
  auto view = parseUdp(with_options);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->l4, 38u);
  EXPECT_EQ(view->tuple, t);
  answerUdpInPlace(with_options, *view, kPodMac, 3);
  EXPECT_TRUE(ipv4HeaderValid(with_options));
  EXPECT_TRUE(udpChecksumValid(with_options));
}

TEST(Arp, RequestAndAnswer) {
  Bytes f(60, 0);
  ASSERT_EQ(buildArpRequest(f, kClientMac, ip("192.168.80.2"), ip("192.168.80.1")), kArpFrameLen);
  EXPECT_EQ(at16(f, 12), 0x0806);
  EXPECT_TRUE(std::all_of(f.begin(), f.begin() + 6, [](uint8_t b) { return b == 0xff; }));
  auto req = parseArp(f);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->op, Arp::kRequest);
  EXPECT_EQ(req->sender_mac, kClientMac);
  EXPECT_EQ(req->sender_ip, ip("192.168.80.2"));
  EXPECT_EQ(req->target_ip, ip("192.168.80.1"));

  answerArpInPlace(f, *req, kGatewayMac);
  auto reply = parseArp(f);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->op, Arp::kReply);
  EXPECT_EQ(reply->sender_mac, kGatewayMac);
  EXPECT_EQ(reply->sender_ip, ip("192.168.80.1"));
  EXPECT_EQ(reply->target_mac, kClientMac);
  EXPECT_EQ(reply->target_ip, ip("192.168.80.2"));
  EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, kClientMac.bytes.begin()));
  EXPECT_TRUE(std::equal(f.begin() + 6, f.begin() + 12, kGatewayMac.bytes.begin()));

  EXPECT_FALSE(parseArp(std::span(f).first(kArpFrameLen - 1)));
  EXPECT_EQ(buildArpRequest(f, kClientMac, ip("fd00::1"), ip("192.168.80.1")), 0u);
}

}  // namespace
}  // namespace sluice::pktgen
