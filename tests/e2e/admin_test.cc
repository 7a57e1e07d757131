// The admin API against the real data plane: established TCP flows keep
// flowing, each to the pod it started on, while several admin clients
// change other services and endpoints at once, and while endpoints are
// added to the flows' own service. The test thread is sluiced's control
// thread: it runs the admin queue's tasks between worker iterations, so the
// changes land while packets are in flight.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cp/admin/dataplane_backend.h"
#include "cp/admin/server.h"
#include "cp/config.h"
#include "cp/control_queue.h"
#include "cp/dataplane_sink.h"
#include "sluice/admin/v1/admin.grpc.pb.h"
#include "tests/e2e/lb_fixture.h"

namespace sluice::test {
namespace {

namespace v1 = ::sluice::admin::v1;

v1::ServiceKey keyOf(const std::string& vip) {
  v1::ServiceKey k;
  k.set_vip(vip);
  k.set_port(80);
  k.set_protocol(v1::PROTOCOL_TCP);
  return k;
}

// One admin client's work on its own service 10.96.1.C: create it, then
// add, reweigh, drain and remove endpoints, `rounds` times.
int churn(const std::string& socket, int client, int rounds, const std::string& also_add_to) {
  auto stub =
      v1::Admin::NewStub(grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
  int failures = 0;
  auto call = [&](auto method, const auto& req) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::ChangeResponse out;
    grpc::Status s = (stub.get()->*method)(&ctx, req, &out);
    if (!s.ok()) {
      ADD_FAILURE() << "client " << client << ": " << s.error_message();
      ++failures;
    }
  };
  std::string vip = "10.96.1." + std::to_string(client + 1);
  v1::UpsertServiceRequest up;
  up.mutable_service()->set_vip(vip);
  up.mutable_service()->set_port(80);
  up.mutable_service()->set_protocol(v1::PROTOCOL_TCP);
  call(&v1::Admin::Stub::UpsertService, up);
  for (int i = 0; i < rounds; ++i) {
    std::string addr = "10.0.0." + std::to_string(100 + client * 16 + i % 16);
    v1::AddEndpointRequest add;
    *add.mutable_service() = keyOf(vip);
    add.mutable_endpoint()->set_address(addr);
    add.mutable_endpoint()->set_port(8080 + i / 16);
    call(&v1::Admin::Stub::AddEndpoint, add);
    v1::SetEndpointRequest set;
    *set.mutable_service() = keyOf(vip);
    set.set_address(addr);
    set.set_port(add.endpoint().port());
    set.set_weight(static_cast<uint32_t>(2 + i % 5));
    set.set_state(i % 3 == 0 ? v1::ENDPOINT_STATE_TERMINATING : v1::ENDPOINT_STATE_READY);
    call(&v1::Admin::Stub::SetEndpoint, set);
    if (i % 2 == 1) {
      v1::RemoveEndpointRequest rm;
      *rm.mutable_service() = keyOf(vip);
      rm.set_address(addr);
      rm.set_port(add.endpoint().port());
      call(&v1::Admin::Stub::RemoveEndpoint, rm);
    }
    if (!also_add_to.empty() && i < 2) {
      // New endpoints in the flows' own service: new flows may go there,
      // established ones must not move.
      v1::AddEndpointRequest mine;
      *mine.mutable_service() = keyOf(also_add_to);
      mine.mutable_endpoint()->set_address("10.0.0." + std::to_string(200 + client * 2 + i));
      mine.mutable_endpoint()->set_port(8080);
      call(&v1::Admin::Stub::AddEndpoint, mine);
    }
  }
  return failures;
}

class AdminE2eTest : public LbTest {
 protected:
  void SetUp() override {
    start();
    ASSERT_TRUE(dp_);
    running_.dataplane.snat = {ip("10.0.0.1"), ip("fd00::1")};
    running_.dataplane.services_capacity = 1024;
    sink_ = std::make_unique<cp::DataplaneSink>(*dp_);
    publisher_ = std::make_unique<cp::Publisher>(*sink_);
    backend_ = std::make_unique<cp::admin::DataplaneBackend>(*publisher_, running_, *dp_, [this] {
      return cp::loadConfigText(reload_text_, "reload.conf");
    });
    std::string dir = (std::filesystem::temp_directory_path() / "sluice-e2e-XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    cp::admin::AdminSpec spec;
    spec.socket = dir_ + "/admin.sock";
    auto server = cp::admin::AdminServer::start(spec, queue_, *backend_);
    ASSERT_TRUE(server) << server.status().message();
    server_ = std::move(*server);
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Establishes `count` TCP flows through 10.96.0.10:80 (SYN out, SYN-ACK
  // back, ACK out) and returns the pod and SNAT port of each by client port.
  struct Flow {
    IpAddr pod;
    uint16_t snat_port = 0;
  };
  std::map<uint16_t, Flow> establishFlows(uint16_t count) {
    std::map<uint16_t, Flow> flows;
    for (uint16_t i = 0; i < count; ++i) {
      uint16_t cport = static_cast<uint16_t>(41000 + i);
      out_->inject(fromClient(v4(), Proto::kTcp, {cport, 80, 1000, 0, kSyn, 0, 64}));
      Out o = step(1);
      EXPECT_EQ(o.in.size(), 1u);
      if (o.in.empty()) continue;
      Decoded syn = decode(o.in[0].frame);
      in_->inject(fromPod(syn.dst, syn.src, Proto::kTcp,
                          {8080, syn.sport, 5000, 1001, kSyn | kAck, 0, 64}));
      EXPECT_EQ(step(1).out.size(), 1u);
      flows[cport] = {syn.dst, syn.sport};
    }
    return flows;
  }

  std::unique_ptr<v1::Admin::Stub> stub() const {
    return v1::Admin::NewStub(
        grpc::CreateChannel("unix:" + server_->socketPath(), grpc::InsecureChannelCredentials()));
  }

  // Runs `call` on a client thread while this thread serves as the control
  // thread (admin tasks and worker iterations), for at most 20 s.
  template <class Call>
  grpc::Status whileServing(Call call) {
    auto result = std::async(std::launch::async, call);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready &&
           std::chrono::steady_clock::now() < deadline) {
      queue_.runPending(std::chrono::microseconds(500));
      step(1);
    }
    return result.get();
  }

  std::string reload_text_;  // what Reload reads
  cp::Config running_;
  std::unique_ptr<cp::DataplaneSink> sink_;
  std::unique_ptr<cp::Publisher> publisher_;
  std::unique_ptr<cp::admin::DataplaneBackend> backend_;
  cp::ControlQueue queue_;
  std::unique_ptr<cp::admin::AdminServer> server_;
  std::string dir_;
};

TEST_F(AdminE2eTest, EstablishedFlowsStayPutWhileClientsChangeServices) {
  ASSERT_TRUE(publisher_->upsert(service(v4(), Proto::kTcp, ForwardMode::kFullNat)));
  constexpr uint16_t kFlows = 48;
  std::map<uint16_t, Flow> flows = establishFlows(kFlows);
  ASSERT_EQ(flows.size(), kFlows);
  std::set<std::string> pods;
  for (const auto& [cport, f] : flows) pods.insert(f.pod.toString());
  EXPECT_EQ(pods.size(), 3u) << "48 flows over 3 pods";

  constexpr int kClients = 4;
  constexpr int kRounds = 30;
  std::atomic<int> done{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      failures += churn(server_->socketPath(), c, kRounds, c < 2 ? "10.96.0.10" : "");
      ++done;
    });
  }

  // The control loop: admin tasks, then one data packet per flow each way,
  // each checked against where its flow began. Bounded in rounds and time.
  uint64_t sent = 0, forwarded = 0, replies = 0, moved = 0, tasks = 0;
  uint32_t seq = 1001;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int rounds_after = 0;
  for (int round = 0; round < 5000 && rounds_after < 3; ++round) {
    if (done.load() == kClients) ++rounds_after;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "admin clients did not finish";
    tasks += queue_.runPending(std::chrono::microseconds(200));
    for (const auto& [cport, f] : flows) {
      out_->inject(fromClient(v4(), Proto::kTcp, {cport, 80, seq, 5001, kAck, 16, 64}));
      ++sent;
    }
    Out o = step(2);
    for (const RingPort::Sent& s : o.in) {
      Decoded d = decode(s.frame);
      auto it = std::find_if(flows.begin(), flows.end(),
                             [&](const auto& e) { return e.second.snat_port == d.sport; });
      ++forwarded;
      if (it == flows.end() || it->second.pod != d.dst) ++moved;
      in_->inject(fromPod(d.dst, d.src, Proto::kTcp, {8080, d.sport, 5001, seq + 16, kAck, 8, 64}));
    }
    replies += step(2).out.size();
    seq += 16;
  }
  for (std::thread& t : clients) t.join();
  std::printf(
      "admin e2e: %d clients x %d rounds, %llu admin tasks run between %llu packets to "
      "%u flows; %llu forwarded, %llu replies, %llu moved\n",
      kClients, kRounds, static_cast<unsigned long long>(tasks),
      static_cast<unsigned long long>(sent), kFlows, static_cast<unsigned long long>(forwarded),
      static_cast<unsigned long long>(replies), static_cast<unsigned long long>(moved));
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(tasks, static_cast<uint64_t>(kClients * kRounds));
  EXPECT_EQ(moved, 0u) << "a flow left the pod it started on";
  EXPECT_EQ(forwarded, sent);
  EXPECT_EQ(replies, sent);
  for (size_t d = 1; d < dp::kDropCount; ++d) {
    EXPECT_EQ(drops(static_cast<Drop>(d)), 0u) << dp::kDropNames[d];
  }
  // Every change is in the model and the data plane: 1 + 4 services, and the
  // flows' service grew by the 4 endpoints two clients added.
  EXPECT_EQ(dp_->serviceCount(), 1u + kClients);
  EXPECT_EQ(publisher_->services().size(), 1u + kClients);
  EXPECT_EQ(publisher_->services().at("10.96.0.10:80/tcp").endpoints.size(), 3u + 4u);
  EXPECT_EQ(publisher_->services().at("10.96.1.1:80/tcp").endpoints.size(),
            static_cast<size_t>(kRounds / 2));
}

// GetStats and ListFlows answer from the real data plane: traffic, flows
// and occupancy as the packets made them.
TEST_F(AdminE2eTest, StatsAndFlowsThroughTheApiMatchTheTraffic) {
  ASSERT_TRUE(publisher_->upsert(service(v4(), Proto::kTcp, ForwardMode::kFullNat)));
  constexpr uint16_t kFlows = 12;
  std::map<uint16_t, Flow> flows = establishFlows(kFlows);
  ASSERT_EQ(flows.size(), kFlows);
  std::map<std::string, uint64_t> per_pod;
  for (const auto& [cport, f] : flows) {
    out_->inject(fromClient(v4(), Proto::kTcp, {cport, 80, 1001, 5001, kAck, 20, 64}));
    ++per_pod[f.pod.toString()];
  }
  ASSERT_EQ(step(2).in.size(), kFlows);

  v1::Stats stats;
  grpc::Status s = whileServing([&] {
    grpc::ClientContext ctx;
    v1::StatsRequest req;
    req.set_include_services(true);
    req.set_include_conntrack(true);
    return stub()->GetStats(&ctx, req, &stats);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(stats.service_stats_size(), 1);
  const v1::ServiceStats& web = stats.service_stats(0);
  EXPECT_EQ(web.service().vip(), "10.96.0.10");
  EXPECT_EQ(web.traffic().new_flows(), kFlows);
  EXPECT_EQ(web.traffic().active_flows(), kFlows);
  // SYN and one data segment in, SYN-ACK out, per flow.
  EXPECT_EQ(web.traffic().in_packets(), 2u * kFlows);
  EXPECT_EQ(web.traffic().out_packets(), 1u * kFlows);
  ASSERT_EQ(web.endpoints_size(), 3);
  for (const v1::EndpointStats& e : web.endpoints()) {
    EXPECT_TRUE(e.counted());
    EXPECT_EQ(e.traffic().active_flows(), per_pod[e.address()]) << e.address();
  }
  ASSERT_EQ(stats.workers_size(), 1);
  EXPECT_EQ(stats.workers(0).conntrack().capacity(), 4096u);
  EXPECT_EQ(stats.workers(0).conntrack().flows(), kFlows);
  EXPECT_EQ(stats.workers(0).conntrack().half_open(), 0u);
  EXPECT_EQ(stats.workers(0).rx_packets(), 3u * kFlows);
  EXPECT_EQ(stats.publish().upserts(), 1u);

  // Every flow, then one pod's, then a limit that truncates.
  const std::string pod = flows.begin()->second.pod.toString();
  std::vector<v1::ListFlowsResponse> answers(3);
  std::vector<v1::ListFlowsRequest> requests(3);
  *requests[0].mutable_service() = keyOf("10.96.0.10");
  requests[1].set_endpoint(pod);
  requests[2].set_limit(5);
  for (size_t i = 0; i < requests.size(); ++i) {
    s = whileServing([&] {
      grpc::ClientContext ctx;
      return stub()->ListFlows(&ctx, requests[i], &answers[i]);
    });
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  ASSERT_EQ(answers[0].flows_size(), kFlows);
  EXPECT_FALSE(answers[0].truncated());
  for (const v1::Flow& f : answers[0].flows()) {
    uint16_t cport = static_cast<uint16_t>(std::stoi(f.client().substr(f.client().find(':') + 1)));
    ASSERT_EQ(flows.count(cport), 1u) << f.client();
    EXPECT_EQ(f.client(), "192.0.2.2:" + std::to_string(cport));
    EXPECT_EQ(f.vip(), "10.96.0.10:80");
    EXPECT_EQ(f.endpoint(), flows[cport].pod.toString() + ":8080");
    EXPECT_EQ(f.snat(), "10.0.0.1:" + std::to_string(flows[cport].snat_port));
    EXPECT_EQ(f.protocol(), v1::PROTOCOL_TCP);
    EXPECT_EQ(f.state(), "established");
    EXPECT_GT(f.expires_in_ms(), 0u);
  }
  EXPECT_EQ(static_cast<uint64_t>(answers[1].flows_size()), per_pod[pod]);
  for (const v1::Flow& f : answers[1].flows()) EXPECT_EQ(f.endpoint(), pod + ":8080");
  EXPECT_EQ(answers[2].flows_size(), 5);
  EXPECT_TRUE(answers[2].truncated());
}

// A Reload through the API between the flows' packets: the file keeps the
// flows' service as it is and adds two; nothing established moves.
TEST_F(AdminE2eTest, ReloadKeepsEstablishedFlows) {
  ASSERT_TRUE(publisher_->upsert(service(v4(), Proto::kTcp, ForwardMode::kFullNat)));
  std::map<uint16_t, Flow> flows = establishFlows(24);
  ASSERT_EQ(flows.size(), 24u);
  auto entry = [](const char* vip, const char* endpoints) {
    return std::string("{ vip = \"") + vip + "\"; port = 80; protocol = \"tcp\"; endpoints = (" +
           endpoints + "); }";
  };
  const char* pods =
      "{ address = \"10.0.0.11\"; port = 8080; }, { address = \"10.0.0.12\"; port = 8080; }, "
      "{ address = \"10.0.0.13\"; port = 8080; }";
  reload_text_ =
      "ports = ( { name = \"out\"; device = \"net_null0\"; } );\n"
      "workers = ( { lcore = 1; rx = ( { port = \"out\"; queue = 0; } ); } );\n"
      "addresses = ( { port = \"out\"; address = \"10.0.0.1/24\"; } );\n"
      "snat = [ \"10.0.0.1\" ];\n"
      "services = (" +
      entry("10.96.0.10", pods) + ", " +
      entry("10.96.0.20", "{ address = \"10.0.0.21\"; port = 8080; }") + ", " +
      entry("10.96.0.21", "{ address = \"10.0.0.22\"; port = 8080; }") + ");\n";

  v1::ReloadResponse report;
  grpc::Status s = whileServing([&] {
    grpc::ClientContext ctx;
    return stub()->Reload(&ctx, v1::ReloadRequest{}, &report);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(report.added(), 2u);
  EXPECT_EQ(report.unchanged(), 1u);
  EXPECT_EQ(report.changed() + report.removed(), 0u);
  EXPECT_EQ(dp_->serviceCount(), 3u);

  uint64_t moved = 0, forwarded = 0;
  for (const auto& [cport, f] : flows) {
    out_->inject(fromClient(v4(), Proto::kTcp, {cport, 80, 1001, 5001, kAck, 10, 64}));
  }
  for (const RingPort::Sent& sent : step(2).in) {
    Decoded d = decode(sent.frame);
    ++forwarded;
    auto it = std::find_if(flows.begin(), flows.end(),
                           [&](const auto& e) { return e.second.snat_port == d.sport; });
    if (it == flows.end() || it->second.pod != d.dst) ++moved;
  }
  EXPECT_EQ(forwarded, flows.size());
  EXPECT_EQ(moved, 0u);
}

}  // namespace
}  // namespace sluice::test
