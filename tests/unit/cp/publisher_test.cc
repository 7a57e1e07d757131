#include "cp/publisher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cp/maglev.h"

namespace sluice::cp {
namespace {

// Records what the publisher sends and keeps the set of services it accepted,
// as the data plane would. Refuses any call about `fail_key` when it is set.
class RecordingSink : public ServiceSink {
 public:
  struct Upsert {
    ServiceSpec spec;
    std::vector<uint32_t> table;
  };

  Status upsertService(const ServiceSpec& spec, const std::vector<uint32_t>& table) override {
    if (fail_key && *fail_key == spec.key.toString()) {
      return Status::error("sink refused");
    }
    upserts.push_back({spec, table});
    accepted.insert_or_assign(spec.key.toString(), spec);
    return Status::ok();
  }

  Status removeService(const ServiceKey& key) override {
    if (fail_key && *fail_key == key.toString()) {
      return Status::error("sink refused");
    }
    removes.push_back(key.toString());
    accepted.erase(key.toString());
    return Status::ok();
  }

  size_t calls() const { return upserts.size() + removes.size(); }
  void clear() {
    upserts.clear();
    removes.clear();
  }

  std::vector<Upsert> upserts;
  std::vector<std::string> removes;
  std::map<std::string, ServiceSpec> accepted;
  std::optional<std::string> fail_key;
};

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

ServiceSpec service(const char* vip, uint16_t port, size_t endpoints = 2) {
  ServiceSpec spec;
  spec.key = {.vip = ip(vip), .port = port, .proto = Proto::kTcp};
  for (size_t i = 0; i < endpoints; ++i) {
    spec.endpoints.push_back(
        {.addr = IpAddr::v4(0x0af40100 + static_cast<uint32_t>(i)), .port = 8080});
  }
  return spec;
}

std::vector<size_t> countsOf(const std::vector<uint32_t>& table, size_t endpoints) {
  std::vector<size_t> counts(endpoints);
  for (uint32_t entry : table) {
    EXPECT_LT(entry, endpoints);
    if (entry < endpoints) {
      ++counts[entry];
    }
  }
  return counts;
}

// --- The model's text forms, which key the publisher's map ------------------

TEST(ServiceTextTest, KeysEndpointsAndEnums) {
  EXPECT_EQ((ServiceKey{.vip = ip("10.96.0.10"), .port = 53, .proto = Proto::kUdp}.toString()),
            "10.96.0.10:53/udp");
  EXPECT_EQ((ServiceKey{.vip = ip("fd00::10"), .port = 80, .proto = Proto::kTcp}.toString()),
            "[fd00::10]:80/tcp");
  EXPECT_EQ((EndpointSpec{.addr = ip("10.244.1.5"), .port = 8080}.toString()), "10.244.1.5:8080");
  EXPECT_EQ((EndpointSpec{.addr = ip("fd00:244::5"), .port = 443}.toString()), "[fd00:244::5]:443");
  EXPECT_STREQ(toString(Proto::kTcp), "tcp");
  EXPECT_STREQ(toString(Proto::kUdp), "udp");
  EXPECT_STREQ(toString(ForwardMode::kFullNat), "fullnat");
  EXPECT_STREQ(toString(ForwardMode::kDnat), "dnat");
  EXPECT_STREQ(toString(Algorithm::kMaglev), "maglev");
  EXPECT_STREQ(toString(Algorithm::kRandom), "random");
  EXPECT_STREQ(toString(EndpointState::kReady), "ready");
  EXPECT_STREQ(toString(EndpointState::kTerminating), "terminating");
  EXPECT_STREQ(toString(EndpointState::kUnhealthy), "unhealthy");
}

// --- tableFor -----------------------------------------------------------------

TEST(TableForTest, SizeFollowsTheEndpointCountUnlessSet) {
  ServiceSpec spec = service("10.96.0.10", 80, 4);
  auto table = Publisher::tableFor(spec);
  ASSERT_TRUE(table) << table.status().message();
  EXPECT_EQ(table->size(), maglevSizeFor(4));
  EXPECT_EQ(table->size(), 509u);

  spec.table_size = 1021;
  table = Publisher::tableFor(spec);
  ASSERT_TRUE(table) << table.status().message();
  EXPECT_EQ(table->size(), 1021u);
}

TEST(TableForTest, AnOnDemandServiceHasNoTable) {
  ServiceSpec s;
  s.key = {*IpAddr::parse("10.96.0.10"), 80, Proto::kTcp};
  s.on_demand = true;
  auto table = Publisher::tableFor(s);
  ASSERT_TRUE(table) << table.status().message();
  EXPECT_TRUE(table->empty());
  s.on_demand = false;
  EXPECT_EQ(Publisher::tableFor(s)->size(), 251u);  // the smallest size, all "none"
}

TEST(TableForTest, WeightsShareTheTable) {
  ServiceSpec spec = service("10.96.0.10", 80, 3);
  spec.endpoints[0].weight = 1;
  spec.endpoints[1].weight = 2;
  spec.endpoints[2].weight = 5;
  spec.table_size = 65521;
  auto table = Publisher::tableFor(spec);
  ASSERT_TRUE(table) << table.status().message();
  std::vector<size_t> counts = countsOf(*table, 3);
  for (size_t i = 0; i < 3; ++i) {
    double ideal = 65521.0 * spec.endpoints[i].weight / 8;
    EXPECT_NEAR(static_cast<double>(counts[i]), ideal, ideal * 0.01) << "endpoint " << i;
  }
}

TEST(TableForTest, OnlyReadyEndpointsTakeEntries) {
  ServiceSpec spec = service("10.96.0.10", 80, 4);
  spec.endpoints[0].state = EndpointState::kTerminating;
  spec.endpoints[2].state = EndpointState::kUnhealthy;
  auto table = Publisher::tableFor(spec);
  ASSERT_TRUE(table) << table.status().message();
  // Sized from all four, so that state changes do not resize the table.
  EXPECT_EQ(table->size(), maglevSizeFor(4));
  std::vector<size_t> counts = countsOf(*table, 4);
  EXPECT_EQ(counts[0], 0u);
  EXPECT_EQ(counts[2], 0u);
  EXPECT_GT(counts[1], 0u);
  EXPECT_GT(counts[3], 0u);
  EXPECT_EQ(counts[1] + counts[3], table->size());
}

TEST(TableForTest, IndicesReferToSpecEndpoints) {
  ServiceSpec spec = service("10.96.0.10", 80, 5);
  spec.endpoints[1].state = EndpointState::kUnhealthy;
  spec.endpoints[3].weight = 3;
  auto table = Publisher::tableFor(spec);
  ASSERT_TRUE(table) << table.status().message();

  // The same table as Maglev over the ready endpoints alone, translated.
  std::vector<MaglevBackend> ready;
  std::vector<uint32_t> index;
  for (uint32_t i = 0; i < spec.endpoints.size(); ++i) {
    const EndpointSpec& ep = spec.endpoints[i];
    if (ep.state == EndpointState::kReady) {
      ready.push_back({.addr = ep.addr, .port = ep.port, .weight = ep.weight});
      index.push_back(i);
    }
  }
  auto maglev = buildMaglev(ready, static_cast<uint32_t>(table->size()));
  ASSERT_TRUE(maglev) << maglev.status().message();
  for (size_t i = 0; i < table->size(); ++i) {
    ASSERT_EQ((*table)[i], index[(*maglev)[i]]) << "entry " << i;
  }

  // Reordering the endpoints moves indices, not endpoints.
  ServiceSpec reversed = spec;
  std::reverse(reversed.endpoints.begin(), reversed.endpoints.end());
  auto other = Publisher::tableFor(reversed);
  ASSERT_TRUE(other) << other.status().message();
  ASSERT_EQ(other->size(), table->size());
  for (size_t i = 0; i < table->size(); ++i) {
    ASSERT_EQ(reversed.endpoints[(*other)[i]], spec.endpoints[(*table)[i]]) << "entry " << i;
  }
}

TEST(TableForTest, NoReadyEndpointGivesAnEmptyTable) {
  ServiceSpec spec = service("10.96.0.10", 80, 2);
  for (EndpointSpec& ep : spec.endpoints) {
    ep.state = EndpointState::kTerminating;
  }
  auto table = Publisher::tableFor(spec);
  ASSERT_TRUE(table) << table.status().message();
  EXPECT_EQ(*table, std::vector<uint32_t>(maglevSizeFor(2), kMaglevNone));

  spec.endpoints.clear();
  spec.table_size = 1021;
  table = Publisher::tableFor(spec);
  ASSERT_TRUE(table) << table.status().message();
  EXPECT_EQ(*table, std::vector<uint32_t>(1021, kMaglevNone));
}

TEST(TableForTest, RandomUsesTheSameWeightedTable) {
  ServiceSpec spec = service("10.96.0.10", 80, 3);
  spec.endpoints[2].weight = 4;
  ServiceSpec random = spec;
  random.algorithm = Algorithm::kRandom;
  auto maglev = Publisher::tableFor(spec);
  auto uniform = Publisher::tableFor(random);
  ASSERT_TRUE(maglev && uniform);
  EXPECT_EQ(*maglev, *uniform);
}

TEST(TableForTest, BadTableSizeIsAnError) {
  ServiceSpec spec = service("10.96.0.10", 80, 2);
  spec.table_size = 1000;
  auto table = Publisher::tableFor(spec);
  ASSERT_FALSE(table);
  EXPECT_TRUE(table.status().message().starts_with("service 10.96.0.10:80/tcp: "))
      << table.status().message();
}

// --- Publishing -----------------------------------------------------------------

TEST(PublisherTest, ReplaceSourcePublishesOnlyWhatChanged) {
  RecordingSink sink;
  Publisher publisher(sink);
  std::vector<ServiceSpec> services;
  for (uint16_t port = 1; port <= 100; ++port) {
    services.push_back(service("10.96.0.10", port));
  }
  auto stats = publisher.replaceSource(ServiceSource::kConfig, services);
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(stats->added, 100u);
  EXPECT_EQ(stats->changed + stats->removed + stats->unchanged, 0u);
  EXPECT_EQ(sink.upserts.size(), 100u);
  EXPECT_EQ(publisher.services().size(), 100u);

  // One endpoint's state changed, one service gone, one new: three calls.
  sink.clear();
  services[10].endpoints[0].state = EndpointState::kTerminating;
  services.erase(services.begin() + 20);
  services.push_back(service("fd00::10", 80));
  services.back().endpoints = {{.addr = ip("fd00:244::1"), .port = 80}};
  stats = publisher.replaceSource(ServiceSource::kConfig, services);
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(stats->added, 1u);
  EXPECT_EQ(stats->changed, 1u);
  EXPECT_EQ(stats->removed, 1u);
  EXPECT_EQ(stats->unchanged, 98u);
  EXPECT_EQ(sink.calls(), 3u);
  EXPECT_EQ(sink.removes, std::vector<std::string>{"10.96.0.10:21/tcp"});
  ASSERT_EQ(sink.upserts.size(), 2u);
  EXPECT_EQ(sink.upserts[0].spec, services[10]);
  EXPECT_EQ(sink.upserts[1].spec.key.toString(), "[fd00::10]:80/tcp");

  // The same set again: nothing to send.
  sink.clear();
  stats = publisher.replaceSource(ServiceSource::kConfig, services);
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(stats->unchanged, 100u);
  EXPECT_EQ(sink.calls(), 0u);
  EXPECT_EQ(publisher.services(), sink.accepted);

  // The empty set removes everything.
  stats = publisher.replaceSource(ServiceSource::kConfig, {});
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(stats->removed, 100u);
  EXPECT_TRUE(publisher.services().empty());
  EXPECT_TRUE(sink.accepted.empty());
}

TEST(PublisherTest, AnyFieldIsAChange) {
  RecordingSink sink;
  Publisher publisher(sink);
  ServiceSpec base = service("10.96.0.10", 80);
  ASSERT_TRUE(publisher.upsert(base));
  std::vector<ServiceSpec> variants(7, base);
  variants[0].mode = ForwardMode::kDnat;
  variants[1].algorithm = Algorithm::kRandom;
  variants[2].affinity_client_ip = true;
  variants[3].affinity_timeout_s = 60;
  variants[4].table_size = 1021;
  variants[5].endpoints[1].weight = 2;
  variants[6].endpoints[0].port = 8081;
  for (size_t i = 0; i < variants.size(); ++i) {
    sink.clear();
    ASSERT_TRUE(publisher.upsert(variants[i]));
    EXPECT_EQ(sink.upserts.size(), 1u) << "variant " << i;
    ASSERT_TRUE(publisher.upsert(base));
  }
}

TEST(PublisherTest, SentTableIsTableFor) {
  RecordingSink sink;
  Publisher publisher(sink);
  ServiceSpec spec = service("10.96.0.10", 80, 3);
  spec.endpoints[1].state = EndpointState::kUnhealthy;
  ASSERT_TRUE(publisher.upsert(spec));
  ASSERT_EQ(sink.upserts.size(), 1u);
  auto table = Publisher::tableFor(spec);
  ASSERT_TRUE(table);
  EXPECT_EQ(sink.upserts[0].table, *table);
}

TEST(PublisherTest, UpsertAndRemove) {
  RecordingSink sink;
  Publisher publisher(sink);
  ServiceSpec spec = service("10.96.0.10", 80);
  ASSERT_TRUE(publisher.upsert(spec));
  ASSERT_TRUE(publisher.upsert(spec));  // equal: not re-sent
  EXPECT_EQ(sink.upserts.size(), 1u);

  spec.endpoints.pop_back();
  ASSERT_TRUE(publisher.upsert(spec));
  EXPECT_EQ(sink.upserts.size(), 2u);
  EXPECT_EQ(publisher.services().at("10.96.0.10:80/tcp"), spec);

  ASSERT_TRUE(publisher.remove(spec.key));
  EXPECT_EQ(sink.removes, std::vector<std::string>{"10.96.0.10:80/tcp"});
  EXPECT_TRUE(publisher.services().empty());

  Status missing = publisher.remove(spec.key);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.message(), "service 10.96.0.10:80/tcp does not exist");
  EXPECT_EQ(sink.removes.size(), 1u);
}

TEST(PublisherTest, BadTableIsNotSent) {
  RecordingSink sink;
  Publisher publisher(sink);
  ServiceSpec spec = service("10.96.0.10", 80);
  spec.table_size = 1000;
  ASSERT_FALSE(publisher.upsert(spec));
  EXPECT_EQ(sink.calls(), 0u);
  EXPECT_TRUE(publisher.services().empty());
}

TEST(PublisherTest, DuplicateKeysAreRefusedBeforeAnythingIsSent) {
  RecordingSink sink;
  Publisher publisher(sink);
  auto stats = publisher.replaceSource(ServiceSource::kConfig,
                                       {service("10.96.0.10", 80), service("10.96.0.10", 80, 3)});
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.status().message(), "service 10.96.0.10:80/tcp is listed twice");
  EXPECT_EQ(sink.calls(), 0u);
}

TEST(PublisherTest, SinkErrorStopsWithTheModelMatchingTheSink) {
  RecordingSink sink;
  Publisher publisher(sink);
  std::vector<ServiceSpec> first = {service("10.96.0.1", 80), service("10.96.0.2", 80),
                                    service("10.96.0.3", 80)};
  ASSERT_TRUE(publisher.replaceSource(ServiceSource::kConfig, first));

  // Change all three; the sink refuses the second.
  std::vector<ServiceSpec> second = first;
  for (ServiceSpec& spec : second) {
    spec.endpoints.pop_back();
  }
  sink.fail_key = "10.96.0.2:80/tcp";
  auto stats = publisher.replaceSource(ServiceSource::kConfig, second);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.status().message(), "service 10.96.0.2:80/tcp: sink refused");
  EXPECT_EQ(publisher.services(), sink.accepted);
  EXPECT_EQ(publisher.services().at("10.96.0.1:80/tcp"), second[0]);
  EXPECT_EQ(publisher.services().at("10.96.0.2:80/tcp"), first[1]);
  EXPECT_EQ(publisher.services().at("10.96.0.3:80/tcp"), first[2]);

  // A refused removal keeps the service.
  stats = publisher.replaceSource(ServiceSource::kConfig, {second[0]});
  ASSERT_FALSE(stats);
  EXPECT_EQ(publisher.services(), sink.accepted);
  EXPECT_EQ(publisher.services().count("10.96.0.2:80/tcp"), 1u);
  ASSERT_FALSE(publisher.remove(second[1].key));
  EXPECT_EQ(publisher.services(), sink.accepted);
  ASSERT_FALSE(publisher.upsert(second[1]));
  EXPECT_EQ(publisher.services(), sink.accepted);

  // Once the sink accepts again, a retry converges.
  sink.fail_key.reset();
  stats = publisher.replaceSource(ServiceSource::kConfig, second);
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(stats->unchanged, 1u);
  EXPECT_EQ(stats->changed, 2u);
  EXPECT_EQ(stats->added, 0u);
  EXPECT_EQ(publisher.services(), sink.accepted);
}

// --- Sources: a reload replaces only its own services -----------------------------

ServiceSpec withSource(ServiceSpec spec, ServiceSource source) {
  spec.source = source;
  return spec;
}

TEST(PublisherTest, ReplaceSourceLeavesOtherSourcesAlone) {
  RecordingSink sink;
  Publisher publisher(sink);
  ASSERT_TRUE(publisher.upsert(withSource(service("10.96.0.20", 80), ServiceSource::kApi)));
  ASSERT_TRUE(publisher.upsert(withSource(service("10.96.0.30", 80), ServiceSource::kXds)));
  ASSERT_TRUE(publisher.replaceSource(ServiceSource::kConfig,
                                      {service("10.96.0.1", 80), service("10.96.0.2", 80)}));
  EXPECT_EQ(publisher.services().size(), 4u);

  // The config drops one service and changes the other: the API's and xDS's
  // services are neither removed nor re-sent.
  sink.clear();
  ServiceSpec changed = service("10.96.0.1", 80, 3);
  auto stats = publisher.replaceSource(ServiceSource::kConfig, {changed});
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(stats->removed, 1u);
  EXPECT_EQ(stats->changed, 1u);
  EXPECT_EQ(sink.removes, std::vector<std::string>{"10.96.0.2:80/tcp"});
  ASSERT_EQ(sink.upserts.size(), 1u);
  EXPECT_EQ(sink.upserts[0].spec, changed);
  EXPECT_EQ(publisher.services().at("10.96.0.20:80/tcp").source, ServiceSource::kApi);
  EXPECT_EQ(publisher.services().at("10.96.0.30:80/tcp").source, ServiceSource::kXds);

  // An empty config empties only the config's share.
  stats = publisher.replaceSource(ServiceSource::kConfig, {});
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(stats->removed, 1u);
  EXPECT_EQ(publisher.services().size(), 2u);
  EXPECT_EQ(publisher.services(), sink.accepted);

  // Replacing the API's set works the same way.
  stats = publisher.replaceSource(ServiceSource::kApi, {});
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(publisher.services().size(), 1u);
  EXPECT_EQ(publisher.services().count("10.96.0.30:80/tcp"), 1u);
}

TEST(PublisherTest, ReplaceSourceRefusesKeysOwnedElsewhereBeforeSending) {
  RecordingSink sink;
  Publisher publisher(sink);
  ASSERT_TRUE(publisher.upsert(withSource(service("10.96.0.20", 80), ServiceSource::kApi)));
  ASSERT_TRUE(publisher.replaceSource(ServiceSource::kConfig, {service("10.96.0.1", 80)}));
  sink.clear();

  auto stats = publisher.replaceSource(ServiceSource::kConfig,
                                       {service("10.96.0.1", 80, 3), service("10.96.0.20", 80)});
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.status().message(),
            "service 10.96.0.20:80/tcp is owned by api; delete it there before adding it from "
            "config");
  EXPECT_EQ(sink.calls(), 0u);
  EXPECT_EQ(publisher.services().at("10.96.0.1:80/tcp"), service("10.96.0.1", 80));

  stats = publisher.replaceSource(ServiceSource::kConfig,
                                  {withSource(service("10.96.0.5", 80), ServiceSource::kXds)});
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.status().message(), "service 10.96.0.5:80/tcp has source xds, not config");
  EXPECT_EQ(sink.calls(), 0u);
}

TEST(PublisherTest, SourceIsPartOfTheModel) {
  RecordingSink sink;
  Publisher publisher(sink);
  ASSERT_TRUE(publisher.upsert(service("10.96.0.1", 80)));
  ASSERT_TRUE(publisher.upsert(withSource(service("10.96.0.1", 80), ServiceSource::kApi)));
  EXPECT_EQ(publisher.services().at("10.96.0.1:80/tcp").source, ServiceSource::kApi);
  EXPECT_STREQ(toString(ServiceSource::kConfig), "config");
  EXPECT_STREQ(toString(ServiceSource::kApi), "api");
  EXPECT_STREQ(toString(ServiceSource::kXds), "xds");
}

// --- Publish metrics ------------------------------------------------------------

TEST(PublisherTest, MetricsCountEveryCallAndBucketItsLatency) {
  RecordingSink sink;
  uint64_t now_ns = 0;
  uint64_t step_ns = 0;
  // Every reading advances by step_ns, so a call lasts step_ns.
  Publisher publisher(sink, [&] {
    uint64_t t = now_ns;
    now_ns += step_ns;
    return t;
  });
  step_ns = 7'000;  // 7 us: first bucket (<= 10 us)
  ASSERT_TRUE(publisher.upsert(service("10.96.0.1", 80)));
  ASSERT_TRUE(publisher.upsert(service("10.96.0.1", 80)));  // equal: no call, no sample
  step_ns = 300'000;                                        // 300 us: the 500 us bucket
  ASSERT_TRUE(publisher.upsert(service("10.96.0.2", 80)));
  step_ns = 1'000'000'000;  // 1 s: beyond every bound
  ASSERT_TRUE(publisher.remove(service("10.96.0.2", 80).key));
  sink.fail_key = "10.96.0.3:80/tcp";
  step_ns = 50'000;  // exactly 50 us: the 50 us bucket
  ASSERT_FALSE(publisher.upsert(service("10.96.0.3", 80)));

  const PublishMetrics& m = publisher.metrics();
  EXPECT_EQ(m.upserts, 2u);
  EXPECT_EQ(m.removals, 1u);
  EXPECT_EQ(m.failures, 1u);
  EXPECT_EQ(m.count(), 4u);
  EXPECT_EQ(m.latency_sum_ns, 7'000u + 300'000u + 1'000'000'000u + 50'000u);
  EXPECT_EQ(m.latency_max_ns, 1'000'000'000u);
  std::array<uint64_t, kPublishLatencyBoundsUs.size() + 1> expected{};
  expected[0] = 1;                               // <= 10 us
  expected[2] = 1;                               // <= 50 us
  expected[5] = 1;                               // <= 500 us
  expected[kPublishLatencyBoundsUs.size()] = 1;  // slower than 250 ms
  EXPECT_EQ(m.latency_buckets, expected);
}

}  // namespace
}  // namespace sluice::cp
