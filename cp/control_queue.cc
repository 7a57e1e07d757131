#include "cp/control_queue.h"

#include <utility>

namespace sluice::cp {

Status ControlQueue::run(std::function<void()> fn) {
  auto task = std::make_shared<Task>();
  task->fn = std::move(fn);
  std::unique_lock lock(mutex_);
  if (closed_) {
    return Status::error("sluiced is shutting down");
  }
  tasks_.push_back(task);
  posted_.notify_one();
  finished_.wait(lock, [&] { return task->done; });
  return task->ran ? Status::ok() : Status::error("sluiced is shutting down");
}

size_t ControlQueue::runPending(std::chrono::microseconds wait) {
  std::deque<std::shared_ptr<Task>> batch;
  {
    std::unique_lock lock(mutex_);
    posted_.wait_for(lock, wait, [&] { return !tasks_.empty(); });
    batch.swap(tasks_);
  }
  // Tasks run unlocked so that they may take their time without blocking
  // the threads that post.
  for (const auto& task : batch) {
    task->fn();
    std::lock_guard lock(mutex_);
    task->ran = true;
    task->done = true;
  }
  if (!batch.empty()) {
    finished_.notify_all();
  }
  return batch.size();
}

void ControlQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (const auto& task : tasks_) {
      task->done = true;
    }
    tasks_.clear();
  }
  finished_.notify_all();
  posted_.notify_all();
}

}  // namespace sluice::cp
