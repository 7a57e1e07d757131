// The xDS controller (cp/xds/controller.h) on a real Publisher with a
// recording sink: whole-update accept/reject, SotW and delta, make-before-
// break, incremental publishing, lazy loading and eviction.
#include "cp/xds/controller.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/cp/recording_sink.h"
#include "tests/unit/cp/xds_resources.h"

namespace sluice::cp::xds {
namespace {

using namespace testing;  // NOLINT: the resource builders
using admin::testing::RecordingSink;

class FakeInterest : public EndpointInterest {
 public:
  void subscribe(const std::vector<std::string>& names) override {
    for (const std::string& n : names) {
      log.push_back("+" + n);
      names_.insert(n);
    }
  }
  void unsubscribe(const std::vector<std::string>& names) override {
    for (const std::string& n : names) {
      log.push_back("-" + n);
      names_.erase(n);
    }
  }
  bool has(const std::string& n) const { return names_.count(n) != 0; }
  std::vector<std::string> log;

 private:
  std::set<std::string> names_;
};

constexpr uint64_t kSecond = 1000000000ull;

class XdsControllerTest : public ::testing::Test {
 protected:
  void start(XdsSpec spec = {}) {
    dataplane_.snat = {*IpAddr::parse("192.0.2.1"), *IpAddr::parse("2001:db8::1")};
    controller_ = std::make_unique<XdsController>(publisher_, dataplane_, spec, interest_,
                                                  [this] { return now_; });
  }
  Status apply(const ResourceUpdate& u) { return controller_->apply(u); }
  void accept(const ResourceUpdate& u) {
    Status s = apply(u);
    ASSERT_TRUE(s) << s.message();
  }
  // The usual three-step sync of one listener on one EDS cluster.
  void syncWeb(bool eds_too = true) {
    accept(sotw(ResourceType::kListener, {raw(tcpListener("web", "10.96.0.10", 80, "web"))}));
    accept(sotw(ResourceType::kCluster, {raw(edsCluster("web"))}));
    if (eds_too) {
      accept(sotw(ResourceType::kEndpoint,
                  {raw(assignment("web", {{{{"10.1.0.1"}, {"10.1.0.2"}}}}))}));
    }
  }
  const ServiceSpec* inSink(const std::string& key) const {
    auto it = sink_.accepted.find(key);
    return it == sink_.accepted.end() ? nullptr : &it->second;
  }
  dp::ServiceTraffic traffic(const std::string& vip, uint16_t port, uint64_t in_packets,
                             uint64_t flows) {
    dp::ServiceTraffic t;
    t.key = ServiceKey{*IpAddr::parse(vip), port, Proto::kTcp};
    t.traffic.in_packets = in_packets;
    t.traffic.active_flows = flows;
    return t;
  }

  RecordingSink sink_;
  Publisher publisher_{sink_, [] { return uint64_t{0}; }};
  dp::DataplaneSpec dataplane_;
  FakeInterest interest_;
  uint64_t now_ = 1000 * kSecond;
  std::unique_ptr<XdsController> controller_;
};

TEST_F(XdsControllerTest, MakeBeforeBreakListenerThenClusterThenEndpoints) {
  start();
  accept(sotw(ResourceType::kListener, {raw(tcpListener("web", "10.96.0.10", 80, "web"))}));
  EXPECT_EQ(sink_.calls(), 0u);
  EXPECT_EQ(controller_->metrics().services_pending, 1u);
  accept(
      sotw(ResourceType::kCluster, {raw(edsCluster("web", cluster::Cluster::MAGLEV, "web-eds"))}));
  EXPECT_EQ(sink_.calls(), 0u);
  EXPECT_EQ(interest_.log, (std::vector<std::string>{"+web-eds"}));
  EXPECT_EQ(controller_->metrics().endpoint_subscriptions, 1u);
  accept(sotw(ResourceType::kEndpoint, {raw(assignment("web-eds", {{{{"10.1.0.1"}}}}))}));
  const ServiceSpec* s = inSink("10.96.0.10:80/tcp");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->endpoints.size(), 1u);
  EXPECT_EQ(s->source, ServiceSource::kXds);
  EXPECT_EQ(s->mode, ForwardMode::kFullNat);
  ControllerMetrics m = controller_->metrics();
  EXPECT_EQ(m.updates_accepted, 3u);
  EXPECT_EQ(m.services_published, 1u);
  EXPECT_EQ(m.services_pending, 0u);
  EXPECT_EQ(m.listeners, 1u);
  EXPECT_EQ(m.clusters, 1u);
  EXPECT_EQ(m.endpoint_resources, 1u);
}

TEST_F(XdsControllerTest, ForwardModeComesFromTheSpec) {
  XdsSpec spec;
  spec.forward_mode = ForwardMode::kDnat;
  start(spec);
  syncWeb();
  ASSERT_NE(inSink("10.96.0.10:80/tcp"), nullptr);
  EXPECT_EQ(inSink("10.96.0.10:80/tcp")->mode, ForwardMode::kDnat);
}

TEST_F(XdsControllerTest, UpdatedListenerOnAClusterNotReadyKeepsTheOldVersion) {
  start();
  syncWeb();
  size_t calls = sink_.calls();
  accept(delta(ResourceType::kListener, {raw(tcpListener("web", "10.96.0.10", 80, "canary"))}));
  EXPECT_EQ(sink_.calls(), calls);
  EXPECT_EQ(inSink("10.96.0.10:80/tcp")->endpoints.size(), 2u);
  EXPECT_EQ(controller_->metrics().services_pending, 1u);
  accept(delta(ResourceType::kCluster, {raw(edsCluster("canary"))}));
  EXPECT_EQ(sink_.calls(), calls);
  accept(delta(ResourceType::kEndpoint, {raw(assignment("canary", {{{{"10.9.0.1"}}}}))}));
  ASSERT_EQ(inSink("10.96.0.10:80/tcp")->endpoints.size(), 1u);
  EXPECT_EQ(inSink("10.96.0.10:80/tcp")->endpoints[0].addr.toString(), "10.9.0.1");
  EXPECT_EQ(controller_->metrics().services_pending, 0u);
}

TEST_F(XdsControllerTest, ListenerMovedToAnotherKeyIsUpBeforeTheOldGoes) {
  start();
  syncWeb();
  sink_.upserts.clear();
  accept(sotw(ResourceType::kListener, {raw(tcpListener("web", "10.96.0.11", 80, "web"))}));
  EXPECT_EQ(sink_.upserts, (std::vector<std::string>{"10.96.0.11:80/tcp"}));
  EXPECT_EQ(sink_.removes, (std::vector<std::string>{"10.96.0.10:80/tcp"}));
  EXPECT_EQ(sink_.accepted.size(), 1u);
}

TEST_F(XdsControllerTest, SotwRemovesWhatIsNotSent) {
  start();
  accept(sotw(ResourceType::kListener, {raw(tcpListener("a", "10.96.0.1", 80, "c")),
                                        raw(tcpListener("b", "10.96.0.2", 80, "c"))}));
  accept(sotw(ResourceType::kCluster, {raw(edsCluster("c"))}));
  accept(sotw(ResourceType::kEndpoint, {raw(assignment("c", {{{{"10.1.0.1"}}}}))}));
  EXPECT_EQ(sink_.accepted.size(), 2u);
  accept(sotw(ResourceType::kListener, {raw(tcpListener("a", "10.96.0.1", 80, "c"))}));
  EXPECT_EQ(sink_.removes, (std::vector<std::string>{"10.96.0.2:80/tcp"}));
  EXPECT_EQ(controller_->metrics().listeners, 1u);
  // The whole set of clusters without c: its EDS name is unsubscribed, and
  // the listener keeps its last version (its cluster is pending).
  accept(sotw(ResourceType::kCluster, {}));
  EXPECT_FALSE(interest_.has("c"));
  EXPECT_NE(inSink("10.96.0.1:80/tcp"), nullptr);
  EXPECT_EQ(controller_->metrics().services_pending, 1u);
  EXPECT_EQ(controller_->metrics().endpoint_resources, 0u);
}

TEST_F(XdsControllerTest, IdenticalSotwResendPublishesNothing) {
  start();
  syncWeb();
  size_t calls = sink_.calls();
  syncWeb();
  EXPECT_EQ(sink_.calls(), calls);
  EXPECT_EQ(interest_.log.size(), 1u);
}

TEST_F(XdsControllerTest, DeltaRemovesOnlyWhatIsListed) {
  start();
  accept(delta(ResourceType::kListener, {raw(tcpListener("a", "10.96.0.1", 80, "c"))}));
  accept(delta(ResourceType::kListener, {raw(tcpListener("b", "10.96.0.2", 80, "c"))}));
  accept(delta(ResourceType::kCluster, {raw(edsCluster("c"))}));
  accept(delta(ResourceType::kEndpoint, {raw(assignment("c", {{{{"10.1.0.1"}}}}))}));
  EXPECT_EQ(sink_.accepted.size(), 2u);
  accept(delta(ResourceType::kListener, {}, {"b", "never-heard-of"}));
  EXPECT_EQ(sink_.removes, (std::vector<std::string>{"10.96.0.2:80/tcp"}));
  EXPECT_NE(inSink("10.96.0.1:80/tcp"), nullptr);
  // Endpoints removed: the service keeps its last version until new ones come.
  accept(delta(ResourceType::kEndpoint, {}, {"c"}));
  EXPECT_EQ(inSink("10.96.0.1:80/tcp")->endpoints.size(), 1u);
  EXPECT_EQ(controller_->metrics().services_pending, 1u);
}

TEST_F(XdsControllerTest, AnInvalidResourceRejectsTheWholeUpdate) {
  start();
  syncWeb();
  size_t calls = sink_.calls();
  ResourceUpdate u =
      sotw(ResourceType::kListener, {raw(tcpListener("web", "10.96.0.10", 80, "web")),
                                     raw(tcpListener("new", "10.96.0.20", 80, "web")),
                                     raw(tcpListener("bad", "not-an-ip", 80, "web")),
                                     RawResource{"junk", "", "\xff\xff\xff"}});
  Status s = apply(u);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(),
            "listener 'bad': address: socket_address.address 'not-an-ip' is not an IPv4 or IPv6 "
            "literal (Sluice resolves no names); listener 'junk': body does not parse as "
            "envoy.config.listener.v3.Listener");
  EXPECT_EQ(sink_.calls(), calls);
  ControllerMetrics m = controller_->metrics();
  EXPECT_EQ(m.updates_rejected, 1u);
  EXPECT_EQ(m.last_rejection, s.message());
  EXPECT_EQ(m.listeners, 1u);
  // Last good config in force: an endpoint change still reaches the service.
  accept(sotw(ResourceType::kEndpoint, {raw(assignment("web", {{{{"10.1.0.7"}}}}))}));
  EXPECT_EQ(inSink("10.96.0.10:80/tcp")->endpoints[0].addr.toString(), "10.1.0.7");
  EXPECT_EQ(sink_.accepted.size(), 1u);
}

TEST_F(XdsControllerTest, RejectedClusterOrEndpointsChangeNothing) {
  start();
  syncWeb();
  cluster::Cluster bad = edsCluster("web");
  bad.mutable_maglev_lb_config()->mutable_table_size()->set_value(100);
  Status s = apply(sotw(ResourceType::kCluster, {raw(bad)}));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(),
            "cluster 'web': maglev_lb_config.table_size 100 is not a prime up to 131071");
  // Endpoints that make the service invalid: an IPv6 pod behind an IPv4 VIP.
  s = apply(sotw(ResourceType::kEndpoint, {raw(assignment("web", {{{{"fd00::1"}}}}))}));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(),
            "listener 'web' (10.96.0.10:80/tcp): endpoints[0].address: fd00::1 is IPv6 but the "
            "VIP is IPv4");
  EXPECT_EQ(inSink("10.96.0.10:80/tcp")->endpoints.size(), 2u);
  EXPECT_EQ(controller_->metrics().updates_rejected, 2u);
  // Names must match what the body holds.
  s = apply(delta(ResourceType::kCluster, {raw("other", edsCluster("web"))}));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), "cluster 'other': the resource holds cluster 'web'");
}

TEST_F(XdsControllerTest, ARejectionOfManyResourcesStaysShortEnoughToNack) {
  start();
  // Every listener bad (an Istio-style HTTP filter chain would do the same):
  // the reason becomes the NACK's error_detail, which must fit the server's
  // receive limit (gRPC's default is 4 MiB), and the log line.
  std::vector<RawResource> bad;
  for (int i = 0; i < 50000; ++i) {
    bad.push_back(raw(tcpListener("bad-" + std::to_string(i), "not-an-ip", 80, "web")));
  }
  Status s = apply(sotw(ResourceType::kListener, bad));
  ASSERT_FALSE(s);
  EXPECT_LE(s.message().size(), 4096u);
  EXPECT_EQ(s.message().find("listener 'bad-0': address: socket_address.address 'not-an-ip'"), 0u)
      << s.message().substr(0, 200);
  EXPECT_NE(s.message().find(" more errors"), std::string::npos) << s.message();
  EXPECT_EQ(controller_->metrics().last_rejection, s.message());
}

TEST_F(XdsControllerTest, TwoListenersOnOneKeyAreRefused) {
  start();
  syncWeb();
  Status s =
      apply(delta(ResourceType::kListener, {raw(tcpListener("dup", "10.96.0.10", 80, "web"))}));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), "listener 'dup': 10.96.0.10:80/tcp is already listener 'web''s");
  // Swapping keys in one update is fine.
  accept(sotw(ResourceType::kListener, {raw(tcpListener("web", "10.96.0.11", 80, "web")),
                                        raw(tcpListener("dup", "10.96.0.10", 80, "web"))}));
  EXPECT_EQ(sink_.accepted.size(), 2u);
}

TEST_F(XdsControllerTest, AServiceOfAnotherSourceIsNotTaken) {
  start();
  ServiceSpec mine;
  mine.key = ServiceKey{*IpAddr::parse("10.96.0.10"), 80, Proto::kTcp};
  mine.mode = ForwardMode::kDnat;
  mine.source = ServiceSource::kApi;
  mine.endpoints = {EndpointSpec{*IpAddr::parse("10.5.0.1"), 80}};
  ASSERT_TRUE(publisher_.upsert(mine));
  Status s =
      apply(sotw(ResourceType::kListener, {raw(tcpListener("web", "10.96.0.10", 80, "web"))}));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), "listener 'web': 10.96.0.10:80/tcp is a api service");
}

TEST_F(XdsControllerTest, ASinkErrorIsARejectedUpdate) {
  start();
  syncWeb(false);
  sink_.fail_all = true;
  Status s = apply(sotw(ResourceType::kEndpoint, {raw(assignment("web", {{{{"10.1.0.1"}}}}))}));
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("sink refused"), std::string::npos) << s.message();
  EXPECT_EQ(controller_->metrics().updates_rejected, 1u);
}

TEST_F(XdsControllerTest, AnEndpointChangeRepublishesOnlyTheServicesOfThatCluster) {
  start();
  accept(sotw(ResourceType::kListener, {raw(tcpListener("a", "10.96.0.1", 80, "x")),
                                        raw(tcpListener("b", "10.96.0.2", 80, "x")),
                                        raw(tcpListener("c", "10.96.0.3", 80, "y"))}));
  accept(sotw(ResourceType::kCluster, {raw(edsCluster("x")), raw(edsCluster("y"))}));
  accept(delta(ResourceType::kEndpoint, {raw(assignment("x", {{{{"10.1.0.1"}}}})),
                                         raw(assignment("y", {{{{"10.2.0.1"}}}}))}));
  EXPECT_EQ(sink_.accepted.size(), 3u);
  sink_.upserts.clear();
  uint64_t built = controller_->metrics().services_built;
  accept(delta(ResourceType::kEndpoint, {raw(assignment("y", {{{{"10.2.0.2"}}}}))}));
  EXPECT_EQ(sink_.upserts, (std::vector<std::string>{"10.96.0.3:80/tcp"}));
  EXPECT_EQ(controller_->metrics().services_built, built + 1);  // a and b not even rebuilt
  // SotW: the unchanged resource (x) is not decoded again, its services not rebuilt.
  built = controller_->metrics().services_built;
  sink_.upserts.clear();
  accept(sotw(ResourceType::kEndpoint, {raw(assignment("x", {{{{"10.1.0.1"}}}})),
                                        raw(assignment("y", {{{{"10.2.0.3"}}}}))}));
  EXPECT_EQ(sink_.upserts, (std::vector<std::string>{"10.96.0.3:80/tcp"}));
  EXPECT_EQ(controller_->metrics().services_built, built + 1);
  sink_.upserts.clear();
  accept(delta(ResourceType::kEndpoint, {raw(assignment("x", {{{{"10.1.0.9"}}}}))}));
  EXPECT_EQ(sink_.upserts, (std::vector<std::string>{"10.96.0.1:80/tcp", "10.96.0.2:80/tcp"}));
  // A cluster change: its listeners only.
  sink_.upserts.clear();
  accept(delta(ResourceType::kCluster, {raw(edsCluster("y", cluster::Cluster::RANDOM))}));
  EXPECT_EQ(sink_.upserts, (std::vector<std::string>{"10.96.0.3:80/tcp"}));
  EXPECT_EQ(inSink("10.96.0.3:80/tcp")->algorithm, Algorithm::kRandom);
}

TEST_F(XdsControllerTest, WeightedClustersAreOneService) {
  start();
  accept(sotw(ResourceType::kListener,
              {raw(weightedListener("web", "10.96.0.10", 80, {{"v1", 3}, {"v2", 1}}))}));
  accept(sotw(ResourceType::kCluster, {raw(edsCluster("v1")), raw(edsCluster("v2"))}));
  accept(sotw(ResourceType::kEndpoint, {raw(assignment("v1", {{{{"10.1.0.1"}}}}))}));
  EXPECT_EQ(sink_.calls(), 0u);  // v2's endpoints not here yet
  accept(sotw(ResourceType::kEndpoint, {raw(assignment("v1", {{{{"10.1.0.1"}}}})),
                                        raw(assignment("v2", {{{{"10.2.0.1"}}}}))}));
  const ServiceSpec* s = inSink("10.96.0.10:80/tcp");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->endpoints.size(), 2u);
  EXPECT_EQ(s->endpoints[0].weight, 65535u);
  EXPECT_EQ(s->endpoints[1].weight, 21845u);
}

TEST_F(XdsControllerTest, NotesAreKeptForTheLog) {
  start();
  accept(sotw(ResourceType::kCluster, {raw(edsCluster("c", cluster::Cluster::ROUND_ROBIN))}));
  std::vector<std::string> notes = controller_->takeNotes();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0],
            "cluster 'c': lb_policy ROUND_ROBIN mapped to maglev (Sluice hashes each new flow)");
  EXPECT_TRUE(controller_->takeNotes().empty());
}

TEST_F(XdsControllerTest, ConnectionChangesAreCounted) {
  start();
  controller_->connectionChanged(true);
  controller_->connectionChanged(false);
  EXPECT_EQ(controller_->metrics().connection_changes, 2u);
  EXPECT_FALSE(controller_->metrics().connected);
}

// --- Lazy loading -------------------------------------------------------------

TEST_F(XdsControllerTest, LazyPublishesOnDemandAndLoadsOnAMiss) {
  XdsSpec spec;
  spec.lazy = true;
  start(spec);
  syncWeb(false);
  EXPECT_TRUE(interest_.log.empty());
  const ServiceSpec* s = inSink("10.96.0.10:80/tcp");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->on_demand);
  EXPECT_TRUE(s->endpoints.empty());
  EXPECT_EQ(controller_->metrics().services_on_demand, 1u);

  // A miss for a key that is not xDS's, and one for web.
  controller_->onMisses({ServiceKey{*IpAddr::parse("10.99.0.1"), 80, Proto::kTcp},
                         ServiceKey{*IpAddr::parse("10.96.0.10"), 80, Proto::kTcp}});
  EXPECT_EQ(interest_.log, (std::vector<std::string>{"+web"}));
  EXPECT_EQ(controller_->metrics().misses, 1u);
  EXPECT_TRUE(inSink("10.96.0.10:80/tcp")->on_demand);  // until the endpoints come
  // A second miss while loading is counted but subscribes nothing again.
  controller_->onMisses({ServiceKey{*IpAddr::parse("10.96.0.10"), 80, Proto::kTcp}});
  EXPECT_EQ(interest_.log.size(), 1u);
  EXPECT_EQ(controller_->metrics().misses, 2u);

  accept(sotw(ResourceType::kEndpoint, {raw(assignment("web", {{{{"10.1.0.1"}}}}))}));
  s = inSink("10.96.0.10:80/tcp");
  EXPECT_FALSE(s->on_demand);
  EXPECT_EQ(s->endpoints.size(), 1u);
  ControllerMetrics m = controller_->metrics();
  EXPECT_EQ(m.lazy_loads, 1u);
  EXPECT_EQ(m.services_on_demand, 0u);
  EXPECT_EQ(m.endpoint_subscriptions, 1u);
  // Misses for a loaded service are ignored.
  controller_->onMisses({ServiceKey{*IpAddr::parse("10.96.0.10"), 80, Proto::kTcp}});
  EXPECT_EQ(controller_->metrics().misses, 2u);
}

TEST_F(XdsControllerTest, SotwEndpointsResponseNeedNotCarryEveryCluster) {
  start();
  accept(sotw(ResourceType::kListener, {raw(tcpListener("a", "10.96.0.1", 80, "x")),
                                        raw(tcpListener("b", "10.96.0.2", 80, "y"))}));
  accept(sotw(ResourceType::kCluster, {raw(edsCluster("x")), raw(edsCluster("y"))}));
  accept(sotw(ResourceType::kEndpoint, {raw(assignment("x", {{{{"10.1.0.1"}}}})),
                                        raw(assignment("y", {{{{"10.2.0.1"}}}}))}));
  // xDS: only Listener and Cluster SotW responses are the whole set; an EDS
  // response may carry just what changed (go-control-plane's LinearCache,
  // Istio's incremental EDS push). x is not gone: its cluster still names it.
  accept(sotw(ResourceType::kEndpoint, {raw(assignment("y", {{{{"10.2.0.2"}}}}))}));
  EXPECT_EQ(controller_->metrics().services_pending, 0u);
  EXPECT_EQ(controller_->metrics().endpoint_resources, 2u);
  // So a later change of x's cluster is built on x's endpoints.
  accept(sotw(ResourceType::kCluster,
              {raw(edsCluster("x", cluster::Cluster::RANDOM)), raw(edsCluster("y"))}));
  ASSERT_NE(inSink("10.96.0.1:80/tcp"), nullptr);
  EXPECT_EQ(inSink("10.96.0.1:80/tcp")->algorithm, Algorithm::kRandom);
  EXPECT_EQ(controller_->metrics().services_pending, 0u);
  // Endpoints go with the last cluster naming them.
  accept(sotw(ResourceType::kCluster, {raw(edsCluster("y"))}));
  EXPECT_EQ(controller_->metrics().endpoint_resources, 1u);
}

TEST_F(XdsControllerTest, EndpointsNotSubscribedAreNotKept) {
  XdsSpec spec;
  spec.lazy = true;
  start(spec);
  syncWeb(false);
  // A server that sends every assignment (or one answering a subscription
  // withdrawn a moment ago): nothing is kept, nothing loads without a miss.
  accept(delta(ResourceType::kEndpoint, {raw(assignment("web", {{{{"10.1.0.1"}}}})),
                                         raw(assignment("stranger", {{{{"10.7.0.1"}}}}))}));
  EXPECT_EQ(controller_->metrics().endpoint_resources, 0u);
  accept(sotw(ResourceType::kEndpoint, {raw(assignment("web", {{{{"10.1.0.1"}}}}))}));
  EXPECT_EQ(controller_->metrics().endpoint_resources, 0u);
  EXPECT_TRUE(inSink("10.96.0.10:80/tcp")->on_demand);
  controller_->onMisses({ServiceKey{*IpAddr::parse("10.96.0.10"), 80, Proto::kTcp}});
  EXPECT_TRUE(inSink("10.96.0.10:80/tcp")->on_demand);  // the endpoints it wants have not come
  accept(delta(ResourceType::kEndpoint, {raw(assignment("web", {{{{"10.1.0.2"}}}}))}));
  ASSERT_EQ(inSink("10.96.0.10:80/tcp")->endpoints.size(), 1u);
  EXPECT_EQ(inSink("10.96.0.10:80/tcp")->endpoints[0].addr.toString(), "10.1.0.2");
}

TEST_F(XdsControllerTest, LazyLoadedServiceStaysLoadedThroughClusterChanges) {
  XdsSpec spec;
  spec.lazy = true;
  start(spec);
  syncWeb(false);
  controller_->onMisses({ServiceKey{*IpAddr::parse("10.96.0.10"), 80, Proto::kTcp}});
  accept(delta(ResourceType::kEndpoint, {raw(assignment("web", {{{{"10.1.0.1"}}}}))}));
  ASSERT_FALSE(inSink("10.96.0.10:80/tcp")->on_demand);
  // A canary cluster added to the live service: its endpoints are wanted at
  // once, and the service keeps its endpoints (and flows) until they come,
  // instead of going back to on demand.
  accept(delta(ResourceType::kCluster, {raw(edsCluster("canary"))}));
  EXPECT_FALSE(interest_.has("canary"));  // no loaded service uses it yet
  accept(delta(ResourceType::kListener,
               {raw(weightedListener("web", "10.96.0.10", 80, {{"web", 9}, {"canary", 1}}))}));
  EXPECT_TRUE(interest_.has("canary"));
  EXPECT_FALSE(inSink("10.96.0.10:80/tcp")->on_demand);
  EXPECT_EQ(inSink("10.96.0.10:80/tcp")->endpoints.size(), 1u);
  accept(delta(ResourceType::kEndpoint, {raw(assignment("canary", {{{{"10.9.0.1"}}}}))}));
  EXPECT_EQ(inSink("10.96.0.10:80/tcp")->endpoints.size(), 2u);
  // Its cluster's EDS name changes: the same, make-before-break.
  accept(
      delta(ResourceType::kCluster, {raw(edsCluster("web", cluster::Cluster::MAGLEV, "web-v2"))}));
  EXPECT_TRUE(interest_.has("web-v2"));
  EXPECT_FALSE(interest_.has("web"));
  EXPECT_FALSE(inSink("10.96.0.10:80/tcp")->on_demand);
  EXPECT_EQ(inSink("10.96.0.10:80/tcp")->endpoints.size(), 2u);
  accept(delta(ResourceType::kEndpoint, {raw(assignment("web-v2", {{{{"10.1.0.5"}}}}))}));
  const ServiceSpec* s = inSink("10.96.0.10:80/tcp");
  ASSERT_EQ(s->endpoints.size(), 2u);
  EXPECT_EQ(s->endpoints[0].addr.toString(), "10.1.0.5");
  EXPECT_FALSE(s->on_demand);
}

TEST_F(XdsControllerTest, LazySubscriptionGoesWithTheLastLoadedServiceUsingIt) {
  XdsSpec spec;
  spec.lazy = true;
  start(spec);
  accept(delta(ResourceType::kListener, {raw(tcpListener("a", "10.96.0.1", 80, "x")),
                                         raw(tcpListener("b", "10.96.0.2", 80, "y"))}));
  accept(delta(ResourceType::kCluster, {raw(edsCluster("x")), raw(edsCluster("y"))}));
  controller_->onMisses({ServiceKey{*IpAddr::parse("10.96.0.1"), 80, Proto::kTcp},
                         ServiceKey{*IpAddr::parse("10.96.0.2"), 80, Proto::kTcp}});
  accept(delta(ResourceType::kEndpoint, {raw(assignment("x", {{{{"10.1.0.1"}}}})),
                                         raw(assignment("y", {{{{"10.2.0.1"}}}}))}));
  ASSERT_FALSE(inSink("10.96.0.1:80/tcp")->on_demand);
  // The listener goes, its cluster stays: nothing loaded needs x's endpoints,
  // and no idle scan would ever see them again (it scans services).
  accept(delta(ResourceType::kListener, {}, {"a"}));
  EXPECT_FALSE(interest_.has("x"));
  EXPECT_EQ(controller_->metrics().endpoint_subscriptions, 1u);
  EXPECT_EQ(controller_->metrics().endpoint_resources, 1u);
  // A listener moved to another cluster: the old one's endpoints go too,
  // while its last version keeps forwarding until the new endpoints come.
  accept(delta(ResourceType::kListener, {raw(tcpListener("b", "10.96.0.2", 80, "x"))}));
  EXPECT_TRUE(interest_.has("x"));
  EXPECT_FALSE(interest_.has("y"));
  EXPECT_FALSE(inSink("10.96.0.2:80/tcp")->on_demand);
  accept(delta(ResourceType::kEndpoint, {raw(assignment("x", {{{{"10.1.0.3"}}}}))}));
  EXPECT_EQ(inSink("10.96.0.2:80/tcp")->endpoints[0].addr.toString(), "10.1.0.3");
  EXPECT_EQ(controller_->metrics().endpoint_resources, 1u);
}

// --- Eviction -----------------------------------------------------------------

TEST_F(XdsControllerTest, IdleServiceWithoutFlowsIsEvicted) {
  XdsSpec spec;
  spec.evict_idle_s = 60;
  start(spec);
  syncWeb();
  EXPECT_EQ(controller_->evictIdle({traffic("10.96.0.10", 80, 5, 0)}), 0u);
  now_ += 59 * kSecond;
  EXPECT_EQ(controller_->evictIdle({traffic("10.96.0.10", 80, 5, 0)}), 0u);
  now_ += 1 * kSecond;
  EXPECT_EQ(controller_->evictIdle({traffic("10.96.0.10", 80, 5, 0)}), 1u);
  EXPECT_EQ(interest_.log, (std::vector<std::string>{"+web", "-web"}));
  const ServiceSpec* s = inSink("10.96.0.10:80/tcp");
  EXPECT_TRUE(s->on_demand);
  EXPECT_TRUE(s->endpoints.empty());
  ControllerMetrics m = controller_->metrics();
  EXPECT_EQ(m.evictions, 1u);
  EXPECT_EQ(m.endpoint_resources, 0u);
  EXPECT_EQ(m.endpoint_subscriptions, 0u);
  // An evicted service is not evicted again; the next packet loads it.
  EXPECT_EQ(controller_->evictIdle({traffic("10.96.0.10", 80, 5, 0)}), 0u);
  controller_->onMisses({ServiceKey{*IpAddr::parse("10.96.0.10"), 80, Proto::kTcp}});
  EXPECT_TRUE(interest_.has("web"));
  accept(sotw(ResourceType::kEndpoint, {raw(assignment("web", {{{{"10.1.0.1"}}}}))}));
  EXPECT_FALSE(inSink("10.96.0.10:80/tcp")->on_demand);
  EXPECT_EQ(controller_->metrics().lazy_loads, 1u);
  // Its idle time counts from the load.
  EXPECT_EQ(controller_->evictIdle({traffic("10.96.0.10", 80, 5, 0)}), 0u);
}

TEST_F(XdsControllerTest, PacketsOrFlowsKeepAServiceLoaded) {
  XdsSpec spec;
  spec.evict_idle_s = 10;
  start(spec);
  syncWeb();
  uint64_t packets = 0;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(controller_->evictIdle({traffic("10.96.0.10", 80, packets += 3, 0)}), 0u);
    now_ += 8 * kSecond;
  }
  // No packets, but a tracked flow (an idle long-lived connection).
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(controller_->evictIdle({traffic("10.96.0.10", 80, packets, 1)}), 0u);
    now_ += 8 * kSecond;
  }
  EXPECT_FALSE(inSink("10.96.0.10:80/tcp")->on_demand);
  EXPECT_EQ(controller_->metrics().evictions, 0u);
  // The flow ends: evicted after another 10 s.
  EXPECT_EQ(controller_->evictIdle({traffic("10.96.0.10", 80, packets, 0)}), 0u);
  now_ += 10 * kSecond;
  EXPECT_EQ(controller_->evictIdle({traffic("10.96.0.10", 80, packets, 0)}), 1u);
}

TEST_F(XdsControllerTest, SharedEdsNameStaysWhileAnotherServiceUsesIt) {
  XdsSpec spec;
  spec.evict_idle_s = 10;
  start(spec);
  accept(sotw(ResourceType::kListener, {raw(tcpListener("a", "10.96.0.1", 80, "x")),
                                        raw(tcpListener("b", "10.96.0.2", 80, "x"))}));
  accept(sotw(ResourceType::kCluster, {raw(edsCluster("x"))}));
  accept(sotw(ResourceType::kEndpoint, {raw(assignment("x", {{{{"10.1.0.1"}}}}))}));
  uint64_t b_packets = 0;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(controller_->evictIdle(
                  {traffic("10.96.0.1", 80, 0, 0), traffic("10.96.0.2", 80, b_packets += 1, 0)}),
              0u);
    now_ += 6 * kSecond;
  }
  EXPECT_TRUE(interest_.has("x"));
  EXPECT_FALSE(inSink("10.96.0.1:80/tcp")->on_demand);
  // Both idle: both evicted, one unsubscription.
  for (int i = 0; i < 2; ++i) {
    now_ += 6 * kSecond;
    controller_->evictIdle(
        {traffic("10.96.0.1", 80, 0, 0), traffic("10.96.0.2", 80, b_packets, 0)});
  }
  EXPECT_FALSE(interest_.has("x"));
  EXPECT_EQ(controller_->metrics().evictions, 2u);
  EXPECT_TRUE(inSink("10.96.0.1:80/tcp")->on_demand);
  EXPECT_TRUE(inSink("10.96.0.2:80/tcp")->on_demand);
  EXPECT_EQ(std::count(interest_.log.begin(), interest_.log.end(), "-x"), 1);
}

TEST_F(XdsControllerTest, NoEvictionWhenOff) {
  start();
  syncWeb();
  EXPECT_EQ(controller_->evictIdle({traffic("10.96.0.10", 80, 0, 0)}), 0u);
  now_ += 100000 * kSecond;
  EXPECT_EQ(controller_->evictIdle({traffic("10.96.0.10", 80, 0, 0)}), 0u);
}

}  // namespace
}  // namespace sluice::cp::xds
