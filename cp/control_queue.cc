#include "cp/control_queue.h"

#include <string>
#include <utility>

namespace sluice::cp {

Status ControlQueue::run(std::function<void()> fn) {
  return post(std::move(fn), std::nullopt);
}

Status ControlQueue::runFor(std::function<void()> fn, std::chrono::milliseconds timeout) {
  return post(std::move(fn), timeout);
}

Status ControlQueue::post(std::function<void()> fn,
                          std::optional<std::chrono::milliseconds> timeout) {
  auto task = std::make_shared<Task>();
  task->fn = std::move(fn);
  std::unique_lock lock(mutex_);
  if (closed_) {
    return Status::error("sluiced is shutting down");
  }
  tasks_.push_back(task);
  posted_.notify_one();
  if (timeout && !finished_.wait_for(lock, *timeout, [&] { return task->done || task->started; })) {
    std::erase(tasks_, task);
    return Status::error("the control thread did not answer within " +
                         std::to_string(timeout->count()) + " ms");
  }
  finished_.wait(lock, [&] { return task->done; });
  return task->ran ? Status::ok() : Status::error("sluiced is shutting down");
}

size_t ControlQueue::runPending(std::chrono::microseconds wait) {
  std::deque<std::shared_ptr<Task>> batch;
  {
    std::unique_lock lock(mutex_);
    posted_.wait_for(lock, wait, [&] { return !tasks_.empty(); });
    batch.swap(tasks_);
    for (const auto& task : batch) {
      task->started = true;
    }
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
