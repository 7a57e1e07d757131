// A bounded, incremental walk of one worker's conntrack for the admin API's
// flow listing. The control plane posts a filter; the worker, which alone
// may read its table, examines a slice of it per poll iteration and copies
// the matching flows into a buffer allocated up front, then says it is
// done. No copy of the whole table is made and no iteration runs long.
//
//   control plane              worker
//   start()  idle|done -> requested
//                               step() ... requested -> done
//   cancel() requested -> cancelled
//                               (next poll) cancelled -> idle
//
// Pure C++: no DPDK.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "dp/api/dataplane.h"
#include "dp/api/status.h"
#include "dp/conntrack.h"

namespace sluice::dp {

class FlowScan {
 public:
  // Room for `max_results` flows (kMaxFlowListLimit in sluiced).
  explicit FlowScan(uint32_t max_results);

  // Control plane. Starts a walk for up to `limit` matches; an error when a
  // cancelled walk has not yet been given up by its worker, or limit is 0
  // or above the room.
  Status start(const FlowFilter& filter, uint32_t limit);
  bool done() const { return state_.load(std::memory_order_acquire) == kDone; }
  // Gives up a walk that did not finish in time; the worker lets go of the
  // buffer on its next poll. Returns true if the walk had finished after all.
  bool cancel();
  // Forgets any walk; only while the worker is not running.
  void abandon() { state_.store(kIdle, std::memory_order_release); }
  // After done(): the matches, and whether more matched than the limit.
  const Flow* results() const { return results_.get(); }
  uint32_t resultCount() const { return count_; }
  bool truncated() const { return truncated_; }

  // Worker: one relaxed check per poll iteration...
  bool pending() const {
    uint32_t s = state_.load(std::memory_order_relaxed);
    return s == kRequested || s == kCancelled;
  }
  // ...and, when pending, a step over at most `budget` table slots.
  void step(const Conntrack& ct, uint32_t budget);

  // Whether a flow matches (exposed for tests).
  static bool matches(const Flow& f, const FlowFilter& filter);

 private:
  enum : uint32_t { kIdle, kRequested, kDone, kCancelled };
  std::atomic<uint32_t> state_{kIdle};
  FlowFilter filter_;
  uint32_t limit_ = 0;
  uint32_t cursor_ = 0;
  uint32_t count_ = 0;
  bool truncated_ = false;
  uint32_t room_;
  std::unique_ptr<Flow[]> results_;
};

}  // namespace sluice::dp
