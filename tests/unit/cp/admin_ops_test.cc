// The admin API's Reload, ValidateConfig, GetStats and ListFlows through a
// real gRPC server on a unix socket, and the socket itself.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/cp/admin_harness.h"

namespace sluice::cp::admin::testing {
namespace {

std::string webAndDb() {
  return configText(configService("10.96.0.10", 80, "10.244.0.11") + ", " +
                    configService("10.96.0.20", 5432, "10.244.0.21"));
}

std::vector<std::string> strings(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

class AdminOpsTest : public ::testing::Test {
 protected:
  AdminOpsTest() : harness_(webAndDb()) {}
  void SetUp() override {
    ASSERT_TRUE(harness_.ok());
    stub_ = harness_.stub();
  }

  grpc::Status reload(v1::ReloadResponse* out) {
    grpc::ClientContext ctx;
    return stub_->Reload(&ctx, v1::ReloadRequest{}, out);
  }
  grpc::Status validate(const v1::ValidateConfigRequest& req, v1::ValidateConfigResponse* out) {
    grpc::ClientContext ctx;
    return stub_->ValidateConfig(&ctx, req, out);
  }
  grpc::Status stats(bool services, bool conntrack, v1::Stats* out) {
    grpc::ClientContext ctx;
    v1::StatsRequest req;
    req.set_include_services(services);
    req.set_include_conntrack(conntrack);
    return stub_->GetStats(&ctx, req, out);
  }
  grpc::Status flows(const v1::ListFlowsRequest& req, v1::ListFlowsResponse* out) {
    grpc::ClientContext ctx;
    return stub_->ListFlows(&ctx, req, out);
  }
  void addApiService(const std::string& vip) {
    grpc::ClientContext ctx;
    v1::UpsertServiceRequest req;
    *req.mutable_service() = service(vip, 80, {endpoint("10.244.9.1", 80)});
    v1::ChangeResponse out;
    ASSERT_TRUE(stub_->UpsertService(&ctx, req, &out).ok());
  }
  std::map<std::string, ServiceSource> sources() {
    std::map<std::string, ServiceSource> out;
    harness_.onControl([&] {
      for (const auto& [name, spec] : harness_.publisher.services()) {
        out[name] = spec.source;
      }
    });
    return out;
  }

  AdminHarness harness_;
  std::unique_ptr<v1::Admin::Stub> stub_;
};

// --- The socket ---------------------------------------------------------------

TEST_F(AdminOpsTest, SocketHasMode0660) {
  struct stat st {};
  ASSERT_EQ(::stat(harness_.server().socketPath().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

// --- Reload -------------------------------------------------------------------

// The file gains one service, changes one and drops one; a service added by
// the API survives, and so does an API service whose key the file does not use.
TEST_F(AdminOpsTest, ReloadReplacesOnlyConfigServices) {
  addApiService("10.96.0.30");
  addApiService("10.96.0.31");
  harness_.writeConfig(configText(configService("10.96.0.10", 80, "10.244.0.12") + ", " +
                                  configService("10.96.0.40", 80, "10.244.0.41")));
  v1::ReloadResponse out;
  ASSERT_TRUE(reload(&out).ok());
  EXPECT_EQ(out.source(), harness_.dir().file("sluice.conf"));
  EXPECT_EQ(out.added(), 1u);
  EXPECT_EQ(out.changed(), 1u);
  EXPECT_EQ(out.removed(), 1u);
  EXPECT_EQ(out.unchanged(), 0u);
  EXPECT_TRUE(out.restart_required().empty());
  EXPECT_EQ(sources(), (std::map<std::string, ServiceSource>{
                           {"10.96.0.10:80/tcp", ServiceSource::kConfig},
                           {"10.96.0.30:80/tcp", ServiceSource::kApi},
                           {"10.96.0.31:80/tcp", ServiceSource::kApi},
                           {"10.96.0.40:80/tcp", ServiceSource::kConfig},
                       }));
  EXPECT_EQ(harness_.sink.accepted.size(), 4u);
  EXPECT_EQ(harness_.sink.accepted.at("10.96.0.10:80/tcp").endpoints.at(0).addr.toString(),
            "10.244.0.12");
  EXPECT_EQ(harness_.sink.removes, std::vector<std::string>{"10.96.0.20:5432/tcp"});

  // The same file again changes nothing; a changed capacity waits for a restart.
  harness_.writeConfig(configText(configService("10.96.0.10", 80, "10.244.0.12") + ", " +
                                      configService("10.96.0.40", 80, "10.244.0.41"),
                                  128));
  size_t calls = harness_.sink.calls();
  ASSERT_TRUE(reload(&out).ok());
  EXPECT_EQ(out.unchanged(), 2u);
  EXPECT_EQ(out.added() + out.changed() + out.removed(), 0u);
  EXPECT_EQ(strings(out.restart_required()), std::vector<std::string>{"services_capacity"});
  EXPECT_EQ(harness_.sink.calls(), calls);
}

TEST_F(AdminOpsTest, ReloadOfABadFileAppliesNothing) {
  harness_.writeConfig(configText(configService("10.96.0.10", 80, "10.244.0.12") + ", " +
                                  configService("10.96.0.50", 0, "10.244.0.51")));
  v1::ReloadResponse out;
  grpc::Status s = reload(&out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  std::string path = harness_.dir().file("sluice.conf");
  EXPECT_EQ(s.error_message().rfind("reload refused, running services kept:\n" + path + ":6: ", 0),
            0u)
      << s.error_message();
  EXPECT_NE(s.error_message().find("port"), std::string::npos) << s.error_message();
  EXPECT_TRUE(harness_.sink.removes.empty());
  EXPECT_EQ(harness_.sink.accepted.at("10.96.0.10:80/tcp").endpoints.at(0).addr.toString(),
            "10.244.0.11");

  harness_.writeConfig("ports = (");
  s = reload(&out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  std::remove(path.c_str());
  s = reload(&out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find(path), std::string::npos) << s.error_message();
  EXPECT_EQ(harness_.sink.accepted.size(), 2u);
}

// A file that claims an API service's key is refused before anything is
// sent, even the file's other changes.
TEST_F(AdminOpsTest, ReloadRefusesAKeyTheApiOwns) {
  addApiService("10.96.0.30");
  size_t calls = harness_.sink.calls();
  harness_.writeConfig(configText(configService("10.96.0.10", 80, "10.244.0.12") + ", " +
                                  configService("10.96.0.30", 80, "10.244.0.31")));
  v1::ReloadResponse out;
  EXPECT_TRUE(isError(reload(&out), grpc::StatusCode::FAILED_PRECONDITION,
                      "reload refused, running services kept:\nservice 10.96.0.30:80/tcp is owned "
                      "by api; delete it there before adding it from config"));
  EXPECT_EQ(harness_.sink.calls(), calls);
  EXPECT_EQ(sources().at("10.96.0.30:80/tcp"), ServiceSource::kApi);
}

// --- ValidateConfig -------------------------------------------------------------

TEST_F(AdminOpsTest, ValidateConfigTextAndPath) {
  v1::ValidateConfigRequest req;
  req.set_text(configText(configService("10.96.0.10", 80, "10.244.0.12") + ", " +
                              configService("10.96.0.40", 80, "10.244.0.41") + ", " +
                              configService("10.96.0.41", 80, "10.244.0.41"),
                          256));
  v1::ValidateConfigResponse out;
  ASSERT_TRUE(validate(req, &out).ok());
  EXPECT_EQ(out.ports(), 1u);
  EXPECT_EQ(out.workers(), 1u);
  EXPECT_EQ(out.services(), 3u);
  EXPECT_EQ(strings(out.restart_required()), std::vector<std::string>{"services_capacity"});

  harness_.dir().write("other.conf", webAndDb());
  req.set_path(harness_.dir().file("other.conf"));
  ASSERT_TRUE(validate(req, &out).ok());
  EXPECT_EQ(out.services(), 2u);
  EXPECT_TRUE(out.restart_required().empty());
  // Validating applies nothing.
  EXPECT_EQ(harness_.sink.calls(), 2u);
}

TEST_F(AdminOpsTest, ValidateConfigErrors) {
  v1::ValidateConfigRequest req;
  v1::ValidateConfigResponse out;
  EXPECT_TRUE(
      isError(validate(req, &out), grpc::StatusCode::INVALID_ARGUMENT, "config: set text or path"));
  req.set_path("");
  EXPECT_TRUE(
      isError(validate(req, &out), grpc::StatusCode::INVALID_ARGUMENT, "path: must not be empty"));
  req.set_text(configText(configService("10.96.0.10", 80, "fd00::5")));
  grpc::Status s = validate(req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("<request>:6: ", 0), 0u) << s.error_message();
  EXPECT_NE(s.error_message().find("fd00::5 is IPv6 but the VIP is IPv4"), std::string::npos)
      << s.error_message();
  req.set_path(harness_.dir().file("missing.conf"));
  s = validate(req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("missing.conf"), std::string::npos) << s.error_message();
  EXPECT_EQ(harness_.sink.calls(), 2u);
}

// --- GetStats -----------------------------------------------------------------

TEST_F(AdminOpsTest, StatsCarryWorkersPortsAndPublishes) {
  DataplaneStats fake;
  fake.tsc_hz = 1'000'000'000;
  fake.uptime_ns = 2'000'000'000;
  dp::WorkerCounterSnapshot w;
  w.lcore = 1;
  w.events[static_cast<size_t>(dp::WorkerEvent::rx_packets)] = 100;
  w.events[static_cast<size_t>(dp::WorkerEvent::tx_packets)] = 90;
  w.events[static_cast<size_t>(dp::WorkerEvent::busy_cycles)] = 500'000'000;
  w.drops[static_cast<size_t>(dp::Drop::no_route)] = 7;
  w.drops[static_cast<size_t>(dp::Drop::tx_full)] = 3;
  fake.workers.push_back(w);
  fake.ports.push_back({.name = "p0", .ipackets = 100, .opackets = 90, .imissed = 4});
  harness_.onControl([&] { harness_.backend().stats = fake; });
  addApiService("10.96.0.30");

  v1::Stats out;
  ASSERT_TRUE(stats(false, false, &out).ok());
  EXPECT_EQ(out.services(), 3u);
  ASSERT_EQ(out.workers_size(), 1);
  const v1::WorkerStats& ws = out.workers(0);
  EXPECT_EQ(ws.lcore(), 1u);
  EXPECT_EQ(ws.rx_packets(), 100u);
  EXPECT_EQ(ws.tx_packets(), 90u);
  EXPECT_EQ(ws.drops(), 10u);
  EXPECT_EQ(ws.drop_reasons_size(), static_cast<int>(dp::kDropCount) - 1);
  for (const v1::Counter& c : ws.drop_reasons()) {
    EXPECT_EQ(c.value(), c.name() == "no_route" ? 7u : c.name() == "tx_full" ? 3u : 0u) << c.name();
  }
  EXPECT_EQ(ws.events_size(), static_cast<int>(dp::kWorkerEventCount));
  EXPECT_EQ(ws.elapsed_cycles(), 2'000'000'000u);
  EXPECT_DOUBLE_EQ(ws.busy_share(), 0.25);
  EXPECT_FALSE(ws.has_conntrack());
  ASSERT_EQ(out.ports_size(), 1);
  EXPECT_EQ(out.ports(0).imissed(), 4u);
  // Two config services at start, one API service since.
  EXPECT_EQ(out.publish().upserts(), 3u);
  ASSERT_FALSE(out.publish().latency().empty());
  EXPECT_EQ(out.publish().latency().rbegin()->le_us(), 0u);
  EXPECT_EQ(out.publish().latency().rbegin()->count(), 3u);
  EXPECT_TRUE(out.service_stats().empty());
  harness_.onControl([&] {
    EXPECT_EQ(harness_.backend().traffic_calls, 0);
    EXPECT_EQ(harness_.backend().occupancy_calls, 0);
  });
}

TEST_F(AdminOpsTest, StatsWithServicesAndConntrack) {
  DataplaneStats fake;
  for (unsigned lcore : {1u, 2u}) {
    dp::WorkerCounterSnapshot w;
    w.lcore = lcore;
    fake.workers.push_back(w);
  }
  dp::ServiceTraffic web;
  web.key = {.vip = *IpAddr::parse("10.96.0.10"), .port = 80, .proto = Proto::kTcp};
  web.traffic = {.new_flows = 5,
                 .active_flows = 2,
                 .in_packets = 50,
                 .in_bytes = 5000,
                 .out_packets = 40,
                 .out_bytes = 40000};
  web.endpoints.push_back({.addr = *IpAddr::parse("10.244.0.11"),
                           .port = 8080,
                           .counted = true,
                           .traffic = web.traffic});
  web.endpoints.push_back(
      {.addr = *IpAddr::parse("10.244.0.12"), .port = 8080, .counted = false, .traffic = {}});
  harness_.onControl([&] {
    harness_.backend().stats = fake;
    harness_.backend().traffic = {web};
    harness_.backend().occupancy = {{.lcore = 2, .capacity = 4096, .flows = 10, .half_open = 3},
                                    {.lcore = 1, .capacity = 4096, .flows = 1, .half_open = 0}};
  });
  v1::Stats out;
  ASSERT_TRUE(stats(true, true, &out).ok());
  ASSERT_EQ(out.service_stats_size(), 1);
  const v1::ServiceStats& ss = out.service_stats(0);
  EXPECT_EQ(ss.service().vip(), "10.96.0.10");
  EXPECT_EQ(ss.service().port(), 80u);
  EXPECT_EQ(ss.service().protocol(), v1::PROTOCOL_TCP);
  EXPECT_EQ(ss.traffic().new_flows(), 5u);
  EXPECT_EQ(ss.traffic().active_flows(), 2u);
  EXPECT_EQ(ss.traffic().in_bytes(), 5000u);
  EXPECT_EQ(ss.traffic().out_packets(), 40u);
  EXPECT_EQ(ss.traffic().out_bytes(), 40000u);
  ASSERT_EQ(ss.endpoints_size(), 2);
  EXPECT_EQ(ss.endpoints(0).address(), "10.244.0.11");
  EXPECT_TRUE(ss.endpoints(0).counted());
  EXPECT_EQ(ss.endpoints(0).traffic().in_packets(), 50u);
  EXPECT_FALSE(ss.endpoints(1).counted());
  EXPECT_EQ(ss.endpoints(1).traffic().in_packets(), 0u);
  // Occupancy lands on the worker of its lcore, whatever the order.
  ASSERT_EQ(out.workers_size(), 2);
  EXPECT_EQ(out.workers(0).conntrack().flows(), 1u);
  EXPECT_EQ(out.workers(1).conntrack().flows(), 10u);
  EXPECT_EQ(out.workers(1).conntrack().half_open(), 3u);
  EXPECT_EQ(out.workers(1).conntrack().capacity(), 4096u);

  out.Clear();
  ASSERT_TRUE(stats(true, false, &out).ok());
  EXPECT_EQ(out.service_stats_size(), 1);
  EXPECT_FALSE(out.workers(0).has_conntrack());
}

// --- ListFlows ------------------------------------------------------------------

TEST_F(AdminOpsTest, ListFlowsPassesTheFilterAndConvertsFlows) {
  dp::FlowList list;
  list.truncated = true;
  list.flows.push_back({.lcore = 1,
                        .proto = Proto::kTcp,
                        .client = *IpAddr::parse("192.168.1.5"),
                        .client_port = 40000,
                        .vip = *IpAddr::parse("10.96.0.10"),
                        .vip_port = 80,
                        .endpoint = *IpAddr::parse("10.244.0.11"),
                        .endpoint_port = 8080,
                        .snat = IpAddr::parse("10.0.0.1"),
                        .snat_port = 1025,
                        .state = "established",
                        .expires_in_ms = 1234});
  list.flows.push_back({.lcore = 2,
                        .proto = Proto::kUdp,
                        .client = *IpAddr::parse("fd77::2"),
                        .client_port = 53000,
                        .vip = *IpAddr::parse("fd00::10"),
                        .vip_port = 53,
                        .endpoint = *IpAddr::parse("fd44::11"),
                        .endpoint_port = 5353,
                        .snat = std::nullopt,
                        .snat_port = 0,
                        .state = "udp",
                        .expires_in_ms = 0});
  harness_.onControl([&] { harness_.backend().flows = list; });

  v1::ListFlowsRequest req;
  *req.mutable_service() = key("10.96.0.10", 80);
  req.set_client("192.168.1.5");
  req.set_endpoint("10.244.0.11");
  v1::ListFlowsResponse out;
  ASSERT_TRUE(flows(req, &out).ok());
  harness_.onControl([&] {
    const FakeBackend& b = harness_.backend();
    ASSERT_TRUE(b.last_filter);
    EXPECT_EQ(b.last_filter->vip, IpAddr::parse("10.96.0.10"));
    EXPECT_EQ(b.last_filter->port, std::optional<uint16_t>(80));
    EXPECT_EQ(b.last_filter->proto, std::optional<Proto>(Proto::kTcp));
    EXPECT_EQ(b.last_filter->client, IpAddr::parse("192.168.1.5"));
    EXPECT_EQ(b.last_filter->endpoint, IpAddr::parse("10.244.0.11"));
    EXPECT_EQ(b.last_limit, 100u);
  });
  EXPECT_TRUE(out.truncated());
  ASSERT_EQ(out.flows_size(), 2);
  EXPECT_EQ(out.flows(0).worker(), 1u);
  EXPECT_EQ(out.flows(0).protocol(), v1::PROTOCOL_TCP);
  EXPECT_EQ(out.flows(0).client(), "192.168.1.5:40000");
  EXPECT_EQ(out.flows(0).vip(), "10.96.0.10:80");
  EXPECT_EQ(out.flows(0).endpoint(), "10.244.0.11:8080");
  EXPECT_EQ(out.flows(0).snat(), "10.0.0.1:1025");
  EXPECT_EQ(out.flows(0).state(), "established");
  EXPECT_EQ(out.flows(0).expires_in_ms(), 1234u);
  EXPECT_EQ(out.flows(1).protocol(), v1::PROTOCOL_UDP);
  EXPECT_EQ(out.flows(1).client(), "[fd77::2]:53000");
  EXPECT_EQ(out.flows(1).snat(), "");

  // An empty filter matches everything; the limit goes through as asked.
  req = v1::ListFlowsRequest{};
  req.set_limit(10000);
  ASSERT_TRUE(flows(req, &out).ok());
  harness_.onControl([&] {
    const dp::FlowFilter& f = *harness_.backend().last_filter;
    EXPECT_FALSE(f.vip || f.port || f.proto || f.client || f.endpoint);
    EXPECT_EQ(harness_.backend().last_limit, 10000u);
  });
}

TEST_F(AdminOpsTest, ListFlowsRefusesBadFiltersAndLimits) {
  v1::ListFlowsRequest req;
  v1::ListFlowsResponse out;
  req.mutable_service()->set_vip("10.96.0");
  req.mutable_service()->set_port(65536);
  req.set_client("client");
  req.set_endpoint("::g");
  req.set_limit(10001);
  EXPECT_TRUE(isError(flows(req, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "service.vip: '10.96.0' is not an IP address; service.port: 65536 is not a "
                      "valid port; client: 'client' is not an IP address; endpoint: '::g' is not "
                      "an IP address; limit: 10001 is above 10000"));
  req = v1::ListFlowsRequest{};
  req.mutable_service()->set_protocol(static_cast<v1::Protocol>(5));
  EXPECT_TRUE(isError(flows(req, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "service.protocol: 5 is not one of PROTOCOL_TCP, PROTOCOL_UDP"));
  harness_.onControl([&] { EXPECT_FALSE(harness_.backend().last_filter); });
}

TEST_F(AdminOpsTest, ListFlowsMapsDataPlaneErrors) {
  v1::ListFlowsResponse out;
  harness_.onControl([&] {
    harness_.backend().flows = Status::error("listing flows timed out after 2000 ms (worker 1)");
  });
  EXPECT_TRUE(isError(flows(v1::ListFlowsRequest{}, &out), grpc::StatusCode::DEADLINE_EXCEEDED,
                      "listing flows timed out after 2000 ms (worker 1)"));
  harness_.onControl(
      [&] { harness_.backend().flows = Status::error("flow listing already in progress"); });
  EXPECT_TRUE(isError(flows(v1::ListFlowsRequest{}, &out), grpc::StatusCode::INTERNAL,
                      "flow listing already in progress"));
}

}  // namespace
}  // namespace sluice::cp::admin::testing
