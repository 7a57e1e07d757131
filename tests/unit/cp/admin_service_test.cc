// The admin API's service and endpoint RPCs through a real gRPC server on a
// unix socket: each happy path, each error with its exact "FIELD: reason",
// and what reached the data plane (the recording sink) in each case.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/cp/admin_harness.h"

namespace sluice::cp::admin::testing {
namespace {

constexpr char kWeb[] = "10.96.0.10:80/tcp";
constexpr char kDns[] = "10.96.0.20:80/tcp";

std::string twoServices(uint32_t capacity = 64) {
  return configText(configService("10.96.0.10", 80, "10.244.0.11") + ", " +
                        configService("10.96.0.20", 80, "10.244.0.21"),
                    capacity);
}

class AdminServiceTest : public ::testing::Test {
 protected:
  explicit AdminServiceTest(uint32_t capacity = 64) : harness_(twoServices(capacity)) {}
  void SetUp() override {
    ASSERT_TRUE(harness_.ok());
    stub_ = harness_.stub();
    calls_before_ = harness_.sink.calls();
  }
  // Nothing reached the data plane since SetUp.
  bool nothingPublished() const { return harness_.sink.calls() == calls_before_; }
  std::vector<std::string> endpointsOf(const std::string& name) {
    std::vector<std::string> out;
    harness_.onControl([&] {
      auto it = harness_.publisher.services().find(name);
      if (it != harness_.publisher.services().end()) {
        for (const EndpointSpec& ep : it->second.endpoints) {
          out.push_back(ep.toString());
        }
      }
    });
    return out;
  }

  grpc::Status upsert(const v1::Service& s, bool create_only, v1::ChangeResponse* out) {
    grpc::ClientContext ctx;
    v1::UpsertServiceRequest req;
    *req.mutable_service() = s;
    req.set_create_only(create_only);
    return stub_->UpsertService(&ctx, req, out);
  }
  grpc::Status addEndpoint(const v1::ServiceKey& k, const v1::Endpoint& ep,
                           v1::ChangeResponse* out) {
    grpc::ClientContext ctx;
    v1::AddEndpointRequest req;
    *req.mutable_service() = k;
    *req.mutable_endpoint() = ep;
    return stub_->AddEndpoint(&ctx, req, out);
  }
  grpc::Status setEndpoint(const v1::SetEndpointRequest& req, v1::ChangeResponse* out) {
    grpc::ClientContext ctx;
    return stub_->SetEndpoint(&ctx, req, out);
  }

  AdminHarness harness_;
  std::unique_ptr<v1::Admin::Stub> stub_;
  size_t calls_before_ = 0;
};

// --- UpsertService ----------------------------------------------------------

TEST_F(AdminServiceTest, UpsertCreatesAnApiService) {
  v1::ChangeResponse out;
  auto s =
      service("10.96.0.30", 443, {endpoint("10.244.0.31", 8443), endpoint("10.244.0.32", 8443)});
  ASSERT_TRUE(upsert(s, false, &out).ok());
  EXPECT_EQ(out.result(), v1::ChangeResponse::RESULT_CREATED);
  EXPECT_EQ(out.service().source(), v1::SOURCE_API);
  EXPECT_EQ(out.service().endpoints_size(), 2);
  EXPECT_EQ(out.service().endpoints(1).weight(), 1u);
  EXPECT_GT(out.publish_ns(), 0u);
  ASSERT_EQ(harness_.sink.upserts.size(), calls_before_ + 1);
  EXPECT_EQ(harness_.sink.upserts.back(), "10.96.0.30:443/tcp");
  EXPECT_EQ(harness_.sink.accepted.at("10.96.0.30:443/tcp").source, ServiceSource::kApi);
}

TEST_F(AdminServiceTest, UpsertReplacesAndKeepsTheSource) {
  v1::ChangeResponse out;
  auto s =
      service("10.96.0.10", 80, {endpoint("10.244.0.11", 8080), endpoint("10.244.0.12", 8080)});
  s.set_mode(v1::FORWARD_MODE_DNAT);
  ASSERT_TRUE(upsert(s, false, &out).ok());
  EXPECT_EQ(out.result(), v1::ChangeResponse::RESULT_UPDATED);
  EXPECT_EQ(out.service().source(), v1::SOURCE_CONFIG);
  EXPECT_EQ(out.service().mode(), v1::FORWARD_MODE_DNAT);
  EXPECT_EQ(harness_.sink.accepted.at(kWeb).mode, ForwardMode::kDnat);
  EXPECT_EQ(harness_.sink.accepted.at(kWeb).endpoints.size(), 2u);
}

TEST_F(AdminServiceTest, UpsertOfTheRunningServiceIsUnchanged) {
  v1::ChangeResponse out;
  ASSERT_TRUE(upsert(service("10.96.0.10", 80, {endpoint("10.244.0.11", 8080)}), false, &out).ok());
  EXPECT_EQ(out.result(), v1::ChangeResponse::RESULT_UNCHANGED);
  EXPECT_EQ(out.publish_ns(), 0u);
  EXPECT_TRUE(nothingPublished());
}

TEST_F(AdminServiceTest, UpsertCreateOnlyRefusesATakenKey) {
  v1::ChangeResponse out;
  auto s = service("10.96.0.10", 80, {endpoint("10.244.0.99", 8080)});
  EXPECT_TRUE(isError(upsert(s, true, &out), grpc::StatusCode::ALREADY_EXISTS,
                      "service 10.96.0.10:80/tcp already exists (source config)"));
  EXPECT_TRUE(nothingPublished());
  EXPECT_EQ(endpointsOf(kWeb), std::vector<std::string>{"10.244.0.11:8080"});
  // A free key is created with create_only.
  ASSERT_TRUE(upsert(service("10.96.0.40", 80, {}), true, &out).ok());
  EXPECT_EQ(out.result(), v1::ChangeResponse::RESULT_CREATED);
}

TEST_F(AdminServiceTest, UpsertWithoutAServiceIsRefused) {
  grpc::ClientContext ctx;
  v1::ChangeResponse out;
  EXPECT_TRUE(isError(stub_->UpsertService(&ctx, v1::UpsertServiceRequest{}, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "service: required"));
}

// One bad endpoint among good ones: the message names it and nothing of the
// service is applied.
TEST_F(AdminServiceTest, UpsertWithOneBadEndpointPublishesNothing) {
  v1::ChangeResponse out;
  auto s = service(
      "10.96.0.10", 80,
      {endpoint("10.244.0.11", 8080), endpoint("10.244.0.12", 8080), endpoint("10.244.0.13", 0)});
  EXPECT_TRUE(isError(upsert(s, false, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "endpoints[2].port: 0 is not a valid port"));
  EXPECT_TRUE(nothingPublished());
  EXPECT_EQ(endpointsOf(kWeb), std::vector<std::string>{"10.244.0.11:8080"});
}

TEST_F(AdminServiceTest, UpsertNamesEveryBadField) {
  v1::ChangeResponse out;
  auto s = service("x", 70000, {endpoint("10.244.0.11", 8080), endpoint("", 8080)});
  s.set_mode(static_cast<v1::ForwardMode>(7));
  EXPECT_TRUE(isError(upsert(s, false, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "vip: 'x' is not an IP address; port: 70000 is not a valid port; mode: 7 is "
                      "not one of FORWARD_MODE_FULLNAT, FORWARD_MODE_DNAT; endpoints[1].address: "
                      "required: an IPv4 or IPv6 address"));
  s = service("10.96.0.50", 80, {});
  s.set_protocol(v1::PROTOCOL_UNSPECIFIED);
  EXPECT_TRUE(isError(upsert(s, false, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "protocol: required: PROTOCOL_TCP, PROTOCOL_UDP"));
  s = service("10.96.0.50", 80, {});
  s.set_affinity_timeout(60);
  EXPECT_TRUE(isError(upsert(s, false, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "affinity_timeout: must not be set when affinity is none"));
  EXPECT_TRUE(nothingPublished());
}

// Checks of the service as a whole (validateService) come back with their
// field names too.
TEST_F(AdminServiceTest, UpsertReportsWholeServiceChecks) {
  v1::ChangeResponse out;
  auto s = service("10.96.0.50", 80, {endpoint("fd00::5", 8080), endpoint("10.244.0.5", 8080)});
  *s.add_endpoints() = endpoint("10.244.0.5", 8080);
  s.mutable_endpoints(1)->set_weight(0);
  s.set_table_size(100);
  EXPECT_TRUE(isError(
      upsert(s, false, &out), grpc::StatusCode::INVALID_ARGUMENT,
      "table_size: 100 is not a prime; endpoints[0].address: fd00::5 is IPv6 but the VIP is IPv4; "
      "endpoints[1].weight: 0 is not a valid weight; to stop new flows to an endpoint, set its "
      "state to terminating or unhealthy; endpoints[2]: 10.244.0.5:8080 is already endpoints[1]"));
  EXPECT_TRUE(nothingPublished());
}

class AdminCapacityTest : public AdminServiceTest {
 protected:
  AdminCapacityTest() : AdminServiceTest(16) {}
};

TEST_F(AdminCapacityTest, UpsertAtCapacityIsResourceExhausted) {
  v1::ChangeResponse out;
  // Two services from the config, 14 from here: the data plane is full.
  for (int i = 1; i <= 14; ++i) {
    ASSERT_TRUE(upsert(service("10.96.2." + std::to_string(i), 80, {}), false, &out).ok());
  }
  size_t calls = harness_.sink.calls();
  EXPECT_TRUE(isError(upsert(service("10.96.0.31", 80, {}), false, &out),
                      grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "services_capacity (16) reached; delete a service first"));
  EXPECT_EQ(harness_.sink.calls(), calls);
  EXPECT_EQ(harness_.sink.accepted.size(), 16u);
  // Replacing a service at capacity still works; so does adding after a delete.
  ASSERT_TRUE(upsert(service("10.96.2.1", 80, {endpoint("10.244.0.1", 80)}), false, &out).ok());
  EXPECT_EQ(out.result(), v1::ChangeResponse::RESULT_UPDATED);
  grpc::ClientContext ctx;
  v1::DeleteServiceRequest del;
  *del.mutable_service() = key("10.96.2.1", 80);
  ASSERT_TRUE(stub_->DeleteService(&ctx, del, &out).ok());
  EXPECT_TRUE(upsert(service("10.96.0.31", 80, {}), false, &out).ok());
}

// --- DeleteService, GetService, ListServices ---------------------------------

TEST_F(AdminServiceTest, DeleteRemovesAndAnswersWithTheOldService) {
  grpc::ClientContext ctx;
  v1::DeleteServiceRequest req;
  *req.mutable_service() = key("10.96.0.10", 80);
  v1::ChangeResponse out;
  ASSERT_TRUE(stub_->DeleteService(&ctx, req, &out).ok());
  EXPECT_EQ(out.result(), v1::ChangeResponse::RESULT_DELETED);
  EXPECT_EQ(out.service().endpoints(0).address(), "10.244.0.11");
  EXPECT_EQ(harness_.sink.removes, std::vector<std::string>{kWeb});
  EXPECT_EQ(harness_.sink.accepted.count(kWeb), 0u);

  grpc::ClientContext again;
  EXPECT_TRUE(isError(stub_->DeleteService(&again, req, &out), grpc::StatusCode::NOT_FOUND,
                      "service 10.96.0.10:80/tcp does not exist"));
}

TEST_F(AdminServiceTest, DeleteChecksTheKey) {
  v1::ChangeResponse out;
  v1::DeleteServiceRequest req;
  *req.mutable_service() = key("10.96.0.10", 0, v1::PROTOCOL_UNSPECIFIED);
  grpc::ClientContext ctx;
  EXPECT_TRUE(isError(stub_->DeleteService(&ctx, req, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "service.port: 0 is not a valid port; service.protocol: required: "
                      "PROTOCOL_TCP, PROTOCOL_UDP"));
  *req.mutable_service() = key("10.96.0.10", 80, v1::PROTOCOL_UDP);
  grpc::ClientContext udp;
  EXPECT_TRUE(isError(stub_->DeleteService(&udp, req, &out), grpc::StatusCode::NOT_FOUND,
                      "service 10.96.0.10:80/udp does not exist"));
  EXPECT_TRUE(nothingPublished());
}

TEST_F(AdminServiceTest, GetService) {
  v1::GetServiceRequest req;
  *req.mutable_service() = key("10.96.0.20", 80);
  v1::Service out;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->GetService(&ctx, req, &out).ok());
  EXPECT_EQ(out.vip(), "10.96.0.20");
  EXPECT_EQ(out.source(), v1::SOURCE_CONFIG);
  ASSERT_EQ(out.endpoints_size(), 1);
  EXPECT_EQ(out.endpoints(0).address(), "10.244.0.21");
  EXPECT_EQ(out.endpoints(0).state(), v1::ENDPOINT_STATE_READY);

  *req.mutable_service() = key("10.96.0.21", 80);
  grpc::ClientContext missing;
  EXPECT_TRUE(isError(stub_->GetService(&missing, req, &out), grpc::StatusCode::NOT_FOUND,
                      "service 10.96.0.21:80/tcp does not exist"));
  *req.mutable_service() = key("10.96.0.256", 80);
  grpc::ClientContext bad;
  EXPECT_TRUE(isError(stub_->GetService(&bad, req, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "service.vip: '10.96.0.256' is not an IP address"));
}

TEST_F(AdminServiceTest, ListServicesInKeyOrderWithFilters) {
  v1::ChangeResponse change;
  ASSERT_TRUE(upsert(service("10.96.0.15", 80, {}), false, &change).ok());
  ASSERT_TRUE(upsert(service("10.96.0.10", 443, {}), false, &change).ok());
  auto names = [&](const v1::ListServicesRequest& req) {
    grpc::ClientContext ctx;
    v1::ListServicesResponse out;
    EXPECT_TRUE(stub_->ListServices(&ctx, req, &out).ok());
    std::vector<std::string> list;
    for (const v1::Service& s : out.services()) {
      list.push_back(s.vip() + ":" + std::to_string(s.port()));
    }
    return list;
  };
  v1::ListServicesRequest req;
  EXPECT_EQ(names(req), (std::vector<std::string>{"10.96.0.10:443", "10.96.0.10:80",
                                                  "10.96.0.15:80", "10.96.0.20:80"}));
  req.set_source(v1::SOURCE_API);
  EXPECT_EQ(names(req), (std::vector<std::string>{"10.96.0.10:443", "10.96.0.15:80"}));
  req.set_vip("10.96.0.10");
  EXPECT_EQ(names(req), (std::vector<std::string>{"10.96.0.10:443"}));
  req.set_source(v1::SOURCE_XDS);
  EXPECT_TRUE(names(req).empty());

  req.set_source(static_cast<v1::Source>(9));
  req.set_vip("ten");
  grpc::ClientContext ctx;
  v1::ListServicesResponse out;
  EXPECT_TRUE(isError(stub_->ListServices(&ctx, req, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "source: 9 is not one of SOURCE_CONFIG, SOURCE_API, SOURCE_XDS; vip: 'ten' "
                      "is not an IP address"));
}

// --- Endpoints --------------------------------------------------------------

TEST_F(AdminServiceTest, AddEndpoint) {
  v1::ChangeResponse out;
  auto ep = endpoint("10.244.0.12", 8080);
  ep.set_weight(5);
  ASSERT_TRUE(addEndpoint(key("10.96.0.10", 80), ep, &out).ok());
  EXPECT_EQ(out.result(), v1::ChangeResponse::RESULT_UPDATED);
  EXPECT_EQ(out.service().source(), v1::SOURCE_CONFIG);
  EXPECT_EQ(endpointsOf(kWeb), (std::vector<std::string>{"10.244.0.11:8080", "10.244.0.12:8080"}));
  EXPECT_EQ(harness_.sink.accepted.at(kWeb).endpoints.at(1).weight, 5u);

  EXPECT_TRUE(isError(addEndpoint(key("10.96.0.10", 80), ep, &out),
                      grpc::StatusCode::ALREADY_EXISTS,
                      "endpoint 10.244.0.12:8080 is already in service 10.96.0.10:80/tcp"));
  EXPECT_TRUE(isError(addEndpoint(key("10.96.0.11", 80), ep, &out), grpc::StatusCode::NOT_FOUND,
                      "service 10.96.0.11:80/tcp does not exist"));
}

TEST_F(AdminServiceTest, AddEndpointErrorsNameTheEndpoint) {
  v1::ChangeResponse out;
  EXPECT_TRUE(isError(addEndpoint(key("10.96.0.10", 80), endpoint("10.244.0.12", 0), &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "endpoint.port: 0 is not a valid port"));
  EXPECT_TRUE(isError(addEndpoint(key("", 80), endpoint("10.244.0.12", 80), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "service.vip: required: an IPv4 or IPv6 address"));
  // Found by the whole-service check, renamed to the request's field.
  EXPECT_TRUE(isError(addEndpoint(key("10.96.0.10", 80), endpoint("fd00::12", 80), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "endpoint.address: fd00::12 is IPv6 but the VIP is IPv4"));
  auto heavy = endpoint("10.244.0.12", 80);
  heavy.set_weight(70000);
  EXPECT_TRUE(isError(addEndpoint(key("10.96.0.10", 80), heavy, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "endpoint.weight: must be 1..65535"));
  auto odd = endpoint("10.244.0.12", 80);
  odd.set_state(static_cast<v1::EndpointState>(9));
  EXPECT_TRUE(isError(addEndpoint(key("10.96.0.10", 80), odd, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "endpoint.state: 9 is not one of ENDPOINT_STATE_READY, "
                      "ENDPOINT_STATE_TERMINATING, ENDPOINT_STATE_UNHEALTHY"));
  EXPECT_TRUE(nothingPublished());
  EXPECT_EQ(endpointsOf(kWeb), std::vector<std::string>{"10.244.0.11:8080"});
}

TEST_F(AdminServiceTest, RemoveEndpoint) {
  v1::ChangeResponse out;
  ASSERT_TRUE(addEndpoint(key("10.96.0.20", 80), endpoint("10.244.0.22", 8080), &out).ok());
  v1::RemoveEndpointRequest req;
  *req.mutable_service() = key("10.96.0.20", 80);
  req.set_address("10.244.0.21");
  req.set_port(8080);
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->RemoveEndpoint(&ctx, req, &out).ok());
  EXPECT_EQ(out.result(), v1::ChangeResponse::RESULT_UPDATED);
  EXPECT_EQ(endpointsOf(kDns), std::vector<std::string>{"10.244.0.22:8080"});
  EXPECT_EQ(harness_.sink.accepted.at(kDns).endpoints.size(), 1u);

  size_t calls = harness_.sink.calls();
  grpc::ClientContext again;
  EXPECT_TRUE(isError(stub_->RemoveEndpoint(&again, req, &out), grpc::StatusCode::NOT_FOUND,
                      "endpoint 10.244.0.21:8080 is not in service 10.96.0.20:80/tcp"));
  req.set_address("");
  req.set_port(0);
  grpc::ClientContext bad;
  EXPECT_TRUE(isError(stub_->RemoveEndpoint(&bad, req, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "address: required: an IPv4 or IPv6 address; port: 0 is not a valid port"));
  EXPECT_EQ(harness_.sink.calls(), calls);
}

TEST_F(AdminServiceTest, SetEndpointStateTakesItOutOfTheTable) {
  v1::ChangeResponse out;
  ASSERT_TRUE(addEndpoint(key("10.96.0.10", 80), endpoint("10.244.0.12", 8080), &out).ok());
  auto entriesOf = [&](uint32_t index) {
    const auto& table = harness_.sink.tables.at(kWeb);
    return std::count(table.begin(), table.end(), index);
  };
  EXPECT_GT(entriesOf(0), 0);
  EXPECT_GT(entriesOf(1), 0);

  v1::SetEndpointRequest req;
  *req.mutable_service() = key("10.96.0.10", 80);
  req.set_address("10.244.0.11");
  req.set_port(8080);
  req.set_state(v1::ENDPOINT_STATE_TERMINATING);
  ASSERT_TRUE(setEndpoint(req, &out).ok());
  EXPECT_EQ(out.service().endpoints(0).state(), v1::ENDPOINT_STATE_TERMINATING);
  EXPECT_EQ(harness_.sink.accepted.at(kWeb).endpoints[0].state, EndpointState::kTerminating);
  EXPECT_EQ(entriesOf(0), 0);
  EXPECT_GT(entriesOf(1), 0);

  // Weight alone leaves the state as it is.
  req.clear_state();
  req.set_weight(3);
  ASSERT_TRUE(setEndpoint(req, &out).ok());
  EXPECT_EQ(out.service().endpoints(0).weight(), 3u);
  EXPECT_EQ(out.service().endpoints(0).state(), v1::ENDPOINT_STATE_TERMINATING);
  size_t calls = harness_.sink.calls();
  ASSERT_TRUE(setEndpoint(req, &out).ok());
  EXPECT_EQ(out.result(), v1::ChangeResponse::RESULT_UNCHANGED);
  EXPECT_EQ(harness_.sink.calls(), calls);
}

TEST_F(AdminServiceTest, SetEndpointErrors) {
  v1::ChangeResponse out;
  v1::SetEndpointRequest req;
  *req.mutable_service() = key("10.96.0.10", 80);
  req.set_address("10.244.0.11");
  req.set_port(8080);
  EXPECT_TRUE(isError(setEndpoint(req, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "weight, state: set at least one"));
  req.set_weight(0);
  EXPECT_TRUE(isError(setEndpoint(req, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "weight: 0 is not a valid weight; to stop new flows to an endpoint, set its "
                      "state to terminating or unhealthy"));
  req.set_weight(2);
  req.set_state(static_cast<v1::EndpointState>(9));
  EXPECT_TRUE(isError(setEndpoint(req, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "state: 9 is not one of ENDPOINT_STATE_READY, ENDPOINT_STATE_TERMINATING, "
                      "ENDPOINT_STATE_UNHEALTHY"));
  req.set_state(v1::ENDPOINT_STATE_UNHEALTHY);
  req.set_port(8081);
  EXPECT_TRUE(isError(setEndpoint(req, &out), grpc::StatusCode::NOT_FOUND,
                      "endpoint 10.244.0.11:8081 is not in service 10.96.0.10:80/tcp"));
  req.set_address("10.244.0.x");
  EXPECT_TRUE(isError(setEndpoint(req, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "address: '10.244.0.x' is not an IP address"));
  EXPECT_TRUE(nothingPublished());
}

// A sink refusal surfaces as INTERNAL with its reason, and the model keeps
// what the data plane has.
TEST_F(AdminServiceTest, DataPlaneRefusalIsInternal) {
  harness_.onControl([&] { harness_.sink.fail_all = true; });
  v1::ChangeResponse out;
  EXPECT_TRUE(isError(addEndpoint(key("10.96.0.10", 80), endpoint("10.244.0.12", 8080), &out),
                      grpc::StatusCode::INTERNAL,
                      "publish failed: service 10.96.0.10:80/tcp: sink refused"));
  EXPECT_EQ(endpointsOf(kWeb), std::vector<std::string>{"10.244.0.11:8080"});
}

// --- Many clients at once ---------------------------------------------------

// 8 clients, each on its own channel, create a service each, add endpoints
// to it and to one shared service, and reweigh them, all at once. Every
// change is applied whole, so the end state is exactly the union of them,
// and the data plane holds what the model does.
TEST_F(AdminServiceTest, ConcurrentClientsEndInTheExpectedState) {
  constexpr int kClients = 8;
  constexpr int kPerClient = 12;
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = harness_.stub();
      auto call_ok = [&](const grpc::Status& s) {
        if (!s.ok()) {
          ++failures;
        }
      };
      std::string vip = "10.96.1." + std::to_string(c + 1);
      v1::ChangeResponse out;
      {
        grpc::ClientContext ctx;
        v1::UpsertServiceRequest req;
        *req.mutable_service() = service(vip, 80, {});
        call_ok(stub->UpsertService(&ctx, req, &out));
      }
      for (int i = 0; i < kPerClient; ++i) {
        std::string addr = "10.244." + std::to_string(c + 1) + "." + std::to_string(i + 1);
        for (const std::string& target : {vip, std::string("10.96.0.10")}) {
          grpc::ClientContext ctx;
          v1::AddEndpointRequest req;
          *req.mutable_service() = key(target, 80);
          *req.mutable_endpoint() = endpoint(addr, 8080);
          call_ok(stub->AddEndpoint(&ctx, req, &out));
        }
        grpc::ClientContext ctx;
        v1::SetEndpointRequest set;
        *set.mutable_service() = key("10.96.0.10", 80);
        set.set_address(addr);
        set.set_port(8080);
        set.set_weight(static_cast<uint32_t>(c + 2));
        call_ok(stub->SetEndpoint(&ctx, set, &out));
      }
    });
  }
  for (std::thread& t : clients) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);

  std::set<std::string> shared_expected = {"10.244.0.11:8080"};
  for (int c = 0; c < kClients; ++c) {
    std::vector<std::string> own;
    for (int i = 0; i < kPerClient; ++i) {
      std::string ep = "10.244." + std::to_string(c + 1) + "." + std::to_string(i + 1) + ":8080";
      own.push_back(ep);
      shared_expected.insert(ep);
    }
    // Each client's own service got its endpoints in the order it sent them.
    EXPECT_EQ(endpointsOf("10.96.1." + std::to_string(c + 1) + ":80/tcp"), own);
  }
  std::vector<std::string> shared = endpointsOf(kWeb);
  EXPECT_EQ(shared.size(), shared_expected.size());
  EXPECT_EQ(std::set<std::string>(shared.begin(), shared.end()), shared_expected);
  harness_.onControl([&] {
    EXPECT_EQ(harness_.sink.accepted, harness_.publisher.services());
    for (const EndpointSpec& ep : harness_.publisher.services().at(kWeb).endpoints) {
      // 10.244.C.I was given weight C + 1.
      uint32_t expected = ep.addr.bytes[2] == 0 ? 1 : ep.addr.bytes[2] + 1u;
      EXPECT_EQ(ep.weight, expected) << ep.toString();
    }
  });
}

}  // namespace
}  // namespace sluice::cp::admin::testing
