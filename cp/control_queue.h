// Work for the control thread, posted from other threads (the admin API's
// gRPC threads, later xDS). The Publisher and the Dataplane belong to the
// control thread alone: their calls reach DPDK's RCU defer queue and the
// service hash, which sluiced does not create thread-safe. Other threads hand
// it a closure and wait; the control loop runs closures between its
// housekeeping steps, so every change is applied in one order and none
// overlaps a reload.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "dp/api/status.h"

namespace sluice::cp {

class ControlQueue {
 public:
  // Any thread but the control thread: runs `task` there and returns once it
  // has run. Refused (and `task` never run) once the queue is closed.
  Status run(std::function<void()> task);

  // run() for callers that must answer in time (metrics scrapes, telemetry):
  // when the control thread has not started `task` within `timeout`, it is
  // withdrawn, never runs, and an error comes back. A task already started
  // is waited for, so `task` never runs after this returns.
  Status runFor(std::function<void()> task, std::chrono::milliseconds timeout);

  // The control thread: waits up to `wait` for a first task, then runs every
  // task posted so far. Returns the number run.
  size_t runPending(std::chrono::microseconds wait);

  // Refuses new tasks and fails those waiting, so that callers blocked in
  // run() return and a server can shut down while the control thread stops.
  void close();

 private:
  struct Task {
    std::function<void()> fn;
    bool started = false;  // taken by runPending; can no longer be withdrawn
    bool done = false;
    bool ran = false;
  };

  // Queues `fn` and waits for it; with a timeout, withdraws it unstarted.
  Status post(std::function<void()> fn, std::optional<std::chrono::milliseconds> timeout);

  std::mutex mutex_;
  std::condition_variable posted_;    // control thread waits for tasks
  std::condition_variable finished_;  // callers wait for theirs
  std::deque<std::shared_ptr<Task>> tasks_;
  bool closed_ = false;
};

}  // namespace sluice::cp
