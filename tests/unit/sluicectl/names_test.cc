#include "tools/sluicectl/names.h"

#include <gtest/gtest.h>

namespace sluice::ctl {
namespace {

TEST(EnumText, UsesTheConfigSpelling) {
  EXPECT_EQ(enumText(v1::PROTOCOL_TCP), "tcp");
  EXPECT_EQ(enumText(v1::FORWARD_MODE_FULLNAT), "fullnat");
  EXPECT_EQ(enumText(v1::AFFINITY_CLIENT_IP), "client-ip");
  EXPECT_EQ(enumText(v1::ENDPOINT_STATE_TERMINATING), "terminating");
  EXPECT_EQ(enumText(v1::SOURCE_API), "api");
  EXPECT_EQ(enumText(v1::ChangeResponse::RESULT_CREATED), "created");
  EXPECT_EQ(enumText(v1::PROTOCOL_UNSPECIFIED), "unspecified");
  // proto3 enums are open: a newer server's value prints as its number.
  EXPECT_EQ(enumText(static_cast<v1::Protocol>(17)), "17");
}

TEST(EnumFromText, ReadsWhatEnumTextWritesAndListsTheChoices) {
  std::string choices;
  EXPECT_EQ(enumFromText(v1::Affinity_descriptor(), "client-ip", &choices), v1::AFFINITY_CLIENT_IP);
  EXPECT_EQ(choices, "none, client-ip");
  EXPECT_FALSE(enumFromText(v1::Affinity_descriptor(), "unspecified", &choices));
  EXPECT_FALSE(enumFromText(v1::Affinity_descriptor(), "CLIENT_IP", &choices));
  EXPECT_FALSE(enumFromText(v1::Protocol_descriptor(), "", &choices));
}

TEST(ServiceKey, ParsesV4AndBracketedV6) {
  std::string error;
  auto v4 = parseServiceKey("10.96.0.10:53/udp", &error);
  ASSERT_TRUE(v4) << error;
  EXPECT_EQ(v4->vip(), "10.96.0.10");
  EXPECT_EQ(v4->port(), 53u);
  EXPECT_EQ(v4->protocol(), v1::PROTOCOL_UDP);
  EXPECT_EQ(keyText(*v4), "10.96.0.10:53/udp");

  auto v6 = parseServiceKey("[fd00::10]:80/tcp", &error);
  ASSERT_TRUE(v6) << error;
  EXPECT_EQ(v6->vip(), "fd00::10");
  EXPECT_EQ(keyText(*v6), "[fd00::10]:80/tcp");
}

TEST(ServiceKey, RefusesMalformedTextWithAReason) {
  std::string error;
  EXPECT_FALSE(parseServiceKey("10.96.0.10:53", &error));
  EXPECT_NE(error.find("VIP:PORT/PROTOCOL"), std::string::npos) << error;
  EXPECT_FALSE(parseServiceKey("10.96.0.10:53/sctp", &error));
  EXPECT_NE(error.find("'sctp' is not one of tcp, udp"), std::string::npos) << error;
  EXPECT_FALSE(parseServiceKey("fd00::10:80/tcp", &error));
  EXPECT_NE(error.find("brackets"), std::string::npos) << error;
  EXPECT_FALSE(parseServiceKey("10.96.0.10:http/tcp", &error));
  EXPECT_FALSE(parseServiceKey(":80/tcp", &error));
  EXPECT_FALSE(parseServiceKey("[]:80/tcp", &error));
}

TEST(HostPort, LeavesPortRangeToTheServer) {
  // sluiced names the field when it refuses a port; the client only reads.
  std::string error;
  auto zero = parseHostPort("10.0.0.1:0", &error);
  ASSERT_TRUE(zero) << error;
  EXPECT_EQ(zero->port, 0u);
  EXPECT_TRUE(parseHostPort("10.0.0.1:70000", &error));
  EXPECT_FALSE(parseHostPort("10.0.0.1:-1", &error));
  EXPECT_FALSE(parseHostPort("10.0.0.1:99999999999", &error));
  EXPECT_EQ(joinHostPort("fd44::11", 8080), "[fd44::11]:8080");
  EXPECT_EQ(joinHostPort("10.0.0.1", 8080), "10.0.0.1:8080");
}

TEST(Endpoint, ReadsWeightAndState) {
  std::string error;
  auto plain = parseEndpoint("10.244.0.11:8080", &error);
  ASSERT_TRUE(plain) << error;
  EXPECT_FALSE(plain->has_weight());
  EXPECT_EQ(plain->state(), v1::ENDPOINT_STATE_UNSPECIFIED);

  auto full = parseEndpoint("[fd44::11]:8080,weight=3,state=unhealthy", &error);
  ASSERT_TRUE(full) << error;
  EXPECT_EQ(full->address(), "fd44::11");
  EXPECT_EQ(full->port(), 8080u);
  EXPECT_EQ(full->weight(), 3u);
  EXPECT_EQ(full->state(), v1::ENDPOINT_STATE_UNHEALTHY);

  EXPECT_FALSE(parseEndpoint("10.244.0.11:8080,weight=", &error));
  EXPECT_FALSE(parseEndpoint("10.244.0.11:8080,state=sleepy", &error));
  EXPECT_NE(error.find("ready, terminating, unhealthy"), std::string::npos) << error;
  EXPECT_FALSE(parseEndpoint("10.244.0.11:8080,color=red", &error));
}

}  // namespace
}  // namespace sluice::ctl
