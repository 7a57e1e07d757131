#include "tools/pktgen/nd_frame.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tests/unit/pktgen/frame_check.h"

namespace sluice::pktgen {
namespace {

using check::at16;
using check::Bytes;
using check::ip;
using check::kClientMac;
using check::kGatewayMac;
using check::mac;

const IpAddr kClient = ip("fd80::2");
const IpAddr kGateway = ip("fd80::1:2:3456");

Bytes solicitation() {
  Bytes f(kNdFrameLen + 10, 0xee);
  EXPECT_EQ(buildNeighborSolicitation(f, kClientMac, kClient, kGateway), kNdFrameLen);
  f.resize(kNdFrameLen);
  return f;
}

// Sets the ICMPv6 checksum again (summed independently of dp/checksum.h),
// after a test changed the packet on purpose.
void reChecksum(Bytes& f) {
  f[56] = 0;
  f[57] = 0;
  const size_t len = at16(f, 18);
  uint32_t sum = check::sumWords(&f[22], 32, 58 + static_cast<uint32_t>(len));
  const uint16_t c = static_cast<uint16_t>(~check::fold(check::sumWords(&f[54], len, sum)));
  f[56] = static_cast<uint8_t>(c >> 8);
  f[57] = static_cast<uint8_t>(c);
}

TEST(NdFrame, SolicitedNodeGroup) {
  EXPECT_EQ(solicitedNode(kGateway), ip("ff02::1:ff02:3456"));
  EXPECT_EQ(solicitedNode(ip("fe80::aabb:ccdd:eeff")), ip("ff02::1:ffdd:eeff"));
}

TEST(NdFrame, Solicitation) {
  const Bytes f = solicitation();
  // To the group's multicast MAC, from ours, IPv6.
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 6), (Bytes{0x33, 0x33, 0xff, 0x02, 0x34, 0x56}));
  EXPECT_EQ(Bytes(f.begin() + 6, f.begin() + 12),
            Bytes(kClientMac.bytes.begin(), kClientMac.bytes.end()));
  EXPECT_EQ(at16(f, 12), 0x86dd);
  EXPECT_EQ(f[14] >> 4, 6);
  EXPECT_EQ(at16(f, 18), 32);  // payload length
  EXPECT_EQ(f[20], 58);        // ICMPv6
  EXPECT_EQ(f[21], 255);       // hop limit
  EXPECT_EQ(Bytes(f.begin() + 22, f.begin() + 38),
            Bytes(kClient.bytes.begin(), kClient.bytes.end()));
  const IpAddr group = ip("ff02::1:ff02:3456");
  EXPECT_EQ(Bytes(f.begin() + 38, f.begin() + 54), Bytes(group.bytes.begin(), group.bytes.end()));
  EXPECT_EQ(f[54], 135);
  EXPECT_EQ(f[55], 0);
  EXPECT_EQ(Bytes(f.begin() + 58, f.begin() + 62), Bytes(4, 0));  // reserved
  EXPECT_EQ(Bytes(f.begin() + 62, f.begin() + 78),
            Bytes(kGateway.bytes.begin(), kGateway.bytes.end()));
  EXPECT_EQ(f[78], 1);  // source link-layer address
  EXPECT_EQ(f[79], 1);
  EXPECT_EQ(Bytes(f.begin() + 80, f.end()),
            Bytes(kClientMac.bytes.begin(), kClientMac.bytes.end()));
  EXPECT_TRUE(check::l4ChecksumValid(f, 58));

  auto nd = parseNd(f);
  ASSERT_TRUE(nd);
  EXPECT_EQ(nd->type, Nd::kSolicitation);
  EXPECT_EQ(nd->eth_src, kClientMac);
  EXPECT_EQ(nd->src, kClient);
  EXPECT_EQ(nd->dst, group);
  EXPECT_EQ(nd->target, kGateway);
  EXPECT_EQ(nd->link_addr, kClientMac);
  EXPECT_FALSE(nd->solicited);
}

TEST(NdFrame, AdvertisementAnswersTheSolicitation) {
  auto ns = parseNd(solicitation());
  ASSERT_TRUE(ns);
  Bytes f(kNdFrameLen);
  ASSERT_EQ(buildNeighborAdvertisement(f, *ns, kGatewayMac), kNdFrameLen);
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 6),
            Bytes(kClientMac.bytes.begin(), kClientMac.bytes.end()));
  EXPECT_EQ(Bytes(f.begin() + 6, f.begin() + 12),
            Bytes(kGatewayMac.bytes.begin(), kGatewayMac.bytes.end()));
  EXPECT_EQ(f[21], 255);
  EXPECT_EQ(f[54], 136);
  EXPECT_EQ(f[58], 0x60);  // solicited, override; not a router
  EXPECT_EQ(f[78], 2);     // target link-layer address
  EXPECT_TRUE(check::l4ChecksumValid(f, 58));
  auto na = parseNd(f);
  ASSERT_TRUE(na);
  EXPECT_EQ(na->type, Nd::kAdvertisement);
  EXPECT_EQ(na->src, kGateway);  // from the target address
  EXPECT_EQ(na->dst, kClient);
  EXPECT_EQ(na->target, kGateway);
  EXPECT_EQ(na->link_addr, kGatewayMac);
  EXPECT_TRUE(na->solicited);
  // An advertisement is no solicitation to answer.
  EXPECT_EQ(buildNeighborAdvertisement(f, *na, kGatewayMac), 0u);
}

TEST(NdFrame, SolicitationWithoutLinkAddressIsAnsweredToItsEthernetSource) {
  Bytes f = solicitation();
  f.resize(kNdFrameLen - 8);
  f[19] = 24;  // payload length without the option
  reChecksum(f);
  auto ns = parseNd(f);
  ASSERT_TRUE(ns);
  EXPECT_FALSE(ns->link_addr);
  Bytes na(kNdFrameLen);
  ASSERT_EQ(buildNeighborAdvertisement(na, *ns, kGatewayMac), kNdFrameLen);
  EXPECT_EQ(Bytes(na.begin(), na.begin() + 6),
            Bytes(kClientMac.bytes.begin(), kClientMac.bytes.end()));
}

TEST(NdFrame, DuplicateAddressDetectionIsNotAnswered) {
  Bytes f(kNdFrameLen);
  ASSERT_EQ(buildNeighborSolicitation(f, kClientMac, ip("::"), kGateway), kNdFrameLen);
  auto ns = parseNd(f);
  ASSERT_TRUE(ns);
  EXPECT_EQ(buildNeighborAdvertisement(f, *ns, kGatewayMac), 0u);
}

TEST(NdFrame, BuildersRefuse) {
  Bytes small(kNdFrameLen - 1);
  EXPECT_EQ(buildNeighborSolicitation(small, kClientMac, kClient, kGateway), 0u);
  Bytes f(kNdFrameLen);
  EXPECT_EQ(buildNeighborSolicitation(f, kClientMac, ip("10.0.0.2"), kGateway), 0u);
  EXPECT_EQ(buildNeighborSolicitation(f, kClientMac, kClient, ip("10.0.0.1")), 0u);
  auto ns = parseNd(solicitation());
  ASSERT_TRUE(ns);
  EXPECT_EQ(buildNeighborAdvertisement(small, *ns, kGatewayMac), 0u);
}

TEST(NdFrame, ParserRejectsMalformed) {
  const Bytes good = solicitation();
  ASSERT_TRUE(parseNd(good));
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(parseNd(Bytes(good.begin(), good.begin() + n))) << "truncated to " << n;
  }
  auto changed = [&](size_t at, uint8_t value, bool fix_checksum) {
    Bytes f = good;
    f[at] = value;
    if (fix_checksum) reChecksum(f);
    return parseNd(f).has_value();
  };
  EXPECT_FALSE(changed(21, 64, false));    // hop limit (not summed)
  EXPECT_FALSE(changed(55, 1, true));      // code
  EXPECT_FALSE(changed(54, 128, true));    // an echo request
  EXPECT_FALSE(changed(79, 0, true));      // an option of length 0
  EXPECT_FALSE(changed(79, 2, true));      // an option past the packet
  EXPECT_FALSE(changed(62, 0xff, true));   // a multicast target
  EXPECT_FALSE(changed(70, 0x01, false));  // checksum no longer matches
  EXPECT_TRUE(changed(70, 0x01, true));    // ... and does when set again
  Bytes v4(kNdFrameLen);
  v4[12] = 0x08;
  EXPECT_FALSE(parseNd(v4));
  // Ethernet padding after the packet is fine.
  Bytes padded = good;
  padded.resize(good.size() + 14, 0);
  EXPECT_TRUE(parseNd(padded));
}

}  // namespace
}  // namespace sluice::pktgen
