// The stream state machines without gRPC: a stream that missed snapshots
// (woken once for several updates) diffs everything, one in sync with the
// snapshot before looks only at what changed; both end up telling the
// client exactly what differs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tools/xds-server/delta_stream.h"
#include "tools/xds-server/sotw_stream.h"

namespace sluice::xds_server {
namespace {

namespace discovery = envoy::service::discovery::v3;

ServiceSpec service(uint8_t last, uint32_t weight) {
  ServiceSpec s;
  s.key = {IpAddr::v4(0x0a600000u + last), 80, Proto::kTcp};
  s.endpoints = {{IpAddr::v4(0x0af40000u + last), 8080, weight, EndpointState::kReady}};
  return s;
}

std::shared_ptr<const Snapshot> next(const Snapshot& previous, std::vector<ServiceSpec> services) {
  auto s = nextSnapshot(previous, services);
  EXPECT_TRUE(s);
  return *s;
}

std::vector<std::string> names(const discovery::DeltaDiscoveryResponse& r) {
  std::vector<std::string> out;
  for (const auto& resource : r.resources()) {
    out.push_back(resource.name());
  }
  return out;
}

TEST(XdsStreamsTest, SnapshotListsWhatChangedSinceTheOneBefore) {
  Snapshot empty;
  auto s1 = next(empty, {service(1, 1), service(2, 1), service(3, 1)});
  EXPECT_EQ(s1->changedOf(ResourceType::kEndpoint).size(), 3u);
  auto s2 = next(*s1, {service(1, 1), service(2, 5), service(4, 1)});
  EXPECT_EQ(s2->changedOf(ResourceType::kEndpoint),
            (std::vector<std::string>{"10.96.0.2:80/tcp", "10.96.0.3:80/tcp", "10.96.0.4:80/tcp"}));
  EXPECT_EQ(s2->changedOf(ResourceType::kListener),
            (std::vector<std::string>{"10.96.0.3:80/tcp", "10.96.0.4:80/tcp"}));
}

TEST(XdsStreamsTest, DeltaCatchesUpAfterMissedSnapshotsAndFollowsSingleSteps) {
  Snapshot empty;
  auto s1 = next(empty, {service(1, 1), service(2, 1), service(3, 1)});
  DeltaStream stream(1);
  DeltaOutput out;
  discovery::DeltaDiscoveryRequest request;
  request.set_type_url(typeUrl(ResourceType::kEndpoint));
  request.add_resource_names_subscribe("*");
  stream.onRequest(request, *s1, out);
  ASSERT_EQ(out.responses.size(), 1u);
  EXPECT_EQ(out.responses[0].resources_size(), 3);

  // Two updates while the stream slept: 2 changes, then 3 goes and 1 changes.
  auto s2 = next(*s1, {service(1, 1), service(2, 7), service(3, 1)});
  auto s3 = next(*s2, {service(1, 4), service(2, 7)});
  DeltaOutput caught_up;
  stream.onSnapshot(*s3, caught_up);
  ASSERT_EQ(caught_up.responses.size(), 1u);
  EXPECT_EQ(names(caught_up.responses[0]),
            (std::vector<std::string>{"10.96.0.1:80/tcp", "10.96.0.2:80/tcp"}));
  EXPECT_EQ(caught_up.responses[0].removed_resources_size(), 1);
  EXPECT_EQ(caught_up.responses[0].removed_resources(0), "10.96.0.3:80/tcp");

  // One step: only the changed name is looked at and sent; a step that
  // changes nothing the client holds sends nothing.
  auto s4 = next(*s3, {service(1, 4), service(2, 8), service(5, 1)});
  DeltaOutput step;
  stream.onSnapshot(*s4, step);
  ASSERT_EQ(step.responses.size(), 1u);
  EXPECT_EQ(names(step.responses[0]),
            (std::vector<std::string>{"10.96.0.2:80/tcp", "10.96.0.5:80/tcp"}));
  DeltaOutput again;
  stream.onSnapshot(*s4, again);
  EXPECT_TRUE(again.responses.empty());
}

TEST(XdsStreamsTest, SotwSkipsStepsThatTouchNoNameItAskedFor) {
  Snapshot empty;
  auto s1 = next(empty, {service(1, 1), service(2, 1)});
  SotwStream stream(1);
  SotwOutput out;
  discovery::DiscoveryRequest request;
  request.set_type_url(typeUrl(ResourceType::kEndpoint));
  request.add_resource_names("10.96.0.1:80/tcp");
  stream.onRequest(request, *s1, out);
  ASSERT_EQ(out.responses.size(), 1u);

  auto s2 = next(*s1, {service(1, 1), service(2, 3)});
  SotwOutput skipped;
  stream.onSnapshot(*s2, skipped);
  EXPECT_TRUE(skipped.responses.empty());

  auto s3 = next(*s2, {service(1, 6), service(2, 3)});
  SotwOutput pushed;
  stream.onSnapshot(*s3, pushed);
  ASSERT_EQ(pushed.responses.size(), 1u);
  EXPECT_EQ(pushed.responses[0].version_info(), "3");
  EXPECT_EQ(pushed.responses[0].resources_size(), 1);
}

}  // namespace
}  // namespace sluice::xds_server
