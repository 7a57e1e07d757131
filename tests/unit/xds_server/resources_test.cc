// sluice-xds's resources: each ServiceSpec field lands where sluiced's xDS
// client reads it, checked by parsing the packed resources back (and, for
// the fields outside the proto subset, by decoding the wire bytes).
#include "tools/xds-server/resources.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy.pb.h"
#include "tools/xds-server/snapshot.h"

namespace sluice::xds_server {
namespace {

namespace cluster = envoy::config::cluster::v3;
namespace core = envoy::config::core::v3;
namespace endpoint = envoy::config::endpoint::v3;
namespace listener = envoy::config::listener::v3;
namespace tcp = envoy::extensions::filters::network::tcp_proxy::v3;
namespace udp = envoy::extensions::filters::udp::udp_proxy::v3;
using google::protobuf::internal::WireFormatLite;

// The fields of a message's bytes: number -> the values (varints as their
// number, length-delimited ones as bytes), in order.
struct Fields {
  std::map<int, std::vector<std::string>> bytes;
  std::map<int, std::vector<uint64_t>> varints;
};

Fields decode(const std::string& wire) {
  Fields fields;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(wire.data()),
                                            static_cast<int>(wire.size()));
  while (uint32_t tag = in.ReadTag()) {
    int number = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    switch (WireFormatLite::GetTagWireType(tag)) {
      case WireFormatLite::WIRETYPE_VARINT: {
        uint64_t v = 0;
        EXPECT_TRUE(in.ReadVarint64(&v));
        fields.varints[number].push_back(v);
        break;
      }
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint32_t size = 0;
        std::string value;
        EXPECT_TRUE(in.ReadVarint32(&size) && in.ReadString(&value, static_cast<int>(size)));
        fields.bytes[number].push_back(value);
        break;
      }
      default:
        EXPECT_TRUE(WireFormatLite::SkipField(&in, tag));
    }
  }
  return fields;
}

ServiceSpec web() {
  ServiceSpec s;
  s.key = {*IpAddr::parse("10.96.0.10"), 80, Proto::kTcp};
  s.affinity_client_ip = true;
  s.table_size = 251;
  s.endpoints = {
      {*IpAddr::parse("10.244.0.11"), 8080, 3, EndpointState::kReady},
      {*IpAddr::parse("10.244.0.12"), 8081, 1, EndpointState::kTerminating},
      {*IpAddr::parse("10.244.0.13"), 8082, 7, EndpointState::kUnhealthy},
  };
  return s;
}

ServiceSpec dns() {
  ServiceSpec s;
  s.key = {*IpAddr::parse("fd00::53"), 53, Proto::kUdp};
  s.algorithm = Algorithm::kRandom;
  s.endpoints = {{*IpAddr::parse("fd44::21"), 5353, 1, EndpointState::kReady}};
  return s;
}

TEST(XdsResourcesTest, TypeUrlsAreUpstreams) {
  EXPECT_EQ(typeUrl(ResourceType::kListener),
            "type.googleapis.com/envoy.config.listener.v3.Listener");
  EXPECT_EQ(typeUrl(ResourceType::kCluster), "type.googleapis.com/envoy.config.cluster.v3.Cluster");
  EXPECT_EQ(typeUrl(ResourceType::kEndpoint),
            "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment");
  for (ResourceType type : kResourceTypes) {
    EXPECT_EQ(resourceTypeOf(typeUrl(type)), type);
  }
  EXPECT_FALSE(resourceTypeOf("type.googleapis.com/envoy.config.route.v3.RouteConfiguration"));
}

TEST(XdsResourcesTest, NamesAreServiceKeys) {
  for (const char* vip :
       {"10.96.0.10", "0.0.0.1", "255.255.255.255", "192.168.100.7", "fd00::53"}) {
    for (uint16_t port : {1, 53, 8080, 65535}) {
      for (Proto proto : {Proto::kTcp, Proto::kUdp}) {
        ServiceSpec s;
        s.key = {*IpAddr::parse(vip), port, proto};
        EXPECT_EQ(resourceName(s), s.key.toString());
      }
    }
  }
}

TEST(XdsResourcesTest, TcpListenerPointsAtTheClusterWithSourceIpHash) {
  listener::Listener l = makeListener(web());
  EXPECT_EQ(l.name(), "10.96.0.10:80/tcp");
  const core::SocketAddress& addr = l.address().socket_address();
  EXPECT_EQ(addr.address(), "10.96.0.10");
  EXPECT_EQ(addr.port_value(), 80u);
  EXPECT_EQ(addr.protocol(), core::SocketAddress::TCP);
  ASSERT_EQ(l.filter_chains_size(), 1);
  ASSERT_EQ(l.filter_chains(0).filters_size(), 1);
  const listener::Filter& filter = l.filter_chains(0).filters(0);
  EXPECT_EQ(filter.name(), "envoy.filters.network.tcp_proxy");
  tcp::TcpProxy proxy;
  ASSERT_TRUE(filter.typed_config().UnpackTo(&proxy));
  EXPECT_EQ(proxy.cluster(), "10.96.0.10:80/tcp");
  EXPECT_EQ(proxy.stat_prefix(), "10.96.0.10:80/tcp");
  ASSERT_EQ(proxy.hash_policy_size(), 1);
  EXPECT_TRUE(proxy.hash_policy(0).has_source_ip());

  ServiceSpec no_affinity = web();
  no_affinity.affinity_client_ip = false;
  ASSERT_TRUE(
      makeListener(no_affinity).filter_chains(0).filters(0).typed_config().UnpackTo(&proxy));
  EXPECT_EQ(proxy.hash_policy_size(), 0);
}

TEST(XdsResourcesTest, UdpListenerCarriesUdpProxyAsAListenerFilter) {
  ServiceSpec s = dns();
  s.affinity_client_ip = true;
  listener::Listener l = makeListener(s);
  EXPECT_EQ(l.name(), "[fd00::53]:53/udp");
  EXPECT_EQ(l.address().socket_address().address(), "fd00::53");
  EXPECT_EQ(l.address().socket_address().port_value(), 53u);
  EXPECT_EQ(l.address().socket_address().protocol(), core::SocketAddress::UDP);
  EXPECT_EQ(l.filter_chains_size(), 0);

  // Upstream: Listener.listener_filters = 9, ListenerFilter {name = 1, typed_config = 3}.
  Fields fields = decode(l.SerializeAsString());
  ASSERT_EQ(fields.bytes[9].size(), 1u);
  Fields filter = decode(fields.bytes[9][0]);
  ASSERT_EQ(filter.bytes[1].size(), 1u);
  EXPECT_EQ(filter.bytes[1][0], "envoy.filters.udp_listener.udp_proxy");
  ASSERT_EQ(filter.bytes[3].size(), 1u);
  google::protobuf::Any any;
  ASSERT_TRUE(any.ParseFromString(filter.bytes[3][0]));
  udp::UdpProxyConfig proxy;
  ASSERT_TRUE(any.UnpackTo(&proxy));
  EXPECT_EQ(proxy.cluster(), "[fd00::53]:53/udp");
  EXPECT_EQ(proxy.stat_prefix(), "[fd00::53]:53/udp");
  ASSERT_EQ(proxy.hash_policies_size(), 1);
  EXPECT_TRUE(proxy.hash_policies(0).source_ip());

  Fields plain_listener = decode(makeListener(dns()).SerializeAsString());
  Fields plain = decode(plain_listener.bytes[9][0]);
  ASSERT_TRUE(any.ParseFromString(plain.bytes[3][0]) && any.UnpackTo(&proxy));
  EXPECT_EQ(proxy.hash_policies_size(), 0);
}

TEST(XdsResourcesTest, ClusterIsEdsOverAdsWithTheAlgorithm) {
  cluster::Cluster c = makeCluster(web());
  EXPECT_EQ(c.name(), "10.96.0.10:80/tcp");
  EXPECT_EQ(c.type(), cluster::Cluster::EDS);
  EXPECT_EQ(c.eds_cluster_config().service_name(), "10.96.0.10:80/tcp");
  EXPECT_EQ(c.lb_policy(), cluster::Cluster::MAGLEV);
  ASSERT_TRUE(c.has_maglev_lb_config());
  EXPECT_EQ(c.maglev_lb_config().table_size().value(), 251u);

  // eds_config (1) = ConfigSource {ads (3) = {}, resource_api_version (6) = V3 (2)}.
  Fields eds = decode(c.eds_cluster_config().SerializeAsString());
  ASSERT_EQ(eds.bytes[1].size(), 1u);
  Fields source = decode(eds.bytes[1][0]);
  ASSERT_EQ(source.bytes[3].size(), 1u);
  EXPECT_EQ(source.bytes[3][0], "");
  EXPECT_EQ(source.varints[6], std::vector<uint64_t>{2});

  ServiceSpec no_size = web();
  no_size.table_size.reset();
  cluster::Cluster c2 = makeCluster(no_size);
  EXPECT_EQ(c2.lb_policy(), cluster::Cluster::MAGLEV);
  EXPECT_FALSE(c2.has_maglev_lb_config());

  cluster::Cluster random = makeCluster(dns());
  EXPECT_EQ(random.lb_policy(), cluster::Cluster::RANDOM);
  EXPECT_FALSE(random.has_maglev_lb_config());
}

TEST(XdsResourcesTest, LoadAssignmentHasEveryEndpointWithHealthAndWeight) {
  const ServiceSpec service = web();
  endpoint::ClusterLoadAssignment cla = makeLoadAssignment(service);
  EXPECT_EQ(cla.cluster_name(), "10.96.0.10:80/tcp");
  ASSERT_EQ(cla.endpoints_size(), 1);
  const auto& lbs = cla.endpoints(0).lb_endpoints();
  ASSERT_EQ(lbs.size(), 3);
  const core::HealthStatus health[] = {core::HEALTHY, core::DRAINING, core::UNHEALTHY};
  for (int i = 0; i < 3; ++i) {
    const EndpointSpec& want = service.endpoints[static_cast<size_t>(i)];
    const core::SocketAddress& addr = lbs[i].endpoint().address().socket_address();
    EXPECT_EQ(addr.address(), want.addr.toString());
    EXPECT_EQ(addr.port_value(), want.port);
    EXPECT_EQ(addr.protocol(), core::SocketAddress::TCP);
    EXPECT_EQ(lbs[i].health_status(), health[i]);
    EXPECT_EQ(lbs[i].load_balancing_weight().value(), want.weight);
  }
  endpoint::ClusterLoadAssignment udp_cla = makeLoadAssignment(dns());
  const endpoint::LbEndpoint& udp_ep = udp_cla.endpoints(0).lb_endpoints(0);
  EXPECT_EQ(udp_ep.endpoint().address().socket_address().address(), "fd44::21");
  EXPECT_EQ(udp_ep.endpoint().address().socket_address().protocol(), core::SocketAddress::UDP);
}

TEST(XdsResourcesTest, SameServiceSameBytes) {
  EXPECT_EQ(makeListener(dns()).SerializeAsString(), makeListener(dns()).SerializeAsString());
  EXPECT_EQ(makeCluster(web()).SerializeAsString(), makeCluster(web()).SerializeAsString());
  EXPECT_EQ(makeLoadAssignment(web()).SerializeAsString(),
            makeLoadAssignment(web()).SerializeAsString());
}

TEST(XdsSnapshotTest, TypeVersionsMoveOnlyWithTheirContent) {
  Snapshot empty;
  auto first = nextSnapshot(empty, {web(), dns()});
  ASSERT_TRUE(first);
  const Snapshot& s1 = **first;
  EXPECT_EQ(s1.version, 1u);
  EXPECT_EQ(s1.services, 2u);
  EXPECT_EQ(s1.endpoints, 4u);
  for (ResourceType type : kResourceTypes) {
    EXPECT_EQ(s1.versionOf(type), 1u);
    ASSERT_EQ(s1.of(type).size(), 2u);
    EXPECT_EQ(s1.of(type).begin()->first, "10.96.0.10:80/tcp");  // sorted by name
  }
  const Resource& cla = *s1.of(ResourceType::kEndpoint).at("10.96.0.10:80/tcp");
  EXPECT_EQ(cla.body.type_url(), typeUrl(ResourceType::kEndpoint));
  EXPECT_EQ(cla.version, contentVersion(cla.body));
  EXPECT_EQ(cla.version.size(), 16u);

  auto same = nextSnapshot(s1, {dns(), web()});  // order does not matter
  ASSERT_TRUE(same);
  EXPECT_EQ((*same)->version, 1u);
  EXPECT_EQ((*same)->type_versions, s1.type_versions);

  ServiceSpec heavier = web();
  heavier.endpoints[0].weight = 4;
  auto second = nextSnapshot(s1, {heavier, dns()});
  ASSERT_TRUE(second);
  EXPECT_EQ((*second)->version, 2u);
  EXPECT_EQ((*second)->versionOf(ResourceType::kListener), 1u);
  EXPECT_EQ((*second)->versionOf(ResourceType::kCluster), 1u);
  EXPECT_EQ((*second)->versionOf(ResourceType::kEndpoint), 2u);
  const ResourceMap& eds = (*second)->of(ResourceType::kEndpoint);
  EXPECT_NE(eds.at("10.96.0.10:80/tcp")->version, cla.version);
  EXPECT_EQ(eds.at("[fd00::53]:53/udp")->version,
            s1.of(ResourceType::kEndpoint).at("[fd00::53]:53/udp")->version);

  auto removed = nextSnapshot(**second, {dns()});
  ASSERT_TRUE(removed);
  EXPECT_EQ((*removed)->version, 3u);
  for (ResourceType type : kResourceTypes) {
    EXPECT_EQ((*removed)->of(type).size(), 1u);
  }
  EXPECT_EQ((*removed)->versionOf(ResourceType::kListener), 2u);

  auto twice = nextSnapshot(s1, {web(), web()});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.status().message(), "service 10.96.0.10:80/tcp is listed twice");
}

TEST(XdsSnapshotTest, FirstSnapshotOfNothingIsVersionOne) {
  Snapshot empty;
  auto first = nextSnapshot(empty, {});
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)->version, 1u);
  EXPECT_EQ((*first)->versionOf(ResourceType::kCluster), 1u);
}

}  // namespace
}  // namespace sluice::xds_server
