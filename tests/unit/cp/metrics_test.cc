#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cp/config.h"
#include "cp/control_queue.h"
#include "cp/metrics/exposition.h"
#include "cp/metrics/snapshot.h"
#include "cp/metrics/telemetry_replies.h"

namespace sluice::cp::metrics {
namespace {

constexpr size_t kNoRoute = static_cast<size_t>(dp::Drop::no_route);
constexpr size_t kRx = static_cast<size_t>(dp::WorkerEvent::rx_packets);
constexpr size_t kTx = static_cast<size_t>(dp::WorkerEvent::tx_packets);
constexpr size_t kBusy = static_cast<size_t>(dp::WorkerEvent::busy_cycles);

dp::EndpointTraffic endpoint(const char* addr, uint16_t port, bool counted, uint64_t in_packets) {
  dp::EndpointTraffic e;
  e.addr = *IpAddr::parse(addr);
  e.port = port;
  e.counted = counted;
  e.traffic.in_packets = in_packets;
  return e;
}

// Two workers, one port, one service with a counted and an uncounted
// endpoint, and a few publish calls.
Snapshot knownSnapshot() {
  Snapshot s;
  s.dataplane.tsc_hz = 1000;
  s.dataplane.uptime_ns = 2'000'000'000;  // 2000 cycles elapsed
  for (unsigned lcore : {1u, 2u}) {
    dp::WorkerCounterSnapshot w;
    w.lcore = lcore;
    w.events[kRx] = 10 * lcore;
    w.events[kTx] = 9 * lcore;
    w.events[kBusy] = 500 * lcore;
    w.drops[kNoRoute] = lcore;
    s.dataplane.workers.push_back(w);
    s.conntrack.push_back({.lcore = lcore, .capacity = 1024, .flows = 3 * lcore, .half_open = 1});
  }
  dp::PortCounterSnapshot p;
  p.name = "p0";
  p.ipackets = 30;
  p.obytes = 2048;
  s.dataplane.ports.push_back(p);
  dp::ServiceTraffic svc;
  svc.key = {.vip = *IpAddr::parse("10.96.0.10"), .port = 80, .proto = Proto::kTcp};
  svc.traffic.new_flows = 4;
  svc.traffic.active_flows = 2;
  svc.traffic.in_packets = 7;
  svc.traffic.out_bytes = 640;
  svc.endpoints.push_back(endpoint("10.244.1.5", 8080, true, 7));
  svc.endpoints.push_back(endpoint("10.244.1.6", 8080, false, 0));
  s.traffic.push_back(svc);
  s.services = 1;
  s.service_table_bytes = 4096;
  s.publish.upserts = 3;
  s.publish.removals = 1;
  s.publish.latency_sum_ns = 1'500'000;
  s.publish.latency_max_ns = 900'000;
  s.publish.latency_buckets[0] = 1;  // <= 10 us
  s.publish.latency_buckets[2] = 2;  // <= 50 us
  s.publish.latency_buckets[6] = 1;  // <= 1 ms
  return s;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

bool hasLine(const std::string& text, const std::string& line) {
  for (const std::string& l : lines(text)) {
    if (l == line) {
      return true;
    }
  }
  return false;
}

size_t countPrefix(const std::string& text, const std::string& prefix) {
  size_t n = 0;
  for (const std::string& l : lines(text)) {
    n += l.starts_with(prefix) ? 1 : 0;
  }
  return n;
}

TEST(Exposition, KnownSnapshotLines) {
  std::string text = format(knownSnapshot());
  for (const char* expected : {
           "sluice_tsc_hz 1000",
           "sluice_uptime_seconds 2",
           "sluice_services 1",
           "sluice_service_table_bytes 4096",
           "# HELP sluice_worker_rx_packets_total packets received from rx queues",
           "# TYPE sluice_worker_rx_packets_total counter",
           "sluice_worker_rx_packets_total{worker=\"1\"} 10",
           "sluice_worker_rx_packets_total{worker=\"2\"} 20",
           "sluice_worker_tx_packets_total{worker=\"2\"} 18",
           "sluice_worker_busy_cycles_total{worker=\"1\"} 500",
           "sluice_worker_elapsed_cycles_total{worker=\"1\"} 2000",
           "sluice_worker_busy_share{worker=\"1\"} 0.25",
           "sluice_worker_busy_share{worker=\"2\"} 0.5",
           "# TYPE sluice_worker_drops_total counter",
           "sluice_worker_drops_total{worker=\"1\",reason=\"no_route\"} 1",
           "sluice_worker_drops_total{worker=\"2\",reason=\"no_route\"} 2",
           "sluice_worker_drops_total{worker=\"2\",reason=\"tx_full\"} 0",
           "sluice_port_rx_packets_total{port=\"p0\"} 30",
           "sluice_port_tx_bytes_total{port=\"p0\"} 2048",
           "# TYPE sluice_conntrack_flows gauge",
           "sluice_conntrack_flows{worker=\"2\"} 6",
           "sluice_conntrack_capacity{worker=\"1\"} 1024",
           "sluice_conntrack_half_open_flows{worker=\"1\"} 1",
           "# TYPE sluice_service_active_flows gauge",
           "sluice_service_active_flows{service=\"10.96.0.10:80/tcp\"} 2",
           "sluice_service_new_flows_total{service=\"10.96.0.10:80/tcp\"} 4",
           "sluice_service_in_packets_total{service=\"10.96.0.10:80/tcp\"} 7",
           "sluice_service_out_bytes_total{service=\"10.96.0.10:80/tcp\"} 640",
           "sluice_endpoint_in_packets_total{service=\"10.96.0.10:80/tcp\",endpoint=\"10.244.1.5:"
           "8080\"} 7",
           "sluice_publish_upserts_total 3",
           "sluice_publish_removals_total 1",
           "sluice_publish_failures_total 0",
           "sluice_publish_latency_max_seconds 0.0009",
       }) {
    EXPECT_TRUE(hasLine(text, expected)) << "missing line: " << expected << "\nin:\n" << text;
  }
  // Every drop reason of every worker, zeros included; each event once per worker.
  EXPECT_EQ(countPrefix(text, "sluice_worker_drops_total{"), 2 * (dp::kDropCount - 1));
  // Per worker: every event, elapsed cycles and busy share, and every drop.
  EXPECT_EQ(countPrefix(text, "sluice_worker_"),
            2 * (dp::kWorkerEventCount + 2) + 2 * (dp::kDropCount - 1));
  // The endpoint past endpoint_stats_capacity has no series of its own.
  EXPECT_EQ(text.find("10.244.1.6"), std::string::npos);
}

TEST(Exposition, XdsFamiliesOnlyWithAClient) {
  EXPECT_EQ(format(knownSnapshot()).find("sluice_xds_"), std::string::npos);
  Snapshot s = knownSnapshot();
  xds::XdsStats& x = s.xds.emplace();
  x.connected = true;
  x.streams_opened = 2;
  x.reconnects = 1;
  x.acks = 5;
  x.nacks = 1;
  x.backoff_ms = 250;
  x.versions = {"v3", "7", ""};
  x.resources = {10, 10, 4};
  x.updates_accepted = 5;
  x.updates_rejected = 1;
  x.services_on_demand = 6;
  x.misses = 3;
  x.lazy_loads = 2;
  x.evictions = 1;
  std::string text = format(s);
  for (const char* expected : {
           "sluice_xds_connected 1",
           "sluice_xds_streams_opened_total 2",
           "sluice_xds_reconnects_total 1",
           "sluice_xds_acks_total 5",
           "sluice_xds_nacks_total 1",
           "sluice_xds_backoff_seconds 0.25",
           "sluice_xds_resources{type=\"listener\"} 10",
           "sluice_xds_resources{type=\"endpoint\"} 4",
           "sluice_xds_version_info{type=\"listener\",version=\"v3\"} 1",
           "sluice_xds_version_info{type=\"endpoint\",version=\"\"} 1",
           "sluice_xds_updates_total{result=\"accepted\"} 5",
           "sluice_xds_updates_total{result=\"rejected\"} 1",
           "sluice_xds_services_on_demand 6",
           "sluice_xds_misses_total 3",
           "sluice_xds_lazy_loads_total 2",
           "sluice_xds_evictions_total 1",
       }) {
    EXPECT_TRUE(hasLine(text, expected)) << "missing line: " << expected;
  }
}

TEST(Exposition, EndpointSeriesCanBeLeftOut) {
  std::string text = format(knownSnapshot(), {.endpoints = false});
  EXPECT_EQ(text.find("sluice_endpoint_"), std::string::npos);
  EXPECT_TRUE(hasLine(text, "sluice_service_in_packets_total{service=\"10.96.0.10:80/tcp\"} 7"));
}

TEST(Exposition, FamiliesAreContiguousWithOneHelpAndType) {
  std::string text = format(knownSnapshot());
  std::set<std::string> typed;
  std::string current;
  for (const std::string& l : lines(text)) {
    ASSERT_FALSE(l.empty());
    if (l.starts_with("# HELP ")) {
      continue;
    }
    if (l.starts_with("# TYPE ")) {
      std::string rest = l.substr(7);
      current = rest.substr(0, rest.find(' '));
      EXPECT_TRUE(typed.insert(current).second) << "family typed twice: " << current;
      continue;
    }
    std::string name = l.substr(0, l.find_first_of("{ "));
    EXPECT_TRUE(name == current || name == current + "_bucket" || name == current + "_sum" ||
                name == current + "_count")
        << "sample " << l << " outside its family (last TYPE was " << current << ")";
    EXPECT_TRUE(name.starts_with("sluice_")) << l;
  }
}

TEST(Exposition, HistogramBucketsAreCumulative) {
  std::string text = format(knownSnapshot());
  for (const char* expected : {
           "# TYPE sluice_publish_latency_seconds histogram",
           "sluice_publish_latency_seconds_bucket{le=\"0.00001\"} 1",
           "sluice_publish_latency_seconds_bucket{le=\"0.000025\"} 1",
           "sluice_publish_latency_seconds_bucket{le=\"0.00005\"} 3",
           "sluice_publish_latency_seconds_bucket{le=\"0.0005\"} 3",
           "sluice_publish_latency_seconds_bucket{le=\"0.001\"} 4",
           "sluice_publish_latency_seconds_bucket{le=\"0.25\"} 4",
           "sluice_publish_latency_seconds_bucket{le=\"+Inf\"} 4",
           "sluice_publish_latency_seconds_sum 0.0015",
           "sluice_publish_latency_seconds_count 4",
       }) {
    EXPECT_TRUE(hasLine(text, expected)) << "missing line: " << expected << "\nin:\n" << text;
  }
  EXPECT_EQ(countPrefix(text, "sluice_publish_latency_seconds_bucket{"),
            kPublishLatencyBoundsUs.size() + 1);
}

TEST(Exposition, SlowerThanEveryBoundCountsOnlyInInf) {
  Snapshot s;
  s.publish.latency_buckets.back() = 5;
  std::string text = format(s);
  EXPECT_TRUE(hasLine(text, "sluice_publish_latency_seconds_bucket{le=\"0.25\"} 0"));
  EXPECT_TRUE(hasLine(text, "sluice_publish_latency_seconds_bucket{le=\"+Inf\"} 5"));
  EXPECT_TRUE(hasLine(text, "sluice_publish_latency_seconds_count 5"));
}

TEST(Exposition, LabelValuesAreEscaped) {
  EXPECT_EQ(escapeLabelValue("plain"), "plain");
  EXPECT_EQ(escapeLabelValue("a\"b"), "a\\\"b");
  EXPECT_EQ(escapeLabelValue("a\\b"), "a\\\\b");
  EXPECT_EQ(escapeLabelValue("a\nb"), "a\\nb");
  EXPECT_EQ(escapeHelp("say \"hi\"\\\n"), "say \"hi\"\\\\\\n");

  Snapshot s;
  dp::PortCounterSnapshot p;
  p.name = "odd\"port\\\n";
  p.ipackets = 1;
  s.dataplane.ports.push_back(p);
  EXPECT_TRUE(hasLine(format(s), "sluice_port_rx_packets_total{port=\"odd\\\"port\\\\\\n\"} 1"));
}

TEST(Exposition, Ipv6LabelsKeepTheirBrackets) {
  Snapshot s;
  dp::ServiceTraffic svc;
  svc.key = {.vip = *IpAddr::parse("fd00::10"), .port = 53, .proto = Proto::kUdp};
  svc.endpoints.push_back(endpoint("fd00:1::5", 5353, true, 2));
  s.traffic.push_back(svc);
  EXPECT_TRUE(hasLine(format(s),
                      "sluice_endpoint_in_packets_total{service=\"[fd00::10]:53/udp\",endpoint=\""
                      "[fd00:1::5]:5353\"} 2"));
}

TEST(Exposition, ValuesInPlainDecimal) {
  EXPECT_EQ(formatValue(0.00001), "0.00001");
  EXPECT_EQ(formatValue(0.25), "0.25");
  EXPECT_EQ(formatValue(3.0), "3");
  EXPECT_EQ(formatValue(1.0 / 0.0), "+Inf");
}

TEST(Exposition, BusyShareIsZeroBeforeAnyCycleAndAtMostOne) {
  dp::WorkerCounterSnapshot w;
  w.events[kBusy] = 5000;
  EXPECT_EQ(busyShare(w, 0), 0.0);
  EXPECT_EQ(busyShare(w, 1000), 1.0);
  EXPECT_EQ(busyShare(w, 20000), 0.25);
  admin::DataplaneStats stats;
  stats.tsc_hz = 2'000'000'000;
  stats.uptime_ns = 1'500'000'000;
  EXPECT_EQ(elapsedCycles(stats), 3'000'000'000u);
}

// Prometheus' own parser: `promtool check metrics` reads the text on stdin
// and fails on syntax errors and on lint problems (names, suffixes, HELP).
TEST(Exposition, PromtoolAcceptsTheText) {
  if (std::system("command -v promtool > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (Debian: prometheus)";
  }
  std::string path = ::testing::TempDir() + "metrics_test.prom";
  {
    std::ofstream out(path);
    Snapshot s = knownSnapshot();
    s.xds.emplace().versions = {"1", "1", "1"};
    out << format(s);
  }
  std::string cmd = "promtool check metrics < " + path + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) {
    output.append(buf, n);
  }
  int rc = pclose(pipe);
  EXPECT_EQ(rc, 0) << output;
  std::remove(path.c_str());
}

// --- the config's metrics group ---------------------------------------------

std::string configWith(const std::string& metrics) {
  return "ports = ( { name = \"p0\"; device = \"net_null0\"; } );\n"
         "workers = ( { lcore = 1; rx = ( { port = \"p0\"; queue = 0; } ); } );\n" +
         metrics + "\n";
}

TEST(MetricsConfig, AbsentMeansNoListener) {
  auto config = loadConfigText(configWith(""), "t.conf");
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_FALSE(config->metrics.has_value());
}

TEST(MetricsConfig, ListenAddresses) {
  auto v4 = loadConfigText(configWith("metrics = { listen = \"127.0.0.1:0\"; };"), "t.conf");
  ASSERT_TRUE(v4) << v4.status().message();
  ASSERT_TRUE(v4->metrics.has_value());
  EXPECT_EQ(v4->metrics->host, "127.0.0.1");
  EXPECT_EQ(v4->metrics->port, 0);
  auto v6 = loadConfigText(configWith("metrics = { listen = \"[::1]:9200\"; };"), "t.conf");
  ASSERT_TRUE(v6) << v6.status().message();
  EXPECT_EQ(v6->metrics->host, "::1");
  EXPECT_EQ(v6->metrics->port, 9200);
  auto any = loadConfigText(configWith("metrics = { listen = \"0.0.0.0:9100\"; };"), "t.conf");
  ASSERT_TRUE(any) << any.status().message();
  auto empty = loadConfigText(configWith("metrics = { };"), "t.conf");
  ASSERT_TRUE(empty) << empty.status().message();
  EXPECT_EQ(empty->metrics->listen, "127.0.0.1:9100");
}

TEST(MetricsConfig, EndpointSeriesSwitch) {
  auto on = loadConfigText(configWith("metrics = { };"), "t.conf");
  ASSERT_TRUE(on) << on.status().message();
  EXPECT_TRUE(on->metrics->endpoints);
  auto off = loadConfigText(configWith("metrics = { endpoints = false; };"), "t.conf");
  ASSERT_TRUE(off) << off.status().message();
  EXPECT_FALSE(off->metrics->endpoints);
  auto bad = loadConfigText(configWith("metrics = { endpoints = \"no\"; };"), "t.conf");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("t.conf:3: metrics.endpoints: must be true or false"),
            std::string::npos)
      << bad.status().message();
}

TEST(MetricsConfig, ErrorsNameTheSetting) {
  for (const char* bad : {"localhost:9100", "::1:9100", "[127.0.0.1]:9100", "127.0.0.1:70000",
                          "127.0.0.1:", "127.0.0.1", "127.0.0.1:9x"}) {
    auto config = loadConfigText(
        configWith(std::string("metrics = { listen = \"") + bad + "\"; };"), "t.conf");
    ASSERT_FALSE(config) << bad;
    EXPECT_NE(config.status().message().find("t.conf:3: metrics.listen: '" + std::string(bad) +
                                             "' is not ADDRESS:PORT"),
              std::string::npos)
        << config.status().message();
  }
  auto unknown = loadConfigText(configWith("metrics = { port = 9100; };"), "t.conf");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.status().message().find("metrics.port: unknown setting 'port'"),
            std::string::npos)
      << unknown.status().message();
  auto type = loadConfigText(configWith("metrics = { listen = 9100; };"), "t.conf");
  ASSERT_FALSE(type);
  EXPECT_NE(type.status().message().find("metrics.listen: must be a string"), std::string::npos)
      << type.status().message();
}

// --- ControlQueue::runFor, which every scrape goes through -------------------

TEST(ControlQueueRunFor, WithdrawnUnstartedWhenTheControlThreadIsBusy) {
  ControlQueue queue;
  bool ran = false;
  Status s = queue.runFor([&] { ran = true; }, std::chrono::milliseconds(20));
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("did not answer within 20 ms"), std::string::npos) << s.message();
  // The withdrawn task is gone: the control thread finds nothing to run.
  EXPECT_EQ(queue.runPending(std::chrono::microseconds(0)), 0u);
  EXPECT_FALSE(ran);
}

TEST(ControlQueueRunFor, RunsOnTheControlThread) {
  ControlQueue queue;
  std::atomic<bool> stop{false};
  std::thread control([&] {
    while (!stop) {
      queue.runPending(std::chrono::milliseconds(1));
    }
  });
  std::thread::id ran_on;
  Status s =
      queue.runFor([&] { ran_on = std::this_thread::get_id(); }, std::chrono::milliseconds(5000));
  std::thread::id control_id = control.get_id();
  stop = true;
  control.join();
  EXPECT_TRUE(s) << s.message();
  EXPECT_EQ(ran_on, control_id);
}

TEST(ControlQueueRunFor, ClosedQueueRefuses) {
  ControlQueue queue;
  queue.close();
  bool ran = false;
  EXPECT_FALSE(queue.runFor([&] { ran = true; }, std::chrono::milliseconds(1000)));
  EXPECT_FALSE(ran);
}

// --- the /sluice/ telemetry replies ------------------------------------------

template <class T>
T get(const dp::TelemetryDict& d, std::string_view name) {
  const dp::TelemetryDict::Value* v = d.find(name);
  if (v == nullptr || !std::holds_alternative<T>(*v)) {
    ADD_FAILURE() << "no entry " << name << " of the expected type";
    return T{};
  }
  return std::get<T>(*v);
}

using Numbers = std::vector<uint64_t>;
using Strings = std::vector<std::string>;

TEST(TelemetryReplies, Workers) {
  dp::TelemetryDict d = workersReply(knownSnapshot());
  EXPECT_EQ(get<uint64_t>(d, "workers"), 2u);
  EXPECT_EQ(get<uint64_t>(d, "elapsed_cycles"), 2000u);
  EXPECT_EQ(get<Numbers>(d, "lcore"), (Numbers{1, 2}));
  EXPECT_EQ(get<Numbers>(d, "rx_packets"), (Numbers{10, 20}));
  EXPECT_EQ(get<Numbers>(d, "tx_packets"), (Numbers{9, 18}));
  EXPECT_EQ(get<Numbers>(d, "drops"), (Numbers{1, 2}));
  EXPECT_EQ(get<Numbers>(d, "busy_cycles"), (Numbers{500, 1000}));
  EXPECT_EQ(get<Strings>(d, "busy_share"), (Strings{"0.25", "0.5"}));
}

TEST(TelemetryReplies, OneWorkerByIndex) {
  auto d = workerReply(knownSnapshot(), "1");
  ASSERT_TRUE(d) << d.status().message();
  EXPECT_EQ(get<uint64_t>(*d, "lcore"), 2u);
  EXPECT_EQ(get<uint64_t>(*d, "rx_packets"), 20u);
  EXPECT_EQ(get<uint64_t>(*d, "drop_no_route"), 2u);
  EXPECT_EQ(get<uint64_t>(*d, "drop_tx_full"), 0u);
  EXPECT_EQ(get<uint64_t>(*d, "drops"), 2u);
  EXPECT_EQ(get<std::string>(*d, "busy_share"), "0.5");
  EXPECT_LE(d->entries().size(), dp::kTelemetryMaxEntries);
  for (const char* bad : {"", "2", "x", "-1", "1x"}) {
    auto refused = workerReply(knownSnapshot(), bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.status().message(), "index: '" + std::string(bad) +
                                              "' is not a worker index (0..1); e.g. "
                                              "/sluice/worker,0");
  }
}

TEST(TelemetryReplies, ServicesAndOneService) {
  dp::TelemetryDict all = servicesReply(knownSnapshot());
  EXPECT_EQ(get<uint64_t>(all, "services"), 1u);
  EXPECT_EQ(get<Strings>(all, "service"), (Strings{"10.96.0.10:80/tcp"}));
  EXPECT_EQ(get<Numbers>(all, "in_packets"), (Numbers{7}));
  EXPECT_EQ(get<Numbers>(all, "out_bytes"), (Numbers{640}));

  auto one = serviceReply(knownSnapshot(), "10.96.0.10:80/tcp");
  ASSERT_TRUE(one) << one.status().message();
  EXPECT_EQ(get<uint64_t>(*one, "new_flows"), 4u);
  EXPECT_EQ(get<Strings>(*one, "endpoint"), (Strings{"10.244.1.5:8080", "10.244.1.6:8080"}));
  EXPECT_EQ(get<Numbers>(*one, "endpoint_counted"), (Numbers{1, 0}));
  EXPECT_EQ(get<Numbers>(*one, "endpoint_in_packets"), (Numbers{7, 0}));
  auto missing = serviceReply(knownSnapshot(), "10.96.0.10:81/tcp");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("no service '10.96.0.10:81/tcp'"), std::string::npos);
}

TEST(TelemetryReplies, ServicesListIsBounded) {
  Snapshot s;
  for (uint16_t port = 1; port <= kTelemetryServices + 10; ++port) {
    dp::ServiceTraffic svc;
    svc.key = {.vip = *IpAddr::parse("10.96.0.1"), .port = port, .proto = Proto::kUdp};
    s.traffic.push_back(svc);
  }
  s.services = s.traffic.size();
  dp::TelemetryDict d = servicesReply(s);
  EXPECT_EQ(get<uint64_t>(d, "services"), kTelemetryServices + 10);
  EXPECT_EQ(get<uint64_t>(d, "listed"), kTelemetryServices);
  EXPECT_EQ(get<Strings>(d, "service").size(), kTelemetryServices);
}

TEST(TelemetryReplies, ConntrackAndPublish) {
  dp::TelemetryDict c = conntrackReply(knownSnapshot());
  EXPECT_EQ(get<Numbers>(c, "lcore"), (Numbers{1, 2}));
  EXPECT_EQ(get<Numbers>(c, "flows"), (Numbers{3, 6}));
  EXPECT_EQ(get<Numbers>(c, "capacity"), (Numbers{1024, 1024}));

  dp::TelemetryDict p = publishReply(knownSnapshot());
  EXPECT_EQ(get<uint64_t>(p, "upserts"), 3u);
  EXPECT_EQ(get<uint64_t>(p, "latency_sum_ns"), 1'500'000u);
  Strings le = get<Strings>(p, "latency_le_us");
  ASSERT_EQ(le.size(), kPublishLatencyBoundsUs.size() + 1);
  EXPECT_EQ(le.front(), "10");
  EXPECT_EQ(le.back(), "+Inf");
  EXPECT_EQ(get<Numbers>(p, "latency_count"), (Numbers{1, 1, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4}));
}

}  // namespace
}  // namespace sluice::cp::metrics
