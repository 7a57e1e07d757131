// sluice-xds's ADS server in-process on 127.0.0.1:0 (and a unix socket),
// driven by raw gRPC streams written here: SotW and delta initial sync,
// ACK and NACK, subscriptions, initial_resource_versions, and pushes when
// the services change. Every wait is bounded.
#include "tools/xds-server/server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"

namespace sluice::xds_server {
namespace {

namespace discovery = envoy::service::discovery::v3;
namespace endpoint = envoy::config::endpoint::v3;
namespace listener = envoy::config::listener::v3;
using namespace std::chrono_literals;

constexpr auto kWait = 5s;
// How long "nothing more arrives" is watched for.
constexpr auto kQuiet = 300ms;

const std::string& lds() {
  return typeUrl(ResourceType::kListener);
}
const std::string& cds() {
  return typeUrl(ResourceType::kCluster);
}
const std::string& eds() {
  return typeUrl(ResourceType::kEndpoint);
}

ServiceSpec service(const std::string& vip, uint16_t port, Proto proto,
                    std::vector<std::string> endpoints) {
  ServiceSpec s;
  s.key = {*IpAddr::parse(vip), port, proto};
  uint16_t ep_port = 8080;
  for (const std::string& ep : endpoints) {
    s.endpoints.push_back({*IpAddr::parse(ep), ep_port, 1, EndpointState::kReady});
  }
  return s;
}

const std::string kWeb = "10.96.0.10:80/tcp";
const std::string kDns = "10.96.0.53:53/udp";
const std::string kApi = "10.96.0.20:443/tcp";

std::vector<ServiceSpec> baseServices() {
  return {service("10.96.0.10", 80, Proto::kTcp, {"10.244.0.11", "10.244.0.12"}),
          service("10.96.0.53", 53, Proto::kUdp, {"10.244.0.21"}),
          service("10.96.0.20", 443, Proto::kTcp, {"10.244.0.31"})};
}

// One client stream: a reader thread queues what the server sends, so a
// test waits for a response with a deadline instead of blocking in Read.
template <class Request, class Response>
class TestStream {
 public:
  using Opener = std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> (
      discovery::AggregatedDiscoveryService::Stub::*)(grpc::ClientContext*);

  TestStream(discovery::AggregatedDiscoveryService::Stub& stub, Opener open)
      : stream_((stub.*open)(&context_)) {
    reader_ = std::thread([this] {
      Response response;
      while (stream_->Read(&response)) {
        std::lock_guard lock(mu_);
        responses_.push_back(std::move(response));
        cv_.notify_all();
        response = Response();
      }
      std::lock_guard lock(mu_);
      ended_ = true;
      cv_.notify_all();
    });
  }

  ~TestStream() {
    context_.TryCancel();
    reader_.join();
    stream_->Finish().ok();  // cancelled by us: the status says nothing
  }

  void send(const Request& request) { ASSERT_TRUE(stream_->Write(request)); }

  std::optional<Response> next(std::chrono::milliseconds wait = kWait) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, wait, [this] { return !responses_.empty() || ended_; }) ||
        responses_.empty()) {
      return std::nullopt;
    }
    Response r = std::move(responses_.front());
    responses_.pop_front();
    return r;
  }

  // True when nothing arrives for kQuiet.
  bool quiet() { return !next(kQuiet); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Response> responses_;
  bool ended_ = false;
};

using SotwClient = TestStream<discovery::DiscoveryRequest, discovery::DiscoveryResponse>;
using DeltaClient = TestStream<discovery::DeltaDiscoveryRequest, discovery::DeltaDiscoveryResponse>;

class XdsServerTest : public ::testing::Test {
 protected:
  void SetUp() override { startOn("127.0.0.1:0"); }
  void TearDown() override { server_->stop(); }

  void startOn(const std::string& listen, uint32_t max_send_bytes = 0) {
    ServerOptions options;
    options.listen = listen;
    options.max_send_bytes = max_send_bytes;
    auto started = XdsServer::start(options, [this](const StreamEvent& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    });
    ASSERT_TRUE(started) << started.status().message();
    server_ = std::move(*started);
    auto snapshot = server_->setServices(baseServices());
    ASSERT_TRUE(snapshot) << snapshot.status().message();
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = discovery::AggregatedDiscoveryService::NewStub(channel_);
  }

  std::unique_ptr<SotwClient> sotw() {
    return std::make_unique<SotwClient>(
        *stub_, &discovery::AggregatedDiscoveryService::Stub::StreamAggregatedResources);
  }
  std::unique_ptr<DeltaClient> delta() {
    return std::make_unique<DeltaClient>(
        *stub_, &discovery::AggregatedDiscoveryService::Stub::DeltaAggregatedResources);
  }

  // The first event of `kind` reported after `from` events, waiting for it.
  std::optional<StreamEvent> waitEvent(StreamEvent::Kind kind, size_t from = 0) {
    std::unique_lock lock(mu_);
    std::optional<StreamEvent> found;
    cv_.wait_for(lock, kWait, [&] {
      for (size_t i = from; i < events_.size(); ++i) {
        if (events_[i].kind == kind) {
          found = events_[i];
          return true;
        }
      }
      return false;
    });
    return found;
  }

  size_t eventCount() {
    std::lock_guard lock(mu_);
    return events_.size();
  }

  void setServices(const std::vector<ServiceSpec>& services) {
    auto snapshot = server_->setServices(services);
    ASSERT_TRUE(snapshot) << snapshot.status().message();
  }

  // The sink's state outlives the server, whose streams report to it.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StreamEvent> events_;
  std::unique_ptr<XdsServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<discovery::AggregatedDiscoveryService::Stub> stub_;
};

discovery::DiscoveryRequest sotwRequest(const std::string& type_url,
                                        std::vector<std::string> names = {}) {
  discovery::DiscoveryRequest r;
  r.mutable_node()->set_id("gw-test");
  r.set_type_url(type_url);
  for (const std::string& name : names) {
    r.add_resource_names(name);
  }
  return r;
}

discovery::DiscoveryRequest ack(const discovery::DiscoveryResponse& response,
                                std::vector<std::string> names = {}) {
  discovery::DiscoveryRequest r = sotwRequest(response.type_url(), std::move(names));
  r.set_version_info(response.version_info());
  r.set_response_nonce(response.nonce());
  return r;
}

template <class Message>
std::vector<std::string> names(const discovery::DiscoveryResponse& response) {
  std::vector<std::string> out;
  for (const auto& any : response.resources()) {
    Message m;
    EXPECT_TRUE(any.UnpackTo(&m));
    if constexpr (std::is_same_v<Message, endpoint::ClusterLoadAssignment>) {
      out.push_back(m.cluster_name());
    } else {
      out.push_back(m.name());
    }
  }
  return out;
}

TEST_F(XdsServerTest, SotwWildcardListenersAndClusters) {
  auto client = sotw();
  client->send(sotwRequest(lds()));
  auto l = client->next();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->type_url(), lds());
  EXPECT_EQ(l->version_info(), "1");
  EXPECT_FALSE(l->nonce().empty());
  EXPECT_EQ(names<listener::Listener>(*l), (std::vector<std::string>{kWeb, kApi, kDns}));

  client->send(sotwRequest(cds(), {"*"}));
  auto c = client->next();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->type_url(), cds());
  EXPECT_EQ(c->resources_size(), 3);
  EXPECT_NE(c->nonce(), l->nonce());

  auto opened = waitEvent(StreamEvent::Kind::kOpened);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->node, "gw-test");
  EXPECT_FALSE(opened->delta);
}

TEST_F(XdsServerTest, SotwEndpointsOnlyByName) {
  auto client = sotw();
  client->send(sotwRequest(eds(), {kDns, "10.9.9.9:9/tcp"}));
  auto r = client->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(names<endpoint::ClusterLoadAssignment>(*r), std::vector<std::string>{kDns});

  // A changed name list is answered with the new set.
  client->send(ack(*r, {kDns, kWeb}));
  auto r2 = client->next();
  ASSERT_TRUE(r2);
  EXPECT_EQ(names<endpoint::ClusterLoadAssignment>(*r2), (std::vector<std::string>{kWeb, kDns}));
  endpoint::ClusterLoadAssignment web;
  ASSERT_TRUE(r2->resources(0).UnpackTo(&web));
  EXPECT_EQ(web.endpoints(0).lb_endpoints_size(), 2);
}

TEST_F(XdsServerTest, SotwAckIsRecordedAndAnswersNothing) {
  auto client = sotw();
  client->send(sotwRequest(lds()));
  auto r = client->next();
  ASSERT_TRUE(r);
  client->send(ack(*r));
  auto acked = waitEvent(StreamEvent::Kind::kAck);
  ASSERT_TRUE(acked);
  EXPECT_EQ(acked->type, ResourceType::kListener);
  EXPECT_EQ(acked->version, "1");
  EXPECT_EQ(acked->nonce, r->nonce());
  EXPECT_EQ(acked->node, "gw-test");
  EXPECT_TRUE(client->quiet());
}

TEST_F(XdsServerTest, SotwPushesOnlyTheTypesThatChanged) {
  auto client = sotw();
  client->send(sotwRequest(lds()));
  auto l = client->next();
  ASSERT_TRUE(l);
  client->send(ack(*l));
  client->send(sotwRequest(eds(), {kWeb}));
  auto e = client->next();
  ASSERT_TRUE(e);
  client->send(ack(*e, {kWeb}));
  ASSERT_TRUE(client->quiet());

  // An endpoint of web changes: EDS is pushed, LDS is not.
  std::vector<ServiceSpec> services = baseServices();
  services[0].endpoints[1].state = EndpointState::kTerminating;
  setServices(services);
  auto pushed = client->next();
  ASSERT_TRUE(pushed);
  EXPECT_EQ(pushed->type_url(), eds());
  EXPECT_EQ(pushed->version_info(), "2");
  endpoint::ClusterLoadAssignment cla;
  ASSERT_TRUE(pushed->resources(0).UnpackTo(&cla));
  EXPECT_EQ(cla.endpoints(0).lb_endpoints(1).health_status(), envoy::config::core::v3::DRAINING);
  client->send(ack(*pushed, {kWeb}));
  EXPECT_TRUE(client->quiet());

  // dns's endpoints change: this client did not ask for them.
  services[1].endpoints[0].weight = 5;
  setServices(services);
  EXPECT_TRUE(client->quiet());

  // A service goes: LDS is pushed without it.
  services.pop_back();
  setServices(services);
  auto gone = client->next();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->type_url(), lds());
  EXPECT_EQ(names<listener::Listener>(*gone), (std::vector<std::string>{kWeb, kDns}));
}

TEST_F(XdsServerTest, SotwNackIsRecordedWithItsReason) {
  auto client = sotw();
  client->send(sotwRequest(cds()));
  auto r = client->next();
  ASSERT_TRUE(r);
  discovery::DiscoveryRequest nack = ack(*r);
  nack.set_version_info("");  // nothing accepted yet
  nack.mutable_error_detail()->set_code(3);
  nack.mutable_error_detail()->set_message("cluster 10.96.0.10:80/tcp: bad lb_policy");
  client->send(nack);
  auto nacked = waitEvent(StreamEvent::Kind::kNack);
  ASSERT_TRUE(nacked);
  EXPECT_EQ(nacked->type, ResourceType::kCluster);
  EXPECT_EQ(nacked->nonce, r->nonce());
  EXPECT_EQ(nacked->detail, "cluster 10.96.0.10:80/tcp: bad lb_policy");
  EXPECT_EQ(describe(*nacked), "stream " + std::to_string(nacked->stream) +
                                   " (sotw, node gw-test): NACK cds nonce " + r->nonce() +
                                   " (keeps no version): cluster 10.96.0.10:80/tcp: bad lb_policy");
  EXPECT_TRUE(client->quiet());
}

TEST_F(XdsServerTest, SotwStaleNonceIsIgnored) {
  auto client = sotw();
  client->send(sotwRequest(lds()));
  auto first = client->next();
  ASSERT_TRUE(first);
  std::vector<ServiceSpec> services = baseServices();
  services.pop_back();
  setServices(services);
  auto second = client->next();
  ASSERT_TRUE(second);
  ASSERT_NE(second->nonce(), first->nonce());
  size_t before = eventCount();
  client->send(ack(*first));  // answers a response the server has replaced
  EXPECT_TRUE(client->quiet());
  EXPECT_EQ(eventCount(), before);
  client->send(ack(*second));
  auto acked = waitEvent(StreamEvent::Kind::kAck, before);
  ASSERT_TRUE(acked);
  EXPECT_EQ(acked->nonce, second->nonce());
  EXPECT_EQ(acked->version, "2");
}

discovery::DeltaDiscoveryRequest deltaRequest(const std::string& type_url,
                                              std::vector<std::string> subscribe = {},
                                              std::vector<std::string> unsubscribe = {}) {
  discovery::DeltaDiscoveryRequest r;
  r.mutable_node()->set_id("gw-delta");
  r.set_type_url(type_url);
  for (const std::string& name : subscribe) {
    r.add_resource_names_subscribe(name);
  }
  for (const std::string& name : unsubscribe) {
    r.add_resource_names_unsubscribe(name);
  }
  return r;
}

discovery::DeltaDiscoveryRequest deltaAck(const discovery::DeltaDiscoveryResponse& response) {
  discovery::DeltaDiscoveryRequest r = deltaRequest(response.type_url());
  r.set_response_nonce(response.nonce());
  return r;
}

std::vector<std::string> names(const discovery::DeltaDiscoveryResponse& response) {
  std::vector<std::string> out;
  for (const discovery::Resource& r : response.resources()) {
    out.push_back(r.name());
  }
  return out;
}

std::vector<std::string> removed(const discovery::DeltaDiscoveryResponse& response) {
  return {response.removed_resources().begin(), response.removed_resources().end()};
}

TEST_F(XdsServerTest, DeltaInitialSyncSendsEveryResourceWithItsVersion) {
  auto client = delta();
  client->send(deltaRequest(cds()));
  auto r = client->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type_url(), cds());
  EXPECT_EQ(r->system_version_info(), "1");
  EXPECT_EQ(names(*r), (std::vector<std::string>{kWeb, kApi, kDns}));
  const ResourceMap& clusters = server_->snapshot()->of(ResourceType::kCluster);
  for (const discovery::Resource& resource : r->resources()) {
    EXPECT_EQ(resource.version(), clusters.at(resource.name())->version);
    EXPECT_EQ(resource.resource().type_url(), cds());
    EXPECT_EQ(resource.resource().value(), clusters.at(resource.name())->body.value());
  }
  EXPECT_TRUE(r->removed_resources().empty());
  client->send(deltaAck(*r));
  auto acked = waitEvent(StreamEvent::Kind::kAck);
  ASSERT_TRUE(acked);
  EXPECT_TRUE(acked->delta);
  EXPECT_EQ(acked->nonce, r->nonce());
  EXPECT_EQ(acked->version, "1");
  EXPECT_TRUE(client->quiet());
}

TEST_F(XdsServerTest, DeltaInitialVersionsSendOnlyWhatDiffers) {
  const ResourceMap& listeners = server_->snapshot()->of(ResourceType::kListener);
  auto client = delta();
  discovery::DeltaDiscoveryRequest request = deltaRequest(lds());
  auto& held = *request.mutable_initial_resource_versions();
  held[kWeb] = listeners.at(kWeb)->version;        // current: not sent
  held[kDns] = "0123456789abcdef";                 // outdated: sent
  held["10.96.0.99:80/tcp"] = "feedfacefeedface";  // gone: removed
  client->send(request);
  auto r = client->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(names(*r), (std::vector<std::string>{kApi, kDns}));
  EXPECT_EQ(removed(*r), std::vector<std::string>{"10.96.0.99:80/tcp"});

  // Everything held and current: an empty response, to say so.
  auto again = delta();
  discovery::DeltaDiscoveryRequest current = deltaRequest(lds());
  for (const auto& [name, resource] : listeners) {
    (*current.mutable_initial_resource_versions())[name] = resource->version;
  }
  again->send(current);
  auto empty = again->next();
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->resources_size(), 0);
  EXPECT_EQ(empty->removed_resources_size(), 0);
  EXPECT_TRUE(again->quiet());
}

TEST_F(XdsServerTest, DeltaSubscribeAndUnsubscribeEndpoints) {
  auto client = delta();
  client->send(deltaRequest(eds(), {kWeb}));
  auto r = client->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(names(*r), std::vector<std::string>{kWeb});
  client->send(deltaAck(*r));

  // Only the newly subscribed name is sent; a missing one is reported removed.
  client->send(deltaRequest(eds(), {kDns, "10.9.9.9:9/tcp"}));
  auto r2 = client->next();
  ASSERT_TRUE(r2);
  EXPECT_EQ(names(*r2), std::vector<std::string>{kDns});
  EXPECT_EQ(removed(*r2), std::vector<std::string>{"10.9.9.9:9/tcp"});
  client->send(deltaAck(*r2));

  client->send(deltaRequest(eds(), {}, {kWeb}));
  EXPECT_TRUE(client->quiet());

  // web is no longer watched: its change is not pushed; dns's is.
  std::vector<ServiceSpec> services = baseServices();
  services[0].endpoints.pop_back();
  setServices(services);
  EXPECT_TRUE(client->quiet());
  services[1].endpoints[0].weight = 9;
  setServices(services);
  auto pushed = client->next();
  ASSERT_TRUE(pushed);
  EXPECT_EQ(names(*pushed), std::vector<std::string>{kDns});
  endpoint::ClusterLoadAssignment cla;
  ASSERT_TRUE(pushed->resources(0).resource().UnpackTo(&cla));
  EXPECT_EQ(cla.endpoints(0).lb_endpoints(0).load_balancing_weight().value(), 9u);
}

TEST_F(XdsServerTest, DeltaPushesOnlyChangedResourcesAndRemovals) {
  auto client = delta();
  client->send(deltaRequest(lds()));
  auto r = client->next();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->resources_size(), 3);
  client->send(deltaAck(*r));

  std::vector<ServiceSpec> services = baseServices();
  services[2].affinity_client_ip = true;  // api's listener gets a hash policy
  setServices(services);
  auto changed = client->next();
  ASSERT_TRUE(changed);
  EXPECT_EQ(names(*changed), std::vector<std::string>{kApi});
  EXPECT_TRUE(changed->removed_resources().empty());
  EXPECT_EQ(changed->system_version_info(), "2");
  client->send(deltaAck(*changed));

  services.erase(services.begin());  // web goes
  services.push_back(service("10.96.0.30", 8443, Proto::kTcp, {"10.244.0.41"}));
  setServices(services);
  auto next = client->next();
  ASSERT_TRUE(next);
  EXPECT_EQ(names(*next), std::vector<std::string>{"10.96.0.30:8443/tcp"});
  EXPECT_EQ(removed(*next), std::vector<std::string>{kWeb});
  client->send(deltaAck(*next));
  EXPECT_TRUE(client->quiet());
}

TEST_F(XdsServerTest, DeltaNackIsRecordedAndNotResent) {
  auto client = delta();
  client->send(deltaRequest(cds()));
  auto r = client->next();
  ASSERT_TRUE(r);
  discovery::DeltaDiscoveryRequest nack = deltaAck(*r);
  nack.mutable_error_detail()->set_message("no good");
  client->send(nack);
  auto nacked = waitEvent(StreamEvent::Kind::kNack);
  ASSERT_TRUE(nacked);
  EXPECT_TRUE(nacked->delta);
  EXPECT_EQ(nacked->detail, "no good");
  EXPECT_EQ(nacked->version, "1");
  EXPECT_TRUE(client->quiet());
}

TEST_F(XdsServerTest, UnchangedServicesPushNothing) {
  auto client = delta();
  client->send(deltaRequest(lds()));
  ASSERT_TRUE(client->next());
  auto sotw_client = sotw();
  sotw_client->send(sotwRequest(lds()));
  ASSERT_TRUE(sotw_client->next());
  auto snapshot = server_->setServices(baseServices());
  ASSERT_TRUE(snapshot);
  EXPECT_EQ((*snapshot)->version, 1u);
  EXPECT_TRUE(client->quiet());
  EXPECT_TRUE(sotw_client->quiet());
}

TEST_F(XdsServerTest, DuplicateServicesAreRefusedAndTheOldSnapshotKept) {
  std::vector<ServiceSpec> services = baseServices();
  services.push_back(services[0]);
  auto refused = server_->setServices(services);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().message(), "service " + kWeb + " is listed twice");
  EXPECT_EQ(server_->snapshot()->version, 1u);
  EXPECT_EQ(server_->snapshot()->services, 3u);
}

TEST_F(XdsServerTest, StopEndsOpenStreams) {
  auto client = delta();
  client->send(deltaRequest(lds()));
  ASSERT_TRUE(client->next());
  server_->stop();
  auto closed = waitEvent(StreamEvent::Kind::kClosed);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->node, "gw-delta");
  EXPECT_FALSE(client->next(1s));
}

TEST_F(XdsServerTest, ResponseOverTheSendLimitEndsTheStream) {
  server_->stop();
  startOn("127.0.0.1:0", 200);  // three listeners are about 600 bytes
  auto client = sotw();
  client->send(sotwRequest(eds(), {kDns}));
  auto small = client->next();
  ASSERT_TRUE(small);
  EXPECT_EQ(small->resources_size(), 1);
  client->send(sotwRequest(lds()));
  EXPECT_FALSE(client->next(2s));
  auto closed = waitEvent(StreamEvent::Kind::kClosed);
  ASSERT_TRUE(closed);
  EXPECT_NE(closed->detail.find("could not be sent"), std::string::npos) << closed->detail;
}

TEST_F(XdsServerTest, ServesOnAUnixSocket) {
  server_->stop();
  std::string path = "/tmp/sluice-xds-test-" + std::to_string(::getpid()) + ".sock";
  startOn("unix:" + path);
  EXPECT_EQ(server_->address(), "unix:" + path);
  EXPECT_EQ(::access(path.c_str(), F_OK), 0);
  auto client = sotw();
  client->send(sotwRequest(cds()));
  auto r = client->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->resources_size(), 3);
  client.reset();
  server_->stop();
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace sluice::xds_server
