// sluice-xds's resources read back by sluiced's own xDS translation
// (cp/xds/translate.h): every ServiceSpec field Envoy's API can carry comes
// back as it went out. Forwarding mode and the affinity timeout have no
// Envoy field: they come from the client's xds config and defaults.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "cp/xds/translate.h"
#include "tools/xds-server/resources.h"

namespace sluice::xds_server {
namespace {

ServiceSpec spec(const std::string& vip, uint16_t port, Proto proto) {
  ServiceSpec s;
  s.key = {*IpAddr::parse(vip), port, proto};
  s.mode = ForwardMode::kDnat;
  return s;
}

std::vector<ServiceSpec> services() {
  ServiceSpec web = spec("10.96.0.10", 80, Proto::kTcp);
  web.affinity_client_ip = true;
  web.table_size = 251;
  web.endpoints = {{*IpAddr::parse("10.244.0.11"), 8080, 3, EndpointState::kReady},
                   {*IpAddr::parse("10.244.0.12"), 8081, 1, EndpointState::kTerminating},
                   {*IpAddr::parse("10.244.0.13"), 8082, 7, EndpointState::kUnhealthy}};
  ServiceSpec dns = spec("fd00::53", 53, Proto::kUdp);
  dns.algorithm = Algorithm::kRandom;
  dns.affinity_client_ip = true;
  dns.endpoints = {{*IpAddr::parse("fd44::21"), 5353, 2, EndpointState::kReady},
                   {*IpAddr::parse("fd44::22"), 5353, 65535, EndpointState::kReady}};
  ServiceSpec empty = spec("10.96.0.99", 9, Proto::kUdp);
  return {web, dns, empty};
}

TEST(XdsRoundTripTest, SluicedReadsBackWhatSluiceXdsServes) {
  std::map<std::string, cp::xds::ClusterInfo> clusters;
  std::map<std::string, cp::xds::EndpointSet> endpoints;
  std::vector<std::string> notes;
  for (const ServiceSpec& s : services()) {
    auto cluster = cp::xds::translateCluster(makeCluster(s), &notes);
    ASSERT_TRUE(cluster) << cluster.status().message();
    EXPECT_TRUE(cluster->eds);
    EXPECT_EQ(cluster->eds_name, resourceName(s));
    clusters[cluster->name] = *cluster;
    auto set = cp::xds::translateEndpoints(makeLoadAssignment(s), &notes);
    ASSERT_TRUE(set) << set.status().message();
    endpoints[set->name] = *set;
  }
  cp::xds::ResourceView view{
      [&](const std::string& name) -> const cp::xds::ClusterInfo* {
        auto it = clusters.find(name);
        return it == clusters.end() ? nullptr : &it->second;
      },
      [&](const std::string& name) -> const cp::xds::EndpointSet* {
        auto it = endpoints.find(name);
        return it == endpoints.end() ? nullptr : &it->second;
      },
      [](const std::string&) { return true; },
  };
  cp::xds::XdsSpec xds;
  xds.forward_mode = ForwardMode::kDnat;
  dp::DataplaneSpec dataplane;

  for (const ServiceSpec& sent : services()) {
    auto listener = cp::xds::translateListener(makeListener(sent), &notes);
    ASSERT_TRUE(listener) << resourceName(sent) << ": " << listener.status().message();
    EXPECT_EQ(listener->name, resourceName(sent));
    EXPECT_EQ(listener->key, sent.key);
    EXPECT_EQ(listener->affinity_client_ip, sent.affinity_client_ip);
    ASSERT_EQ(listener->clusters.size(), 1u);
    EXPECT_EQ(listener->clusters[0].cluster, resourceName(sent));

    auto built = cp::xds::buildService(*listener, view, xds, dataplane, &notes);
    ASSERT_TRUE(built) << resourceName(sent) << ": " << built.status().message();
    ASSERT_FALSE(built->pending) << built->reason;
    ServiceSpec want = sent;
    want.source = ServiceSource::kXds;
    EXPECT_EQ(built->spec, want) << resourceName(sent);
  }
  EXPECT_TRUE(notes.empty()) << notes.front();
}

}  // namespace
}  // namespace sluice::xds_server
