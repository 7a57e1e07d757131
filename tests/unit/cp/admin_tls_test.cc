// The admin API on TCP with TLS: certificates made by `openssl` for the test
// (a CA, a server certificate for 127.0.0.1 and a client certificate), the
// server on 127.0.0.1 port 0. A client that trusts the CA gets answers; a
// plain-text client, one trusting another CA, and (with client_ca) one
// without a client certificate get none.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/unit/cp/admin_harness.h"

namespace sluice::cp::admin::testing {
namespace {

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// P-256 keys: quick to make. Each certificate is valid for a day.
bool makeCertificates(const TempDir& dir) {
  dir.write("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  dir.write("client.ext", "extendedKeyUsage=clientAuth\n");
  const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  std::string script = "set -e; cd '" + dir.path() + "'\n";
  for (const char* ca : {"ca", "other-ca"}) {
    script += "openssl req -x509" + key + " -keyout " + ca + ".key -out " + ca +
              ".pem -days 1 -subj /CN=" + ca +
              " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign\n";
  }
  for (const char* leaf : {"server", "client"}) {
    script += std::string("openssl req") + key + " -keyout " + leaf + ".key -out " + leaf +
              ".csr -subj /CN=" + leaf + "\n" + "openssl x509 -req -in " + leaf +
              ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out " + leaf +
              ".pem -extfile " + leaf + ".ext\n";
  }
  dir.write("make.sh", script);
  return std::system(("bash '" + dir.file("make.sh") + "' >'" + dir.file("openssl.log") + "' 2>&1")
                         .c_str()) == 0;
}

class AdminTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(makeCertificates(certs_)) << readText(certs_.file("openssl.log"));
  }

  AdminSpec tlsSpec(bool require_client_cert) const {
    AdminSpec spec;
    spec.tcp = "127.0.0.1:0";
    spec.tls_cert = certs_.file("server.pem");
    spec.tls_key = certs_.file("server.key");
    if (require_client_cert) {
      spec.tls_client_ca = certs_.file("ca.pem");
    }
    return spec;
  }

  // Answers ListServices over `credentials`; the status says why not.
  static grpc::Status listOver(const AdminHarness& harness,
                               const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                               v1::ListServicesResponse* out) {
    auto stub = v1::Admin::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(harness.tcpPort()), credentials));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return stub->ListServices(&ctx, v1::ListServicesRequest{}, out);
  }

  std::shared_ptr<grpc::ChannelCredentials> tls(const std::string& ca, bool with_client_cert) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = readText(certs_.file(ca));
    if (with_client_cert) {
      options.pem_private_key = readText(certs_.file("client.key"));
      options.pem_cert_chain = readText(certs_.file("client.pem"));
    }
    return grpc::SslCredentials(options);
  }

  TempDir certs_;
};

const std::string kOneService = configText(configService("10.96.0.10", 80, "10.244.0.11"));

TEST_F(AdminTlsTest, ClientTrustingTheCaIsServedPlainTextIsNot) {
  AdminHarness harness(kOneService, tlsSpec(false));
  ASSERT_TRUE(harness.ok());
  ASSERT_GT(harness.tcpPort(), 0);
  v1::ListServicesResponse out;
  grpc::Status s = listOver(harness, tls("ca.pem", false), &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(out.services_size(), 1);
  EXPECT_EQ(out.services(0).vip(), "10.96.0.10");

  out.Clear();
  EXPECT_FALSE(listOver(harness, grpc::InsecureChannelCredentials(), &out).ok());
  EXPECT_FALSE(listOver(harness, tls("other-ca.pem", false), &out).ok());
  EXPECT_EQ(out.services_size(), 0);
  // The unix socket is served in plain text beside it.
  v1::ListServicesResponse local;
  grpc::ClientContext ctx;
  EXPECT_TRUE(harness.stub()->ListServices(&ctx, v1::ListServicesRequest{}, &local).ok());
  EXPECT_EQ(local.services_size(), 1);
}

TEST_F(AdminTlsTest, ClientCaRequiresAClientCertificate) {
  AdminHarness harness(kOneService, tlsSpec(true));
  ASSERT_TRUE(harness.ok());
  v1::ListServicesResponse out;
  grpc::Status s = listOver(harness, tls("ca.pem", true), &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.services_size(), 1);
  out.Clear();
  EXPECT_FALSE(listOver(harness, tls("ca.pem", false), &out).ok());
  EXPECT_FALSE(listOver(harness, grpc::InsecureChannelCredentials(), &out).ok());
}

TEST_F(AdminTlsTest, MissingKeyFailsTheStart) {
  TempDir dir;
  AdminSpec spec = tlsSpec(false);
  spec.socket = dir.file("admin.sock");
  spec.tls_key = certs_.file("absent.key");
  ControlQueue queue;
  RecordingSink sink;
  Publisher publisher(sink);
  auto running = loadConfigText(kOneService, "t.conf");
  ASSERT_TRUE(running);
  FakeBackend backend(publisher, *running, "");
  auto server = AdminServer::start(spec, queue, backend);
  ASSERT_FALSE(server);
  EXPECT_EQ(server.status().message().rfind("admin: tls.key " + spec.tls_key + ": cannot open", 0),
            0u)
      << server.status().message();
}

}  // namespace
}  // namespace sluice::cp::admin::testing
