// The ADS client against an in-process management server
// (tests/unit/cp/fake_ads_server.h): what it sends on each stream, ACK and
// NACK, reconnects with versions kept, backoff, the receive limit and
// stop() (TLS: xds_client_tls_test.cc). A test thread plays sluiced's control loop; a recording
// handler stands in for the controller and rejects what it is told to.
#include "cp/xds/client.h"

#include <gtest/gtest.h>

#include <map>

#include "cp/xds/ads_state.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "tests/unit/cp/fake_ads_server.h"

namespace sluice::cp::xds::testing {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;

google::protobuf::Any packed(const google::protobuf::Message& message) {
  google::protobuf::Any any;
  any.PackFrom(message);
  return any;
}

Cluster cluster(const std::string& name) {
  Cluster c;
  c.set_name(name);
  c.set_type(Cluster::EDS);
  return c;
}

ClusterLoadAssignment assignment(const std::string& name) {
  ClusterLoadAssignment cla;
  cla.set_cluster_name(name);
  return cla;
}

discovery::DiscoveryResponse sotwResponse(const char* type_url, const std::string& version,
                                          const std::string& nonce,
                                          const std::vector<google::protobuf::Any>& resources) {
  discovery::DiscoveryResponse r;
  r.set_type_url(type_url);
  r.set_version_info(version);
  r.set_nonce(nonce);
  for (const auto& any : resources) {
    *r.add_resources() = any;
  }
  return r;
}

discovery::DiscoveryResponse clusters(const std::string& version, const std::string& nonce,
                                      const std::vector<std::string>& names) {
  std::vector<google::protobuf::Any> resources;
  for (const auto& name : names) {
    resources.push_back(packed(cluster(name)));
  }
  return sotwResponse(kClusterTypeUrl, version, nonce, resources);
}

discovery::Resource wrapped(const std::string& version, const google::protobuf::Message& message,
                            const std::string& name) {
  discovery::Resource r;
  r.set_name(name);
  r.set_version(version);
  *r.mutable_resource() = packed(message);
  return r;
}

discovery::DeltaDiscoveryResponse deltaResponse(const char* type_url, const std::string& nonce,
                                                const std::vector<discovery::Resource>& resources,
                                                const std::vector<std::string>& removed = {}) {
  discovery::DeltaDiscoveryResponse r;
  r.set_type_url(type_url);
  r.set_nonce(nonce);
  r.set_system_version_info("sys-" + nonce);
  for (const auto& resource : resources) {
    *r.add_resources() = resource;
  }
  for (const auto& name : removed) {
    r.add_removed_resources(name);
  }
  return r;
}

std::vector<std::string> names(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

class XdsClientTest : public ::testing::Test {
 protected:
  XdsSpec spec(XdsMode mode) const {
    XdsSpec s;
    s.server = server_.target();
    s.mode = mode;
    s.node = {"gw-1", "gateways", "eu", "eu-1a", "rack-7"};
    s.backoff_initial_ms = 5;
    s.backoff_max_ms = 40;
    return s;
  }

  void start(const XdsSpec& s) {
    ASSERT_TRUE(server_.ok());
    auto started = XdsClient::start(s, control_.queue, handler_);
    ASSERT_TRUE(started) << started.status().message();
    client_ = std::move(*started);
  }

  ClientMetrics metrics() const { return client_->metrics(); }

  // Waits for the handler to have seen `n` updates.
  bool updatesReach(size_t n) const {
    return eventually([&] { return handler_.updateCount() >= n; });
  }

  FakeAdsServer server_;
  ControlLoop control_;
  RecordingHandler handler_;
  std::unique_ptr<XdsClient> client_;  // stopped before the loop and server go
};

// Requests of one type, in the order sent.
template <class Recorded>
std::vector<Recorded> ofType(const std::vector<Recorded>& all, const char* type_url) {
  std::vector<Recorded> out;
  for (const auto& r : all) {
    if (r.request.type_url() == type_url) {
      out.push_back(r);
    }
  }
  return out;
}

// The requests of one stream (0: the first).
template <class Recorded>
auto onStream(const std::vector<Recorded>& all, int stream) {
  std::vector<decltype(Recorded::request)> out;
  for (const auto& r : all) {
    if (r.stream == stream) {
      out.push_back(r.request);
    }
  }
  return out;
}

// The node of XdsClientTest::spec().
void expectNode(const envoy::config::core::v3::Node& node) {
  EXPECT_EQ(node.id(), "gw-1");
  EXPECT_EQ(node.cluster(), "gateways");
  EXPECT_EQ(node.locality().region(), "eu");
  EXPECT_EQ(node.locality().zone(), "eu-1a");
  EXPECT_EQ(node.locality().sub_zone(), "rack-7");
  EXPECT_EQ(node.user_agent_name(), "sluice");
}

TEST_F(XdsClientTest, SotwFirstRequestsCarryTheNodeAndSubscribeListenersAndClustersByWildcard) {
  start(spec(XdsMode::kSotw));
  auto requests = server_.sotw.waitRequests(2);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].request.type_url(), kListenerTypeUrl);
  EXPECT_EQ(requests[1].request.type_url(), kClusterTypeUrl);
  for (const auto& r : requests) {
    expectNode(r.request.node());
    EXPECT_EQ(r.request.resource_names_size(), 0);  // wildcard
    EXPECT_EQ(r.request.version_info(), "");
    EXPECT_EQ(r.request.response_nonce(), "");
  }
  ASSERT_TRUE(eventually([&] { return metrics().connected; }));
  EXPECT_EQ(metrics().streams_opened, 1u);
  ASSERT_TRUE(eventually([&] { return handler_.connections() == std::vector<bool>{true}; }));
  // No EDS request while no cluster's endpoints are wanted (an empty one
  // would be a wildcard for every endpoint).
  client_->subscribe({"web"});
  requests = server_.sotw.waitRequests(3);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].request.type_url(), kEndpointTypeUrl);
  EXPECT_EQ(requests[2].request.node().id(), "gw-1");  // EDS's first request
}

TEST_F(XdsClientTest, SotwEndpointInterestChangesSendTheWholeNameList) {
  start(spec(XdsMode::kSotw));
  server_.sotw.waitRequests(2);
  client_->subscribe({"b", "a"});
  client_->subscribe({"a", "c"});  // only "c" is new
  client_->subscribe({"a"});       // nothing new: nothing sent
  client_->unsubscribe({"b", "zz"});
  client_->unsubscribe({"a", "c"});
  auto eds = ofType(server_.sotw.waitRequests(6), kEndpointTypeUrl);
  ASSERT_EQ(eds.size(), 4u);
  EXPECT_EQ(names(eds[0].request.resource_names()), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(eds[0].request.has_node());
  EXPECT_EQ(names(eds[1].request.resource_names()), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(eds[1].request.has_node());
  EXPECT_EQ(names(eds[2].request.resource_names()), (std::vector<std::string>{"a", "c"}));
  // After a named request, an empty list unsubscribes from all.
  EXPECT_EQ(eds[3].request.resource_names_size(), 0);
  EXPECT_EQ(metrics().endpoint_subscriptions, 0u);
}

TEST_F(XdsClientTest, SotwAckCarriesTheVersionTheNonceAndTheNames) {
  start(spec(XdsMode::kSotw));
  server_.sotw.waitRequests(2);
  client_->subscribe({"web"});
  server_.sotw.waitRequests(3);
  ASSERT_TRUE(server_.sotw.send(clusters("c1", "n-1", {"web", "db"})));
  ASSERT_TRUE(
      server_.sotw.send(sotwResponse(kEndpointTypeUrl, "e1", "n-2", {packed(assignment("web"))})));
  auto requests = server_.sotw.waitRequests(5);
  ASSERT_EQ(requests.size(), 5u);
  const auto& cds_ack = requests[3].request;
  EXPECT_EQ(cds_ack.type_url(), kClusterTypeUrl);
  EXPECT_EQ(cds_ack.version_info(), "c1");
  EXPECT_EQ(cds_ack.response_nonce(), "n-1");
  EXPECT_EQ(cds_ack.resource_names_size(), 0);
  EXPECT_FALSE(cds_ack.has_error_detail());
  EXPECT_FALSE(cds_ack.has_node());
  const auto& eds_ack = requests[4].request;
  EXPECT_EQ(eds_ack.type_url(), kEndpointTypeUrl);
  EXPECT_EQ(eds_ack.version_info(), "e1");
  EXPECT_EQ(eds_ack.response_nonce(), "n-2");
  EXPECT_EQ(names(eds_ack.resource_names()), std::vector<std::string>{"web"});

  auto updates = handler_.updates();
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0].type, ResourceType::kCluster);
  EXPECT_TRUE(updates[0].state_of_world);
  EXPECT_EQ(updates[0].version_info, "c1");
  ASSERT_EQ(updates[0].resources.size(), 2u);
  EXPECT_EQ(updates[0].resources[0].name, "web");  // named from the body
  EXPECT_EQ(updates[0].resources[1].name, "db");
  Cluster parsed;
  ASSERT_TRUE(parsed.ParseFromString(updates[0].resources[1].body));
  EXPECT_EQ(parsed.name(), "db");
  EXPECT_EQ(updates[1].type, ResourceType::kEndpoint);

  ClientMetrics m = metrics();
  EXPECT_EQ(m.responses, 2u);
  EXPECT_EQ(m.acks, 2u);
  EXPECT_EQ(m.nacks, 0u);
  EXPECT_GT(m.bytes_received, 0u);
  EXPECT_EQ(m.versions[static_cast<size_t>(ResourceType::kCluster)], "c1");
  EXPECT_EQ(m.versions[static_cast<size_t>(ResourceType::kEndpoint)], "e1");
  EXPECT_EQ(m.resources[static_cast<size_t>(ResourceType::kCluster)], 2u);
  // Applied on the control thread, as was the connection change.
  for (auto id : handler_.threads()) {
    EXPECT_EQ(id, control_.id());
  }
}

TEST_F(XdsClientTest, SotwNackCarriesTheLastAcceptedVersionAndTheReason) {
  start(spec(XdsMode::kSotw));
  server_.sotw.waitRequests(2);
  handler_.reject("bad");
  ASSERT_TRUE(server_.sotw.send(clusters("v1", "n-1", {"web"})));
  ASSERT_TRUE(server_.sotw.send(clusters("v2", "n-2", {"web", "bad"})));
  auto requests = server_.sotw.waitRequests(4);
  ASSERT_EQ(requests.size(), 4u);
  const auto& nack = requests[3].request;
  EXPECT_EQ(nack.type_url(), kClusterTypeUrl);
  EXPECT_EQ(nack.version_info(), "v1");
  EXPECT_EQ(nack.response_nonce(), "n-2");
  ASSERT_TRUE(nack.has_error_detail());
  EXPECT_EQ(nack.error_detail().code(), 3);
  EXPECT_EQ(nack.error_detail().message(), "cluster bad is not acceptable");
  ClientMetrics m = metrics();
  EXPECT_EQ(m.nacks, 1u);
  EXPECT_EQ(m.last_nack_reason, "cluster bad is not acceptable");
  EXPECT_EQ(m.versions[static_cast<size_t>(ResourceType::kCluster)], "v1");
  EXPECT_EQ(m.resources[static_cast<size_t>(ResourceType::kCluster)], 1u);
  // A later good version is ACKed as usual.
  ASSERT_TRUE(server_.sotw.send(clusters("v3", "n-3", {"web", "db"})));
  requests = server_.sotw.waitRequests(5);
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[4].request.version_info(), "v3");
  EXPECT_FALSE(requests[4].request.has_error_detail());
  // The client never withdrew anything from the handler: it saw exactly
  // the three updates the server sent.
  EXPECT_EQ(handler_.updateCount(), 3u);
}

TEST_F(XdsClientTest, WrongTypeAndUndecodableResourcesAreNackedWithoutTheHandler) {
  start(spec(XdsMode::kSotw));
  server_.sotw.waitRequests(2);
  const char* kRouteType = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  google::protobuf::Any garbage_wrapper;
  garbage_wrapper.set_type_url("type.googleapis.com/envoy.service.discovery.v3.Resource");
  garbage_wrapper.set_value("\xff\xff\xff");
  google::protobuf::Any garbage_cluster;
  garbage_cluster.set_type_url(kClusterTypeUrl);
  garbage_cluster.set_value("\x0a\x50short");  // a length past the end
  Listener listener;
  listener.set_name("l");
  std::vector<discovery::DiscoveryResponse> bad = {
      sotwResponse(kRouteType, "r1", "n-1", {}),
      sotwResponse(kClusterTypeUrl, "v1", "n-2", {packed(listener)}),
      sotwResponse(kClusterTypeUrl, "v2", "n-3", {garbage_wrapper}),
      sotwResponse(kClusterTypeUrl, "v3", "n-4", {garbage_cluster}),
      sotwResponse(kClusterTypeUrl, "v4", "n-5", {packed(wrapped("1", listener, "l"))}),
      sotwResponse(kClusterTypeUrl, "v5", "n-6", {packed(cluster(""))}),
  };
  for (const auto& response : bad) {
    ASSERT_TRUE(server_.sotw.send(response));
  }
  auto requests = server_.sotw.waitRequests(2 + bad.size());
  ASSERT_EQ(requests.size(), 2 + bad.size());
  std::vector<std::string> reasons;
  for (size_t i = 0; i < bad.size(); ++i) {
    const auto& nack = requests[2 + i].request;
    EXPECT_EQ(nack.type_url(), bad[i].type_url());
    EXPECT_EQ(nack.response_nonce(), bad[i].nonce());
    EXPECT_EQ(nack.version_info(), "");  // nothing accepted yet
    EXPECT_EQ(nack.error_detail().code(), 3);
    reasons.push_back(nack.error_detail().message());
  }
  EXPECT_EQ(reasons[0], "type_url " + std::string(kRouteType) + " is not one Sluice subscribes to");
  EXPECT_EQ(reasons[1],
            "resource 0 is a envoy.config.listener.v3.Listener, expected "
            "envoy.config.cluster.v3.Cluster");
  EXPECT_EQ(reasons[2], "resource 0: not a valid Resource");
  EXPECT_EQ(reasons[3], "resource 0: not a valid envoy.config.cluster.v3.Cluster");
  EXPECT_EQ(reasons[4],
            "resource 0 (l): a Resource wrapping envoy.config.listener.v3.Listener, "
            "expected envoy.config.cluster.v3.Cluster");
  EXPECT_EQ(reasons[5], "resource 0 has no name");
  EXPECT_EQ(handler_.updateCount(), 0u);
  EXPECT_EQ(metrics().nacks, bad.size());
}

TEST_F(XdsClientTest, SotwResourcesWrappedInResourceAreUnwrapped) {
  start(spec(XdsMode::kSotw));
  server_.sotw.waitRequests(2);
  Cluster web = cluster("web");
  ASSERT_TRUE(server_.sotw.send(
      sotwResponse(kClusterTypeUrl, "v1", "n-1",
                   {packed(wrapped("7", web, "web")), packed(wrapped("8", cluster("db"), "")),
                    packed(cluster("plain"))})));
  ASSERT_TRUE(updatesReach(1));
  auto update = handler_.updates()[0];
  ASSERT_EQ(update.resources.size(), 3u);
  EXPECT_EQ(update.resources[0].name, "web");
  EXPECT_EQ(update.resources[0].version, "7");
  EXPECT_EQ(update.resources[0].body, web.SerializeAsString());
  EXPECT_EQ(update.resources[1].name, "db");  // the wrapper had none: from the body
  EXPECT_EQ(update.resources[1].version, "8");
  EXPECT_EQ(update.resources[2].name, "plain");
  auto requests = server_.sotw.waitRequests(3);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].request.version_info(), "v1");
  EXPECT_FALSE(requests[2].request.has_error_detail());
}

TEST_F(XdsClientTest, SotwReconnectSendsTheVersionsLastAccepted) {
  start(spec(XdsMode::kSotw));
  server_.sotw.waitRequests(2);
  client_->subscribe({"web"});
  handler_.reject("bad");
  ASSERT_TRUE(server_.sotw.send(sotwResponse(kListenerTypeUrl, "l1", "n-1", {})));
  ASSERT_TRUE(server_.sotw.send(clusters("c3", "n-2", {"web"})));
  ASSERT_TRUE(server_.sotw.send(clusters("c4", "n-3", {"bad"})));
  ASSERT_EQ(server_.sotw.waitRequests(6).size(), 6u);
  server_.sotw.cancel();
  ASSERT_TRUE(eventually([&] { return server_.sotw.opened() == 2; }));
  auto second = onStream(server_.sotw.waitRequests(9), 1);
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second[0].type_url(), kListenerTypeUrl);
  EXPECT_EQ(second[0].version_info(), "l1");
  EXPECT_EQ(second[1].type_url(), kClusterTypeUrl);
  EXPECT_EQ(second[1].version_info(), "c3");  // c4 was rejected
  EXPECT_EQ(second[2].type_url(), kEndpointTypeUrl);
  EXPECT_EQ(names(second[2].resource_names()), std::vector<std::string>{"web"});
  for (const auto& r : second) {
    EXPECT_EQ(r.node().id(), "gw-1");
    EXPECT_EQ(r.response_nonce(), "");  // nonces are per stream
  }
  ClientMetrics m = metrics();
  EXPECT_EQ(m.streams_opened, 2u);
  EXPECT_EQ(m.reconnects, 1u);
  EXPECT_NE(m.last_stream_error.find("stream ended: 1 "), std::string::npos)  // CANCELLED
      << m.last_stream_error;
  ASSERT_TRUE(eventually([&] {
    return handler_.connections() == std::vector<bool>{true, false, true};
  }));
  // Losing the stream withdrew nothing: the handler saw only the three
  // responses, so the last good tables stay in force.
  EXPECT_EQ(handler_.updateCount(), 3u);
}

TEST_F(XdsClientTest, IdenticalRejectedResponsesAreNackedLaterEachTimeWithoutAskingAgain) {
  using std::chrono::milliseconds;
  using std::chrono::steady_clock;
  start(spec(XdsMode::kSotw));
  server_.sotw.waitRequests(2);
  handler_.reject("bad");
  ASSERT_TRUE(server_.sotw.send(clusters("v2", "n-1", {"bad"})));
  ASSERT_EQ(server_.sotw.waitRequests(3).size(), 3u);
  // A server that answers each NACK with the same response again (as
  // go-control-plane's snapshot cache does): each repeat's NACK waits
  // longer, 100 ms, then 200 ms, so the two cannot spin.
  auto t0 = steady_clock::now();
  ASSERT_TRUE(server_.sotw.send(clusters("v2", "n-2", {"bad"})));
  ASSERT_EQ(server_.sotw.waitRequests(4).size(), 4u);
  auto t1 = steady_clock::now();
  ASSERT_TRUE(server_.sotw.send(clusters("v2", "n-3", {"bad"})));
  auto requests = server_.sotw.waitRequests(5);
  auto t2 = steady_clock::now();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_GE(t1 - t0, milliseconds(90));
  EXPECT_GE(t2 - t1, milliseconds(190));
  for (int i = 2; i < 5; ++i) {
    EXPECT_EQ(requests[i].request.response_nonce(), "n-" + std::to_string(i - 1));
    EXPECT_EQ(requests[i].request.error_detail().message(), "cluster bad is not acceptable");
    EXPECT_EQ(requests[i].request.version_info(), "");  // nothing accepted yet
  }
  EXPECT_EQ(handler_.updateCount(), 1u);
  ClientMetrics m = metrics();
  EXPECT_EQ(m.nacks, 3u);
  EXPECT_EQ(m.repeated_rejections, 2u);
  // Nothing unsolicited follows: one answer per response.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(server_.sotw.requestCount(), 5u);
  // A repeat still waiting is superseded by newer content, which is judged
  // and answered at once: the same version with other content is other
  // content.
  ASSERT_TRUE(server_.sotw.send(clusters("v2", "n-4", {"bad"})));
  ASSERT_TRUE(server_.sotw.send(clusters("v2", "n-5", {"bad", "db"})));
  ASSERT_TRUE(updatesReach(2));
  requests = server_.sotw.waitRequests(6);
  ASSERT_EQ(requests.size(), 6u);
  EXPECT_EQ(requests[5].request.response_nonce(), "n-5");
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(server_.sotw.requestCount(), 6u);  // n-4's NACK was dropped
  // Once something is accepted, the handler judges that content afresh.
  ASSERT_TRUE(server_.sotw.send(clusters("v3", "n-6", {"web"})));
  ASSERT_TRUE(server_.sotw.send(clusters("v2", "n-7", {"bad"})));
  ASSERT_TRUE(updatesReach(4));
  EXPECT_EQ(server_.sotw.waitRequests(8).size(), 8u);
  EXPECT_EQ(metrics().repeated_rejections, 3u);
}

TEST_F(XdsClientTest, AServerResendingOnEveryNackGetsFewNacks) {
  start(spec(XdsMode::kSotw));
  server_.sotw.waitRequests(2);
  handler_.reject("bad");
  size_t seen = 2;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (int n = 1; std::chrono::steady_clock::now() < end; ++n) {
    ASSERT_TRUE(server_.sotw.send(clusters("v2", "n-" + std::to_string(n), {"bad"})));
    // The answer, or the end of the 2 s.
    while (server_.sotw.requestCount() <= seen && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    seen = server_.sotw.requestCount();
  }
  // At once, then after 100, 200, 400, 800 ms: 5 NACKs in 2 s (a client
  // NACKing at once sends thousands).
  EXPECT_LE(seen - 2, 6u);
  EXPECT_GE(seen - 2, 4u);
  EXPECT_EQ(handler_.updateCount(), 1u);
}

TEST_F(XdsClientTest, DeltaFirstRequestsAndSubscriptionChanges) {
  start(spec(XdsMode::kDelta));
  auto requests = server_.delta.waitRequests(2);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].request.type_url(), kListenerTypeUrl);
  EXPECT_EQ(requests[1].request.type_url(), kClusterTypeUrl);
  for (const auto& r : requests) {
    expectNode(r.request.node());
    EXPECT_EQ(r.request.resource_names_subscribe_size(), 0);  // wildcard
    EXPECT_EQ(r.request.initial_resource_versions_size(), 0);
  }
  client_->subscribe({"a", "b"});
  client_->subscribe({"b", "c"});
  client_->unsubscribe({"a", "nope"});
  auto eds = ofType(server_.delta.waitRequests(5), kEndpointTypeUrl);
  ASSERT_EQ(eds.size(), 3u);
  EXPECT_EQ(names(eds[0].request.resource_names_subscribe()), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(eds[0].request.node().id(), "gw-1");
  EXPECT_EQ(names(eds[1].request.resource_names_subscribe()), std::vector<std::string>{"c"});
  EXPECT_FALSE(eds[1].request.has_node());
  EXPECT_EQ(eds[2].request.resource_names_subscribe_size(), 0);
  EXPECT_EQ(names(eds[2].request.resource_names_unsubscribe()), std::vector<std::string>{"a"});
  EXPECT_EQ(metrics().endpoint_subscriptions, 2u);
}

TEST_F(XdsClientTest, DeltaUpdatesAddAndRemoveAndAreAckedByNonce) {
  start(spec(XdsMode::kDelta));
  server_.delta.waitRequests(2);
  client_->subscribe({"a", "b"});
  server_.delta.waitRequests(3);
  ASSERT_TRUE(server_.delta.send(
      deltaResponse(kEndpointTypeUrl, "d-1",
                    {wrapped("1", assignment("a"), "a"), wrapped("1", assignment("b"), "b")})));
  ASSERT_TRUE(server_.delta.send(deltaResponse(kEndpointTypeUrl, "d-2", {}, {"a"})));
  auto requests = server_.delta.waitRequests(5);
  ASSERT_EQ(requests.size(), 5u);
  for (int i = 3; i < 5; ++i) {
    EXPECT_EQ(requests[i].request.type_url(), kEndpointTypeUrl);
    EXPECT_EQ(requests[i].request.response_nonce(), "d-" + std::to_string(i - 2));
    EXPECT_FALSE(requests[i].request.has_error_detail());
    EXPECT_EQ(requests[i].request.resource_names_subscribe_size(), 0);
  }
  auto updates = handler_.updates();
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_FALSE(updates[0].state_of_world);
  ASSERT_EQ(updates[0].resources.size(), 2u);
  EXPECT_EQ(updates[0].resources[0].name, "a");
  EXPECT_EQ(updates[0].resources[0].version, "1");
  EXPECT_EQ(updates[0].version_info, "sys-d-1");
  EXPECT_TRUE(updates[1].resources.empty());
  EXPECT_EQ(updates[1].removed, std::vector<std::string>{"a"});
  EXPECT_EQ(metrics().resources[static_cast<size_t>(ResourceType::kEndpoint)], 1u);
}

TEST_F(XdsClientTest, DeltaReconnectSendsInitialResourceVersionsOfWhatIsHeld) {
  start(spec(XdsMode::kDelta));
  server_.delta.waitRequests(2);
  client_->subscribe({"a", "b"});
  server_.delta.waitRequests(3);
  handler_.reject("bad");
  ASSERT_TRUE(server_.delta.send(
      deltaResponse(kClusterTypeUrl, "d-1",
                    {wrapped("c1", cluster("web"), "web"), wrapped("c2", cluster("db"), "db")})));
  ASSERT_TRUE(server_.delta.send(
      deltaResponse(kClusterTypeUrl, "d-2", {wrapped("c9", cluster("bad"), "bad")}, {"db"})));
  ASSERT_TRUE(server_.delta.send(
      deltaResponse(kEndpointTypeUrl, "d-3",
                    {wrapped("e5", assignment("a"), "a"), wrapped("e6", assignment("b"), "b")})));
  auto requests = server_.delta.waitRequests(6);
  ASSERT_EQ(requests.size(), 6u);
  EXPECT_EQ(requests[4].request.response_nonce(), "d-2");
  EXPECT_EQ(requests[4].request.error_detail().message(), "cluster bad is not acceptable");
  client_->unsubscribe({"b"});
  ASSERT_EQ(server_.delta.waitRequests(7).size(), 7u);

  server_.delta.cancel();
  ASSERT_TRUE(eventually([&] { return server_.delta.opened() == 2; }));
  auto second = onStream(server_.delta.waitRequests(10), 1);
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second[0].type_url(), kListenerTypeUrl);
  EXPECT_EQ(second[0].initial_resource_versions_size(), 0);
  EXPECT_EQ(second[1].type_url(), kClusterTypeUrl);
  // The rejected update removed nothing and added nothing.
  std::map<std::string, std::string> cds(second[1].initial_resource_versions().begin(),
                                         second[1].initial_resource_versions().end());
  EXPECT_EQ(cds, (std::map<std::string, std::string>{{"db", "c2"}, {"web", "c1"}}));
  EXPECT_EQ(second[2].type_url(), kEndpointTypeUrl);
  EXPECT_EQ(names(second[2].resource_names_subscribe()), std::vector<std::string>{"a"});
  std::map<std::string, std::string> eds(second[2].initial_resource_versions().begin(),
                                         second[2].initial_resource_versions().end());
  EXPECT_EQ(eds, (std::map<std::string, std::string>{{"a", "e5"}}));  // b unsubscribed
  for (const auto& r : second) {
    EXPECT_EQ(r.node().id(), "gw-1");
    EXPECT_EQ(r.response_nonce(), "");
  }
}

TEST_F(XdsClientTest, InterestChangedWhileDisconnectedGoesOutOnTheNextStream) {
  server_.delta.refuse(true);
  start(spec(XdsMode::kDelta));
  ASSERT_TRUE(eventually([&] { return metrics().reconnects >= 1; }));
  client_->subscribe({"a", "b"});
  client_->unsubscribe({"a"});
  server_.delta.refuse(false);
  auto requests = server_.delta.waitRequests(3);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].request.type_url(), kEndpointTypeUrl);
  EXPECT_EQ(names(requests[2].request.resource_names_subscribe()), std::vector<std::string>{"b"});
  EXPECT_EQ(requests[2].request.resource_names_unsubscribe_size(), 0);
  EXPECT_EQ(requests[2].request.node().id(), "gw-1");
}

TEST_F(XdsClientTest, DeltaWrongTypeIsNackedWithoutTheHandler) {
  start(spec(XdsMode::kDelta));
  server_.delta.waitRequests(2);
  discovery::Resource bodiless;
  bodiless.set_name("web");
  ASSERT_TRUE(server_.delta.send(
      deltaResponse(kClusterTypeUrl, "d-1", {wrapped("1", assignment("web"), "web")})));
  ASSERT_TRUE(server_.delta.send(deltaResponse(kClusterTypeUrl, "d-2", {bodiless})));
  auto requests = server_.delta.waitRequests(4);
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[2].request.response_nonce(), "d-1");
  EXPECT_EQ(requests[2].request.error_detail().message(),
            "resource 0 (web) is a envoy.config.endpoint.v3.ClusterLoadAssignment, expected "
            "envoy.config.cluster.v3.Cluster");
  EXPECT_EQ(requests[3].request.error_detail().message(),
            "resource 0 (web) is a Resource without a body, expected "
            "envoy.config.cluster.v3.Cluster");
  EXPECT_EQ(handler_.updateCount(), 0u);
}

TEST_F(XdsClientTest, ResponseAboveTheReceiveLimitEndsTheStreamAndTheClientReconnects) {
  XdsSpec s = spec(XdsMode::kSotw);
  s.max_receive_bytes = 4096;
  start(s);
  server_.sotw.waitRequests(2);
  ASSERT_TRUE(server_.sotw.send(clusters("big", "n-1", {std::string(8000, 'x')})));
  ASSERT_TRUE(eventually([&] { return server_.sotw.opened() == 2; }));
  EXPECT_NE(metrics().last_stream_error.find("stream ended: 8 "), std::string::npos)
      << metrics().last_stream_error;  // RESOURCE_EXHAUSTED
  EXPECT_EQ(handler_.updateCount(), 0u);
  // Under the limit, the new stream works.
  ASSERT_TRUE(eventually([&] { return server_.sotw.requestCount() >= 4; }));
  ASSERT_TRUE(server_.sotw.send(clusters("small", "n-1", {std::string(1000, 'x')})));
  ASSERT_TRUE(updatesReach(1));
  EXPECT_EQ(server_.sotw.waitRequests(5)[4].request.version_info(), "small");
}

TEST_F(XdsClientTest, BackoffDoublesPerFailedAttemptAndResetsAfterAGoodResponse) {
  server_.sotw.refuse(true);
  XdsSpec s = spec(XdsMode::kSotw);
  s.backoff_initial_ms = 2;
  s.backoff_max_ms = 32;
  start(s);
  ASSERT_TRUE(eventually([&] { return server_.sotw.attempts().size() >= 7; }));
  ClientMetrics m = metrics();
  EXPECT_EQ(m.backoff_ms, 32u);  // 2, 4, 8, 16, 32 and no further
  EXPECT_GE(m.reconnects, 6u);
  EXPECT_LE(m.last_wait_ms, 32u);
  EXPECT_GE(m.last_wait_ms, 16u);  // jitter keeps at least half
  // Each attempt at the cap came at least half the cap after the one before.
  auto attempts = server_.sotw.attempts();
  std::string gaps;
  for (size_t i = 1; i < attempts.size(); ++i) {
    auto gap = std::chrono::duration_cast<std::chrono::microseconds>(attempts[i] - attempts[i - 1]);
    gaps += " " + std::to_string(gap.count() / 1000.0);
    if (i >= 6) {
      EXPECT_GE(gap, std::chrono::milliseconds(16)) << "attempt " << i;
    }
  }
  std::printf("gaps between attempts (ms):%s\n", gaps.c_str());
  server_.sotw.refuse(false);
  ASSERT_TRUE(eventually([&] { return server_.sotw.live(); }));
  server_.sotw.waitRequests(2);
  EXPECT_EQ(metrics().backoff_ms, 32u);  // connected, but nothing accepted yet
  ASSERT_TRUE(server_.sotw.send(clusters("v1", "n-1", {"web"})));
  ASSERT_TRUE(eventually([&] { return metrics().acks == 1; }));
  EXPECT_EQ(metrics().backoff_ms, 2u);
}

TEST_F(XdsClientTest, StopIsPromptWhileConnectedAndWhileBackingOff) {
  start(spec(XdsMode::kDelta));
  server_.delta.waitRequests(2);
  auto began = std::chrono::steady_clock::now();
  client_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(1));
  EXPECT_TRUE(eventually([&] { return !server_.delta.live(); }));
  client_->stop();  // again: nothing to do

  server_.sotw.refuse(true);
  XdsSpec s = spec(XdsMode::kSotw);
  s.backoff_initial_ms = 60000;
  s.backoff_max_ms = 60000;
  start(s);
  ASSERT_TRUE(eventually([&] { return metrics().reconnects == 1; }));  // waiting 30-60 s
  began = std::chrono::steady_clock::now();
  client_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(1));
}

TEST_F(XdsClientTest, StopDoesNotWaitForABusyControlThread) {
  control_.pause(true);
  start(spec(XdsMode::kSotw));
  server_.sotw.waitRequests(2);  // connected; connectionChanged waits for the loop
  auto began = std::chrono::steady_clock::now();
  client_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(1));
  control_.pause(false);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(handler_.connections().empty());  // withdrawn, never run
}

TEST_F(XdsClientTest, UnixSocketServer) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path.empty());
  std::string target = "unix:" + dir.path + "/ads.sock";
  FakeAdsServer local(target);
  ASSERT_TRUE(local.ok());
  XdsSpec s = spec(XdsMode::kDelta);
  s.server = target;
  auto client = XdsClient::start(s, control_.queue, handler_);
  ASSERT_TRUE(client);
  EXPECT_EQ(local.delta.waitRequests(2).size(), 2u);
  (*client)->stop();
}

// The controller keeps no endpoints it did not subscribe to (a late answer
// to a withdrawn subscription, a server sending every assignment): claiming
// their versions on the next stream would keep the server from sending them
// once they are wanted again.
TEST(DeltaStateTest, VersionsOfEndpointsNotSubscribedAreNotClaimedOnReconnect) {
  XdsNodeSpec node;
  node.id = "gw-1";
  DeltaState state(node);
  state.streamOpened();
  state.subscribe({"a"});
  Received received;
  received.type_url = kEndpointTypeUrl;
  received.known_type = true;
  received.nonce = "n-1";
  received.update.type = ResourceType::kEndpoint;
  received.update.state_of_world = false;
  received.update.resources = {RawResource{"a", "e1", ""}, RawResource{"late", "e2", ""}};
  state.answer(received, Status::ok());
  EXPECT_EQ(state.versions(ResourceType::kEndpoint),
            (std::map<std::string, std::string>{{"a", "e1"}}));
  state.subscribe({"late"});  // wanted again, say its service saw a packet
  state.streamClosed();
  std::vector<DeltaState::Request> requests = state.streamOpened();
  ASSERT_EQ(requests.size(), 3u);
  std::map<std::string, std::string> eds(requests[2].initial_resource_versions().begin(),
                                         requests[2].initial_resource_versions().end());
  EXPECT_EQ(eds, (std::map<std::string, std::string>{{"a", "e1"}}));
}

}  // namespace
}  // namespace sluice::cp::xds::testing
