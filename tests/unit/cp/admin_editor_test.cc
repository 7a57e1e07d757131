// ServiceEditor without gRPC: the outcome of each operation, what reached
// the sink, and the publish time measured on an injected clock.
#include "cp/admin/editor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/cp/recording_sink.h"

namespace sluice::cp::admin::testing {
namespace {

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

ServiceKey web() {
  return {.vip = ip("10.96.0.10"), .port = 80, .proto = Proto::kTcp};
}

ServiceSpec spec(const ServiceKey& key, std::vector<const char*> endpoints) {
  ServiceSpec s;
  s.key = key;
  for (const char* e : endpoints) {
    s.endpoints.push_back({.addr = ip(e), .port = 8080});
  }
  return s;
}

class EditorTest : public ::testing::Test {
 protected:
  EditorTest() {
    plane_.snat = {ip("10.0.0.1")};
    plane_.services_capacity = 2;
  }

  uint64_t now_ns_ = 1000;
  RecordingSink sink_;
  // Every reading of the clock moves it on by 700 ns: a publish takes 700.
  Publisher publisher_{sink_, [this] { return now_ns_ += 700; }};
  dp::DataplaneSpec plane_;
  ServiceEditor editor_{publisher_, plane_};
};

TEST_F(EditorTest, UpsertCreatesWithSourceApiAndTimesThePublish) {
  ChangeOutcome out = editor_.upsert(spec(web(), {"10.244.0.1"}), false);
  ASSERT_TRUE(out.status) << out.status.message();
  EXPECT_EQ(out.change, Change::kCreated);
  EXPECT_EQ(out.service.source, ServiceSource::kApi);
  EXPECT_EQ(out.publish_ns, 700u);
  EXPECT_EQ(sink_.upserts, std::vector<std::string>{"10.96.0.10:80/tcp"});
  ASSERT_NE(editor_.find(web()), nullptr);
  EXPECT_EQ(editor_.find(web())->endpoints.size(), 1u);
}

TEST_F(EditorTest, ReplacedServiceKeepsItsSource) {
  ServiceSpec config = spec(web(), {"10.244.0.1"});
  ASSERT_TRUE(publisher_.replaceSource(ServiceSource::kConfig, {config}));
  ChangeOutcome out = editor_.upsert(spec(web(), {"10.244.0.2"}), false);
  ASSERT_TRUE(out.status);
  EXPECT_EQ(out.change, Change::kUpdated);
  EXPECT_EQ(out.service.source, ServiceSource::kConfig);
  EXPECT_EQ(editor_.list(ServiceSource::kConfig, std::nullopt).size(), 1u);
  EXPECT_TRUE(editor_.list(ServiceSource::kApi, std::nullopt).empty());
}

TEST_F(EditorTest, UnchangedPublishesNothing) {
  ASSERT_TRUE(editor_.upsert(spec(web(), {"10.244.0.1"}), false).status);
  ChangeOutcome out = editor_.upsert(spec(web(), {"10.244.0.1"}), false);
  ASSERT_TRUE(out.status);
  EXPECT_EQ(out.change, Change::kUnchanged);
  EXPECT_EQ(out.publish_ns, 0u);
  EXPECT_EQ(sink_.calls(), 1u);
}

TEST_F(EditorTest, InvalidServiceIsRefusedWhole) {
  ServiceSpec bad = spec(web(), {"10.244.0.1", "10.244.0.2"});
  bad.endpoints[1].weight = 70000;
  bad.key.vip = ip("fd00::10");  // no IPv6 snat in this data plane
  ChangeOutcome out = editor_.upsert(bad, false);
  EXPECT_EQ(out.status.code(), ApiCode::kInvalidArgument);
  EXPECT_EQ(out.status.message(),
            "mode: missing SNAT pool for IPv6: fullnat needs a local address of the VIP's family "
            "in snat (or use mode dnat); endpoints[0].address: 10.244.0.1 is IPv4 but the VIP is "
            "IPv6; endpoints[1].address: 10.244.0.2 is IPv4 but the VIP is IPv6; "
            "endpoints[1].weight: must be 1..65535");
  EXPECT_EQ(sink_.calls(), 0u);
  EXPECT_TRUE(editor_.list(std::nullopt, std::nullopt).empty());
}

TEST_F(EditorTest, CapacityCountsNewServicesOnly) {
  for (uint16_t port : {80, 81}) {
    ServiceKey k = web();
    k.port = port;
    ASSERT_TRUE(editor_.upsert(spec(k, {}), false).status);
  }
  ServiceKey third = web();
  third.port = 82;
  ChangeOutcome out = editor_.upsert(spec(third, {}), false);
  EXPECT_EQ(out.status.code(), ApiCode::kResourceExhausted);
  EXPECT_EQ(out.status.message(), "services_capacity (2) reached; delete a service first");
  EXPECT_TRUE(editor_.upsert(spec(web(), {"10.244.0.1"}), false).status);
  EXPECT_EQ(sink_.upserts.size(), 3u);
}

TEST_F(EditorTest, RemoveAnswersWithWhatRan) {
  ASSERT_TRUE(editor_.upsert(spec(web(), {"10.244.0.1"}), false).status);
  ChangeOutcome out = editor_.remove(web());
  ASSERT_TRUE(out.status);
  EXPECT_EQ(out.change, Change::kDeleted);
  EXPECT_EQ(out.service.endpoints.size(), 1u);
  EXPECT_EQ(out.publish_ns, 700u);
  EXPECT_EQ(sink_.removes, std::vector<std::string>{"10.96.0.10:80/tcp"});
  EXPECT_EQ(editor_.remove(web()).status.code(), ApiCode::kNotFound);
  EXPECT_EQ(ServiceEditor::notFound(web()).message(), "service 10.96.0.10:80/tcp does not exist");
}

TEST_F(EditorTest, EndpointOperations) {
  ASSERT_TRUE(editor_.upsert(spec(web(), {"10.244.0.1"}), false).status);
  EndpointSpec second{.addr = ip("10.244.0.2"), .port = 8080, .weight = 4};
  ChangeOutcome out = editor_.addEndpoint(web(), second);
  ASSERT_TRUE(out.status);
  EXPECT_EQ(out.service.endpoints.back(), second);
  EXPECT_EQ(editor_.addEndpoint(web(), second).status.code(), ApiCode::kAlreadyExists);

  out = editor_.setEndpoint(web(), second.addr, 8080,
                            {.weight = std::nullopt, .state = EndpointState::kUnhealthy});
  ASSERT_TRUE(out.status);
  EXPECT_EQ(out.service.endpoints[1].state, EndpointState::kUnhealthy);
  EXPECT_EQ(out.service.endpoints[1].weight, 4u);
  // The Maglev table no longer holds the unhealthy endpoint.
  for (uint32_t entry : sink_.tables.at("10.96.0.10:80/tcp")) {
    EXPECT_EQ(entry, 0u);
  }

  out = editor_.setEndpoint(web(), second.addr, 8080, {.weight = 0, .state = std::nullopt});
  EXPECT_EQ(out.status.code(), ApiCode::kInvalidArgument);
  EXPECT_EQ(out.status.message().rfind("weight: 0 is not a valid weight", 0), 0u)
      << out.status.message();
  EXPECT_EQ(editor_.setEndpoint(web(), second.addr, 8080, {}).status.message(),
            "weight, state: set at least one");

  out = editor_.removeEndpoint(web(), ip("10.244.0.1"), 8080);
  ASSERT_TRUE(out.status);
  ASSERT_EQ(out.service.endpoints.size(), 1u);
  EXPECT_EQ(out.service.endpoints[0].addr, second.addr);
  out = editor_.removeEndpoint(web(), ip("10.244.0.1"), 8080);
  EXPECT_EQ(out.status.code(), ApiCode::kNotFound);
  EXPECT_EQ(out.status.message(), "endpoint 10.244.0.1:8080 is not in service 10.96.0.10:80/tcp");
}

TEST_F(EditorTest, ListFiltersBySourceAndVip) {
  ServiceKey other = web();
  other.vip = ip("10.96.0.11");
  ASSERT_TRUE(publisher_.replaceSource(ServiceSource::kConfig, {spec(other, {})}));
  ASSERT_TRUE(editor_.upsert(spec(web(), {}), false).status);
  EXPECT_EQ(editor_.list(std::nullopt, std::nullopt).size(), 2u);
  EXPECT_EQ(editor_.list(std::nullopt, ip("10.96.0.11")).at(0).key, other);
  EXPECT_TRUE(editor_.list(ServiceSource::kApi, ip("10.96.0.11")).empty());
  EXPECT_TRUE(editor_.list(ServiceSource::kXds, std::nullopt).empty());
}

TEST_F(EditorTest, SinkRefusalIsInternalAndLeavesTheModel) {
  ASSERT_TRUE(editor_.upsert(spec(web(), {"10.244.0.1"}), false).status);
  sink_.fail_all = true;
  ChangeOutcome out = editor_.addEndpoint(web(), {.addr = ip("10.244.0.2"), .port = 8080});
  EXPECT_EQ(out.status.code(), ApiCode::kInternal);
  EXPECT_EQ(editor_.find(web())->endpoints.size(), 1u);
  EXPECT_EQ(editor_.remove(web()).status.code(), ApiCode::kInternal);
  EXPECT_NE(editor_.find(web()), nullptr);
}

}  // namespace
}  // namespace sluice::cp::admin::testing
