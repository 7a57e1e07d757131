#include "tools/pktgen/window.h"

#include <cstdint>

namespace sluice::pktgen {

uint64_t Window::room(uint64_t now, uint64_t sent, uint64_t answered) {
  if (limit_ == 0) return UINT64_MAX;
  const uint64_t settled = answered + written_off_;
  // Answers to requests already written off may still come: never negative.
  const uint64_t outstanding = sent > settled ? sent - settled : 0;
  if (outstanding < limit_) return limit_ - outstanding;
  if (now - last_answer_ < stall_) return 0;
  written_off_ += outstanding;
  last_answer_ = now;  // the next stall is measured from here
  return limit_;
}

}  // namespace sluice::pktgen
