// The services file sluice-xds serves: sluiced's services schema, errors
// with FILE:LINE, and no gateway to check SNAT pools or capacity against.
#include "cp/services_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace sluice::cp {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

AssertionResult hasError(const std::string& text, const std::string& expected) {
  auto result = loadServicesText(text, "s.conf");
  if (result) {
    return AssertionFailure() << "loaded " << result->size() << " services; expected \"" << expected
                              << "\"";
  }
  if (result.status().message().find(expected) == std::string::npos) {
    return AssertionFailure() << "expected \"" << expected << "\" in:\n"
                              << result.status().message();
  }
  return AssertionSuccess();
}

constexpr char kTwoServices[] = R"(services = (
  { vip = "10.96.0.10"; port = 80; protocol = "tcp"; affinity = "client-ip";
    affinity_timeout = 600; table_size = 251;
    endpoints = ( { address = "10.244.0.11"; port = 8080; weight = 3; },
                  { address = "10.244.0.12"; port = 8080; state = "terminating"; } ); },
  { vip = "fd00::53"; port = 53; protocol = "udp"; mode = "dnat"; algorithm = "random";
    endpoints = ( { address = "fd44::21"; port = 5353; state = "unhealthy"; } ); }
);
)";

TEST(ServicesFileTest, ReadsTheConfigSchema) {
  auto services = loadServicesText(kTwoServices, "s.conf");
  ASSERT_TRUE(services) << services.status().message();
  ASSERT_EQ(services->size(), 2u);
  const ServiceSpec& web = (*services)[0];
  EXPECT_EQ(web.key.toString(), "10.96.0.10:80/tcp");
  EXPECT_EQ(web.mode, ForwardMode::kFullNat);
  EXPECT_EQ(web.algorithm, Algorithm::kMaglev);
  EXPECT_TRUE(web.affinity_client_ip);
  EXPECT_EQ(web.affinity_timeout_s, 600u);
  EXPECT_EQ(web.table_size, 251u);
  ASSERT_EQ(web.endpoints.size(), 2u);
  EXPECT_EQ(web.endpoints[0].toString(), "10.244.0.11:8080");
  EXPECT_EQ(web.endpoints[0].weight, 3u);
  EXPECT_EQ(web.endpoints[1].state, EndpointState::kTerminating);
  const ServiceSpec& dns = (*services)[1];
  EXPECT_EQ(dns.key.toString(), "[fd00::53]:53/udp");
  EXPECT_EQ(dns.mode, ForwardMode::kDnat);
  EXPECT_EQ(dns.algorithm, Algorithm::kRandom);
  ASSERT_EQ(dns.endpoints.size(), 1u);
  EXPECT_EQ(dns.endpoints[0].state, EndpointState::kUnhealthy);
}

TEST(ServicesFileTest, FullnatNeedsNoSnatPoolHere) {
  // In sluiced's config this needs an IPv6 snat address; a services file
  // belongs to no gateway.
  auto services = loadServicesText(
      R"(services = ( { vip = "fd00::10"; port = 80; protocol = "tcp"; endpoints = (); } );)",
      "s.conf");
  ASSERT_TRUE(services) << services.status().message();
  EXPECT_EQ((*services)[0].mode, ForwardMode::kFullNat);
}

TEST(ServicesFileTest, EmptyListIsNoServices) {
  auto services = loadServicesText("services = ();", "s.conf");
  ASSERT_TRUE(services) << services.status().message();
  EXPECT_TRUE(services->empty());
}

TEST(ServicesFileTest, ErrorsNameFileLineAndSetting) {
  EXPECT_TRUE(hasError("", "s.conf:1: services: missing required setting"));
  EXPECT_TRUE(hasError("services = ();\nports = ();", "s.conf:2: ports: unknown setting 'ports'"));
  EXPECT_TRUE(hasError("services = {};", "s.conf:1: services: must be a list ( ... )"));
  EXPECT_TRUE(
      hasError("services = (\n { vip = \"10.96.0.1\"; port = 80; protocol = \"sctp\";\n"
               "   endpoints = (); }\n);",
               "s.conf:2: services.[0].protocol: 'sctp' is not one of tcp, udp"));
  EXPECT_TRUE(
      hasError("services = (\n { vip = \"10.96.0.1\"; port = 80; protocol = \"tcp\";\n"
               "   endpoints = (\n { address = \"10.244.0.1\"; port = 0; } ); }\n);",
               "s.conf:4: services.[0].endpoints.[0].port: must be 1..65535"));
  EXPECT_TRUE(
      hasError("services = (\n { vip = \"10.96.0.1\"; port = 80; protocol = \"tcp\";\n"
               "   endpoints = (\n { address = \"fd44::1\"; port = 80; } ); }\n);",
               "s.conf:4: services.[0].endpoints.[0].address: fd44::1 is IPv6 but the "
               "VIP is IPv4"));
  EXPECT_TRUE(
      hasError("services = (\n { vip = \"10.96.0.1\"; port = 80; protocol = \"tcp\"; "
               "endpoints = (); },\n { vip = \"10.96.0.1\"; port = 80; protocol = \"tcp\"; "
               "endpoints = (); }\n);",
               "s.conf:3: services.[1].vip: service 10.96.0.1:80/tcp is already defined"));
  EXPECT_TRUE(hasError("services = (\n { vip = \"10.96.0.1\" ", "s.conf:2: parse error: "));
}

TEST(ServicesFileTest, LoadsAFileAndReportsAMissingOne) {
  std::string path = "/tmp/sluice-services-test-" + std::to_string(::getpid()) + ".conf";
  {
    std::ofstream out(path);
    out << kTwoServices;
  }
  auto services = loadServicesFile(path);
  std::remove(path.c_str());
  ASSERT_TRUE(services) << services.status().message();
  EXPECT_EQ(services->size(), 2u);

  auto missing = loadServicesFile(path);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().message(),
            path + ": cannot open services file: No such file or directory");
}

}  // namespace
}  // namespace sluice::cp
