// A bound on the client's requests awaiting answers, so that an unpaced run
// (--rate 0) measures the round trip without filling every queue and mbuf
// pool on the way. Requests lost for good would close the window for ever,
// so when it is full and no answer has come for `stall` clock units, what is
// outstanding is written off and the window opens again. Pure: no DPDK, any
// clock (TSC in the tool, a counter in tests).
#pragma once

#include <cstdint>

namespace sluice::pktgen {

class Window {
 public:
  // limit 0: no bound.
  Window(uint64_t limit, uint64_t stall) : limit_(limit), stall_(stall) {}

  // How many more requests may go now, given the totals sent and answered.
  uint64_t room(uint64_t now, uint64_t sent, uint64_t answered);
  // Call for every answer.
  void answered(uint64_t now) { last_answer_ = now; }

  uint64_t limit() const { return limit_; }
  uint64_t writtenOff() const { return written_off_; }

 private:
  uint64_t limit_;
  uint64_t stall_;
  uint64_t last_answer_ = 0;
  uint64_t written_off_ = 0;
};

}  // namespace sluice::pktgen
