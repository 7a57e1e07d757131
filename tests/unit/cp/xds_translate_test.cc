// Envoy resources -> ServiceSpec (cp/xds/translate.h): every mapping rule and
// every refusal, on messages built with the generated code.
#include "cp/xds/translate.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/unit/cp/xds_resources.h"

namespace sluice::cp::xds {
namespace {

using namespace testing;  // NOLINT: the resource builders

dp::DataplaneSpec dataplane() {
  dp::DataplaneSpec d;
  d.snat = {*IpAddr::parse("192.0.2.1"), *IpAddr::parse("2001:db8::1")};
  return d;
}

// The resources buildService sees, with every EDS name subscribed unless
// listed in `unsubscribed`.
struct World {
  std::map<std::string, ClusterInfo> clusters;
  std::map<std::string, EndpointSet> endpoints;
  std::set<std::string> unsubscribed;
  XdsSpec xds;

  void add(const cluster::Cluster& c) {
    auto info = translateCluster(c, nullptr);
    ASSERT_TRUE(info) << info.status().message();
    clusters[c.name()] = *info;
  }
  void add(const endpoint::ClusterLoadAssignment& cla) {
    auto set = translateEndpoints(cla, nullptr);
    ASSERT_TRUE(set) << set.status().message();
    endpoints[cla.cluster_name()] = *set;
  }
  ResourceView view() const {
    ResourceView v;
    v.cluster = [this](const std::string& n) {
      auto it = clusters.find(n);
      return it == clusters.end() ? nullptr : &it->second;
    };
    v.endpoints = [this](const std::string& n) {
      auto it = endpoints.find(n);
      return it == endpoints.end() ? nullptr : &it->second;
    };
    v.subscribed = [this](const std::string& n) { return unsubscribed.count(n) == 0; };
    return v;
  }
  Result<ServiceBuild> build(const listener::Listener& l,
                             std::vector<std::string>* notes = nullptr) {
    auto info = translateListener(l, notes);
    if (!info) {
      return info.status();
    }
    return buildService(*info, view(), xds, dataplane(), notes);
  }
};

std::string listenerError(const listener::Listener& l) {
  auto info = translateListener(l, nullptr);
  return info ? "" : info.status().message();
}

std::string clusterError(const cluster::Cluster& c) {
  auto info = translateCluster(c, nullptr);
  return info ? "" : info.status().message();
}

std::string endpointsError(const endpoint::ClusterLoadAssignment& cla) {
  auto set = translateEndpoints(cla, nullptr);
  return set ? "" : set.status().message();
}

// --- Listeners ----------------------------------------------------------------

TEST(XdsTranslateListener, TcpProxyIsATcpServiceKeyPointingAtItsCluster) {
  auto info = translateListener(tcpListener("web", "10.96.0.10", 80, "web-cluster"), nullptr);
  ASSERT_TRUE(info) << info.status().message();
  EXPECT_EQ(info->name, "web");
  EXPECT_EQ(info->key.toString(), "10.96.0.10:80/tcp");
  ASSERT_EQ(info->clusters.size(), 1u);
  EXPECT_EQ(info->clusters[0].cluster, "web-cluster");
  EXPECT_FALSE(info->affinity_client_ip);
}

TEST(XdsTranslateListener, Ipv6AndSourceIpHashPolicy) {
  auto info = translateListener(tcpListener("v6", "fd00::10", 443, "c", true), nullptr);
  ASSERT_TRUE(info) << info.status().message();
  EXPECT_EQ(info->key.toString(), "[fd00::10]:443/tcp");
  EXPECT_TRUE(info->affinity_client_ip);
}

TEST(XdsTranslateListener, UdpProxyListenerFilterIsAUdpKey) {
  std::vector<std::string> notes;
  auto info = translateListener(udpListener("dns", "10.96.0.53", 53, "dns-cluster", true), &notes);
  ASSERT_TRUE(info) << info.status().message();
  EXPECT_EQ(info->key.toString(), "10.96.0.53:53/udp");
  EXPECT_EQ(info->clusters[0].cluster, "dns-cluster");
  EXPECT_TRUE(info->affinity_client_ip);
  EXPECT_TRUE(notes.empty());

  auto plain = translateListener(udpListener("dns", "10.96.0.53", 53, "dns-cluster"), nullptr);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->affinity_client_ip);
}

TEST(XdsTranslateListener, UdpProxyPerPacketBalancingIsANote) {
  listener::Listener l;
  l.set_name("dns");
  setSocket(l.mutable_address(), "10.96.0.53", 53, true);
  udp::UdpProxyConfig proxy;
  proxy.set_cluster("c");
  proxy.set_use_per_packet_load_balancing(true);
  google::protobuf::Any any;
  any.PackFrom(proxy);
  addListenerFilter(l, "envoy.filters.udp_listener.udp_proxy", any);
  std::vector<std::string> notes;
  ASSERT_TRUE(translateListener(l, &notes));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("listener 'dns': udp_proxy: use_per_packet_load_balancing"),
            std::string::npos)
      << notes[0];
}

TEST(XdsTranslateListener, WeightedClusters) {
  auto info = translateListener(weightedListener("web", "10.96.0.10", 80, {{"v1", 90}, {"v2", 10}}),
                                nullptr);
  ASSERT_TRUE(info) << info.status().message();
  ASSERT_EQ(info->clusters.size(), 2u);
  EXPECT_EQ(info->clusters[0], (ClusterShare{"v1", 90}));
  EXPECT_EQ(info->clusters[1], (ClusterShare{"v2", 10}));
}

TEST(XdsTranslateListener, AddressErrorsNameTheListener) {
  EXPECT_EQ(listenerError(tcpListener("web", "web.example", 80, "c")),
            "listener 'web': address: socket_address.address 'web.example' is not an IPv4 or IPv6 "
            "literal (Sluice resolves no names)");
  EXPECT_EQ(listenerError(tcpListener("web", "10.0.0.1", 0, "c")),
            "listener 'web': address: socket_address.port_value 0 is not 1..65535");
  EXPECT_EQ(listenerError(tcpListener("web", "10.0.0.1", 70000, "c")),
            "listener 'web': address: socket_address.port_value 70000 is not 1..65535");
  EXPECT_EQ(listenerError(tcpListener("web", "0.0.0.0", 80, "c")),
            "listener 'web': address: 0.0.0.0 is not a unicast VIP (Sluice serves one VIP per "
            "listener)");
  listener::Listener named = tcpListener("web", "10.0.0.1", 80, "c");
  named.mutable_address()->mutable_socket_address()->set_named_port("http");
  EXPECT_EQ(listenerError(named),
            "listener 'web': address: socket_address: a port_value is required (named_port is "
            "not supported)");
  listener::Listener none = tcpListener("web", "10.0.0.1", 80, "c");
  none.clear_address();
  EXPECT_EQ(listenerError(none), "listener 'web': address: missing");
  listener::Listener proto = tcpListener("web", "10.0.0.1", 80, "c");
  proto.mutable_address()->mutable_socket_address()->set_protocol(
      static_cast<core::SocketAddress::Protocol>(7));
  EXPECT_EQ(listenerError(proto),
            "listener 'web': address: socket_address.protocol 7 is neither TCP nor UDP");
  EXPECT_EQ(listenerError(tcpListener("", "10.0.0.1", 80, "c")), "listener without a name");
}

TEST(XdsTranslateListener, MissingAndUnknownFiltersAreErrors) {
  listener::Listener no_chain = tcpListener("web", "10.0.0.1", 80, "c");
  no_chain.clear_filter_chains();
  EXPECT_EQ(listenerError(no_chain),
            "listener 'web': 0 filter chains; a TCP listener needs exactly one (Sluice matches no "
            "filter chains)");

  listener::Listener no_filter = tcpListener("web", "10.0.0.1", 80, "c");
  no_filter.mutable_filter_chains(0)->clear_filters();
  EXPECT_EQ(listenerError(no_filter),
            "listener 'web': 0 filters; the filter chain needs exactly one, a tcp_proxy");

  listener::Listener http = tcpListener("web", "10.0.0.1", 80, "c");
  listener::Filter* f = http.mutable_filter_chains(0)->mutable_filters(0);
  f->set_name("envoy.filters.network.http_connection_manager");
  f->mutable_typed_config()->set_type_url(
      "type.googleapis.com/"
      "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
  EXPECT_EQ(listenerError(http),
            "listener 'web': filter 'envoy.filters.network.http_connection_manager' of type "
            "type.googleapis.com/"
            "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager "
            "is not supported (only tcp_proxy is)");

  listener::Listener untyped = tcpListener("web", "10.0.0.1", 80, "c");
  untyped.mutable_filter_chains(0)->mutable_filters(0)->clear_typed_config();
  EXPECT_EQ(listenerError(untyped),
            "listener 'web': filter 'envoy.filters.network.tcp_proxy' has no typed_config");

  tcp::TcpProxy empty;
  EXPECT_EQ(listenerError(tcpListenerWith("web", "10.0.0.1", 80, empty)),
            "listener 'web': tcp_proxy: neither cluster nor weighted_clusters is set");

  tcp::TcpProxy filter_state;
  filter_state.set_cluster("c");
  filter_state.add_hash_policy()->mutable_filter_state()->set_key("k");
  EXPECT_EQ(listenerError(tcpListenerWith("web", "10.0.0.1", 80, filter_state)),
            "listener 'web': tcp_proxy: hash_policy: only source_ip is supported");

  EXPECT_EQ(listenerError(weightedListener("web", "10.0.0.1", 80, {{"a", 1}, {"b", 0}})),
            "listener 'web': tcp_proxy: weighted_clusters cluster 'b': weight 0 (weights are at "
            "least 1)");
  EXPECT_EQ(listenerError(weightedListener("web", "10.0.0.1", 80, {{"a", 1}, {"a", 2}})),
            "listener 'web': tcp_proxy: weighted_clusters cluster 'a' is listed twice");
}

TEST(XdsTranslateListener, UdpErrors) {
  // A UDP listener without its udp_proxy, and a TCP proxy on a UDP address.
  listener::Listener bare;
  bare.set_name("dns");
  setSocket(bare.mutable_address(), "10.96.0.53", 53, true);
  EXPECT_EQ(listenerError(bare),
            "listener 'dns': 0 listener filters; a UDP listener needs exactly one, a udp_proxy");
  listener::Listener tcp_on_udp = tcpListener("dns", "10.96.0.53", 53, "c");
  tcp_on_udp.mutable_address()->mutable_socket_address()->set_protocol(core::SocketAddress::UDP);
  EXPECT_NE(listenerError(tcp_on_udp).find("filter chains on a UDP listener are not supported"),
            std::string::npos);
  // A listener filter Sluice does not know, on either protocol.
  google::protobuf::Any tls;
  tls.set_type_url(
      "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector");
  listener::Listener inspected = tcpListener("web", "10.0.0.1", 443, "c");
  addListenerFilter(inspected, "envoy.filters.listener.tls_inspector", tls);
  EXPECT_EQ(listenerError(inspected),
            "listener 'web': listener filter 'envoy.filters.listener.tls_inspector' of type "
            "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector "
            "is not supported on a TCP listener");
  listener::Listener two = udpListener("dns", "10.96.0.53", 53, "c");
  addListenerFilter(two, "envoy.filters.listener.tls_inspector", tls);
  EXPECT_NE(listenerError(two).find("is not supported (only udp_proxy is)"), std::string::npos);
  // The matcher form of udp_proxy.
  listener::Listener matcher;
  matcher.set_name("dns");
  setSocket(matcher.mutable_address(), "10.96.0.53", 53, true);
  google::protobuf::Any any;
  any.PackFrom(udp::UdpProxyConfig());
  addListenerFilter(matcher, "envoy.filters.udp_listener.udp_proxy", any);
  EXPECT_EQ(listenerError(matcher),
            "listener 'dns': udp_proxy: no cluster (the matcher form is not supported)");
}

// --- Clusters -----------------------------------------------------------------

TEST(XdsTranslateCluster, EdsNameIsServiceNameOrClusterName) {
  auto a = translateCluster(edsCluster("web", cluster::Cluster::MAGLEV, "web-eds"), nullptr);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->eds);
  EXPECT_EQ(a->eds_name, "web-eds");
  auto b = translateCluster(edsCluster("web"), nullptr);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->eds_name, "web");
}

TEST(XdsTranslateCluster, LbPoliciesAndTheirNotes) {
  struct Case {
    cluster::Cluster::LbPolicy policy;
    Algorithm algorithm;
    bool note;
  };
  for (const Case& c :
       {Case{cluster::Cluster::MAGLEV, Algorithm::kMaglev, false},
        Case{cluster::Cluster::RING_HASH, Algorithm::kMaglev, false},
        Case{cluster::Cluster::RANDOM, Algorithm::kRandom, false},
        Case{cluster::Cluster::ROUND_ROBIN, Algorithm::kMaglev, true},
        Case{cluster::Cluster::LEAST_REQUEST, Algorithm::kMaglev, true},
        Case{cluster::Cluster::LOAD_BALANCING_POLICY_CONFIG, Algorithm::kMaglev, true}}) {
    std::vector<std::string> notes;
    auto info = translateCluster(edsCluster("c", c.policy), &notes);
    ASSERT_TRUE(info) << c.policy;
    EXPECT_EQ(info->algorithm, c.algorithm) << c.policy;
    EXPECT_EQ(notes.size(), c.note ? 1u : 0u) << c.policy;
    if (c.note) {
      EXPECT_NE(notes[0].find("cluster 'c': lb_policy"), std::string::npos) << notes[0];
      EXPECT_NE(notes[0].find("mapped to maglev"), std::string::npos) << notes[0];
    }
  }
  EXPECT_EQ(clusterError(edsCluster("c", cluster::Cluster::CLUSTER_PROVIDED)),
            "cluster 'c': lb_policy CLUSTER_PROVIDED is not supported");
  cluster::Cluster ring = edsCluster("c", cluster::Cluster::RING_HASH);
  ring.mutable_ring_hash_lb_config()->mutable_minimum_ring_size()->set_value(1024);
  std::vector<std::string> notes;
  ASSERT_TRUE(translateCluster(ring, &notes));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("ring_hash_lb_config ignored"), std::string::npos);
}

TEST(XdsTranslateCluster, TableSizeMustBeAPrimeSluiceAccepts) {
  cluster::Cluster c = edsCluster("c");
  c.mutable_maglev_lb_config()->mutable_table_size()->set_value(65521);
  auto info = translateCluster(c, nullptr);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->table_size, 65521u);
  c.mutable_maglev_lb_config()->mutable_table_size()->set_value(65537 * 2);
  EXPECT_EQ(clusterError(c),
            "cluster 'c': maglev_lb_config.table_size 131074 is not a prime up to 131071");
  c.mutable_maglev_lb_config()->mutable_table_size()->set_value(262139);  // prime, too large
  EXPECT_EQ(clusterError(c),
            "cluster 'c': maglev_lb_config.table_size 262139 is not a prime up to 131071");
  c.clear_maglev_lb_config();
  EXPECT_FALSE(translateCluster(c, nullptr)->table_size);
}

TEST(XdsTranslateCluster, StaticAndDnsWithIpLiteralsAndUnsupportedTypes) {
  auto s = translateCluster(staticCluster("s", {{{{"10.1.0.1"}, {"10.1.0.2"}}}}), nullptr);
  ASSERT_TRUE(s) << s.status().message();
  EXPECT_FALSE(s->eds);
  EXPECT_EQ(s->inline_endpoints.endpoints.size(), 2u);

  cluster::Cluster dns = staticCluster("d", {{{{"10.1.0.1"}}}});
  dns.set_type(cluster::Cluster::STRICT_DNS);
  std::vector<std::string> notes;
  ASSERT_TRUE(translateCluster(dns, &notes));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "cluster 'd': STRICT_DNS with IP literals taken as STATIC");
  dns.mutable_load_assignment()
      ->mutable_endpoints(0)
      ->mutable_lb_endpoints(0)
      ->mutable_endpoint()
      ->mutable_address()
      ->mutable_socket_address()
      ->set_address("pod.example");
  EXPECT_EQ(clusterError(dns),
            "cluster 'd': load_assignment: endpoints[0].lb_endpoints[0].endpoint.address: "
            "socket_address.address 'pod.example' is not an IPv4 or IPv6 literal (Sluice "
            "resolves no names)");
  cluster::Cluster odst = edsCluster("o");
  odst.set_type(cluster::Cluster::ORIGINAL_DST);
  EXPECT_EQ(clusterError(odst),
            "cluster 'o': type 4 is not supported (EDS, STATIC, and DNS types with IP literals "
            "are)");
}

// --- Endpoints ----------------------------------------------------------------

TEST(XdsTranslateEndpoints, HealthStates) {
  std::vector<std::string> notes;
  auto set = translateEndpoints(assignment("c", {{{{"10.1.0.1", 80, core::HEALTHY},
                                                   {"10.1.0.2", 80, core::UNKNOWN},
                                                   {"10.1.0.3", 80, core::DRAINING},
                                                   {"10.1.0.4", 80, core::UNHEALTHY},
                                                   {"10.1.0.5", 80, core::TIMEOUT},
                                                   {"10.1.0.6", 80, core::DEGRADED}}}}),
                                &notes);
  ASSERT_TRUE(set) << set.status().message();
  std::vector<EndpointState> states;
  for (const LbEndpointInfo& e : set->endpoints) {
    states.push_back(e.state);
  }
  EXPECT_EQ(states,
            (std::vector<EndpointState>{EndpointState::kReady, EndpointState::kReady,
                                        EndpointState::kTerminating, EndpointState::kUnhealthy,
                                        EndpointState::kUnhealthy, EndpointState::kUnhealthy}));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0],
            "cluster_load_assignment 'c': endpoints[0].lb_endpoints[5]: DEGRADED taken as "
            "unhealthy (no new flows)");
}

TEST(XdsTranslateEndpoints, Errors) {
  EXPECT_EQ(endpointsError(assignment("c", {{{{"10.1.0.1", 0}}}})),
            "cluster_load_assignment 'c': endpoints[0].lb_endpoints[0].endpoint.address: "
            "socket_address.port_value 0 is not 1..65535");
  EXPECT_EQ(endpointsError(assignment("c", {{{{"10.1.0.1", 80}}}, {{{"10.1.0.1", 80}}}})),
            "cluster_load_assignment 'c': endpoints[1].lb_endpoints[0]: endpoint 10.1.0.1:80 is "
            "already endpoints[0].lb_endpoints[0]");
  endpoint::ClusterLoadAssignment zero = assignment("c", {{{{"10.1.0.1", 80}}}});
  zero.mutable_endpoints(0)->mutable_lb_endpoints(0)->mutable_load_balancing_weight()->set_value(0);
  EXPECT_EQ(endpointsError(zero),
            "cluster_load_assignment 'c': endpoints[0].lb_endpoints[0].load_balancing_weight: 0 "
            "(weights are at least 1)");
  endpoint::ClusterLoadAssignment named = assignment("c", {{{{"10.1.0.1", 80}}}});
  named.mutable_endpoints(0)->mutable_lb_endpoints(0)->set_endpoint_name("e1");
  EXPECT_EQ(endpointsError(named),
            "cluster_load_assignment 'c': endpoints[0].lb_endpoints[0]: no endpoint "
            "(endpoint_name is not supported)");
  EXPECT_EQ(endpointsError(assignment("", {})), "cluster_load_assignment without a cluster_name");
}

// --- Services -----------------------------------------------------------------

TEST(XdsBuildService, EndpointsWeightsStatesAndSettings) {
  World w;
  cluster::Cluster c = edsCluster("web", cluster::Cluster::RANDOM);
  w.add(c);
  w.add(assignment("web", {{{{"10.1.0.1", 8080, core::HEALTHY, 3},
                             {"10.1.0.2", 8080, core::DRAINING},
                             {"10.1.0.3", 8080, core::UNHEALTHY}}}}));
  w.xds.forward_mode = ForwardMode::kDnat;
  auto b = w.build(tcpListener("web", "10.96.0.10", 80, "web", true));
  ASSERT_TRUE(b) << b.status().message();
  ASSERT_FALSE(b->pending);
  const ServiceSpec& s = b->spec;
  EXPECT_EQ(s.key.toString(), "10.96.0.10:80/tcp");
  EXPECT_EQ(s.mode, ForwardMode::kDnat);
  EXPECT_EQ(s.algorithm, Algorithm::kRandom);
  EXPECT_TRUE(s.affinity_client_ip);
  EXPECT_EQ(s.source, ServiceSource::kXds);
  EXPECT_FALSE(s.on_demand);
  ASSERT_EQ(s.endpoints.size(), 3u);
  EXPECT_EQ(s.endpoints[0],
            (EndpointSpec{*IpAddr::parse("10.1.0.1"), 8080, 3, EndpointState::kReady}));
  EXPECT_EQ(s.endpoints[1].state, EndpointState::kTerminating);
  EXPECT_EQ(s.endpoints[2].state, EndpointState::kUnhealthy);
}

TEST(XdsBuildService, LowestPriorityWithReadyEndpointsTakesNewFlows) {
  World w;
  w.add(edsCluster("c"));
  // Priority 0 has only an unhealthy endpoint: priority 1 takes new flows;
  // priority 2's ready endpoint keeps its flows only.
  w.add(assignment("c", {{{{"10.1.0.1", 80, core::UNHEALTHY}}, 0},
                         {{{"10.1.1.1", 80}, {"10.1.1.2", 80, core::DRAINING}}, 1},
                         {{{"10.1.2.1", 80}, {"10.1.2.2", 80, core::UNHEALTHY}}, 2}}));
  auto b = w.build(tcpListener("l", "10.96.0.10", 80, "c"));
  ASSERT_TRUE(b) << b.status().message();
  std::vector<EndpointState> states;
  for (const EndpointSpec& e : b->spec.endpoints) {
    states.push_back(e.state);
  }
  EXPECT_EQ(states,
            (std::vector<EndpointState>{EndpointState::kUnhealthy, EndpointState::kReady,
                                        EndpointState::kTerminating, EndpointState::kTerminating,
                                        EndpointState::kUnhealthy}));

  // Priority 0 back: it takes new flows again, priority 1 keeps its flows.
  w.add(assignment("c", {{{{"10.1.0.1", 80}}, 0}, {{{"10.1.1.1", 80}}, 1}}));
  b = w.build(tcpListener("l", "10.96.0.10", 80, "c"));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->spec.endpoints[0].state, EndpointState::kReady);
  EXPECT_EQ(b->spec.endpoints[1].state, EndpointState::kTerminating);
}

TEST(XdsBuildService, WeightedClustersSplitNewFlowsByClusterWeight) {
  World w;
  w.add(edsCluster("v1"));
  w.add(edsCluster("v2"));
  // v1: 3 equal endpoints with 90% of flows; v2: one with 10%.
  w.add(assignment("v1", {{{{"10.1.0.1"}, {"10.1.0.2"}, {"10.1.0.3"}}}}));
  w.add(assignment("v2", {{{{"10.2.0.1", 8080, core::HEALTHY, 5}}}}));
  auto b = w.build(weightedListener("web", "10.96.0.10", 80, {{"v1", 90}, {"v2", 10}}));
  ASSERT_TRUE(b) << b.status().message();
  ASSERT_EQ(b->spec.endpoints.size(), 4u);
  // Shares 0.3, 0.3, 0.3, 0.1: the largest is 65535.
  EXPECT_EQ(b->spec.endpoints[0].weight, 65535u);
  EXPECT_EQ(b->spec.endpoints[1].weight, 65535u);
  EXPECT_EQ(b->spec.endpoints[2].weight, 65535u);
  EXPECT_EQ(b->spec.endpoints[3].weight, 21845u);  // round(65535 / 3)
  double total = 0;
  for (const EndpointSpec& e : b->spec.endpoints) {
    total += e.weight;
  }
  EXPECT_NEAR(b->spec.endpoints[3].weight / total, 0.10, 0.0001);
}

TEST(XdsBuildService, WeightedClustersEndpointWeightsAndASharedEndpoint) {
  World w;
  w.add(edsCluster("a"));
  w.add(edsCluster("b"));
  // a (weight 1): 10.0.0.1 w1, 10.0.0.2 w3 -> 0.125, 0.375 of flows.
  // b (weight 1): 10.0.0.2 w1 -> 0.5, merged with a's: 0.875.
  w.add(assignment("a",
                   {{{{"10.0.0.1", 80, core::HEALTHY, 1}, {"10.0.0.2", 80, core::HEALTHY, 3}}}}));
  w.add(assignment("b", {{{{"10.0.0.2", 80}}}}));
  auto b = w.build(weightedListener("l", "10.96.0.10", 80, {{"a", 1}, {"b", 1}}));
  ASSERT_TRUE(b) << b.status().message();
  ASSERT_EQ(b->spec.endpoints.size(), 2u);
  EXPECT_EQ(b->spec.endpoints[1].weight, 65535u);
  EXPECT_EQ(b->spec.endpoints[0].weight, 9362u);  // round(65535 / 7)
}

TEST(XdsBuildService, ClusterWithoutReadyEndpointsGivesItsShareToTheOthers) {
  World w;
  w.add(edsCluster("a"));
  w.add(edsCluster("b"));
  w.add(assignment("a", {{{{"10.0.0.1", 80}, {"10.0.0.2", 80}}}}));
  w.add(assignment("b", {{{{"10.0.0.3", 80, core::UNHEALTHY}}}}));
  auto b = w.build(weightedListener("l", "10.96.0.10", 80, {{"a", 1}, {"b", 99}}));
  ASSERT_TRUE(b) << b.status().message();
  EXPECT_EQ(b->spec.endpoints[0].weight, 65535u);
  EXPECT_EQ(b->spec.endpoints[1].weight, 65535u);
  EXPECT_EQ(b->spec.endpoints[2].state, EndpointState::kUnhealthy);
}

TEST(XdsBuildService, TinySharesRoundUpToOneWithANote) {
  World w;
  w.add(edsCluster("a"));
  w.add(edsCluster("b"));
  w.add(assignment("a", {{{{"10.0.0.1", 80}}}}));
  w.add(assignment("b", {{{{"10.0.0.2", 80}}}}));
  std::vector<std::string> notes;
  auto b = w.build(weightedListener("l", "10.96.0.10", 80, {{"a", 1000000}, {"b", 1}}), &notes);
  ASSERT_TRUE(b) << b.status().message();
  EXPECT_EQ(b->spec.endpoints[0].weight, 65535u);
  EXPECT_EQ(b->spec.endpoints[1].weight, 1u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("rounded up to weight 1"), std::string::npos);
}

TEST(XdsBuildService, LocalityWeightsSplitALevel) {
  World w;
  w.add(edsCluster("c"));
  // Locality A (weight 3): two endpoints; locality B (weight 1): one.
  w.add(
      assignment("c", {{{{"10.0.0.1", 80}, {"10.0.0.2", 80}}, 0, 3}, {{{"10.0.0.3", 80}}, 0, 1}}));
  auto b = w.build(tcpListener("l", "10.96.0.10", 80, "c"));
  ASSERT_TRUE(b);
  // Shares 0.375, 0.375, 0.25.
  EXPECT_EQ(b->spec.endpoints[0].weight, 65535u);
  EXPECT_EQ(b->spec.endpoints[2].weight, 43690u);
}

TEST(XdsBuildService, OneClusterPassesWeightsThroughOrScalesLargeOnes) {
  World w;
  w.add(edsCluster("c"));
  w.add(assignment(
      "c", {{{{"10.0.0.1", 80, core::HEALTHY, 200000}, {"10.0.0.2", 80, core::HEALTHY, 100000}}}}));
  auto b = w.build(tcpListener("l", "10.96.0.10", 80, "c"));
  ASSERT_TRUE(b) << b.status().message();
  EXPECT_EQ(b->spec.endpoints[0].weight, 65535u);
  EXPECT_EQ(b->spec.endpoints[1].weight, 32768u);  // round(65535 / 2)
}

TEST(XdsBuildService, TableSizeUdpAndIpv6) {
  World w;
  cluster::Cluster c = edsCluster("dns");
  c.mutable_maglev_lb_config()->mutable_table_size()->set_value(251);
  w.add(c);
  w.add(assignment("dns", {{{{"fd00:1::1", 53}, {"fd00:1::2", 53}}}}));
  auto b = w.build(udpListener("dns", "fd00::53", 53, "dns", true));
  ASSERT_TRUE(b) << b.status().message();
  EXPECT_EQ(b->spec.key.toString(), "[fd00::53]:53/udp");
  EXPECT_EQ(b->spec.table_size, 251u);
  EXPECT_TRUE(b->spec.affinity_client_ip);
  EXPECT_EQ(b->spec.endpoints[1].addr.toString(), "fd00:1::2");
}

TEST(XdsBuildService, StaticClusterNeedsNoEds) {
  World w;
  w.add(staticCluster("s", {{{{"10.0.0.1", 80}}}}));
  auto b = w.build(tcpListener("l", "10.96.0.10", 80, "s"));
  ASSERT_TRUE(b) << b.status().message();
  EXPECT_FALSE(b->pending);
  ASSERT_EQ(b->spec.endpoints.size(), 1u);
}

TEST(XdsBuildService, PendingUntilClusterAndEndpointsArrive) {
  World w;
  auto b = w.build(tcpListener("l", "10.96.0.10", 80, "c"));
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->pending);
  EXPECT_EQ(b->reason, "cluster 'c' has not arrived");
  w.add(edsCluster("c", cluster::Cluster::MAGLEV, "c-eds"));
  b = w.build(tcpListener("l", "10.96.0.10", 80, "c"));
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->pending);
  EXPECT_EQ(b->reason, "endpoints 'c-eds' of cluster 'c' have not arrived");
  w.add(assignment("c-eds", {{{{"10.0.0.1", 80}}}}));
  b = w.build(tcpListener("l", "10.96.0.10", 80, "c"));
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->pending);
}

TEST(XdsBuildService, UnsubscribedEdsIsOnDemand) {
  World w;
  w.add(edsCluster("c"));
  w.unsubscribed.insert("c");
  auto b = w.build(tcpListener("l", "10.96.0.10", 80, "c"));
  ASSERT_TRUE(b) << b.status().message();
  EXPECT_FALSE(b->pending);
  EXPECT_TRUE(b->spec.on_demand);
  EXPECT_TRUE(b->spec.endpoints.empty());
}

TEST(XdsBuildService, ValidateServiceComplaintsAreErrors) {
  World w;
  cluster::Cluster c = edsCluster("c");
  c.mutable_maglev_lb_config()->mutable_table_size()->set_value(2);
  w.add(c);
  w.add(assignment("c", {{{{"10.0.0.1", 80}, {"10.0.0.2", 80}, {"10.0.0.3", 80}}}}));
  auto b = w.build(tcpListener("l", "10.96.0.10", 80, "c"));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.status().message(),
            "listener 'l' (10.96.0.10:80/tcp): table_size: 2 is smaller than the number of "
            "endpoints (3)");
  // An IPv6 endpoint behind an IPv4 VIP.
  w.add(assignment("c", {{{{"fd00::1", 80}}}}));
  c.clear_maglev_lb_config();
  w.add(c);
  b = w.build(tcpListener("l", "10.96.0.10", 80, "c"));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.status().message(),
            "listener 'l' (10.96.0.10:80/tcp): endpoints[0].address: fd00::1 is IPv6 but the VIP "
            "is IPv4");
}

}  // namespace
}  // namespace sluice::cp::xds
