#include "tools/pktgen/pacer.h"

#include <algorithm>

namespace sluice::pktgen {

using u128 = unsigned __int128;

Pacer::Pacer(uint64_t hz, uint64_t pps, uint64_t start, uint64_t max_lag)
    : hz_(hz == 0 ? 1 : hz), pps_(pps), start_(start), max_lag_(max_lag == 0 ? 1 : max_lag) {}

uint64_t Pacer::scheduled(uint64_t now) const {
  if (now <= start_) return 0;
  // 128 bits: an hour of a 3 GHz clock times 100 Mpps overflows 64.
  return static_cast<uint64_t>(static_cast<u128>(now - start_) * pps_ / hz_);
}

uint64_t Pacer::due(uint64_t now, uint64_t limit) {
  if (pps_ == 0) return limit;
  const uint64_t total = scheduled(now);
  if (total <= accounted_) return 0;
  uint64_t owed = total - accounted_;
  if (owed > max_lag_) {
    skipped_ += owed - max_lag_;
    accounted_ += owed - max_lag_;
    owed = max_lag_;
  }
  return std::min(owed, limit);
}

uint64_t Pacer::nextDue(uint64_t now) const {
  if (pps_ == 0) return now;
  // The smallest t with floor(t * pps / hz) >= accounted + 1.
  const u128 cycles = (static_cast<u128>(accounted_ + 1) * hz_ + pps_ - 1) / pps_;
  const uint64_t at = start_ + static_cast<uint64_t>(cycles);
  return std::max(at, now);
}

}  // namespace sluice::pktgen
