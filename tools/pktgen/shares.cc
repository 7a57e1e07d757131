#include "tools/pktgen/shares.h"

namespace sluice::pktgen {

uint16_t FlowShares::addEndpoint() {
  if (counts_.size() >= kNone) return kNone;
  counts_.emplace_back();
  return static_cast<uint16_t>(counts_.size() - 1);
}

uint16_t FlowShares::answer(uint32_t flow, uint16_t e) {
  ++counts_[e].replies;
  const uint16_t before = endpoint_of_[flow];
  if (before == e) return kNone;
  endpoint_of_[flow] = e;
  ++counts_[e].flows;
  if (before == kNone) {
    ++answered_;
    return kNone;
  }
  --counts_[before].flows;
  ++counts_[before].moved_away;
  ++counts_[e].moved_in;
  if (moved_[flow] == 0) {
    moved_[flow] = 1;
    ++moved_flows_;
  }
  return before;
}

}  // namespace sluice::pktgen
