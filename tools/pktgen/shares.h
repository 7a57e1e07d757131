// Which endpoint each flow was answered from, and what moved: per flow its
// endpoint (by the latest answer) and whether it ever changed; per endpoint
// flows now, answers, and moves away from and onto it. Pure: no DPDK, so the
// accounting the demo and benchmarks quote is unit-tested.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::pktgen {

class FlowShares {
 public:
  static constexpr uint16_t kNone = UINT16_MAX;

  explicit FlowShares(size_t flows) : endpoint_of_(flows, kNone), moved_(flows, 0) {}

  // A new endpoint index (0, 1, ...); at most kNone of them.
  uint16_t addEndpoint();
  size_t endpoints() const { return counts_.size(); }

  // An answer for `flow` from endpoint `e`. Returns the endpoint the flow
  // left (kNone when it did not move).
  uint16_t answer(uint32_t flow, uint16_t e);

  uint16_t endpointOf(uint32_t flow) const { return endpoint_of_[flow]; }
  uint64_t flowsAt(uint16_t e) const { return counts_[e].flows; }
  uint64_t repliesFrom(uint16_t e) const { return counts_[e].replies; }
  uint64_t movedAway(uint16_t e) const { return counts_[e].moved_away; }
  uint64_t movedIn(uint16_t e) const { return counts_[e].moved_in; }
  uint64_t flowsAnswered() const { return answered_; }
  // Flows answered from more than one endpoint.
  uint64_t flowsMoved() const { return moved_flows_; }

 private:
  struct Counts {
    uint64_t flows = 0;
    uint64_t replies = 0;
    uint64_t moved_away = 0;
    uint64_t moved_in = 0;
  };
  std::vector<uint16_t> endpoint_of_;
  std::vector<uint8_t> moved_;
  std::vector<Counts> counts_;
  uint64_t answered_ = 0;
  uint64_t moved_flows_ = 0;
};

}  // namespace sluice::pktgen
