#include "tools/pktgen/progress.h"

#include <gtest/gtest.h>

namespace sluice::pktgen {
namespace {

Progress sample() {
  Progress p;
  p.second = 3;
  p.sent = 20000;
  p.received = 19990;
  p.outstanding = 12;
  p.unmatched = 1;
  // pod2 was removed: its flows moved to the others, 1 of 3 in all.
  p.endpoints = {{"10.244.0.11", 150, 0}, {"10.244.0.12", 0, 100}, {"10.244.0.13", 150, 0}};
  return p;
}

TEST(Progress, Line) {
  EXPECT_EQ(progressLine(sample()),
            "pktgen:   3s sent     20000 pps received     19990 pps outstanding 12 unmatched 1"
            " | flows 10.244.0.11 50.0% 10.244.0.12 0.0% 10.244.0.13 50.0% moved 100\n");
  Progress tcp = sample();
  tcp.tcp = true;
  tcp.completed = 6000;
  tcp.failed = 2;
  tcp.endpoints.clear();  // nothing answered yet: no shares
  EXPECT_EQ(progressLine(tcp),
            "pktgen:   3s sent     20000 pps received     19990 pps outstanding 12 unmatched 1"
            " conn/s 6000 failed 2\n");
}

TEST(Progress, Json) {
  EXPECT_EQ(
      progressJson(sample()),
      "{\"t\": 3, \"sent_pps\": 20000, \"received_pps\": 19990, \"outstanding\": 12, "
      "\"unmatched\": 1, \"flows_answered\": 300, \"moved\": 100, \"endpoints\": ["
      "{\"endpoint\": \"10.244.0.11\", \"flows\": 150, \"share\": 0.5000, \"moved_away\": 0}, "
      "{\"endpoint\": \"10.244.0.12\", \"flows\": 0, \"share\": 0.0000, \"moved_away\": 100}, "
      "{\"endpoint\": \"10.244.0.13\", \"flows\": 150, \"share\": 0.5000, \"moved_away\": 0}"
      "]}\n");
  Progress tcp;
  tcp.second = 1;
  tcp.tcp = true;
  tcp.completed = 7;
  tcp.failed = 1;
  EXPECT_EQ(
      progressJson(tcp),
      "{\"t\": 1, \"sent_pps\": 0, \"received_pps\": 0, \"outstanding\": 0, \"unmatched\": 0, "
      "\"conn_per_s\": 7, \"failed\": 1, \"flows_answered\": 0, \"moved\": 0, "
      "\"endpoints\": []}\n");
}

}  // namespace
}  // namespace sluice::pktgen
