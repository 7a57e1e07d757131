// Rate pacing against an absolute schedule, in clock cycles (TSC in the
// tool, any counter in tests). After t cycles, floor(t * pps / hz) packets are
// due, so rounding never accumulates however the sender's loop is timed. A
// sender that falls more than `max_lag` packets behind (a stall, a full tx
// ring) forgets the excess and counts it as skipped, so a stall is not
// followed by a line-rate burst. Pure: no DPDK.
#pragma once

#include <cstdint>

namespace sluice::pktgen {

class Pacer {
 public:
  // pps 0: unpaced; every call may send its whole limit. max_lag is at least 1.
  Pacer(uint64_t hz, uint64_t pps, uint64_t start, uint64_t max_lag);

  // How many packets may go now, at most `limit`. Call sent() with the number
  // that actually went.
  uint64_t due(uint64_t now, uint64_t limit);
  void sent(uint64_t n) { accounted_ += n; }

  // The clock value at which the next packet falls due (now for unpaced).
  uint64_t nextDue(uint64_t now) const;
  uint64_t skipped() const { return skipped_; }

 private:
  uint64_t scheduled(uint64_t now) const;  // packets due since start

  uint64_t hz_;
  uint64_t pps_;
  uint64_t start_;
  uint64_t max_lag_;
  uint64_t accounted_ = 0;  // sent plus skipped
  uint64_t skipped_ = 0;
};

}  // namespace sluice::pktgen
