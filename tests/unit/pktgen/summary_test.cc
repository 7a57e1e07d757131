#include "tools/pktgen/summary.h"

#include <gtest/gtest.h>

namespace sluice::pktgen {
namespace {

TEST(Summary, Json) {
  ClientReport r;
  r.duration_s = 2;
  r.offered_pps = 1000;
  r.flows = 4;
  r.sent = 2000;
  r.received = 1990;
  r.flows_answered = 4;
  // Below 128 ns the histogram is exact: 1..99 ns.
  for (uint64_t ns = 1; ns <= 99; ++ns) r.rtt_ns.record(ns);
  r.flows_moved = 1;
  r.window = 64;
  r.written_off = 3;
  r.endpoints.push_back({1, IpAddr::parse("10.80.0.11"), 3, 1500, 0, 1});
  r.endpoints.push_back({1, std::nullopt, 1, 490, 1, 0});
  r.pod = PodTotals{2000, 1990, 2, 5, 10};
  const std::string expected = R"({
  "duration_s": 2.000,
  "offered_pps": 1000,
  "flows": 4,
  "sent": 2000,
  "received": 1990,
  "lost": 10,
  "loss_ratio": 0.005000,
  "unmatched": 0,
  "skipped": 0,
  "window": 64,
  "written_off": 3,
  "sent_pps": 1000.0,
  "received_pps": 995.0,
  "rtt_us": {"p50": 0.050, "p99": 0.099, "p999": 0.099, "min": 0.001, "max": 0.099, "mean": 0.050},
  "flows_answered": 4,
  "flows_moved": 1,
  "endpoints": [
    {"pod": 1, "address": "10.80.0.11", "flows": 3, "share": 0.7500, "replies": 1500, "moved_away": 0, "moved_in": 1},
    {"pod": 1, "address": null, "flows": 1, "share": 0.2500, "replies": 490, "moved_away": 1, "moved_in": 0}
  ],
  "pod": {"received": 2000, "answered": 1990, "arp": 2, "ignored": 5, "tx_failed": 10, "tcp": 0, "tcp_quiet": 0, "rst": 0, "nd": 0}
}
)";
  EXPECT_EQ(toJson(r), expected);
}

// The process's figures close the report, when the caller measured them.
TEST(Summary, ProcessFigures) {
  ClientReport r;
  EXPECT_EQ(toJson(r).find("\"process\""), std::string::npos);
  r.process = ProcessFigures{460000, 455000, 0.25, 1.5};
  const std::string j = toJson(r);
  const std::string expected =
      "\"process\": {\"vmhwm_kb\": 460000, \"vmrss_kb\": 455000, \"flows_built_s\": 0.250, "
      "\"first_packet_s\": 1.500}\n}\n";
  ASSERT_GE(j.size(), expected.size());
  EXPECT_EQ(j.substr(j.size() - expected.size()), expected) << j;
}

TEST(Summary, EmptyRun) {
  const std::string j = toJson(ClientReport{});
  EXPECT_NE(j.find("\"lost\": 0,"), std::string::npos);
  EXPECT_NE(j.find("\"endpoints\": []"), std::string::npos);
  EXPECT_EQ(j.find("\"pod\""), std::string::npos);  // no in-process pod
  EXPECT_EQ(j.back(), '\n');
}

TEST(Summary, PodJson) {
  EXPECT_EQ(toJson(PodTotals{7, 5, 1, 1, 0, 3, 2, 1, 4}),
            "{\"received\": 7, \"answered\": 5, \"arp\": 1, \"ignored\": 1, \"tx_failed\": 0, "
            "\"tcp\": 3, \"tcp_quiet\": 2, \"rst\": 1, \"nd\": 4}\n");
}

TEST(Summary, TcpJson) {
  ClientReport r;
  r.duration_s = 2;
  r.sent = 30;
  r.received = 29;
  TcpReport t;
  t.connect_mode = true;
  t.connects = 11;
  t.established = 10;
  t.completed = 9;
  t.failed = 1;
  t.reset = 0;
  t.stale = 2;
  t.unfinished = 1;
  t.segments_sent = 40;
  t.segments_received = 29;
  for (uint64_t ns = 1000; ns <= 99'000; ns += 1000) t.connect_ns.record(ns);
  r.tcp = t;
  const std::string j = toJson(r);
  const std::string expected =
      "  \"tcp\": {\"mode\": \"connect\", \"connects\": 11, \"established\": 10, "
      "\"completed\": 9, \"failed\": 1, \"reset\": 0, \"stale\": 2, \"unfinished\": 1, "
      "\"segments_sent\": 40, \"segments_received\": 29, \"connections_per_s\": 4.5, "
      "\"connect_us\": {\"p50\": ";
  const size_t at = j.find("  \"tcp\"");
  ASSERT_NE(at, std::string::npos) << j;
  EXPECT_EQ(j.substr(at, expected.size()), expected);
  EXPECT_NE(j.find("\"min\": 1.000", at), std::string::npos) << j;
  EXPECT_EQ(j.find("\"tcp\"", at + 4), std::string::npos);  // once
  EXPECT_EQ(j.substr(j.size() - 5), "}}\n}\n");
}

}  // namespace
}  // namespace sluice::pktgen
