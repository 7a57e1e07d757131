// The ADS client over TLS to the fake management server, with certificates
// the test makes with `openssl`: a CA, a server certificate naming only
// xds.test (so reaching 127.0.0.1 needs the server_name override), a client
// certificate for mutual TLS, and a second CA nobody uses. Also the spec
// errors start() returns instead of running.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cp/xds/client.h"
#include "tests/unit/cp/fake_ads_server.h"

namespace sluice::cp::xds::testing {
namespace {

std::string contents(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Each certificate is an EC P-256 key, signed in one `openssl req` call.
bool makeCertificates(const std::string& dir) {
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc -days 1";
  std::ostringstream script;
  script << "set -e; cd '" << dir << "'\n";
  for (const char* ca : {"ca", "stranger-ca"}) {
    script << "openssl req -x509" << ec << " -subj /CN=" << ca << " -keyout " << ca << ".key -out "
           << ca << ".pem"
           << " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign\n";
  }
  script << "openssl req -CA ca.pem -CAkey ca.key" << ec
         << " -subj /CN=xds.test -addext subjectAltName=DNS:xds.test"
         << " -keyout server.key -out server.pem\n";
  script << "openssl req -CA ca.pem -CAkey ca.key" << ec
         << " -subj /CN=gw-1 -addext extendedKeyUsage=clientAuth"
         << " -keyout client.key -out client.pem\n";
  std::ofstream(dir + "/certs.sh") << script.str();
  std::string command = "bash '" + dir + "/certs.sh' >'" + dir + "/openssl.log' 2>&1";
  return std::system(command.c_str()) == 0;
}

class XdsClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path.empty());
    ASSERT_TRUE(makeCertificates(dir_.path)) << contents(file("openssl.log"));
  }

  std::string file(const std::string& name) const { return dir_.path + "/" + name; }

  std::shared_ptr<grpc::ServerCredentials> serverCredentials(bool require_client_cert) const {
    grpc::SslServerCredentialsOptions options(
        require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_key_cert_pairs.push_back(
        {contents(file("server.key")), contents(file("server.pem"))});
    if (require_client_cert) {
      options.pem_root_certs = contents(file("ca.pem"));
    }
    return grpc::SslServerCredentials(options);
  }

  XdsSpec tlsSpec(const std::string& target, const std::string& ca) const {
    XdsSpec spec;
    spec.server = target;
    spec.mode = XdsMode::kSotw;
    spec.node.id = "gw-1";
    spec.backoff_initial_ms = 5;
    spec.backoff_max_ms = 20;
    spec.tls = XdsTlsSpec{file(ca), "", "", "xds.test"};
    return spec;
  }

  // Runs a client on `spec` until it has sent its first requests or has
  // failed `attempts` times; returns the metrics then.
  ClientMetrics connect(FakeAdsServer& server, const XdsSpec& spec, uint64_t attempts = 3) {
    auto client = XdsClient::start(spec, control_.queue, handler_);
    EXPECT_TRUE(client) << client.status().message();
    if (!client) {
      return {};
    }
    eventually([&] {
      return server.sotw.requestCount() >= 2 || (*client)->metrics().reconnects >= attempts;
    });
    ClientMetrics m = (*client)->metrics();
    (*client)->stop();
    return m;
  }

  ScratchDir dir_;
  ControlLoop control_;
  RecordingHandler handler_;
};

TEST_F(XdsClientTlsTest, ClientTrustingTheCaConnectsWithTheServerNameOverride) {
  FakeAdsServer server("127.0.0.1:0", serverCredentials(false));
  ASSERT_TRUE(server.ok());
  ClientMetrics m = connect(server, tlsSpec(server.target(), "ca.pem"));
  EXPECT_EQ(m.streams_opened, 1u) << m.last_stream_error;
  auto requests = server.sotw.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].request.node().id(), "gw-1");
}

TEST_F(XdsClientTlsTest, WrongCaWrongNameOrPlainTextDoNotConnect) {
  FakeAdsServer server("127.0.0.1:0", serverCredentials(false));
  ASSERT_TRUE(server.ok());
  XdsSpec stranger = tlsSpec(server.target(), "stranger-ca.pem");
  XdsSpec no_override = tlsSpec(server.target(), "ca.pem");
  no_override.tls->server_name.clear();  // the certificate does not name 127.0.0.1
  XdsSpec plain = tlsSpec(server.target(), "ca.pem");
  plain.tls.reset();
  for (const XdsSpec& spec : {stranger, no_override, plain}) {
    ClientMetrics m = connect(server, spec);
    EXPECT_EQ(m.streams_opened, 0u);
    EXPECT_GE(m.reconnects, 3u);
    EXPECT_FALSE(m.last_stream_error.empty());
  }
  EXPECT_EQ(server.sotw.requestCount(), 0u);
  EXPECT_TRUE(handler_.connections().empty());
}

TEST_F(XdsClientTlsTest, MutualTlsNeedsTheClientCertificate) {
  FakeAdsServer server("127.0.0.1:0", serverCredentials(true));
  ASSERT_TRUE(server.ok());
  XdsSpec anonymous = tlsSpec(server.target(), "ca.pem");
  EXPECT_EQ(connect(server, anonymous).streams_opened, 0u);
  EXPECT_EQ(server.sotw.requestCount(), 0u);
  XdsSpec with_cert = anonymous;
  with_cert.tls->cert_file = file("client.pem");
  with_cert.tls->key_file = file("client.key");
  ClientMetrics m = connect(server, with_cert);
  EXPECT_EQ(m.streams_opened, 1u) << m.last_stream_error;
  EXPECT_EQ(server.sotw.requestCount(), 2u);
}

TEST_F(XdsClientTlsTest, UnusableSpecsAreErrorsAtStart) {
  XdsSpec missing_ca = tlsSpec("127.0.0.1:1", "absent.pem");
  XdsSpec half_pair = tlsSpec("127.0.0.1:1", "ca.pem");
  half_pair.tls->cert_file = file("client.pem");
  XdsSpec missing_key = half_pair;
  missing_key.tls->key_file = file("absent.key");
  XdsSpec no_server = tlsSpec("", "ca.pem");
  const std::vector<std::pair<XdsSpec, std::string>> cases = {
      {missing_ca, "xds: tls.ca_file " + file("absent.pem") + ": cannot open"},
      {half_pair, "xds: tls: cert_file and key_file go together"},
      {missing_key, "xds: tls.key_file " + file("absent.key") + ": cannot open"},
      {no_server, "xds: no server"},
  };
  for (const auto& [spec, message] : cases) {
    auto client = XdsClient::start(spec, control_.queue, handler_);
    ASSERT_FALSE(client);
    EXPECT_EQ(client.status().message().rfind(message, 0), 0u) << client.status().message();
  }
}

}  // namespace
}  // namespace sluice::cp::xds::testing
