// Wire compatibility of Sluice's Envoy v3 subset (proto/envoy/). The bytes
// here are built from upstream's field numbers by a tiny encoder in this
// file, independent of the generated code: if a field number, wire type,
// package or message name in the subset drifted from upstream, parsing or
// re-serializing these bytes, or the type URLs, would differ.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"

namespace {

namespace cluster = envoy::config::cluster::v3;
namespace core = envoy::config::core::v3;
namespace discovery = envoy::service::discovery::v3;
namespace endpoint = envoy::config::endpoint::v3;
namespace listener = envoy::config::listener::v3;
namespace tcp = envoy::extensions::filters::network::tcp_proxy::v3;
namespace udp = envoy::extensions::filters::udp::udp_proxy::v3;

// Protobuf wire format by hand: tag = field << 3 | wire type; varints are
// little-endian base-128.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLen = 2;

std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

std::string tag(uint32_t field, uint32_t wire_type) {
  return varint((field << 3) | wire_type);
}

std::string num(uint32_t field, uint64_t v) {
  return tag(field, kVarint) + varint(v);
}

std::string len(uint32_t field, const std::string& payload) {
  return tag(field, kLen) + varint(payload.size()) + payload;
}

constexpr const char* kTypePrefix = "type.googleapis.com/";

std::string typeUrl(const google::protobuf::Message& m) {
  return kTypePrefix + m.GetDescriptor()->full_name();
}

std::string serialize(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

// SocketAddress{address, port_value} inside Address.socket_address.
std::string socketAddress(const std::string& ip, uint32_t port, uint32_t protocol = 0) {
  std::string sa;
  if (protocol != 0) sa += num(1, protocol);
  sa += len(2, ip) + num(3, port);
  return len(1, sa);
}

// ClusterLoadAssignment "web": one locality (region r1, zone z1, weight
// 10, priority 1) with 10.0.0.1:8080 HEALTHY weight 3.
std::string claBytes() {
  std::string lb_endpoint = len(1, len(1, socketAddress("10.0.0.1", 8080)))  // endpoint.address
                            + num(2, 1)                       // health_status HEALTHY
                            + len(4, num(1, 3));              // load_balancing_weight
  std::string locality = len(1, len(1, "r1") + len(2, "z1"))  // locality
                         + len(2, lb_endpoint)                // lb_endpoints
                         + len(3, num(1, 10))                 // load_balancing_weight
                         + num(5, 1);                         // priority
  return len(1, "web") + len(2, locality);
}

TEST(EnvoyProto, TypeUrlsMatchUpstream) {
  EXPECT_EQ(typeUrl(listener::Listener()), "type.googleapis.com/envoy.config.listener.v3.Listener");
  EXPECT_EQ(typeUrl(cluster::Cluster()), "type.googleapis.com/envoy.config.cluster.v3.Cluster");
  EXPECT_EQ(typeUrl(endpoint::ClusterLoadAssignment()),
            "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment");
  EXPECT_EQ(typeUrl(tcp::TcpProxy()),
            "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy");
  EXPECT_EQ(typeUrl(udp::UdpProxyConfig()),
            "type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig");
  EXPECT_EQ(typeUrl(discovery::Resource()),
            "type.googleapis.com/envoy.service.discovery.v3.Resource");

  google::protobuf::Any any;
  any.PackFrom(cluster::Cluster());
  EXPECT_EQ(any.type_url(), "type.googleapis.com/envoy.config.cluster.v3.Cluster");
}

TEST(EnvoyProto, AdsServiceIsTwoBidiStreams) {
  // gRPC method paths are "/" + this name + "/" + the method's name.
  EXPECT_STREQ(discovery::AggregatedDiscoveryService::service_full_name(),
               "envoy.service.discovery.v3.AggregatedDiscoveryService");
  // AdsDummy (empty, as upstream) lives in ads.proto with the service.
  const auto* service =
      discovery::AdsDummy::descriptor()->file()->FindServiceByName("AggregatedDiscoveryService");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->full_name(), "envoy.service.discovery.v3.AggregatedDiscoveryService");
  ASSERT_EQ(service->method_count(), 2);
  const auto* sotw = service->FindMethodByName("StreamAggregatedResources");
  const auto* delta = service->FindMethodByName("DeltaAggregatedResources");
  ASSERT_NE(sotw, nullptr);
  ASSERT_NE(delta, nullptr);
  EXPECT_TRUE(sotw->client_streaming() && sotw->server_streaming());
  EXPECT_TRUE(delta->client_streaming() && delta->server_streaming());
  EXPECT_EQ(sotw->input_type()->full_name(), "envoy.service.discovery.v3.DiscoveryRequest");
  EXPECT_EQ(sotw->output_type()->full_name(), "envoy.service.discovery.v3.DiscoveryResponse");
  EXPECT_EQ(delta->input_type()->full_name(), "envoy.service.discovery.v3.DeltaDiscoveryRequest");
  EXPECT_EQ(delta->output_type()->full_name(), "envoy.service.discovery.v3.DeltaDiscoveryResponse");
}

TEST(EnvoyProto, ClusterLoadAssignmentFromUpstreamBytes) {
  const std::string bytes = claBytes();
  endpoint::ClusterLoadAssignment cla;
  ASSERT_TRUE(cla.ParseFromString(bytes));
  EXPECT_EQ(cla.cluster_name(), "web");
  ASSERT_EQ(cla.endpoints_size(), 1);
  const auto& loc = cla.endpoints(0);
  EXPECT_EQ(loc.locality().region(), "r1");
  EXPECT_EQ(loc.locality().zone(), "z1");
  EXPECT_EQ(loc.load_balancing_weight().value(), 10u);
  EXPECT_EQ(loc.priority(), 1u);
  ASSERT_EQ(loc.lb_endpoints_size(), 1);
  const auto& lbe = loc.lb_endpoints(0);
  EXPECT_EQ(lbe.health_status(), core::HEALTHY);
  ASSERT_TRUE(lbe.has_load_balancing_weight());
  EXPECT_EQ(lbe.load_balancing_weight().value(), 3u);
  const auto& sa = lbe.endpoint().address().socket_address();
  EXPECT_EQ(sa.address(), "10.0.0.1");
  EXPECT_EQ(sa.port_value(), 8080u);
  EXPECT_EQ(sa.protocol(), core::SocketAddress::TCP);
  EXPECT_TRUE(cla.GetReflection()->GetUnknownFields(cla).empty());
  EXPECT_EQ(serialize(cla), bytes);
}

TEST(EnvoyProto, HealthStatusNumbers) {
  // EDS health is sent as these numbers; the mapping to ready/terminating/
  // unhealthy depends on them.
  EXPECT_EQ(core::UNKNOWN, 0);
  EXPECT_EQ(core::HEALTHY, 1);
  EXPECT_EQ(core::UNHEALTHY, 2);
  EXPECT_EQ(core::DRAINING, 3);
  EXPECT_EQ(core::TIMEOUT, 4);
  EXPECT_EQ(core::DEGRADED, 5);
}

TEST(EnvoyProto, MaglevClusterFromUpstreamBytes) {
  const std::string bytes = len(1, "web")                      // name
                            + num(2, 3)                        // type EDS
                            + len(3, len(2, "web-eds"))        // eds_cluster_config.service_name
                            + num(6, 5)                        // lb_policy MAGLEV
                            + len(52, len(1, num(1, 65537)));  // maglev_lb_config.table_size
  cluster::Cluster c;
  ASSERT_TRUE(c.ParseFromString(bytes));
  EXPECT_EQ(c.name(), "web");
  EXPECT_EQ(c.type(), cluster::Cluster::EDS);
  EXPECT_EQ(c.eds_cluster_config().service_name(), "web-eds");
  EXPECT_EQ(c.lb_policy(), cluster::Cluster::MAGLEV);
  ASSERT_TRUE(c.has_maglev_lb_config());
  ASSERT_TRUE(c.maglev_lb_config().has_table_size());
  EXPECT_EQ(c.maglev_lb_config().table_size().value(), 65537u);
  EXPECT_TRUE(c.GetReflection()->GetUnknownFields(c).empty());
  EXPECT_EQ(serialize(c), bytes);
}

TEST(EnvoyProto, LbPolicyNumbers) {
  EXPECT_EQ(cluster::Cluster::ROUND_ROBIN, 0);
  EXPECT_EQ(cluster::Cluster::LEAST_REQUEST, 1);
  EXPECT_EQ(cluster::Cluster::RING_HASH, 2);
  EXPECT_EQ(cluster::Cluster::RANDOM, 3);
  EXPECT_EQ(cluster::Cluster::MAGLEV, 5);
  EXPECT_EQ(cluster::Cluster::CLUSTER_PROVIDED, 6);
  EXPECT_EQ(cluster::Cluster::LOAD_BALANCING_POLICY_CONFIG, 7);
}

TEST(EnvoyProto, ClusterWithInlineEndpointsAndRingHash) {
  const std::string bytes = len(1, "static")  // name
                            + num(6, 2)       // lb_policy RING_HASH
                            + len(23, len(1, num(1, 1024)) + len(4, num(1, 4096)))  // ring_hash
                            + len(33, claBytes());  // load_assignment
  cluster::Cluster c;
  ASSERT_TRUE(c.ParseFromString(bytes));
  EXPECT_EQ(c.type(), cluster::Cluster::STATIC);
  EXPECT_EQ(c.lb_policy(), cluster::Cluster::RING_HASH);
  EXPECT_EQ(c.ring_hash_lb_config().minimum_ring_size().value(), 1024u);
  EXPECT_EQ(c.ring_hash_lb_config().maximum_ring_size().value(), 4096u);
  EXPECT_EQ(c.load_assignment().cluster_name(), "web");
  EXPECT_EQ(c.load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .port_value(),
            8080u);
  EXPECT_EQ(serialize(c), bytes);
}

std::string tcpProxyBytes() {
  std::string weighted = len(1, len(1, "blue") + num(2, 90)) + len(1, len(1, "green") + num(2, 10));
  return len(1, "web")           // stat_prefix
         + len(10, weighted)     // weighted_clusters
         + len(11, len(1, ""));  // hash_policy { source_ip {} }
}

TEST(EnvoyProto, ListenerWithTcpProxyInTypedConfig) {
  const std::string filter =
      len(1, "envoy.filters.network.tcp_proxy") +
      len(4, len(1, "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy") +
                 len(2, tcpProxyBytes()));
  const std::string bytes = len(1, "vip-web")                          // name
                            + len(2, socketAddress("10.96.0.10", 80))  // address
                            + len(3, len(3, filter));  // filter_chains[0].filters[0]
  listener::Listener l;
  ASSERT_TRUE(l.ParseFromString(bytes));
  EXPECT_EQ(l.name(), "vip-web");
  EXPECT_EQ(l.address().socket_address().address(), "10.96.0.10");
  EXPECT_EQ(l.address().socket_address().port_value(), 80u);
  ASSERT_EQ(l.filter_chains_size(), 1);
  ASSERT_EQ(l.filter_chains(0).filters_size(), 1);
  const auto& f = l.filter_chains(0).filters(0);
  EXPECT_EQ(f.name(), "envoy.filters.network.tcp_proxy");
  ASSERT_TRUE(f.typed_config().Is<tcp::TcpProxy>());
  tcp::TcpProxy proxy;
  ASSERT_TRUE(f.typed_config().UnpackTo(&proxy));
  EXPECT_EQ(proxy.stat_prefix(), "web");
  EXPECT_EQ(proxy.cluster_specifier_case(), tcp::TcpProxy::kWeightedClusters);
  ASSERT_EQ(proxy.weighted_clusters().clusters_size(), 2);
  EXPECT_EQ(proxy.weighted_clusters().clusters(0).name(), "blue");
  EXPECT_EQ(proxy.weighted_clusters().clusters(0).weight(), 90u);
  EXPECT_EQ(proxy.weighted_clusters().clusters(1).name(), "green");
  EXPECT_EQ(proxy.weighted_clusters().clusters(1).weight(), 10u);
  ASSERT_EQ(proxy.hash_policy_size(), 1);
  EXPECT_TRUE(proxy.hash_policy(0).has_source_ip());
  EXPECT_EQ(serialize(proxy), tcpProxyBytes());
  EXPECT_EQ(serialize(l), bytes);
}

TEST(EnvoyProto, TcpProxySingleCluster) {
  const std::string bytes = len(1, "db") + len(2, "db-cluster");
  tcp::TcpProxy proxy;
  ASSERT_TRUE(proxy.ParseFromString(bytes));
  EXPECT_EQ(proxy.cluster(), "db-cluster");
  EXPECT_EQ(proxy.hash_policy_size(), 0);
  EXPECT_EQ(serialize(proxy), bytes);
}

TEST(EnvoyProto, UdpListenerAndUdpProxy) {
  const std::string udp_bytes =
      len(1, "dns") + len(2, "dns-cluster") + len(5, num(1, 1));  // source_ip
  udp::UdpProxyConfig cfg;
  ASSERT_TRUE(cfg.ParseFromString(udp_bytes));
  EXPECT_EQ(cfg.stat_prefix(), "dns");
  EXPECT_EQ(cfg.cluster(), "dns-cluster");
  ASSERT_EQ(cfg.hash_policies_size(), 1);
  EXPECT_TRUE(cfg.hash_policies(0).source_ip());
  EXPECT_EQ(serialize(cfg), udp_bytes);

  const std::string bytes = len(1, "vip-dns") + len(2, socketAddress("10.96.0.53", 53, 1));
  listener::Listener l;
  ASSERT_TRUE(l.ParseFromString(bytes));
  EXPECT_EQ(l.address().socket_address().protocol(), core::SocketAddress::UDP);
  EXPECT_EQ(l.address().socket_address().port_value(), 53u);
  EXPECT_EQ(serialize(l), bytes);
}

TEST(EnvoyProto, UnknownFieldsAreKept) {
  // Fields upstream defines and the subset does not: Cluster
  // per_connection_buffer_limit_bytes (5, UInt32Value) and
  // dns_lookup_family (17, enum); UdpProxyConfig matcher (9). Known
  // fields come first: protobuf writes unknown ones after them.
  const std::string cluster_bytes = len(1, "web") + num(6, 5) + len(5, num(1, 32768)) + num(17, 1);
  cluster::Cluster c;
  ASSERT_TRUE(c.ParseFromString(cluster_bytes));
  EXPECT_EQ(c.name(), "web");
  EXPECT_EQ(c.lb_policy(), cluster::Cluster::MAGLEV);
  const auto& unknown = c.GetReflection()->GetUnknownFields(c);
  ASSERT_EQ(unknown.field_count(), 2);
  EXPECT_EQ(unknown.field(0).number(), 5);
  EXPECT_EQ(unknown.field(1).number(), 17);
  EXPECT_EQ(serialize(c), cluster_bytes);

  const std::string udp_bytes = len(1, "dns") + len(9, len(1, "opaque-matcher"));
  udp::UdpProxyConfig cfg;
  ASSERT_TRUE(cfg.ParseFromString(udp_bytes));
  EXPECT_EQ(cfg.route_specifier_case(), udp::UdpProxyConfig::ROUTE_SPECIFIER_NOT_SET);
  EXPECT_EQ(serialize(cfg), udp_bytes);

  // Nested: an unknown field inside a filter chain inside a listener.
  const std::string chain = len(3, len(1, "x")) + len(1, "match-we-do-not-read");
  const std::string l_bytes = len(1, "l") + len(3, chain);
  listener::Listener l;
  ASSERT_TRUE(l.ParseFromString(l_bytes));
  EXPECT_EQ(l.filter_chains(0).filters(0).name(), "x");
  EXPECT_EQ(serialize(l), l_bytes);
}

TEST(EnvoyProto, DiscoveryResponseWithPlainAndWrappedResources) {
  const std::string cla_type = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  const std::string plain = len(1, cla_type) + len(2, claBytes());
  const std::string wrapped_resource = len(1, "7")       // version
                                       + len(2, plain)   // resource
                                       + len(3, "web");  // name
  const std::string wrapped =
      len(1, "type.googleapis.com/envoy.service.discovery.v3.Resource") + len(2, wrapped_resource);
  const std::string bytes = len(1, "v1") + len(2, plain) + len(2, wrapped) + len(4, cla_type) +
                            len(5, "n-1") + len(6, len(1, "cp-1"));  // control_plane.identifier
  discovery::DiscoveryResponse resp;
  ASSERT_TRUE(resp.ParseFromString(bytes));
  EXPECT_EQ(resp.version_info(), "v1");
  EXPECT_EQ(resp.type_url(), cla_type);
  EXPECT_EQ(resp.nonce(), "n-1");
  EXPECT_EQ(resp.control_plane().identifier(), "cp-1");
  ASSERT_EQ(resp.resources_size(), 2);

  ASSERT_TRUE(resp.resources(0).Is<endpoint::ClusterLoadAssignment>());
  endpoint::ClusterLoadAssignment direct;
  ASSERT_TRUE(resp.resources(0).UnpackTo(&direct));
  EXPECT_EQ(direct.cluster_name(), "web");

  ASSERT_FALSE(resp.resources(1).Is<endpoint::ClusterLoadAssignment>());
  ASSERT_TRUE(resp.resources(1).Is<discovery::Resource>());
  discovery::Resource res;
  ASSERT_TRUE(resp.resources(1).UnpackTo(&res));
  EXPECT_EQ(res.version(), "7");
  EXPECT_EQ(res.name(), "web");
  endpoint::ClusterLoadAssignment inner;
  ASSERT_TRUE(res.resource().UnpackTo(&inner));
  EXPECT_EQ(inner.endpoints(0).lb_endpoints(0).endpoint().address().socket_address().address(),
            "10.0.0.1");
  EXPECT_EQ(serialize(resp), bytes);
}

TEST(EnvoyProto, SotwNackRequestBytes) {
  discovery::DiscoveryRequest req;
  req.set_version_info("v1");
  req.mutable_node()->set_id("sluice-1");
  req.mutable_node()->set_cluster("gw");
  req.mutable_node()->mutable_locality()->set_zone("z1");
  req.mutable_node()->set_user_agent_name("sluice");
  req.add_resource_names("web");
  req.set_type_url("type.googleapis.com/envoy.config.cluster.v3.Cluster");
  req.set_response_nonce("n-2");
  req.mutable_error_detail()->set_code(3);
  req.mutable_error_detail()->set_message("web: bad");
  const std::string node =
      len(1, "sluice-1") + len(2, "gw") + len(4, len(2, "z1")) + len(6, "sluice");
  const std::string expected = len(1, "v1") + len(2, node) + len(3, "web") +
                               len(4, "type.googleapis.com/envoy.config.cluster.v3.Cluster") +
                               len(5, "n-2") + len(6, num(1, 3) + len(2, "web: bad"));
  EXPECT_EQ(serialize(req), expected);
}

TEST(EnvoyProto, DeltaMessagesBytes) {
  discovery::DeltaDiscoveryRequest req;
  req.mutable_node()->set_id("sluice-1");
  req.set_type_url("t");
  req.add_resource_names_subscribe("a");
  req.add_resource_names_unsubscribe("b");
  (*req.mutable_initial_resource_versions())["a"] = "3";
  req.set_response_nonce("n");
  req.mutable_error_detail()->set_message("m");
  const std::string expected = len(1, len(1, "sluice-1")) + len(2, "t") + len(3, "a") +
                               len(4, "b") +
                               len(5, len(1, "a") + len(2, "3"))  // map entry {key, value}
                               + len(6, "n") + len(7, len(2, "m"));
  EXPECT_EQ(serialize(req), expected);

  const std::string resource = len(1, "4") + len(2, len(1, "u") + len(2, "x")) + len(3, "web");
  const std::string bytes =
      len(1, "sys-9") + len(2, resource) + len(4, "t") + len(5, "n-3") + len(6, "gone");
  discovery::DeltaDiscoveryResponse resp;
  ASSERT_TRUE(resp.ParseFromString(bytes));
  EXPECT_EQ(resp.system_version_info(), "sys-9");
  ASSERT_EQ(resp.resources_size(), 1);
  EXPECT_EQ(resp.resources(0).version(), "4");
  EXPECT_EQ(resp.resources(0).name(), "web");
  EXPECT_EQ(resp.resources(0).resource().type_url(), "u");
  EXPECT_EQ(resp.type_url(), "t");
  EXPECT_EQ(resp.nonce(), "n-3");
  ASSERT_EQ(resp.removed_resources_size(), 1);
  EXPECT_EQ(resp.removed_resources(0), "gone");
  EXPECT_EQ(serialize(resp), bytes);
}

}  // namespace
