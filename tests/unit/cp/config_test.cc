#include "cp/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::cp {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

// A minimal valid config, one line per part so that tests know the line of
// each setting: the port group is line 2, the worker group line 5, and `tail`
// starts on line 7.
struct Parts {
  std::string port{};
  std::string worker = R"(lcore = 1; rx = ( { port = "p0"; queue = 0; } );)";
  std::string tail{};
};

std::string text(const Parts& parts) {
  return "ports = (\n"
         "  { name = \"p0\"; device = \"net_null0\"; " +
         parts.port +
         " }\n"
         ");\n"
         "workers = (\n"
         "  { " +
         parts.worker +
         " }\n"
         ");\n" +
         parts.tail + "\n";
}

// Addresses for tests of routes and neighbors, on line 7.
constexpr char kAddresses[] =
    R"(addresses = ( { port = "p0"; address = "10.0.0.1/24"; }, { port = "p0"; address = "fd00::1/64"; } );)"
    "\n";

AssertionResult textHasError(const std::string& config, const std::string& expected) {
  auto result = loadConfigText(config, "t.conf");
  if (result) {
    return AssertionFailure() << "config loaded; expected \"" << expected << "\"";
  }
  const std::string& message = result.status().message();
  if (message.find(expected) == std::string::npos) {
    return AssertionFailure() << "expected \"" << expected << "\" in:\n" << message;
  }
  return AssertionSuccess();
}

AssertionResult hasError(const Parts& parts, const std::string& expected) {
  return textHasError(text(parts), expected);
}

Result<Config> load(const Parts& parts) {
  return loadConfigText(text(parts), "t.conf");
}

// --- The shipped examples --------------------------------------------------

TEST(ConfigTest, DemoConfLoads) {
  auto config = loadConfigFile(SLUICE_SOURCE_ROOT "/conf/demo.conf");
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(config->log_level, dp::LogLevel::kInfo);
  EXPECT_EQ(config->main_lcore, 0u);
  EXPECT_EQ(config->eal_args.front(), "--no-huge");
  const dp::DataplaneSpec& dp = config->dataplane;
  EXPECT_EQ(dp.idle.policy, dp::IdlePolicy::kBackoff);
  EXPECT_EQ(dp.mbufs_per_socket, 8191u);
  ASSERT_EQ(dp.ports.size(), 2u);
  EXPECT_EQ(dp.ports[0].name, "p0");
  EXPECT_EQ(dp.ports[0].ethdevName(), "net_memif0");
  EXPECT_EQ(dp.ports[1].ethdevName(), "net_memif1");
  ASSERT_EQ(dp.workers.size(), 1u);
  EXPECT_EQ(dp.workers[0].lcore, 1u);
  EXPECT_EQ(dp.workers[0].cpu, 1u);
  ASSERT_EQ(dp.workers[0].rx.size(), 2u);
  EXPECT_EQ(dp.workers[0].rx[0].port, "p0");
  ASSERT_EQ(dp.addresses.size(), 4u);
  EXPECT_EQ(dp.addresses[1].prefix.toString(), "fd77::1/64");
  EXPECT_EQ(dp.snat,
            (std::vector<IpAddr>{*IpAddr::parse("10.244.0.1"), *IpAddr::parse("fd44::1")}));
  EXPECT_EQ(dp.conntrack.capacity, 65536u);
  ASSERT_EQ(config->services.size(), 3u);
  EXPECT_EQ(config->services[0].key.toString(), "10.96.0.10:80/tcp");
  EXPECT_EQ(config->services[1].key.toString(), "10.96.0.10:53/udp");
  EXPECT_EQ(config->services[2].key.toString(), "[fd00:96::10]:80/tcp");
  for (const ServiceSpec& service : config->services) {
    EXPECT_EQ(service.endpoints.size(), 3u) << service.key.toString();
  }
}

TEST(ConfigTest, GatewayConfLoads) {
  auto config = loadConfigFile(SLUICE_SOURCE_ROOT "/conf/gateway.conf");
  ASSERT_TRUE(config) << config.status().message();
  const dp::DataplaneSpec& dp = config->dataplane;
  EXPECT_EQ(dp.idle.policy, dp::IdlePolicy::kBusy);
  EXPECT_EQ(dp.neighbor_capacity, 16384u);
  ASSERT_EQ(dp.ports.size(), 2u);
  EXPECT_EQ(dp.ports[1].vlan, 120);
  EXPECT_EQ(dp.ports[1].rx_desc, 2048);
  EXPECT_EQ(dp.workers.size(), 2u);
  EXPECT_EQ(dp.addresses.size(), 4u);
  // Routes without a port take the port whose subnet holds the gateway.
  ASSERT_EQ(dp.routes.size(), 3u);
  EXPECT_EQ(dp.routes[0].port, "outside");
  EXPECT_EQ(dp.routes[1].port, "outside");
  EXPECT_EQ(dp.routes[2].port, "inside");
  EXPECT_EQ(dp.routes[2].via->toString(), "10.96.0.254");
  ASSERT_EQ(dp.neighbors.size(), 1u);
  EXPECT_EQ(dp.neighbors[0].mac.toString(), "02:00:5e:00:53:01");
}

TEST(ConfigTest, MinimalConfigTakesDefaults) {
  auto config = load({});
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(config->source, "t.conf");
  EXPECT_EQ(config->log_level, dp::LogLevel::kInfo);
  EXPECT_FALSE(config->main_cpu);
  const dp::PortSpec& port = config->dataplane.ports[0];
  EXPECT_EQ(port.rx_queues, 1);
  EXPECT_EQ(port.mtu, 1500);
  EXPECT_FALSE(port.mac);
  EXPECT_FALSE(config->dataplane.workers[0].cpu);
}

TEST(ConfigTest, ReadsEverySetting) {
  auto config = load({
      .port = R"(rx_desc = 512; tx_desc = 256; mtu = 9000; vlan = 7; mac = "02:00:00:00:00:01";)",
      .worker = R"(lcore = 3; cpu = 9; rx = ( { port = "p0"; queue = 0; } );)",
      .tail = R"(log_level = "debug"; mbufs = 4095; tx_drain_us = 50; route_capacity = 64;
                 neighbor = { capacity = 32; resolve_ms = 500; };
                 lazy_hold = { packets = 16; timeout_ms = 250; };
                 idle = { policy = "backoff"; pause_after = 8; sleep_after = 8; max_sleep_us = 10; };
                 eal = { args = [ "--no-huge" ]; main_lcore = 2; main_cpu = 5; };)",
  });
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(config->log_level, dp::LogLevel::kDebug);
  EXPECT_EQ(config->main_lcore, 2u);
  EXPECT_EQ(config->main_cpu, 5u);
  const dp::DataplaneSpec& dp = config->dataplane;
  EXPECT_EQ(dp.mbufs_per_socket, 4095u);
  EXPECT_EQ(dp.tx_drain_us, 50u);
  EXPECT_EQ(dp.route_capacity, 64u);
  EXPECT_EQ(dp.neighbor_capacity, 32u);
  EXPECT_EQ(dp.neighbor_resolve_ms, 500u);
  EXPECT_EQ(dp.lazy_hold, 16u);
  EXPECT_EQ(dp.lazy_hold_ms, 250u);
  EXPECT_EQ(dp.idle.pause_after, 8u);
  EXPECT_EQ(dp.idle.sleep_after, 8u);
  EXPECT_EQ(dp.idle.max_sleep_us, 10u);
  EXPECT_EQ(dp.ports[0].mtu, 9000);
  EXPECT_EQ(dp.ports[0].vlan, 7);
  EXPECT_EQ(dp.ports[0].mac->toString(), "02:00:00:00:00:01");
  EXPECT_EQ(dp.workers[0].cpu, 9u);
}

// --- Reading and parsing ---------------------------------------------------

TEST(ConfigTest, MissingFile) {
  auto config = loadConfigFile("/nonexistent/sluice.conf");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.status().message(),
            "/nonexistent/sluice.conf: cannot open config file: No such file or directory");
}

TEST(ConfigTest, DirectoryIsNotAFile) {
  auto config = loadConfigFile(SLUICE_SOURCE_ROOT "/conf");
  ASSERT_FALSE(config);
  EXPECT_NE(config.status().message().find("cannot read config file"), std::string::npos);
}

TEST(ConfigTest, ParseErrorNamesFileAndLine) {
  EXPECT_TRUE(textHasError("log_level = \"info\";\nmbufs = ;\n", "t.conf:2: parse error: "));
  EXPECT_TRUE(textHasError("mbufs = 4095;\nmbufs = 4095;\n", "t.conf:2: parse error: "));
}

TEST(ConfigTest, CollectsEveryErrorInFileOrder) {
  auto config = load({.port = "mtu = 1;", .tail = "mbufs = 1;\nlog_level = \"loud\";"});
  ASSERT_FALSE(config);
  EXPECT_EQ(config.status().message(),
            "t.conf:2: ports.[0].mtu: must be 68..9600\n"
            "t.conf:7: mbufs: must be 1023..16777215\n"
            "t.conf:8: log_level: 'loud' is not one of error, warning, info, debug");
}

// --- Unknown settings and wrong types --------------------------------------

TEST(ConfigTest, UnknownSettingsAtEveryLevel) {
  EXPECT_TRUE(hasError({.tail = "mbuf = 4095;"}, "t.conf:7: mbuf: unknown setting 'mbuf'"));
  EXPECT_TRUE(hasError({.port = "speed = 100;"}, "t.conf:2: ports.[0].speed: unknown setting"));
  EXPECT_TRUE(hasError({.worker = R"(lcore = 1; rx = ( { port = "p0"; queue = 0; q = 1; } );)"},
                       "t.conf:5: workers.[0].rx.[0].q: unknown setting 'q'"));
  EXPECT_TRUE(
      hasError({.tail = "eal = { main_core = 0; };"}, "t.conf:7: eal.main_core: unknown setting"));
  EXPECT_TRUE(hasError({.tail = "idle = { policy = \"busy\"; spin = 1; };"},
                       "t.conf:7: idle.spin: unknown setting"));
  EXPECT_TRUE(
      hasError({.tail = "neighbor = { size = 64; };"}, "t.conf:7: neighbor.size: unknown setting"));
  EXPECT_TRUE(hasError({.tail = "conntrack = { tcp_timeout = 60; };"},
                       "t.conf:7: conntrack.tcp_timeout: unknown setting"));
  EXPECT_TRUE(hasError(
      {.tail = std::string(kAddresses) + R"(routes = ( { prefix = "::/0"; gw = "fd00::2"; } );)"},
      "t.conf:8: routes.[0].gw: unknown setting"));
}

TEST(ConfigTest, WrongTypes) {
  EXPECT_TRUE(hasError({.tail = "log_level = 3;"}, "t.conf:7: log_level: must be a string"));
  EXPECT_TRUE(hasError({.tail = "mbufs = \"4095\";"}, "t.conf:7: mbufs: must be an integer"));
  EXPECT_TRUE(hasError({.tail = "mbufs = 4095.0;"}, "t.conf:7: mbufs: must be an integer"));
  EXPECT_TRUE(
      hasError({.tail = "tx_drain_us = true;"}, "t.conf:7: tx_drain_us: must be an integer"));
  EXPECT_TRUE(hasError({.port = "mtu = [ 1500 ];"}, "t.conf:2: ports.[0].mtu: must be an integer"));
  EXPECT_TRUE(hasError({.port = "mac = 2;"}, "t.conf:2: ports.[0].mac: must be a string"));
  EXPECT_TRUE(hasError({.tail = "eal = 1;"}, "t.conf:7: eal: must be a group"));
  EXPECT_TRUE(hasError({.tail = "idle = ( );"}, "t.conf:7: idle: must be a group"));
  EXPECT_TRUE(
      hasError({.tail = "eal = { args = \"--no-huge\"; };"}, "t.conf:7: eal.args: must be a list"));
  EXPECT_TRUE(hasError({.tail = "eal = { args = ( \"-m\", 512 ); };"},
                       "t.conf:7: eal.args.[1]: must be a string"));
  EXPECT_TRUE(textHasError("ports = { };\n", "t.conf:1: ports: must be a list"));
  EXPECT_TRUE(textHasError("ports = ( \"p0\" );\n", "t.conf:1: ports.[0]: must be a group"));
  EXPECT_TRUE(hasError({.worker = R"(lcore = 1; rx = ( "p0" );)"},
                       "t.conf:5: workers.[0].rx.[0]: must be a group"));
  EXPECT_TRUE(hasError({.worker = R"(lcore = "1"; rx = ( { port = "p0"; queue = 0; } );)"},
                       "t.conf:5: workers.[0].lcore: must be an integer"));
}

// --- Missing required settings: reported at the line of the parent group ----

TEST(ConfigTest, MissingRequiredSettings) {
  EXPECT_TRUE(textHasError("log_level = \"info\";\n", "t.conf:1: ports: missing required setting"));
  EXPECT_TRUE(
      textHasError("log_level = \"info\";\n", "t.conf:1: workers: missing required setting"));
  EXPECT_TRUE(textHasError("ports = (\n  { device = \"net_null0\"; }\n);\n",
                           "t.conf:2: ports.[0].name: missing required setting"));
  EXPECT_TRUE(textHasError("ports = (\n  { name = \"p0\"; }\n);\n",
                           "t.conf:2: ports.[0].device: missing required setting"));
  EXPECT_TRUE(hasError({.worker = R"(rx = ( { port = "p0"; queue = 0; } );)"},
                       "t.conf:5: workers.[0].lcore: missing required setting"));
  EXPECT_TRUE(hasError({.worker = "lcore = 1;"}, "t.conf:5: workers.[0].rx: missing required"));
  EXPECT_TRUE(hasError({.worker = R"(lcore = 1; rx = ( { port = "p0"; } );)"},
                       "t.conf:5: workers.[0].rx.[0].queue: missing required setting"));
  EXPECT_TRUE(hasError({.worker = R"(lcore = 1; rx = ( { queue = 0; } );)"},
                       "t.conf:5: workers.[0].rx.[0].port: missing required setting"));
  EXPECT_TRUE(hasError({.tail = "addresses = (\n  { port = \"p0\"; }\n);"},
                       "t.conf:8: addresses.[0].address: missing required setting"));
  EXPECT_TRUE(hasError({.tail = "addresses = ( { address = \"10.0.0.1/24\"; } );"},
                       "t.conf:7: addresses.[0].port: missing required setting"));
  EXPECT_TRUE(hasError({.tail = "routes = ( { via = \"10.0.0.2\"; port = \"p0\"; } );"},
                       "t.conf:7: routes.[0].prefix: missing required setting"));
  EXPECT_TRUE(hasError({.tail = std::string(kAddresses) +
                                R"(neighbors = ( { port = "p0"; address = "10.0.0.2"; } );)"},
                       "t.conf:8: neighbors.[0].mac: missing required setting"));
}

TEST(ConfigTest, NeedsAPortAndAWorker) {
  EXPECT_TRUE(textHasError("ports = ( );\nworkers = ( );\n",
                           "t.conf:1: ports: must list at least one port"));
  EXPECT_TRUE(textHasError("ports = ( );\nworkers = ( );\n",
                           "t.conf:2: workers: must list at least one worker"));
  EXPECT_TRUE(hasError({.worker = "lcore = 1; rx = ( );"},
                       "t.conf:5: workers.[0].rx: must list at least one {port, queue}"));
}

// --- Values and ranges ------------------------------------------------------

TEST(ConfigTest, ChoicesMustBeKnown) {
  EXPECT_TRUE(hasError({.tail = "log_level = \"verbose\";"},
                       "t.conf:7: log_level: 'verbose' is not one of error, warning, info, debug"));
  EXPECT_TRUE(hasError({.tail = "idle = {\n  policy = \"spin\";\n};"},
                       "t.conf:8: idle.policy: 'spin' is not one of busy, backoff"));
}

TEST(ConfigTest, RangesAreChecked) {
  struct Case {
    Parts parts;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{.port = "rx_queues = 0;"}, "t.conf:2: ports.[0].rx_queues: must be 1..64"},
      {{.port = "rx_queues = 65;"}, "t.conf:2: ports.[0].rx_queues: must be 1..64"},
      {{.port = "rx_desc = 63;"}, "t.conf:2: ports.[0].rx_desc: must be 64..16384"},
      {{.port = "rx_desc = 16385;"}, "t.conf:2: ports.[0].rx_desc: must be 64..16384"},
      {{.port = "tx_desc = 63;"}, "t.conf:2: ports.[0].tx_desc: must be 64..16384"},
      {{.port = "tx_desc = 16385;"}, "t.conf:2: ports.[0].tx_desc: must be 64..16384"},
      {{.port = "mtu = 67;"}, "t.conf:2: ports.[0].mtu: must be 68..9600"},
      {{.port = "mtu = 9601;"}, "t.conf:2: ports.[0].mtu: must be 68..9600"},
      {{.port = "vlan = -1;"}, "t.conf:2: ports.[0].vlan: must be 0..4094"},
      {{.port = "vlan = 4095;"}, "t.conf:2: ports.[0].vlan: must be 0..4094"},
      {{.worker = R"(lcore = 128; rx = ( { port = "p0"; queue = 0; } );)"},
       "t.conf:5: workers.[0].lcore: must be 0..127"},
      {{.worker = R"(lcore = 1; cpu = 1024; rx = ( { port = "p0"; queue = 0; } );)"},
       "t.conf:5: workers.[0].cpu: must be 0..1023"},
      {{.worker = R"(lcore = 1; cpu = -1; rx = ( { port = "p0"; queue = 0; } );)"},
       "t.conf:5: workers.[0].cpu: must be 0..1023"},
      {{.worker = R"(lcore = 1; rx = ( { port = "p0"; queue = 64; } );)"},
       "t.conf:5: workers.[0].rx.[0].queue: must be 0..63"},
      {{.tail = "mbufs = 1022;"}, "t.conf:7: mbufs: must be 1023..16777215"},
      {{.tail = "mbufs = 16777216;"}, "t.conf:7: mbufs: must be 1023..16777215"},
      {{.tail = "mbufs = 100000000000L;"}, "t.conf:7: mbufs: must be 1023..16777215"},
      {{.tail = "tx_drain_us = 0;"}, "t.conf:7: tx_drain_us: must be 1..100000"},
      {{.tail = "tx_drain_us = 100001;"}, "t.conf:7: tx_drain_us: must be 1..100000"},
      {{.tail = "route_capacity = 15;"}, "t.conf:7: route_capacity: must be 16..1048576"},
      {{.tail = "route_capacity = 1048577;"}, "t.conf:7: route_capacity: must be 16..1048576"},
      {{.tail = "neighbor = { capacity = 15; };"},
       "t.conf:7: neighbor.capacity: must be 16..1048576"},
      {{.tail = "neighbor = { capacity = 1048577; };"},
       "t.conf:7: neighbor.capacity: must be 16..1048576"},
      {{.tail = "neighbor = { resolve_ms = 9; };"},
       "t.conf:7: neighbor.resolve_ms: must be 10..60000"},
      {{.tail = "neighbor = { resolve_ms = 60001; };"},
       "t.conf:7: neighbor.resolve_ms: must be 10..60000"},
      {{.tail = "lazy_hold = { packets = 65537; };"},
       "t.conf:7: lazy_hold.packets: must be 0..65536"},
      {{.tail = "lazy_hold = { timeout_ms = 0; };"},
       "t.conf:7: lazy_hold.timeout_ms: must be 1..60000"},
      {{.tail = "idle = { pause_after = 0; };"}, "t.conf:7: idle.pause_after: must be at least 1"},
      {{.tail = "idle = { max_sleep_us = 0; };"}, "t.conf:7: idle.max_sleep_us: must be 1..100000"},
      {{.tail = "idle = { max_sleep_us = 100001; };"},
       "t.conf:7: idle.max_sleep_us: must be 1..100000"},
      {{.tail = "eal = { main_lcore = 128; };"}, "t.conf:7: eal.main_lcore: must be 0..127"},
      {{.tail = "eal = { main_cpu = 1024; };"}, "t.conf:7: eal.main_cpu: must be 0..1023"},
      {{.tail = "services_capacity = 15;"}, "t.conf:7: services_capacity: must be 16..1048576"},
      {{.tail = "services_capacity = 1048577;"},
       "t.conf:7: services_capacity: must be 16..1048576"},
      {{.tail = "conntrack = { capacity = 1023; };"},
       "t.conf:7: conntrack.capacity: must be 1024..16777216"},
      {{.tail = "conntrack = { capacity = 16777217; };"},
       "t.conf:7: conntrack.capacity: must be 1024..16777216"},
      {{.tail = "conntrack = { tcp_half_open_timeout = 0; };"},
       "t.conf:7: conntrack.tcp_half_open_timeout: must be 1..604800"},
      {{.tail = "conntrack = { tcp_established_timeout = 604801; };"},
       "t.conf:7: conntrack.tcp_established_timeout: must be 1..604800"},
      {{.tail = "conntrack = { tcp_fin_timeout = 0; };"},
       "t.conf:7: conntrack.tcp_fin_timeout: must be 1..604800"},
      {{.tail = "conntrack = { tcp_closed_timeout = 0; };"},
       "t.conf:7: conntrack.tcp_closed_timeout: must be 1..604800"},
      {{.tail = "conntrack = { udp_timeout = 604801; };"},
       "t.conf:7: conntrack.udp_timeout: must be 1..604800"},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(hasError(c.parts, c.expected)) << text(c.parts);
  }
}

TEST(ConfigTest, SleepAfterNotBeforePauseAfter) {
  EXPECT_TRUE(hasError({.tail = "idle = {\n  pause_after = 100;\n  sleep_after = 99;\n};"},
                       "t.conf:9: idle.sleep_after: sleep_after (99) must be at least pause_after "
                       "(100)"));
  // Against the default sleep_after (1024), reported at the group.
  EXPECT_TRUE(hasError({.tail = "idle = {\n  pause_after = 2000;\n};"},
                       "t.conf:7: idle: sleep_after (1024) must be at least pause_after (2000)"));
}

// --- Ports ------------------------------------------------------------------

TEST(ConfigTest, PortNamesAndDevices) {
  EXPECT_TRUE(textHasError("ports = (\n  { name = \"p 0\"; device = \"net_null0\"; }\n);\n",
                           "t.conf:2: ports.[0].name: 'p 0' must be non-empty"));
  EXPECT_TRUE(textHasError("ports = (\n  { name = \"\"; device = \"net_null0\"; }\n);\n",
                           "t.conf:2: ports.[0].name: '' must be non-empty"));
  EXPECT_TRUE(textHasError("ports = (\n  { name = \"p0\"; device = \"\"; }\n);\n",
                           "t.conf:2: ports.[0].device: must not be empty"));
}

TEST(ConfigTest, PortNamesAndDevicesAreUnique) {
  std::string ports =
      "ports = (\n"
      "  { name = \"p0\"; device = \"net_null0\"; },\n"
      "  { name = \"p0\"; device = \"net_null1\"; },\n"
      "  { name = \"p2\"; device = \"net_null0,size=64\"; }\n"
      ");\n";
  EXPECT_TRUE(textHasError(ports, "t.conf:3: ports.[1].name: port 'p0' is already defined"));
  EXPECT_TRUE(textHasError(
      ports, "t.conf:4: ports.[2].device: device 'net_null0' is already used by port 'p0'"));
}

TEST(ConfigTest, PortMacMustBeUnicast) {
  EXPECT_TRUE(hasError({.port = R"(mac = "02:00:00:00:01";)"},
                       "t.conf:2: ports.[0].mac: '02:00:00:00:01' is not a MAC address"));
  EXPECT_TRUE(hasError({.port = R"(mac = "01:00:5e:00:00:01";)"},
                       "t.conf:2: ports.[0].mac: '01:00:5e:00:00:01' must be a unicast, non-zero"));
  EXPECT_TRUE(hasError({.port = R"(mac = "00:00:00:00:00:00";)"},
                       "t.conf:2: ports.[0].mac: '00:00:00:00:00:00' must be a unicast, non-zero"));
}

// --- Workers and queues -----------------------------------------------------

TEST(ConfigTest, WorkerLcores) {
  EXPECT_TRUE(hasError({.tail = "eal = { main_lcore = 1; };"},
                       "t.conf:5: workers.[0].lcore: lcore 1 is eal.main_lcore"));
  std::string two =
      "ports = (\n"
      "  { name = \"p0\"; device = \"net_null0\"; rx_queues = 2; }\n"
      ");\n"
      "workers = (\n"
      "  { lcore = 1; rx = ( { port = \"p0\"; queue = 0; } ); },\n"
      "  { lcore = 1; rx = ( { port = \"p0\"; queue = 1; } ); }\n"
      ");\n";
  EXPECT_TRUE(textHasError(two, "t.conf:6: workers.[1].lcore: lcore 1 has another worker"));
}

TEST(ConfigTest, RxQueueReferences) {
  EXPECT_TRUE(hasError({.worker = R"(lcore = 1; rx = ( { port = "p1"; queue = 0; } );)"},
                       "t.conf:5: workers.[0].rx.[0].port: unknown port 'p1'"));
  EXPECT_TRUE(hasError(
      {.worker =
           R"(lcore = 1; rx = ( { port = "p0"; queue = 0; }, { port = "p0"; queue = 1; } );)"},
      "t.conf:5: workers.[0].rx.[1].queue: queue 1 is out of range: port 'p0' has rx_queues = 1"));
  EXPECT_TRUE(hasError(
      {.worker =
           R"(lcore = 1; rx = ( { port = "p0"; queue = 0; }, { port = "p0"; queue = 0; } );)"},
      "t.conf:5: workers.[0].rx.[1]: queue 0 of port 'p0' is already polled by "
      "workers.[0].rx.[0]"));
}

TEST(ConfigTest, EveryQueueIsPolled) {
  EXPECT_TRUE(hasError({.port = "\n  rx_queues = 3;"},
                       "t.conf:3: ports.[0].rx_queues: rx queue(s) 1, 2 of port 'p0' are not "
                       "polled by any worker"));
  std::string unpolled_port =
      "ports = (\n"
      "  { name = \"p0\"; device = \"net_null0\"; },\n"
      "  { name = \"p1\"; device = \"net_null1\"; }\n"
      ");\n"
      "workers = ( { lcore = 1; rx = ( { port = \"p0\"; queue = 0; } ); } );\n";
  EXPECT_TRUE(textHasError(unpolled_port,
                           "t.conf:3: ports.[1]: rx queue(s) 0 of port 'p1' are not polled"));
}

// --- Addresses --------------------------------------------------------------

TEST(ConfigTest, Addresses) {
  auto at = [](const std::string& port, const std::string& address) {
    return Parts{.tail = "addresses = ( { port = \"" + port + "\"; address = \"" + address +
                         "\"; } );"};
  };
  EXPECT_TRUE(hasError(at("p0", "10.0.0.1/33"),
                       "t.conf:7: addresses.[0].address: '10.0.0.1/33' is not an address/length"));
  EXPECT_TRUE(hasError(at("p0", "10.0.0.1"),
                       "t.conf:7: addresses.[0].address: '10.0.0.1' is not an address/length"));
  EXPECT_TRUE(hasError(at("p0", "banana/24"), "t.conf:7: addresses.[0].address: 'banana/24'"));
  EXPECT_TRUE(hasError(at("p9", "10.0.0.1/24"), "t.conf:7: addresses.[0].port: unknown port 'p9'"));
  EXPECT_TRUE(hasError(at("p0", "224.0.0.1/4"),
                       "t.conf:7: addresses.[0].address: '224.0.0.1/4' must be a unicast address"));
  EXPECT_TRUE(hasError(at("p0", "0.0.0.0/0"),
                       "t.conf:7: addresses.[0].address: '0.0.0.0/0' must be a unicast address"));
  EXPECT_TRUE(hasError(at("p0", "ff02::1/64"), "must be a unicast address"));
  EXPECT_TRUE(hasError(
      {.tail = "addresses = (\n{ port = \"p0\"; address = \"10.0.0.1/24\"; },\n"
               "{ port = \"p0\"; address = \"10.0.0.1/16\"; }\n);"},
      "t.conf:9: addresses.[1].address: address 10.0.0.1 is already assigned to port 'p0'"));
}

// --- Routes -----------------------------------------------------------------

TEST(ConfigTest, RoutesTakeTheirPortFromTheConnectedSubnet) {
  auto config = load({.tail = std::string(kAddresses) +
                              R"(routes = ( { prefix = "0.0.0.0/0"; via = "10.0.0.254"; },
                                            { prefix = "192.0.2.0/24"; port = "p0"; } );)"});
  ASSERT_TRUE(config) << config.status().message();
  const auto& routes = config->dataplane.routes;
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].port, "p0");
  EXPECT_EQ(routes[0].via, IpAddr::parse("10.0.0.254"));
  EXPECT_EQ(routes[1].port, "p0");
  EXPECT_FALSE(routes[1].via);
}

TEST(ConfigTest, Routes) {
  auto route = [](const std::string& fields) {
    return Parts{.tail = std::string(kAddresses) + "routes = ( { " + fields + " } );"};
  };
  EXPECT_TRUE(hasError(route(R"(prefix = "10.0.0.0/40"; port = "p0";)"),
                       "t.conf:8: routes.[0].prefix: '10.0.0.0/40' is not a prefix"));
  EXPECT_TRUE(hasError(route(R"(prefix = "10.1.0.1/16"; port = "p0";)"),
                       "t.conf:8: routes.[0].prefix: '10.1.0.1/16' has host bits set; did you "
                       "mean 10.1.0.0/16?"));
  EXPECT_TRUE(hasError(route(R"(prefix = "::/0"; via = "10.0.0.254";)"),
                       "t.conf:8: routes.[0].via: '10.0.0.254' is not in the address family"));
  EXPECT_TRUE(hasError(route(R"(prefix = "0.0.0.0/0"; via = "224.0.0.5"; port = "p0";)"),
                       "t.conf:8: routes.[0].via: '224.0.0.5' must be a unicast address"));
  EXPECT_TRUE(hasError(route(R"(prefix = "0.0.0.0/0"; via = "gateway"; port = "p0";)"),
                       "t.conf:8: routes.[0].via: 'gateway' is not an IP address"));
  EXPECT_TRUE(hasError(route(R"(prefix = "0.0.0.0/0"; via = "10.0.0.254"; port = "p7";)"),
                       "t.conf:8: routes.[0].port: unknown port 'p7'"));
  EXPECT_TRUE(hasError(route(R"(prefix = "0.0.0.0/0"; via = "192.0.2.1";)"),
                       "t.conf:8: routes.[0].via: 192.0.2.1 is not in a connected subnet"));
  EXPECT_TRUE(hasError(route(R"(prefix = "192.0.2.0/24";)"),
                       "t.conf:8: routes.[0]: a route without via needs a port"));
  EXPECT_TRUE(hasError(
      {.tail = std::string(kAddresses) + "routes = (\n"
                                         "  { prefix = \"192.0.2.0/24\"; port = \"p0\"; },\n"
                                         "  { prefix = \"192.0.2.0/24\"; via = \"10.0.0.9\"; }\n"
                                         ");"},
      "t.conf:10: routes.[1].prefix: prefix 192.0.2.0/24 is already routed by routes.[0]"));
}

TEST(ConfigTest, RouteViaInSubnetsOfTwoPortsIsAmbiguous) {
  std::string config =
      "ports = (\n"
      "  { name = \"p0\"; device = \"net_null0\"; },\n"
      "  { name = \"p1\"; device = \"net_null1\"; }\n"
      ");\n"
      "workers = ( { lcore = 1; rx = ( { port = \"p0\"; queue = 0; },\n"
      "                                { port = \"p1\"; queue = 0; } ); } );\n"
      "addresses = ( { port = \"p0\"; address = \"10.0.0.1/24\"; },\n"
      "              { port = \"p1\"; address = \"10.0.0.2/24\"; } );\n"
      "routes = ( { prefix = \"0.0.0.0/0\"; via = \"10.0.0.254\"; } );\n";
  EXPECT_TRUE(
      textHasError(config, "t.conf:9: routes.[0].via: 10.0.0.254 is in subnets of several"));
}

// --- Neighbors --------------------------------------------------------------

TEST(ConfigTest, Neighbors) {
  auto neighbor = [](const std::string& fields) {
    return Parts{.tail = std::string(kAddresses) + "neighbors = ( { " + fields + " } );"};
  };
  auto ok = load(neighbor(R"(port = "p0"; address = "fd00::2"; mac = "02:00:00:00:00:02";)"));
  ASSERT_TRUE(ok) << ok.status().message();
  EXPECT_EQ(ok->dataplane.neighbors[0].addr, IpAddr::parse("fd00::2"));

  EXPECT_TRUE(hasError(neighbor(R"(port = "p3"; address = "10.0.0.2"; mac = "02:00:00:00:00:02";)"),
                       "t.conf:8: neighbors.[0].port: unknown port 'p3'"));
  EXPECT_TRUE(hasError(neighbor(R"(port = "p0"; address = "10.0.0"; mac = "02:00:00:00:00:02";)"),
                       "t.conf:8: neighbors.[0].address: '10.0.0' is not an IP address"));
  EXPECT_TRUE(
      hasError(neighbor(R"(port = "p0"; address = "224.0.0.9"; mac = "02:00:00:00:00:02";)"),
               "t.conf:8: neighbors.[0].address: '224.0.0.9' must be a unicast address"));
  EXPECT_TRUE(hasError(neighbor(R"(port = "p0"; address = "10.0.0.2"; mac = "02:00:00:00:00";)"),
                       "t.conf:8: neighbors.[0].mac: '02:00:00:00:00' is not a MAC address"));
  EXPECT_TRUE(hasError(neighbor(R"(port = "p0"; address = "10.0.0.2"; mac = "33:33:00:00:00:01";)"),
                       "t.conf:8: neighbors.[0].mac: '33:33:00:00:00:01' must be a unicast"));
  EXPECT_TRUE(hasError(neighbor(R"(port = "p0"; address = "10.0.0.2"; mac = "00:00:00:00:00:00";)"),
                       "t.conf:8: neighbors.[0].mac: '00:00:00:00:00:00' must be a unicast"));
  EXPECT_TRUE(
      hasError(neighbor(R"(port = "p0"; address = "10.9.0.2"; mac = "02:00:00:00:00:02";)"),
               "t.conf:8: neighbors.[0].address: 10.9.0.2 is not in a subnet of port 'p0'"));
  EXPECT_TRUE(hasError(
      {.tail = std::string(kAddresses) +
               "neighbors = (\n"
               "  { port = \"p0\"; address = \"10.0.0.2\"; mac = \"02:00:00:00:00:02\"; },\n"
               "  { port = \"p0\"; address = \"10.0.0.2\"; mac = \"02:00:00:00:00:03\"; }\n"
               ");"},
      "t.conf:10: neighbors.[1].address: neighbor 10.0.0.2 on port 'p0' is already defined"));
}

// --- SNAT and conntrack -----------------------------------------------------

TEST(ConfigTest, SnatAndConntrack) {
  auto config = load({.tail = std::string(kAddresses) + R"(snat = [ "fd00::1", "10.0.0.1" ];
      conntrack = { capacity = 1024; tcp_half_open_timeout = 5; tcp_established_timeout = 600;
                    tcp_fin_timeout = 20; tcp_closed_timeout = 2; udp_timeout = 604800; };
      services_capacity = 16;)"});
  ASSERT_TRUE(config) << config.status().message();
  const dp::DataplaneSpec& dp = config->dataplane;
  EXPECT_EQ(dp.snat, (std::vector<IpAddr>{*IpAddr::parse("fd00::1"), *IpAddr::parse("10.0.0.1")}));
  EXPECT_EQ(dp.conntrack.capacity, 1024u);
  EXPECT_EQ(dp.conntrack.tcp_half_open_s, 5u);
  EXPECT_EQ(dp.conntrack.tcp_established_s, 600u);
  EXPECT_EQ(dp.conntrack.tcp_fin_s, 20u);
  EXPECT_EQ(dp.conntrack.tcp_closed_s, 2u);
  EXPECT_EQ(dp.conntrack.udp_s, 604800u);
  EXPECT_EQ(dp.services_capacity, 16u);

  auto defaults = load({});
  ASSERT_TRUE(defaults) << defaults.status().message();
  EXPECT_TRUE(defaults->dataplane.snat.empty());
  EXPECT_EQ(defaults->dataplane.conntrack.capacity, 262144u);
  EXPECT_EQ(defaults->dataplane.conntrack.udp_s, 300u);
  EXPECT_EQ(defaults->dataplane.services_capacity, 65536u);
  EXPECT_TRUE(defaults->services.empty());
}

TEST(ConfigTest, SnatAddressesAreLocalAndListedOnce) {
  auto snat = [](const std::string& list) {
    return Parts{.tail = std::string(kAddresses) + "snat = " + list + ";"};
  };
  EXPECT_TRUE(hasError(snat(R"([ "10.0.0.9" ])"),
                       "t.conf:8: snat.[0]: 10.0.0.9 is not a local address (see addresses)"));
  EXPECT_TRUE(hasError(snat(R"([ "10.0.0.1", "fd00::1", "10.0.0.1" ])"),
                       "t.conf:8: snat.[2]: 10.0.0.1 is already listed"));
  EXPECT_TRUE(
      hasError(snat(R"([ "10.0.0.300" ])"), "t.conf:8: snat.[0]: '10.0.0.300' is not an IP"));
  EXPECT_TRUE(hasError(snat(R"([ "0.0.0.0" ])"),
                       "t.conf:8: snat.[0]: '0.0.0.0' must be a unicast address"));
  EXPECT_TRUE(hasError(snat("[ 1 ]"), "t.conf:8: snat.[0]: must be a string"));
  EXPECT_TRUE(hasError(snat(R"("10.0.0.1")"), "t.conf:8: snat: must be a list"));
}

// --- Services ---------------------------------------------------------------

// Config text whose services list opens on line 9, so that `body` starts on
// line 10. SNAT pools of both families unless `snat` says otherwise.
Parts withServices(const std::string& body,
                   const std::string& snat = R"(snat = [ "10.0.0.1", "fd00::1" ];)") {
  return Parts{.tail = std::string(kAddresses) + snat + "\nservices = (\n" + body + "\n);"};
}

// One service on line 10 with the given fields and endpoints.
Parts oneService(const std::string& fields, const std::string& endpoints = "") {
  return withServices("{ " + fields + " endpoints = ( " + endpoints + " ); }");
}

constexpr char kWeb[] = R"(vip = "10.96.0.10"; port = 80; protocol = "tcp";)";
constexpr char kWeb6[] = R"(vip = "fd00:96::10"; port = 80; protocol = "tcp";)";

TEST(ServicesConfigTest, ReadsEverySetting) {
  auto config = load(withServices(R"({
    vip = "10.96.0.10"; port = 53; protocol = "udp"; mode = "dnat"; algorithm = "random";
    affinity = "client-ip"; affinity_timeout = 60; table_size = 1021;
    endpoints = ( { address = "10.244.1.2"; port = 5353; weight = 3; state = "terminating"; },
                  { address = "10.244.1.3"; port = 5353; state = "unhealthy"; },
                  { address = "10.244.1.4"; port = 5353; state = "ready"; } );
  },
  { vip = "fd00:96::10"; port = 443; protocol = "tcp";
    endpoints = ( { address = "fd00:244::2"; port = 8443; } ); },
  { vip = "10.96.0.10"; port = 53; protocol = "tcp"; endpoints = ( ); })"));
  ASSERT_TRUE(config) << config.status().message();
  ASSERT_EQ(config->services.size(), 3u);

  const ServiceSpec& dns = config->services[0];
  EXPECT_EQ(dns.key.toString(), "10.96.0.10:53/udp");
  EXPECT_EQ(dns.mode, ForwardMode::kDnat);
  EXPECT_EQ(dns.algorithm, Algorithm::kRandom);
  EXPECT_TRUE(dns.affinity_client_ip);
  EXPECT_EQ(dns.affinity_timeout_s, 60u);
  EXPECT_EQ(dns.table_size, 1021u);
  ASSERT_EQ(dns.endpoints.size(), 3u);
  EXPECT_EQ(dns.endpoints[0].toString(), "10.244.1.2:5353");
  EXPECT_EQ(dns.endpoints[0].weight, 3u);
  EXPECT_EQ(dns.endpoints[0].state, EndpointState::kTerminating);
  EXPECT_EQ(dns.endpoints[1].weight, 1u);
  EXPECT_EQ(dns.endpoints[1].state, EndpointState::kUnhealthy);
  EXPECT_EQ(dns.endpoints[2].state, EndpointState::kReady);

  // Defaults.
  const ServiceSpec& web6 = config->services[1];
  EXPECT_EQ(web6.key.toString(), "[fd00:96::10]:443/tcp");
  EXPECT_EQ(web6.mode, ForwardMode::kFullNat);
  EXPECT_EQ(web6.algorithm, Algorithm::kMaglev);
  EXPECT_FALSE(web6.affinity_client_ip);
  EXPECT_EQ(web6.affinity_timeout_s, kDefaultAffinityTimeoutS);
  EXPECT_FALSE(web6.table_size);
  ASSERT_EQ(web6.endpoints.size(), 1u);
  EXPECT_EQ(web6.endpoints[0].toString(), "[fd00:244::2]:8443");
  EXPECT_EQ(web6.endpoints[0].weight, 1u);
  EXPECT_EQ(web6.endpoints[0].state, EndpointState::kReady);

  // A service without endpoints is valid: it drops its traffic.
  EXPECT_TRUE(config->services[2].endpoints.empty());
}

TEST(ServicesConfigTest, RequiredSettings) {
  EXPECT_TRUE(hasError(oneService(R"(port = 80; protocol = "tcp";)"),
                       "t.conf:10: services.[0].vip: missing required setting"));
  EXPECT_TRUE(hasError(oneService(R"(vip = "10.96.0.10"; protocol = "tcp";)"),
                       "t.conf:10: services.[0].port: missing required setting"));
  EXPECT_TRUE(hasError(oneService(R"(vip = "10.96.0.10"; port = 80;)"),
                       "t.conf:10: services.[0].protocol: missing required setting"));
  EXPECT_TRUE(hasError(withServices(std::string("{ ") + kWeb + " }"),
                       "t.conf:10: services.[0].endpoints: missing required setting"));
  EXPECT_TRUE(hasError(oneService(kWeb, R"({ port = 80; })"),
                       "t.conf:10: services.[0].endpoints.[0].address: missing required setting"));
  EXPECT_TRUE(hasError(oneService(kWeb, R"({ address = "10.244.1.2"; })"),
                       "t.conf:10: services.[0].endpoints.[0].port: missing required setting"));
}

TEST(ServicesConfigTest, UnknownSettingsAndWrongTypes) {
  EXPECT_TRUE(hasError(oneService(std::string(kWeb) + R"( name = "web";)"),
                       "t.conf:10: services.[0].name: unknown setting 'name'"));
  EXPECT_TRUE(hasError(oneService(kWeb, R"({ address = "10.244.1.2"; port = 80; zone = "a"; })"),
                       "t.conf:10: services.[0].endpoints.[0].zone: unknown setting"));
  EXPECT_TRUE(hasError(oneService(R"(vip = "10.96.0.10"; port = "http"; protocol = "tcp";)"),
                       "t.conf:10: services.[0].port: must be an integer"));
  // No line: libconfig counts a scalar at the end of a line as on the next one.
  EXPECT_TRUE(hasError(withServices(R"("web")"), ": services.[0]: must be a group"));
  EXPECT_TRUE(
      hasError(Parts{.tail = "services = { };"}, "t.conf:7: services: must be a list ( ... )"));
  EXPECT_TRUE(hasError(withServices(std::string("{ ") + kWeb + R"( endpoints = "10.244.1.2"; })"),
                       "t.conf:10: services.[0].endpoints: must be a list"));
}

TEST(ServicesConfigTest, ChoicesMustBeKnown) {
  EXPECT_TRUE(hasError(oneService(R"(vip = "10.96.0.10"; port = 80; protocol = "sctp";)"),
                       "t.conf:10: services.[0].protocol: 'sctp' is not one of tcp, udp"));
  EXPECT_TRUE(hasError(oneService(std::string(kWeb) + R"( mode = "dsr";)"),
                       "t.conf:10: services.[0].mode: 'dsr' is not one of fullnat, dnat"));
  EXPECT_TRUE(hasError(oneService(std::string(kWeb) + R"( algorithm = "rr";)"),
                       "t.conf:10: services.[0].algorithm: 'rr' is not one of maglev, random"));
  EXPECT_TRUE(
      hasError(oneService(std::string(kWeb) + R"( affinity = "ClientIP";)"),
               "t.conf:10: services.[0].affinity: 'ClientIP' is not one of none, client-ip"));
  EXPECT_TRUE(hasError(oneService(kWeb, R"({ address = "10.244.1.2"; port = 80; state = "up"; })"),
                       "t.conf:10: services.[0].endpoints.[0].state: 'up' is not one of ready, "
                       "terminating, unhealthy"));
}

TEST(ServicesConfigTest, VipAndPorts) {
  EXPECT_TRUE(hasError(oneService(R"(vip = "10.96.0"; port = 80; protocol = "tcp";)"),
                       "t.conf:10: services.[0].vip: '10.96.0' is not an IP address"));
  EXPECT_TRUE(hasError(oneService(R"(vip = "224.0.0.10"; port = 80; protocol = "tcp";)"),
                       "t.conf:10: services.[0].vip: '224.0.0.10' must be a unicast address"));
  EXPECT_TRUE(hasError(oneService(R"(vip = "::"; port = 80; protocol = "tcp";)"),
                       "t.conf:10: services.[0].vip: '::' must be a unicast address"));
  EXPECT_TRUE(hasError(oneService(R"(vip = "10.96.0.10"; port = 0; protocol = "tcp";)"),
                       "t.conf:10: services.[0].port: must be 1..65535"));
  EXPECT_TRUE(hasError(oneService(R"(vip = "10.96.0.10"; port = 65536; protocol = "tcp";)"),
                       "t.conf:10: services.[0].port: must be 1..65535"));
  EXPECT_TRUE(hasError(oneService(kWeb, R"({ address = "10.244.1.2"; port = 0; })"),
                       "t.conf:10: services.[0].endpoints.[0].port: must be 1..65535"));
}

TEST(ServicesConfigTest, DuplicateServicesNameTheFirst) {
  std::string none = " endpoints = ( ); }";
  EXPECT_TRUE(hasError(withServices(std::string("{ ") + kWeb + none + ",\n" +
                                    R"({ vip = "10.96.0.11"; port = 80; protocol = "tcp";)" + none +
                                    ",\n{ " + kWeb + none),
                       "t.conf:12: services.[2].vip: service 10.96.0.10:80/tcp is already defined "
                       "by services.[0] (line 10)"));
  // The same IPv6 VIP spelt two ways.
  EXPECT_TRUE(
      hasError(withServices(std::string("{ ") + kWeb6 + none + ",\n" +
                            R"({ vip = "fd00:96:0::0010"; port = 80; protocol = "tcp";)" + none),
               "t.conf:11: services.[1].vip: service [fd00:96::10]:80/tcp is already defined by "
               "services.[0] (line 10)"));
  // Another port or protocol is another service.
  auto config =
      load(withServices(std::string("{ ") + kWeb + none + ",\n" +
                        R"({ vip = "10.96.0.10"; port = 80; protocol = "udp";)" + none + ",\n" +
                        R"({ vip = "10.96.0.10"; port = 81; protocol = "tcp";)" + none));
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(config->services.size(), 3u);
}

TEST(ServicesConfigTest, Endpoints) {
  auto endpoints = [](const std::string& list) { return oneService(kWeb, list); };
  EXPECT_TRUE(hasError(endpoints(R"({ address = "fd00:244::2"; port = 80; })"),
                       "t.conf:10: services.[0].endpoints.[0].address: fd00:244::2 is IPv6 but "
                       "the VIP is IPv4"));
  EXPECT_TRUE(hasError(oneService(kWeb6, R"({ address = "10.244.1.2"; port = 80; })"),
                       "t.conf:10: services.[0].endpoints.[0].address: 10.244.1.2 is IPv4 but "
                       "the VIP is IPv6"));
  EXPECT_TRUE(hasError(endpoints(R"({ address = "10.244.1"; port = 80; })"),
                       "t.conf:10: services.[0].endpoints.[0].address: '10.244.1' is not an IP"));
  EXPECT_TRUE(hasError(endpoints(R"({ address = "239.1.1.1"; port = 80; })"),
                       "t.conf:10: services.[0].endpoints.[0].address: '239.1.1.1' must be a "
                       "unicast address"));
  EXPECT_TRUE(hasError(endpoints(R"({ address = "0.0.0.0"; port = 80; })"),
                       "t.conf:10: services.[0].endpoints.[0].address: '0.0.0.0' must be a "
                       "unicast address"));
  EXPECT_TRUE(
      hasError(withServices(std::string("{ ") + kWeb + " endpoints = (\n" +
                            R"(  { address = "10.244.1.2"; port = 8080; },)" + "\n" +
                            R"(  { address = "10.244.1.2"; port = 8081; },)" + "\n" +
                            R"(  { address = "10.244.1.2"; port = 8080; weight = 2; } ); })"),
               "t.conf:13: services.[0].endpoints.[2]: 10.244.1.2:8080 is already endpoints[0]"));
}

TEST(ServicesConfigTest, Weights) {
  auto weight = [](const std::string& value) {
    return oneService(kWeb, R"({ address = "10.244.1.2"; port = 80; weight = )" + value + "; }");
  };
  EXPECT_TRUE(hasError(weight("0"),
                       "t.conf:10: services.[0].endpoints.[0].weight: 0 is not a valid weight; "
                       "to stop new flows to an endpoint, set its state to terminating or "
                       "unhealthy"));
  EXPECT_TRUE(
      hasError(weight("65536"), "t.conf:10: services.[0].endpoints.[0].weight: must be 1..65535"));
  EXPECT_TRUE(
      hasError(weight("-1"), "t.conf:10: services.[0].endpoints.[0].weight: must be at least 0"));
  auto config = load(weight("65535"));
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(config->services[0].endpoints[0].weight, 65535u);
}

TEST(ServicesConfigTest, TableSize) {
  std::string three = R"({ address = "10.244.1.2"; port = 80; },
                         { address = "10.244.1.3"; port = 80; },
                         { address = "10.244.1.4"; port = 80; })";
  auto sized = [&](const std::string& size) {
    return oneService(std::string(kWeb) + " table_size = " + size + ";", three);
  };
  EXPECT_TRUE(hasError(sized("1000"), "t.conf:10: services.[0].table_size: 1000 is not a prime"));
  EXPECT_TRUE(hasError(sized("0"), "t.conf:10: services.[0].table_size: 0 is not a prime"));
  EXPECT_TRUE(hasError(sized("2"),
                       "t.conf:10: services.[0].table_size: 2 is smaller than the "
                       "number of endpoints (3)"));
  EXPECT_TRUE(hasError(sized("131101"),
                       "t.conf:10: services.[0].table_size: 131101 is above the "
                       "largest table size, 131071"));
  for (uint32_t ok : {3u, 1021u, 65537u, 131071u}) {
    auto config = load(sized(std::to_string(ok)));
    ASSERT_TRUE(config) << config.status().message();
    EXPECT_EQ(config->services[0].table_size, ok);
  }
}

TEST(ServicesConfigTest, AffinityTimeout) {
  EXPECT_TRUE(hasError(oneService(std::string(kWeb) + " affinity_timeout = 60;"),
                       "t.conf:10: services.[0].affinity_timeout: must not be set when affinity "
                       "is none"));
  // Even at its default value, as Kubernetes' API does.
  EXPECT_TRUE(
      hasError(oneService(std::string(kWeb) + R"( affinity = "none"; affinity_timeout = 10800;)"),
               "t.conf:10: services.[0].affinity_timeout: must not be set when affinity is none"));
  std::string client_ip = std::string(kWeb) + R"( affinity = "client-ip";)";
  EXPECT_TRUE(hasError(oneService(client_ip + " affinity_timeout = 0;"),
                       "t.conf:10: services.[0].affinity_timeout: must be 1..86400"));
  EXPECT_TRUE(hasError(oneService(client_ip + " affinity_timeout = 86401;"),
                       "t.conf:10: services.[0].affinity_timeout: must be 1..86400"));
  auto config = load(oneService(client_ip + " affinity_timeout = 86400;"));
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(config->services[0].affinity_timeout_s, 86400u);
  // A misspelt affinity is reported alone, not also as a timeout without affinity.
  auto misspelt =
      load(oneService(std::string(kWeb) + R"( affinity = "clientip"; affinity_timeout = 60;)"));
  ASSERT_FALSE(misspelt);
  EXPECT_EQ(misspelt.status().message(),
            "t.conf:10: services.[0].affinity: 'clientip' is not one of none, client-ip");
}

TEST(ServicesConfigTest, FullNatNeedsAnSnatAddressOfTheVipFamily) {
  std::string v4_only = R"(snat = [ "10.0.0.1" ];)";
  // Reported at the service's line, since mode is left at its default.
  EXPECT_TRUE(hasError(withServices(std::string("{ ") + kWeb6 + " endpoints = ( ); }", v4_only),
                       "t.conf:10: services.[0].mode: missing SNAT pool for IPv6: fullnat needs a "
                       "local address of the VIP's family in snat (or use mode dnat)"));
  EXPECT_TRUE(hasError(withServices(std::string("{ ") + kWeb + " endpoints = ( ); }", ""),
                       "t.conf:10: services.[0].mode: missing SNAT pool for IPv4"));
  EXPECT_TRUE(hasError(
      withServices(std::string("{ ") + kWeb6 + "\n  mode = \"fullnat\"; endpoints = ( ); }",
                   v4_only),
      "t.conf:11: services.[0].mode: missing SNAT pool for IPv6"));
  // dnat needs none.
  auto config = load(
      withServices(std::string("{ ") + kWeb6 + R"( mode = "dnat"; endpoints = ( ); })", v4_only));
  ASSERT_TRUE(config) << config.status().message();
}

TEST(ServicesConfigTest, NoMoreServicesThanCapacity) {
  std::string body;
  for (int i = 1; i <= 17; ++i) {
    body += std::string(body.empty() ? "" : ",\n") + R"({ vip = "10.96.0.)" + std::to_string(i) +
            R"("; port = 80; protocol = "tcp"; endpoints = ( ); })";
  }
  Parts parts = withServices(body);
  auto config = load(parts);
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(config->services.size(), 17u);
  parts.tail = "services_capacity = 16;\n" + parts.tail;
  EXPECT_TRUE(hasError(parts, "t.conf:10: services: 17 services exceed services_capacity (16)"));
}

TEST(ServicesConfigTest, ServicesAreCheckedOnlyWhenReadCleanly) {
  // A VIP that does not parse must not also bring family errors for every endpoint.
  auto config = load(oneService(R"(vip = "10.96.0.x"; port = 80; protocol = "tcp";)",
                                R"({ address = "10.244.1.2"; port = 80; })"));
  ASSERT_FALSE(config);
  EXPECT_EQ(config.status().message(),
            "t.conf:10: services.[0].vip: '10.96.0.x' is not an IP address");
}

// --- validateService, as the admin API calls it -----------------------------

ServiceSpec webService() {
  ServiceSpec service;
  service.key = {.vip = *IpAddr::parse("10.96.0.10"), .port = 80, .proto = Proto::kTcp};
  service.endpoints = {{.addr = *IpAddr::parse("10.244.1.2"), .port = 8080},
                       {.addr = *IpAddr::parse("10.244.1.3"), .port = 8080}};
  return service;
}

dp::DataplaneSpec withSnat() {
  dp::DataplaneSpec dataplane;
  dataplane.snat = {*IpAddr::parse("192.168.77.1")};
  return dataplane;
}

TEST(ValidateServiceTest, ValidServiceHasNoErrors) {
  EXPECT_TRUE(validateService(webService(), withSnat()).empty());
}

TEST(ValidateServiceTest, FieldsAreRelativeToTheService) {
  ServiceSpec service = webService();
  service.key.port = 0;
  service.endpoints[1].port = 0;
  service.endpoints[1].weight = 70000;
  service.endpoints.push_back(service.endpoints[0]);
  service.affinity_timeout_s = 60;
  service.table_size = 1000;
  const std::string no_snat =
      "mode: missing SNAT pool for IPv4: fullnat needs a local address of the VIP's family in "
      "snat (or use mode dnat)";
  EXPECT_EQ(validateService(service, dp::DataplaneSpec{}),
            (std::vector<std::string>{
                "port: 0 is not a valid port",
                no_snat,
                "affinity_timeout: must not be set when affinity is none",
                "table_size: 1000 is not a prime",
                "endpoints[1].port: 0 is not a valid port",
                "endpoints[1].weight: must be 1..65535",
                "endpoints[2]: 10.244.1.2:8080 is already endpoints[0]",
            }));
}

TEST(ValidateServiceTest, AtMost65535Endpoints) {
  ServiceSpec service = webService();
  service.endpoints.clear();
  for (uint32_t i = 0; i < 65536; ++i) {
    service.endpoints.push_back({.addr = IpAddr::v4(0x0af40000 + i), .port = 80});
  }
  EXPECT_EQ(validateService(service, withSnat()),
            std::vector<std::string>{"endpoints: 65536 endpoints; at most 65535 are allowed"});
  service.endpoints.pop_back();
  EXPECT_TRUE(validateService(service, withSnat()).empty());
}

TEST(ValidateServiceTest, OnDemandOnlyFromXdsAndWithoutEndpoints) {
  ServiceSpec service = webService();
  service.endpoints.clear();
  service.on_demand = true;
  service.source = ServiceSource::kXds;
  EXPECT_TRUE(validateService(service, withSnat()).empty());
  service.source = ServiceSource::kConfig;
  EXPECT_EQ(validateService(service, withSnat()),
            std::vector<std::string>{
                "on_demand: only services from xDS are loaded on demand, not config ones"});
  service.source = ServiceSource::kApi;
  EXPECT_EQ(validateService(service, withSnat()),
            std::vector<std::string>{
                "on_demand: only services from xDS are loaded on demand, not api ones"});
  service = webService();
  service.on_demand = true;
  service.source = ServiceSource::kXds;
  EXPECT_EQ(validateService(service, withSnat()),
            std::vector<std::string>{
                "endpoints: 2 endpoints on an on-demand service; its endpoints are loaded when "
                "its VIP sees a packet, and it is then published without on_demand"});
  // Loaded, the same service is an ordinary one, with or without endpoints.
  service.on_demand = false;
  EXPECT_TRUE(validateService(service, withSnat()).empty());
  service.endpoints.clear();
  EXPECT_TRUE(validateService(service, withSnat()).empty());
}

TEST(ServicesConfigTest, ConfigServicesCannotBeOnDemand) {
  // Lazy loading is xDS's: the file has no such setting.
  EXPECT_TRUE(hasError(oneService(std::string(kWeb) + " on_demand = true;"),
                       "t.conf:10: services.[0].on_demand: unknown setting 'on_demand'"));
}

// --- EAL arguments ----------------------------------------------------------

TEST(ConfigTest, EalArgsMustNotSetWhatSluicedDerives) {
  struct Case {
    std::string arg;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"-l", "'-l' is set by sluiced from eal.main_lcore, eal.main_cpu and workers"},
      {"-l0-3", "'-l' is set by sluiced from"},
      {"-c", "'-c' is set by sluiced from"},
      {"--lcores", "'--lcores' is set by sluiced from"},
      {"--lcores=0@0", "'--lcores' is set by sluiced from"},
      {"--main-lcore", "'--main-lcore' is set by sluiced from eal.main_lcore"},
      {"--vdev", "'--vdev' is set by sluiced from ports.[].device"},
      {"--vdev=net_null0", "'--vdev' is set by sluiced from ports.[].device"},
      {"-a", "'-a' is set by sluiced from ports.[].device"},
      {"--allow", "'--allow' is set by sluiced from ports.[].device"},
      {"-b", "'-b' is set by sluiced from ports.[].device"},
      {"--block", "'--block' is set by sluiced from ports.[].device"},
      {"--no-pci", "'--no-pci' is set by sluiced from ports.[].device"},
  };
  for (const Case& c : cases) {
    Parts parts{.tail = "eal = {\n  args = [ \"--no-huge\", \"" + c.arg + "\" ];\n};"};
    EXPECT_TRUE(hasError(parts, "t.conf:8: eal.args.[1]: " + c.expected));
  }
  // Options that only start like a derived one are passed through.
  auto config =
      load({.tail = R"(eal = { args = [ "--log-level=8", "--base-virtaddr", "-n" ]; };)"});
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(config->eal_args.size(), 3u);
}

// --- buildEalArgs and isPciAddress ------------------------------------------

TEST(BuildEalArgsTest, VirtualPortsGetVdevAndNoPci) {
  auto config = load({.tail = R"(eal = { args = [ "--no-huge", "-m", "512" ]; };)"});
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(buildEalArgs(*config, "sluiced"),
            (std::vector<std::string>{"sluiced", "--no-huge", "-m", "512", "--lcores", "0@0,1@1",
                                      "--main-lcore", "0", "--vdev", "net_null0", "--no-pci"}));
}

TEST(BuildEalArgsTest, PciPortsAreAllowedAndCpusMapped) {
  Config config;
  config.main_lcore = 0;
  config.main_cpu = 4;
  config.dataplane.ports.resize(2);
  config.dataplane.ports[0].device = "0000:3b:00.0";
  config.dataplane.ports[1].device = "net_tap0,iface=t0";
  config.dataplane.workers = {{.lcore = 1, .cpu = std::nullopt, .rx = {}},
                              {.lcore = 2, .cpu = 6, .rx = {}}};
  EXPECT_EQ(buildEalArgs(config, "/usr/bin/sluiced"),
            (std::vector<std::string>{"/usr/bin/sluiced", "--lcores", "0@4,1@1,2@6", "--main-lcore",
                                      "0", "-a", "0000:3b:00.0", "--vdev", "net_tap0,iface=t0"}));
}

TEST(BuildEalArgsTest, GatewayConf) {
  auto config = loadConfigFile(SLUICE_SOURCE_ROOT "/conf/gateway.conf");
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(buildEalArgs(*config, "sluiced"),
            (std::vector<std::string>{"sluiced", "--file-prefix", "sluice", "-n", "4", "--lcores",
                                      "0@0,2@2,3@3", "--main-lcore", "0", "-a", "0000:3b:00.0",
                                      "-a", "0000:3b:00.1"}));
}

TEST(IsPciAddressTest, AcceptsDomainBusDeviceFunction) {
  for (const char* device : {"0000:3b:00.0", "3b:00.0", "0000:AF:1f.7", "ffff:ff:ff.7"}) {
    EXPECT_TRUE(isPciAddress(device)) << device;
  }
  for (const char* device :
       {"", "net_tap0", "net_null0,size=64", "0000:3b:00.8", "3b:00", "3b:00.", "000:3b:00.0",
        "0000-3b:00.0", "0000:3b:00.0,txq=1", "0000:3g:00.0", "00000:3b:00.0"}) {
    EXPECT_FALSE(isPciAddress(device)) << device;
  }
}

}  // namespace
}  // namespace sluice::cp
