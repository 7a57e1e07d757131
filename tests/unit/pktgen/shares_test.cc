#include "tools/pktgen/shares.h"

#include <gtest/gtest.h>

namespace sluice::pktgen {
namespace {

TEST(FlowShares, CountsFlowsByTheirLatestEndpoint) {
  FlowShares s(6);
  const uint16_t a = s.addEndpoint();
  const uint16_t b = s.addEndpoint();
  const uint16_t c = s.addEndpoint();
  for (uint32_t f = 0; f < 6; f++) s.answer(f, static_cast<uint16_t>(f % 3));
  s.answer(0, a);  // a second answer from the same endpoint is not a move
  EXPECT_EQ(s.flowsAnswered(), 6u);
  EXPECT_EQ(s.flowsAt(a), 2u);
  EXPECT_EQ(s.repliesFrom(a), 3u);
  EXPECT_EQ(s.flowsMoved(), 0u);

  // Endpoint b leaves: its flows 1 and 4 move to a and c.
  EXPECT_EQ(s.answer(1, a), b);
  EXPECT_EQ(s.answer(4, c), b);
  EXPECT_EQ(s.answer(2, c), FlowShares::kNone);
  EXPECT_EQ(s.flowsAt(b), 0u);
  EXPECT_EQ(s.flowsAt(a), 3u);
  EXPECT_EQ(s.flowsAt(c), 3u);
  EXPECT_EQ(s.movedAway(b), 2u);
  EXPECT_EQ(s.movedAway(a), 0u);
  EXPECT_EQ(s.movedAway(c), 0u);
  EXPECT_EQ(s.movedIn(a), 1u);
  EXPECT_EQ(s.movedIn(c), 1u);
  EXPECT_EQ(s.flowsMoved(), 2u);
  EXPECT_EQ(s.flowsAnswered(), 6u);

  // A flow moving back counts as a move each time but as one moved flow.
  s.answer(1, b);
  EXPECT_EQ(s.movedAway(a), 1u);
  EXPECT_EQ(s.flowsMoved(), 2u);
  EXPECT_EQ(s.endpointOf(1), b);
}

TEST(FlowShares, UnansweredFlowsHaveNoEndpoint) {
  FlowShares s(3);
  s.addEndpoint();
  s.answer(2, 0);
  EXPECT_EQ(s.endpointOf(0), FlowShares::kNone);
  EXPECT_EQ(s.endpointOf(2), 0);
  EXPECT_EQ(s.flowsAnswered(), 1u);
}

}  // namespace
}  // namespace sluice::pktgen
