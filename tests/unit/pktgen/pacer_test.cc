#include "tools/pktgen/pacer.h"

#include <gtest/gtest.h>

#include <random>

namespace sluice::pktgen {
namespace {

constexpr uint64_t kHz = 2'600'000'000;

TEST(Pacer, UnpacedGivesTheWholeLimit) {
  Pacer p(kHz, 0, 0, 1);
  EXPECT_EQ(p.due(0, 32), 32u);
  EXPECT_EQ(p.due(1, 7), 7u);
  EXPECT_EQ(p.nextDue(5), 5u);
}

TEST(Pacer, FollowsTheScheduleExactly) {
  // 1000 pps at 2.6 GHz: one packet every 2.6 M cycles.
  Pacer p(kHz, 1000, 100, 1000);
  EXPECT_EQ(p.due(100, 32), 0u);
  EXPECT_EQ(p.nextDue(100), 100 + 2'600'000u);
  EXPECT_EQ(p.due(100 + 2'599'999, 32), 0u);
  EXPECT_EQ(p.due(100 + 2'600'000, 32), 1u);
  p.sent(1);
  EXPECT_EQ(p.due(100 + 2'600'000, 32), 0u);
  EXPECT_EQ(p.nextDue(100 + 2'600'000), 100 + 5'200'000u);
  // Half a second later, 499 more are due, in bursts of at most 32.
  EXPECT_EQ(p.due(100 + kHz / 2, 32), 32u);
  EXPECT_EQ(p.due(100 + kHz / 2, 1000), 499u);
}

TEST(Pacer, NoDriftUnderJitteryPolling) {
  // Poll at random intervals for 2 simulated seconds at 123457 pps: the
  // total sent is exactly floor(t * pps / hz) at the end.
  const uint64_t pps = 123'457;
  Pacer p(kHz, pps, 0, 1'000'000);
  std::mt19937_64 rng(1);
  uint64_t now = 0;
  uint64_t sent = 0;
  while (now < 2 * kHz) {
    now += rng() % 50'000;
    const uint64_t n = p.due(now, 32);
    p.sent(n);
    sent += n;
  }
  const uint64_t end = now + kHz / 100;  // let the last bursts go
  for (uint64_t n; (n = p.due(end, 32)) != 0;) {
    p.sent(n);
    sent += n;
  }
  EXPECT_EQ(sent, static_cast<uint64_t>(static_cast<unsigned __int128>(end) * pps / kHz));
  EXPECT_EQ(p.skipped(), 0u);
}

TEST(Pacer, PartialSendsKeepTheirCredit) {
  Pacer p(kHz, 1'000'000, 0, 1'000);
  const uint64_t due = p.due(kHz / 1000, 64);  // 1 ms: 1000 due
  EXPECT_EQ(due, 64u);
  p.sent(10);  // the tx ring took only 10
  EXPECT_EQ(p.due(kHz / 1000, 2000), 990u);
}

TEST(Pacer, StallSkipsBeyondMaxLag) {
  Pacer p(kHz, 1'000'000, 0, 100);
  EXPECT_EQ(p.due(kHz, 1'000'000), 100u);  // 1 s of 1 Mpps due, only 100 kept
  EXPECT_EQ(p.skipped(), 999'900u);
  p.sent(100);
  EXPECT_EQ(p.due(kHz, 1'000'000), 0u);
  EXPECT_EQ(p.due(kHz + kHz / 1'000'000, 10), 1u);
}

TEST(Pacer, NoOverflowAfterHoursAtHighRates) {
  const uint64_t hour = 3600 * kHz;
  Pacer p(kHz, 100'000'000, 0, UINT64_MAX);
  EXPECT_EQ(p.due(hour, UINT64_MAX), 360'000'000'000u);
}

}  // namespace
}  // namespace sluice::pktgen
