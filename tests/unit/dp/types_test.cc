#include "dp/api/types.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(IpAddrTest, ParsesAndFormatsV4) {
  auto addr = IpAddr::parse("192.168.77.1");
  ASSERT_TRUE(addr);
  EXPECT_TRUE(addr->isV4());
  EXPECT_EQ(addr->size(), 4u);
  EXPECT_EQ(addr->bits(), 32u);
  EXPECT_EQ(addr->bytes[0], 192);
  EXPECT_EQ(addr->bytes[3], 1);
  EXPECT_EQ(addr->toString(), "192.168.77.1");
  EXPECT_EQ(addr->v4HostOrder(), 0xc0a84d01u);
}

TEST(IpAddrTest, V4FromHostOrderMatchesParse) {
  EXPECT_EQ(IpAddr::v4(0x0a000001), *IpAddr::parse("10.0.0.1"));
  EXPECT_EQ(IpAddr::v4(0xffffffff).toString(), "255.255.255.255");
  EXPECT_EQ(IpAddr::v4(0x01020304).v4HostOrder(), 0x01020304u);
}

TEST(IpAddrTest, ParsesAndFormatsV6) {
  auto addr = IpAddr::parse("2001:db8:0:0:0:0:0:1");
  ASSERT_TRUE(addr);
  EXPECT_FALSE(addr->isV4());
  EXPECT_EQ(addr->family, Family::kV6);
  EXPECT_EQ(addr->size(), 16u);
  EXPECT_EQ(addr->bits(), 128u);
  EXPECT_EQ(addr->toString(), "2001:db8::1");
  EXPECT_EQ(IpAddr::parse("::")->toString(), "::");
  EXPECT_EQ(IpAddr::parse("FD77::1")->toString(), "fd77::1");
}

TEST(IpAddrTest, V4AndV6WithTheSameBytesDiffer) {
  auto v4 = IpAddr::parse("0.0.0.0");
  auto v6 = IpAddr::parse("::");
  ASSERT_TRUE(v4 && v6);
  EXPECT_NE(*v4, *v6);
}

TEST(IpAddrTest, RejectsMalformedText) {
  for (const char* text : {"", "1.2.3", "1.2.3.4.5", "1.2.3.256", "1.2.3.4 ", " 1.2.3.4", "a.b.c.d",
                           "::1::2", "fe80::1%eth0", "12345::", "1.2.3.4/24", "localhost"}) {
    EXPECT_FALSE(IpAddr::parse(text)) << text;
  }
  EXPECT_FALSE(IpAddr::parse(std::string_view("1.2.3.4\0", 8)));
  EXPECT_FALSE(IpAddr::parse(std::string(100, '1')));
}

TEST(IpAddrTest, Multicast) {
  for (const char* text : {"224.0.0.1", "239.255.255.255", "ff02::1", "ff05::1:3"}) {
    EXPECT_TRUE(IpAddr::parse(text)->isMulticast()) << text;
  }
  for (const char* text : {"223.255.255.255", "240.0.0.1", "10.0.0.1", "fe80::1", "fd00::ff"}) {
    EXPECT_FALSE(IpAddr::parse(text)->isMulticast()) << text;
  }
}

TEST(IpAddrTest, Unspecified) {
  EXPECT_TRUE(IpAddr::parse("0.0.0.0")->isUnspecified());
  EXPECT_TRUE(IpAddr::parse("::")->isUnspecified());
  EXPECT_FALSE(IpAddr::parse("0.0.0.1")->isUnspecified());
  EXPECT_FALSE(IpAddr::parse("::1")->isUnspecified());
}

TEST(PrefixTest, ParseKeepsHostBits) {
  auto prefix = Prefix::parse("10.1.2.3/24");
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->addr, *IpAddr::parse("10.1.2.3"));
  EXPECT_EQ(prefix->len, 24);
  EXPECT_EQ(prefix->toString(), "10.1.2.3/24");
  EXPECT_EQ(prefix->network().toString(), "10.1.2.0/24");
}

TEST(PrefixTest, RoundTrips) {
  for (const char* text : {"0.0.0.0/0", "10.0.0.0/8", "192.168.77.1/24", "1.2.3.4/32", "::/0",
                           "fd77::1/64", "2001:db8::/32", "::1/128"}) {
    auto prefix = Prefix::parse(text);
    ASSERT_TRUE(prefix) << text;
    EXPECT_EQ(prefix->toString(), text);
  }
}

TEST(PrefixTest, BareAddressIsAHostPrefix) {
  EXPECT_EQ(Prefix::parse("10.0.0.1")->len, 32);
  EXPECT_EQ(Prefix::parse("fd00::1")->len, 128);
}

TEST(PrefixTest, RejectsBadLengths) {
  for (const char* text : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/abc", "10.0.0.0/-1",
                           "10.0.0.0/+8", "10.0.0.0/8a", "10.0.0.0/ 8", "10.0.0.0/8/9",
                           "10.0.0.0/0008", "/8", "", "/", "10.0.0/8", "fd00::/1000"}) {
    EXPECT_FALSE(Prefix::parse(text)) << text;
  }
}

TEST(PrefixTest, NetworkClearsHostBits) {
  EXPECT_EQ(Prefix::parse("10.1.255.255/13")->network().toString(), "10.0.0.0/13");
  EXPECT_EQ(Prefix::parse("10.1.2.3/0")->network().toString(), "0.0.0.0/0");
  EXPECT_EQ(Prefix::parse("10.1.2.3/32")->network().toString(), "10.1.2.3/32");
  EXPECT_EQ(Prefix::parse("2001:db8:abcd:12ff::1/52")->network().toString(),
            "2001:db8:abcd:1000::/52");
  EXPECT_EQ(Prefix::parse("fd00::1/128")->network().toString(), "fd00::1/128");
}

TEST(PrefixTest, Contains) {
  auto net8 = *Prefix::parse("10.0.0.0/8");
  EXPECT_TRUE(net8.contains(*IpAddr::parse("10.255.1.1")));
  EXPECT_FALSE(net8.contains(*IpAddr::parse("11.0.0.1")));
  // An interface address contains its whole subnet, host bits or not.
  auto local = *Prefix::parse("192.168.77.1/24");
  EXPECT_TRUE(local.contains(*IpAddr::parse("192.168.77.200")));
  EXPECT_FALSE(local.contains(*IpAddr::parse("192.168.78.1")));

  auto any4 = *Prefix::parse("0.0.0.0/0");
  EXPECT_TRUE(any4.contains(*IpAddr::parse("203.0.113.9")));
  EXPECT_FALSE(any4.contains(*IpAddr::parse("::1")));

  auto host = *Prefix::parse("1.2.3.4");
  EXPECT_TRUE(host.contains(*IpAddr::parse("1.2.3.4")));
  EXPECT_FALSE(host.contains(*IpAddr::parse("1.2.3.5")));

  auto v6 = *Prefix::parse("fd00:10:96::1/64");
  EXPECT_TRUE(v6.contains(*IpAddr::parse("fd00:10:96::ffff")));
  EXPECT_FALSE(v6.contains(*IpAddr::parse("fd00:10:97::1")));
  EXPECT_FALSE(v6.contains(*IpAddr::parse("10.96.0.1")));
}

TEST(MacAddrTest, ParsesAndFormats) {
  auto mac = MacAddr::parse("02:00:00:00:00:01");
  ASSERT_TRUE(mac);
  EXPECT_EQ(mac->bytes, (std::array<uint8_t, 6>{0x02, 0, 0, 0, 0, 0x01}));
  EXPECT_EQ(mac->toString(), "02:00:00:00:00:01");
  EXPECT_EQ(MacAddr::parse("AA:bb:CC:dd:EE:ff")->toString(), "aa:bb:cc:dd:ee:ff");
}

TEST(MacAddrTest, RejectsAnythingElse) {
  for (const char* text :
       {"", "02:00:00:00:00", "02:00:00:00:00:01:02", "02-00-00-00-00-01", "0200.0000.0001",
        "2:0:0:0:0:1", "02:00:00:00:00:0g", "02:00:00:00:00:01 ", " 02:00:00:00:00:01",
        "02:00:00:00:00:001", "02:00:00:00:0001", "020000000001", "02:00:00:00:00:0:"}) {
    EXPECT_FALSE(MacAddr::parse(text)) << text;
  }
}

TEST(MacAddrTest, MulticastAndZero) {
  EXPECT_TRUE(MacAddr::parse("01:00:5e:00:00:01")->isMulticast());
  EXPECT_TRUE(MacAddr::parse("ff:ff:ff:ff:ff:ff")->isMulticast());
  EXPECT_FALSE(MacAddr::parse("02:00:00:00:00:01")->isMulticast());
  EXPECT_TRUE(MacAddr::parse("00:00:00:00:00:00")->isZero());
  EXPECT_FALSE(MacAddr::parse("00:00:00:00:00:01")->isZero());
}

}  // namespace
}  // namespace sluice
