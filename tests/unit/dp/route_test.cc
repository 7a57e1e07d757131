#include "dp/route.h"

#include <rte_memory.h>

#include <gtest/gtest.h>

namespace sluice::dp {
namespace {

IpAddr ip(const char* s) {
  return *IpAddr::parse(s);
}
Prefix pfx(const char* s) {
  return *Prefix::parse(s);
}

std::unique_ptr<RouteTable> makeTable(const char* name, uint32_t capacity = 64) {
  auto t = RouteTable::create(name, capacity, SOCKET_ID_ANY);
  EXPECT_TRUE(t.isOk()) << t.status().message();
  return std::move(*t);
}

Nexthop via(uint16_t port, const char* gw) {
  Nexthop nh;
  nh.port_idx = port;
  nh.connected = false;
  nh.gateway = ip(gw);
  return nh;
}

Nexthop connected(uint16_t port) {
  Nexthop nh;
  nh.port_idx = port;
  return nh;
}

TEST(RouteTable, LongestPrefixWinsForIpv4) {
  auto t = makeTable("rt_a");
  ASSERT_TRUE(t->add(pfx("0.0.0.0/0"), via(0, "192.0.2.254")).isOk());
  ASSERT_TRUE(t->add(pfx("10.0.0.0/8"), via(1, "10.255.0.1")).isOk());
  ASSERT_TRUE(t->add(pfx("10.1.2.0/24"), connected(2)).isOk());

  const Nexthop* nh = t->lookup(Family::kV4, ip("10.1.2.3").bytes.data());
  ASSERT_NE(nullptr, nh);
  EXPECT_TRUE(nh->connected);
  EXPECT_EQ(2, nh->port_idx);
  nh = t->lookup(Family::kV4, ip("10.9.9.9").bytes.data());
  ASSERT_NE(nullptr, nh);
  EXPECT_EQ(ip("10.255.0.1"), nh->gateway);
  nh = t->lookup(Family::kV4, ip("8.8.8.8").bytes.data());
  ASSERT_NE(nullptr, nh);
  EXPECT_EQ(0, nh->port_idx);
}

TEST(RouteTable, HostBitsInPrefixAreIgnored) {
  auto t = makeTable("rt_b");
  ASSERT_TRUE(t->add(pfx("192.0.2.1/24"), connected(3)).isOk());
  const Nexthop* nh = t->lookup(Family::kV4, ip("192.0.2.200").bytes.data());
  ASSERT_NE(nullptr, nh);
  EXPECT_EQ(3, nh->port_idx);
  EXPECT_EQ(nullptr, t->lookup(Family::kV4, ip("192.0.3.1").bytes.data()));
}

TEST(RouteTable, LongestPrefixWinsForIpv6) {
  auto t = makeTable("rt_c");
  ASSERT_TRUE(t->add(pfx("::/0"), via(0, "2001:db8::ffff")).isOk());
  ASSERT_TRUE(t->add(pfx("2001:db8:1::/48"), connected(1)).isOk());
  ASSERT_TRUE(t->add(pfx("2001:db8:1:2::/64"), via(2, "2001:db8:1:2::1")).isOk());

  const Nexthop* nh = t->lookup(Family::kV6, ip("2001:db8:1:2::77").bytes.data());
  ASSERT_NE(nullptr, nh);
  EXPECT_EQ(2, nh->port_idx);
  nh = t->lookup(Family::kV6, ip("2001:db8:1:3::1").bytes.data());
  ASSERT_NE(nullptr, nh);
  EXPECT_EQ(1, nh->port_idx);
  nh = t->lookup(Family::kV6, ip("fd00::1").bytes.data());
  ASSERT_NE(nullptr, nh);
  EXPECT_EQ(0, nh->port_idx);
}

TEST(RouteTable, EmptyTableHasNoRoute) {
  auto t = makeTable("rt_d");
  EXPECT_EQ(nullptr, t->lookup(Family::kV4, ip("1.2.3.4").bytes.data()));
  EXPECT_EQ(nullptr, t->lookup(Family::kV6, ip("::1").bytes.data()));
}

TEST(RouteTable, RefusesGatewayOfOtherFamilyAndOverCapacity) {
  auto t = makeTable("rt_e", 2);
  Status s = t->add(pfx("10.0.0.0/8"), via(0, "2001:db8::1"));
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(std::string::npos, s.message().find("other family"));
  ASSERT_TRUE(t->add(pfx("10.0.0.0/8"), connected(0)).isOk());
  ASSERT_TRUE(t->add(pfx("11.0.0.0/8"), connected(0)).isOk());
  s = t->add(pfx("12.0.0.0/8"), connected(0));
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(std::string::npos, s.message().find("full"));
  EXPECT_EQ(nullptr, t->lookup(Family::kV4, ip("12.0.0.1").bytes.data()));
}

}  // namespace
}  // namespace sluice::dp
