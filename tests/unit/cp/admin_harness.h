// A real admin gRPC server in-process for the admin API's tests: the
// Publisher over a recording sink, a fake AdminBackend whose data-plane
// answers each test sets, a control thread draining the ControlQueue as
// sluiced's main loop does, and the AdminServer on a unix socket in a fresh
// temporary directory.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cp/admin/backend.h"
#include "cp/admin/server.h"
#include "cp/config.h"
#include "cp/control_queue.h"
#include "cp/publisher.h"
#include "cp/reload.h"
#include "sluice/admin/v1/admin.grpc.pb.h"
#include "tests/unit/cp/recording_sink.h"

namespace sluice::cp::admin::testing {

namespace v1 = ::sluice::admin::v1;

// A config the data plane of the tests runs: one null port, one worker, an
// snat address of each family, room for `capacity` services, and `services`
// (libconfig text of the list's entries).
inline std::string configText(const std::string& services, uint32_t capacity = 64) {
  return "ports = ( { name = \"p0\"; device = \"net_null0\"; } );\n"
         "workers = ( { lcore = 1; rx = ( { port = \"p0\"; queue = 0; } ); } );\n"
         "addresses = ( { port = \"p0\"; address = \"10.0.0.1/24\"; },"
         " { port = \"p0\"; address = \"fd00::1/64\"; } );\n"
         "snat = [ \"10.0.0.1\", \"fd00::1\" ];\n"
         "services_capacity = " +
         std::to_string(capacity) + ";\n" + "services = (" + services + ");\n";
}

// One service entry of configText's list.
inline std::string configService(const std::string& vip, int port, const std::string& endpoint) {
  return "{ vip = \"" + vip + "\"; port = " + std::to_string(port) +
         "; protocol = \"tcp\"; endpoints = ( { address = \"" + endpoint +
         "\"; port = 8080; } ); }";
}

inline v1::Endpoint endpoint(const std::string& addr, uint32_t port) {
  v1::Endpoint ep;
  ep.set_address(addr);
  ep.set_port(port);
  return ep;
}

inline v1::Service service(const std::string& vip, uint32_t port,
                           const std::vector<v1::Endpoint>& endpoints) {
  v1::Service s;
  s.set_vip(vip);
  s.set_port(port);
  s.set_protocol(v1::PROTOCOL_TCP);
  for (const v1::Endpoint& ep : endpoints) {
    *s.add_endpoints() = ep;
  }
  return s;
}

inline v1::ServiceKey key(const std::string& vip, uint32_t port,
                          v1::Protocol proto = v1::PROTOCOL_TCP) {
  v1::ServiceKey k;
  k.set_vip(vip);
  k.set_port(port);
  k.set_protocol(proto);
  return k;
}

// The call failed with `code` and exactly `message`.
inline ::testing::AssertionResult isError(const grpc::Status& status, grpc::StatusCode code,
                                          const std::string& message) {
  if (status.error_code() == code && status.error_message() == message) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got code " << status.error_code() << " \"" << status.error_message()
         << "\"; expected code " << code << " \"" << message << "\"";
}

class FakeBackend : public AdminBackend {
 public:
  FakeBackend(Publisher& publisher, Config running, std::string reload_path)
      : publisher_(publisher),
        running_(std::move(running)),
        reload_path_(std::move(reload_path)),
        editor_(publisher, running_.dataplane) {}

  ServiceEditor& editor() override { return editor_; }
  const PublishMetrics& publishMetrics() const override { return publisher_.metrics(); }
  const Config& runningConfig() const override { return running_; }
  Result<ReloadReport> reload() override {
    auto next = loadConfigFile(reload_path_);
    if (!next) {
      return next.status();
    }
    return applyReload(*next, running_, publisher_);
  }
  DataplaneStats dataplaneStats() const override { return stats; }
  std::vector<dp::ServiceTraffic> serviceTraffic() const override {
    ++traffic_calls;
    return traffic;
  }
  std::vector<dp::ConntrackOccupancy> conntrackOccupancy() const override {
    ++occupancy_calls;
    return occupancy;
  }
  Result<dp::FlowList> listFlows(const dp::FlowFilter& filter, uint32_t limit) override {
    last_filter = filter;
    last_limit = limit;
    return flows;
  }

  // Set by tests before a call; read by the control thread during it (the
  // queue's mutex orders the two).
  DataplaneStats stats;
  std::vector<dp::ServiceTraffic> traffic;
  std::vector<dp::ConntrackOccupancy> occupancy;
  Result<dp::FlowList> flows = dp::FlowList{};
  mutable int traffic_calls = 0;
  mutable int occupancy_calls = 0;
  std::optional<dp::FlowFilter> last_filter;
  uint32_t last_limit = 0;

 private:
  Publisher& publisher_;
  Config running_;
  std::string reload_path_;
  ServiceEditor editor_;
};

// A directory made for the test and removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-admin-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name)) << text;
  }

 private:
  std::string path_;
};

class AdminHarness {
 public:
  // Runs `config_text` (configText) as sluiced would: its services
  // published with source config, the admin API served on `spec` (its socket
  // set here when empty); `config_text` is also the file Reload re-reads.
  explicit AdminHarness(const std::string& config_text, AdminSpec spec = {}) {
    dir_.write("sluice.conf", config_text);
    auto running = loadConfigFile(dir_.file("sluice.conf"));
    EXPECT_TRUE(running) << running.status().message();
    if (!running) {
      return;
    }
    backend_.emplace(publisher, *running, dir_.file("sluice.conf"));
    EXPECT_TRUE(publisher.replaceSource(ServiceSource::kConfig, running->services));
    control_ = std::thread([this] {
      while (!stop_.load()) {
        queue_.runPending(std::chrono::milliseconds(5));
      }
    });
    spec.socket = dir_.file("admin.sock");
    auto server = AdminServer::start(spec, queue_, *backend_);
    EXPECT_TRUE(server) << server.status().message();
    if (server) {
      server_ = std::move(*server);
    }
  }
  ~AdminHarness() {
    if (server_) {
      server_->stop();
    }
    stop_.store(true);
    if (control_.joinable()) {
      control_.join();
    }
  }
  AdminHarness(const AdminHarness&) = delete;
  AdminHarness& operator=(const AdminHarness&) = delete;

  bool ok() const { return server_ != nullptr; }
  FakeBackend& backend() { return *backend_; }
  AdminServer& server() { return *server_; }
  int tcpPort() const { return server_->tcpPort(); }
  const TempDir& dir() const { return dir_; }
  // Replaces the file Reload reads.
  void writeConfig(const std::string& text) const { dir_.write("sluice.conf", text); }

  std::unique_ptr<v1::Admin::Stub> stub() const {
    return v1::Admin::NewStub(
        grpc::CreateChannel("unix:" + server_->socketPath(), grpc::InsecureChannelCredentials()));
  }

  // Runs `fn` on the control thread, where the model may be read.
  template <class Fn>
  void onControl(Fn fn) {
    EXPECT_TRUE(queue_.run(fn));
  }

  RecordingSink sink;
  Publisher publisher{sink};

 private:
  TempDir dir_;
  std::optional<FakeBackend> backend_;
  ControlQueue queue_;
  std::atomic<bool> stop_{false};
  std::thread control_;
  std::unique_ptr<AdminServer> server_;
};

}  // namespace sluice::cp::admin::testing
