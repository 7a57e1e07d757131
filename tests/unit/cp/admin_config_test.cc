// The config's `admin` group: what it sets and every error it reports, each
// as "FILE:LINE: SETTING: reason".
#include <gtest/gtest.h>

#include <string>

#include "cp/config.h"

namespace sluice::cp {
namespace {

// A minimal config whose `admin` group is line 3.
std::string withAdmin(const std::string& admin) {
  return "ports = ( { name = \"p0\"; device = \"net_null0\"; } );\n"
         "workers = ( { lcore = 1; rx = ( { port = \"p0\"; queue = 0; } ); } );\n"
         "admin = {\n" +
         admin + "\n};\n";
}

// The load's whole error text; empty when it loaded.
std::string errorsOf(const std::string& admin) {
  auto config = loadConfigText(withAdmin(admin), "t.conf");
  return config ? std::string() : config.status().message();
}

TEST(AdminConfigTest, AbsentGroupServesNothing) {
  auto config = loadConfigText(
      "ports = ( { name = \"p0\"; device = \"net_null0\"; } );\n"
      "workers = ( { lcore = 1; rx = ( { port = \"p0\"; queue = 0; } ); } );\n",
      "t.conf");
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_FALSE(config->admin);
}

TEST(AdminConfigTest, EmptyGroupTakesTheDefaultSocket) {
  auto config = loadConfigText(withAdmin(""), "t.conf");
  ASSERT_TRUE(config) << config.status().message();
  ASSERT_TRUE(config->admin);
  EXPECT_EQ(config->admin->socket, "/run/sluice/admin.sock");
  EXPECT_TRUE(config->admin->tcp.empty());
}

TEST(AdminConfigTest, EverySetting) {
  auto config = loadConfigText(withAdmin("socket = \"/tmp/a.sock\"; tcp = \"[::1]:50051\";\n"
                                         "tls = { cert = \"s.pem\"; key = \"s.key\"; "
                                         "client_ca = \"ca.pem\"; };"),
                               "t.conf");
  ASSERT_TRUE(config) << config.status().message();
  const admin::AdminSpec& a = *config->admin;
  EXPECT_EQ(a.socket, "/tmp/a.sock");
  EXPECT_EQ(a.tcp, "[::1]:50051");
  EXPECT_EQ(a.tls_cert, "s.pem");
  EXPECT_EQ(a.tls_key, "s.key");
  EXPECT_EQ(a.tls_client_ca, "ca.pem");
}

TEST(AdminConfigTest, SocketErrors) {
  EXPECT_EQ(errorsOf("socket = \"admin.sock\";"),
            "t.conf:4: admin.socket: 'admin.sock' must be an absolute path");
  EXPECT_EQ(errorsOf("socket = \"/run/sluice/\";"),
            "t.conf:4: admin.socket: '/run/sluice/' names a directory, not a socket file");
  EXPECT_EQ(errorsOf("socket = \"/" + std::string(120, 'a') + "\";"),
            "t.conf:4: admin.socket: is 121 characters long; a unix socket path has at most 107");
  EXPECT_EQ(errorsOf("socket = 5;"), "t.conf:4: admin.socket: must be a string");
}

TEST(AdminConfigTest, TcpAndTlsErrors) {
  const std::string tls = "tls = { cert = \"s.pem\"; key = \"s.key\"; };";
  EXPECT_EQ(errorsOf("tcp = \"127.0.0.1:50051\";"),
            "t.conf:4: admin.tcp: a TCP listener needs tls (cert and key); the admin API is not "
            "served in plain text over TCP");
  EXPECT_EQ(errorsOf(tls), "t.conf:4: admin.tls: is used only with tcp");
  for (const char* bad : {"50051", "::1:50051", "host:", "host:99999", ":80", "[::1:80"}) {
    EXPECT_EQ(errorsOf("tcp = \"" + std::string(bad) + "\"; " + tls),
              "t.conf:4: admin.tcp: '" + std::string(bad) +
                  "' is not host:port such as 127.0.0.1:50051 or [::1]:50051")
        << bad;
  }
  EXPECT_EQ(errorsOf("tcp = \"localhost:0\"; tls = { cert = \"s.pem\"; };"),
            "t.conf:4: admin.tls.key: missing required setting");
  EXPECT_EQ(errorsOf("tcp = \"localhost:0\"; tls = { cert = \"\"; key = \"k\"; };"),
            "t.conf:4: admin.tls.cert: must not be empty");
  EXPECT_EQ(errorsOf("port = 1;"), "t.conf:4: admin.port: unknown setting 'port'");
}

}  // namespace
}  // namespace sluice::cp
