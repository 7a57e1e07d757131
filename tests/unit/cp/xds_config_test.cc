// The config's `xds` group: what it sets and every error it reports, each as
// "FILE:LINE: SETTING: reason".
#include <gtest/gtest.h>

#include <string>

#include "cp/config.h"

namespace sluice::cp {
namespace {

constexpr const char* kBase =
    "ports = ( { name = \"p0\"; device = \"net_null0\"; } );\n"
    "workers = ( { lcore = 1; rx = ( { port = \"p0\"; queue = 0; } ); } );\n";

// A minimal config whose `xds` group starts at line 3 and whose settings
// are on line 4.
std::string withXds(const std::string& body) {
  return std::string(kBase) + "xds = {\n" + body + "\n};\n";
}

std::string errorsOf(const std::string& body) {
  auto config = loadConfigText(withXds(body), "t.conf");
  return config ? std::string() : config.status().message();
}

const std::string kMinimal = "server = \"127.0.0.1:18000\"; node = { id = \"gw-1\"; };";

TEST(XdsConfigTest, AbsentGroupRunsNoClient) {
  auto config = loadConfigText(kBase, "t.conf");
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_FALSE(config->xds);
}

TEST(XdsConfigTest, MinimalGroupTakesTheDefaults) {
  auto config = loadConfigText(withXds(kMinimal), "t.conf");
  ASSERT_TRUE(config) << config.status().message();
  ASSERT_TRUE(config->xds);
  const xds::XdsSpec& x = *config->xds;
  EXPECT_EQ(x.server, "127.0.0.1:18000");
  EXPECT_EQ(x.node.id, "gw-1");
  EXPECT_EQ(x.mode, xds::XdsMode::kDelta);
  EXPECT_FALSE(x.tls);
  EXPECT_EQ(x.max_receive_bytes, 64u << 20);
  EXPECT_EQ(x.backoff_initial_ms, 500u);
  EXPECT_EQ(x.backoff_max_ms, 30000u);
  EXPECT_EQ(x.forward_mode, ForwardMode::kFullNat);
  EXPECT_FALSE(x.lazy);
  EXPECT_EQ(x.evict_idle_s, 0u);
}

TEST(XdsConfigTest, EverySetting) {
  auto config = loadConfigText(
      withXds(
          "server = \"unix:/run/xds.sock\"; mode = \"sotw\";\n"
          "node = { id = \"gw-1\"; cluster = \"edge\"; region = \"eu\"; zone = \"eu-1a\"; "
          "sub_zone = \"rack7\"; };\n"
          "tls = { ca = \"ca.pem\"; cert = \"c.pem\"; key = \"c.key\"; server_name = \"cp\"; };\n"
          "max_receive_bytes = 1048576; backoff = { initial_ms = 100; max_ms = 2000; };\n"
          "forward_mode = \"dnat\"; lazy = true; evict_idle_s = 600;"),
      "t.conf");
  ASSERT_TRUE(config) << config.status().message();
  const xds::XdsSpec& x = *config->xds;
  EXPECT_EQ(x.server, "unix:/run/xds.sock");
  EXPECT_EQ(x.mode, xds::XdsMode::kSotw);
  EXPECT_EQ(x.node, (xds::XdsNodeSpec{"gw-1", "edge", "eu", "eu-1a", "rack7"}));
  ASSERT_TRUE(x.tls);
  EXPECT_EQ(*x.tls, (xds::XdsTlsSpec{"ca.pem", "c.pem", "c.key", "cp"}));
  EXPECT_EQ(x.max_receive_bytes, 1048576u);
  EXPECT_EQ(x.backoff_initial_ms, 100u);
  EXPECT_EQ(x.backoff_max_ms, 2000u);
  EXPECT_EQ(x.forward_mode, ForwardMode::kDnat);
  EXPECT_TRUE(x.lazy);
  EXPECT_EQ(x.evict_idle_s, 600u);
}

TEST(XdsConfigTest, Errors) {
  EXPECT_EQ(errorsOf("node = { id = \"gw\"; };"), "t.conf:3: xds.server: missing required setting");
  EXPECT_EQ(errorsOf("server = \"\"; node = { id = \"gw\"; };"),
            "t.conf:4: xds.server: must not be empty");
  EXPECT_EQ(errorsOf("server = \"x:1\";"), "t.conf:3: xds.node: missing required setting");
  EXPECT_EQ(errorsOf("server = \"x:1\"; node = { id = \"\"; };"),
            "t.conf:4: xds.node.id: must not be empty: management servers key their snapshots "
            "by node id");
  EXPECT_EQ(errorsOf(kMinimal + " mode = \"incremental\";"),
            "t.conf:4: xds.mode: 'incremental' is not one of delta, sotw");
  EXPECT_EQ(errorsOf(kMinimal + " forward_mode = \"snat\";"),
            "t.conf:4: xds.forward_mode: 'snat' is not one of fullnat, dnat");
  EXPECT_EQ(errorsOf(kMinimal + " tls = { cert = \"c.pem\"; };"),
            "t.conf:4: xds.tls.ca: missing required setting\n"
            "t.conf:4: xds.tls.cert: a client certificate needs both cert and key, or neither");
  EXPECT_EQ(errorsOf(kMinimal + " max_receive_bytes = 1000;"),
            "t.conf:4: xds.max_receive_bytes: must be 65536..1073741824");
  EXPECT_EQ(errorsOf(kMinimal + " backoff = { initial_ms = 5000; max_ms = 1000; };"),
            "t.conf:4: xds.backoff.max_ms: max_ms must be at least initial_ms");
  EXPECT_EQ(errorsOf(kMinimal + " evict_idle_s = 60;"),
            "t.conf:4: xds.evict_idle_s: needs lazy = true");
  EXPECT_EQ(errorsOf(kMinimal + " lazy = 1;"), "t.conf:4: xds.lazy: must be a boolean");
  EXPECT_EQ(errorsOf(kMinimal + " ads = true;"), "t.conf:4: xds.ads: unknown setting 'ads'");
}

}  // namespace
}  // namespace sluice::cp
