#include "tools/pktgen/flows.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

namespace sluice::pktgen {
namespace {

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

TEST(AddrRange, ParsesSingleAndRanges) {
  auto one = AddrRange::parse("10.0.0.1");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->count, 1u);
  auto r = AddrRange::parse("10.0.0.250-10.0.1.3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count, 10u);
  EXPECT_EQ(r->at(6), ip("10.0.1.0"));
  EXPECT_TRUE(r->contains(ip("10.0.1.3")));
  EXPECT_FALSE(r->contains(ip("10.0.1.4")));
  EXPECT_FALSE(r->contains(ip("10.0.0.249")));
  EXPECT_FALSE(r->contains(ip("fd00::1")));
  auto v6 = AddrRange::parse("fd00::ffff-fd00::1:0002");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->count, 4u);
  EXPECT_EQ(v6->at(1), ip("fd00::1:0"));
}

TEST(AddrRange, RejectsBadRanges) {
  EXPECT_FALSE(AddrRange::parse("10.0.0.2-10.0.0.1"));
  EXPECT_FALSE(AddrRange::parse("10.0.0.1-fd00::1"));
  EXPECT_FALSE(AddrRange::parse("nonsense"));
  EXPECT_FALSE(AddrRange::parse("fd00::1-fd01::1"));        // more than 2^32
  EXPECT_TRUE(AddrRange::parse("fd00::-fd00::ffff:ffff"));  // exactly 2^32
  EXPECT_FALSE(AddrRange::parse("fd00::-fd00::1:0:0"));
  auto all_v4 = AddrRange::parse("0.0.0.0-255.255.255.255");
  ASSERT_TRUE(all_v4);
  EXPECT_EQ(all_v4->count, uint64_t{1} << 32);
}

TEST(AddOffset, CarriesAndWraps) {
  EXPECT_EQ(addOffset(ip("10.0.0.255"), 1), ip("10.0.1.0"));
  EXPECT_EQ(addOffset(ip("255.255.255.255"), 1), ip("0.0.0.0"));
  EXPECT_EQ(addOffset(ip("fd00::ffff:ffff"), 0x100000001), ip("fd00::2:0:0"));
}

TEST(PortRange, Parses) {
  auto p = PortRange::parse("1000-1009");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->first, 1000);
  EXPECT_EQ(p->count, 10u);
  auto all = PortRange::parse("0-65535");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->count, 65536u);
  EXPECT_FALSE(PortRange::parse("10-9"));
  EXPECT_FALSE(PortRange::parse("65536"));
  EXPECT_FALSE(PortRange::parse("1-"));
}

TEST(Destination, ParsesBothFamilies) {
  auto d4 = Destination::parse("10.96.0.10:53");
  ASSERT_TRUE(d4);
  EXPECT_EQ(d4->addr, ip("10.96.0.10"));
  EXPECT_EQ(d4->port, 53);
  EXPECT_EQ(d4->toString(), "10.96.0.10:53");
  auto d6 = Destination::parse("[fd00:96::10]:80");
  ASSERT_TRUE(d6);
  EXPECT_EQ(d6->addr, ip("fd00:96::10"));
  EXPECT_EQ(d6->toString(), "[fd00:96::10]:80");
  EXPECT_FALSE(Destination::parse("fd00::1:80"));  // IPv6 needs brackets
  EXPECT_FALSE(Destination::parse("[10.0.0.1]:80"));
  EXPECT_FALSE(Destination::parse("10.0.0.1"));
  EXPECT_FALSE(Destination::parse("10.0.0.1:70000"));
}

TEST(MakeFlows, DistinctRoundRobinAndAddressesFirst) {
  std::vector<AddrRange> sources = {*AddrRange::parse("192.168.80.2-192.168.80.5"),
                                    *AddrRange::parse("fd80::2-fd80::3")};
  PortRange ports = *PortRange::parse("2000-2099");
  std::vector<Destination> dsts = {*Destination::parse("10.96.0.10:53"),
                                   *Destination::parse("[fd00::10]:53"),
                                   *Destination::parse("10.96.0.10:54")};
  auto flows = makeFlows(600, sources, ports, dsts);
  ASSERT_TRUE(flows) << flows.status().message();
  ASSERT_EQ(flows->size(), 600u);
  std::set<std::tuple<std::string, std::string, uint16_t, uint16_t>> seen;
  std::map<std::string, int> per_dst;
  for (size_t i = 0; i < flows->size(); ++i) {
    const UdpTuple& t = (*flows)[i];
    const Destination& d = dsts[i % dsts.size()];
    EXPECT_EQ(t.dst, d.addr);
    EXPECT_EQ(t.dport, d.port);
    EXPECT_EQ(t.src.family, t.dst.family);
    EXPECT_TRUE(std::any_of(sources.begin(), sources.end(),
                            [&](const AddrRange& r) { return r.contains(t.src); }));
    EXPECT_GE(t.sport, 2000);
    EXPECT_LE(t.sport, 2099);
    seen.emplace(t.src.toString(), t.dst.toString(), t.sport, t.dport);
    ++per_dst[d.toString()];
  }
  EXPECT_EQ(seen.size(), 600u);
  EXPECT_EQ(per_dst["10.96.0.10:53"], 200);
  // The first flows to a destination walk the addresses before the ports.
  EXPECT_EQ((*flows)[0].src, ip("192.168.80.2"));
  EXPECT_EQ((*flows)[3].src, ip("192.168.80.3"));
  EXPECT_EQ((*flows)[3].sport, 2000);
  EXPECT_EQ((*flows)[12].src, ip("192.168.80.2"));
  EXPECT_EQ((*flows)[12].sport, 2001);
}

TEST(MakeFlows, ExactCapacityFitsOneMoreFails) {
  std::vector<AddrRange> sources = {*AddrRange::parse("10.0.0.1-10.0.0.2")};
  PortRange ports = *PortRange::parse("1-3");
  std::vector<Destination> dsts = {*Destination::parse("10.96.0.10:53"),
                                   *Destination::parse("10.96.0.11:53")};
  EXPECT_TRUE(makeFlows(12, sources, ports, dsts));
  auto too_many = makeFlows(13, sources, ports, dsts);
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.status().message().find("7 flows to 10.96.0.10:53"), std::string::npos)
      << too_many.status().message();
}

TEST(MakeFlows, Errors) {
  std::vector<AddrRange> v4 = {*AddrRange::parse("10.0.0.1")};
  PortRange ports;
  EXPECT_FALSE(makeFlows(1, v4, ports, {}));
  EXPECT_FALSE(makeFlows(1, v4, ports, {*Destination::parse("[fd00::1]:53")}));
  EXPECT_FALSE(makeFlows(1, {v4[0], v4[0]}, ports, {*Destination::parse("10.0.0.9:53")}));
  auto d = *Destination::parse("10.0.0.9:53");
  EXPECT_FALSE(makeFlows(2, v4, ports, {d, d}));
}

}  // namespace
}  // namespace sluice::pktgen
