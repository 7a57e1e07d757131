#include "dp/flow_scan.h"

#include <cstring>
#include <string>

namespace sluice::dp {
namespace {

bool sameIp(const IpAddr& a, const uint8_t* bytes) {
  return std::memcmp(a.bytes.data(), bytes, a.size()) == 0;
}

uint16_t hostPort(uint16_t be) {
  return static_cast<uint16_t>((be >> 8) | (be << 8));
}

}  // namespace

FlowScan::FlowScan(uint32_t max_results)
    : room_(max_results), results_(std::make_unique<Flow[]>(max_results)) {}

bool FlowScan::matches(const Flow& f, const FlowFilter& filter) {
  const uint8_t family = f.orig.family;
  auto familyOf = [](const IpAddr& a) { return a.isV4() ? 4 : 6; };
  if (filter.proto && static_cast<uint8_t>(*filter.proto) != f.orig.proto) return false;
  if (filter.port && *filter.port != hostPort(f.orig.dport)) return false;
  if (filter.vip && (familyOf(*filter.vip) != family || !sameIp(*filter.vip, f.orig.dst))) {
    return false;
  }
  if (filter.client &&
      (familyOf(*filter.client) != family || !sameIp(*filter.client, f.orig.src))) {
    return false;
  }
  if (filter.endpoint &&
      (familyOf(*filter.endpoint) != family || !sameIp(*filter.endpoint, f.reply.src))) {
    return false;
  }
  return true;
}

Status FlowScan::start(const FlowFilter& filter, uint32_t limit) {
  if (limit == 0 || limit > room_) {
    return Status::error("limit " + std::to_string(limit) + " is not in 1.." +
                         std::to_string(room_));
  }
  uint32_t s = state_.load(std::memory_order_acquire);
  if (s != kIdle && s != kDone) {
    return Status::error("a previous flow listing is still being given up by its worker");
  }
  filter_ = filter;
  limit_ = limit;
  cursor_ = 0;
  count_ = 0;
  truncated_ = false;
  state_.store(kRequested, std::memory_order_release);
  return Status::ok();
}

bool FlowScan::cancel() {
  uint32_t expected = kRequested;
  if (state_.compare_exchange_strong(expected, kCancelled, std::memory_order_acq_rel)) {
    return false;
  }
  return expected == kDone;
}

void FlowScan::step(const Conntrack& ct, uint32_t budget) {
  uint32_t s = state_.load(std::memory_order_acquire);
  if (s == kCancelled) {
    state_.store(kIdle, std::memory_order_release);
    return;
  }
  if (s != kRequested) return;
  cursor_ = ct.forEachFrom(cursor_, budget, [&](const Flow& f) {
    if (truncated_ || !matches(f, filter_)) return;
    if (count_ == limit_) {
      truncated_ = true;
      return;
    }
    results_[count_++] = f;
  });
  if (truncated_ || cursor_ >= ct.capacity()) state_.store(kDone, std::memory_order_release);
}

}  // namespace sluice::dp
