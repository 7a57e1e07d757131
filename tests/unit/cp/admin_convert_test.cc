// Conversions between the admin API's messages and the model, without a
// server: defaults, round trips, field names in errors, and the counters.
#include "cp/admin/convert.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::cp::admin {
namespace {

TEST(AdminConvertTest, ServiceRoundTrip) {
  ServiceSpec spec;
  spec.key = {.vip = *IpAddr::parse("fd00::10"), .port = 443, .proto = Proto::kUdp};
  spec.mode = ForwardMode::kDnat;
  spec.algorithm = Algorithm::kRandom;
  spec.affinity_client_ip = true;
  spec.affinity_timeout_s = 60;
  spec.table_size = 509;
  spec.endpoints = {
      {.addr = *IpAddr::parse("fd44::1"),
       .port = 8443,
       .weight = 7,
       .state = EndpointState::kTerminating},
      {.addr = *IpAddr::parse("fd44::2"),
       .port = 8443,
       .weight = 1,
       .state = EndpointState::kReady},
  };
  spec.source = ServiceSource::kXds;
  v1::Service proto;
  serviceToProto(spec, &proto);
  EXPECT_EQ(proto.vip(), "fd00::10");
  EXPECT_EQ(proto.protocol(), v1::PROTOCOL_UDP);
  EXPECT_EQ(proto.source(), v1::SOURCE_XDS);
  EXPECT_EQ(proto.endpoints(0).state(), v1::ENDPOINT_STATE_TERMINATING);

  FieldErrors errors;
  auto back = serviceFromProto(proto, errors);
  ASSERT_TRUE(back) << joinErrors(errors);
  // The source is output only: what is read back is the model's default.
  EXPECT_EQ(back->source, ServiceSource::kConfig);
  back->source = spec.source;
  EXPECT_EQ(*back, spec);
}

TEST(AdminConvertTest, EndpointDefaults) {
  v1::Endpoint ep;
  ep.set_address("10.244.0.1");
  ep.set_port(80);
  FieldErrors errors;
  auto spec = endpointFromProto(ep, "endpoint.", errors);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->weight, 1u);
  EXPECT_EQ(spec->state, EndpointState::kReady);
  // Weight 0 is passed on: validateService refuses it with its reason.
  ep.set_weight(0);
  EXPECT_EQ(endpointFromProto(ep, "endpoint.", errors)->weight, 0u);
  EXPECT_TRUE(errors.empty());
}

TEST(AdminConvertTest, ErrorsNameFieldsUnderThePrefix) {
  FieldErrors errors;
  v1::ServiceKey key;
  key.set_vip("10.1.1");
  key.set_protocol(static_cast<v1::Protocol>(3));
  EXPECT_FALSE(keyFromProto(key, "service.", errors));
  EXPECT_EQ(joinErrors(errors),
            "service.vip: '10.1.1' is not an IP address; service.port: 0 is not a valid port; "
            "service.protocol: 3 is not one of PROTOCOL_TCP, PROTOCOL_UDP");
  errors.clear();
  // An unset source is "every source"; an unset state must be checked for
  // by callers that take it as "leave as is".
  EXPECT_FALSE(sourceFromProto(v1::SOURCE_UNSPECIFIED, "source", errors));
  EXPECT_TRUE(errors.empty());
  EXPECT_FALSE(stateFromProto(v1::ENDPOINT_STATE_UNSPECIFIED, "state", errors));
  EXPECT_EQ(joinErrors(errors),
            "state: required: ENDPOINT_STATE_READY, ENDPOINT_STATE_TERMINATING, "
            "ENDPOINT_STATE_UNHEALTHY");
  errors.clear();
  EXPECT_EQ(portFromProto(65535, "port", errors), std::optional<uint16_t>(65535));
  EXPECT_FALSE(portFromProto(65536, "port", errors));
  EXPECT_EQ(joinErrors(errors), "port: 65536 is not a valid port");
  EXPECT_EQ(joinErrors({}), "");
}

TEST(AdminConvertTest, FlowFilterLeavesUnsetFieldsOpen) {
  v1::ListFlowsRequest req;
  req.mutable_service()->set_vip("fd00::10");
  req.set_endpoint("fd44::1");
  FieldErrors errors;
  auto filter = flowFilterFromProto(req, errors);
  ASSERT_TRUE(filter) << joinErrors(errors);
  EXPECT_EQ(filter->vip, IpAddr::parse("fd00::10"));
  EXPECT_EQ(filter->endpoint, IpAddr::parse("fd44::1"));
  EXPECT_FALSE(filter->port || filter->proto || filter->client);
}

TEST(AdminConvertTest, PublishHistogramIsCumulative) {
  PublishMetrics m;
  m.upserts = 5;
  m.latency_buckets[0] = 2;
  m.latency_buckets[3] = 1;
  m.latency_buckets.back() = 2;
  v1::Stats out;
  statsToProto({}, m, 4, &out);
  const auto& buckets = out.publish().latency();
  ASSERT_EQ(buckets.size(), static_cast<int>(kPublishLatencyBoundsUs.size() + 1));
  EXPECT_EQ(buckets[0].le_us(), kPublishLatencyBoundsUs[0]);
  EXPECT_EQ(buckets[0].count(), 2u);
  EXPECT_EQ(buckets[2].count(), 2u);
  EXPECT_EQ(buckets[3].count(), 3u);
  EXPECT_EQ(buckets[buckets.size() - 2].count(), 3u);
  EXPECT_EQ(buckets[buckets.size() - 1].le_us(), 0u);
  EXPECT_EQ(buckets[buckets.size() - 1].count(), 5u);
  EXPECT_EQ(out.services(), 4u);
}

TEST(AdminConvertTest, BusyShareIsBoundedByOne) {
  DataplaneStats stats;
  stats.tsc_hz = 1000;
  stats.uptime_ns = 1'000'000'000;  // 1000 cycles
  dp::WorkerCounterSnapshot w;
  w.events[static_cast<size_t>(dp::WorkerEvent::busy_cycles)] = 1500;
  stats.workers = {w};
  v1::Stats out;
  statsToProto(stats, {}, 0, &out);
  EXPECT_EQ(out.workers(0).elapsed_cycles(), 1000u);
  EXPECT_DOUBLE_EQ(out.workers(0).busy_share(), 1.0);
}

}  // namespace
}  // namespace sluice::cp::admin
