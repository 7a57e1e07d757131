// ControlQueue: tasks posted from many threads run on the control thread,
// one at a time and each exactly once; close() releases every waiter.
#include "cp/control_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace sluice::cp {
namespace {

using std::chrono::milliseconds;

TEST(ControlQueueTest, RunWaitsForTheControlThread) {
  ControlQueue queue;
  std::thread::id ran_on;
  std::atomic<bool> returned{false};
  std::thread caller([&] {
    EXPECT_TRUE(queue.run([&] { ran_on = std::this_thread::get_id(); }));
    returned = true;
  });
  // Nothing runs until the control thread drains the queue.
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_FALSE(returned.load());
  size_t ran = 0;
  for (int i = 0; i < 100 && ran == 0; ++i) {
    ran = queue.runPending(milliseconds(50));
  }
  caller.join();
  EXPECT_EQ(ran, 1u);
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(ControlQueueTest, RunPendingReturnsAfterItsWaitWithNothingPosted) {
  ControlQueue queue;
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(queue.runPending(milliseconds(10)), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(9));
}

// Tasks never overlap, and each runs once: a plain counter (no atomics)
// touched only by tasks ends at the number posted.
TEST(ControlQueueTest, ManyCallersEachRunOnceInTurn) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  ControlQueue queue;
  std::atomic<bool> stop{false};
  long counter = 0;
  int inside = 0;
  int overlaps = 0;
  std::thread control([&] {
    while (!stop.load()) {
      queue.runPending(milliseconds(1));
    }
  });
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_TRUE(queue.run([&] {
          overlaps += inside++;
          ++counter;
          --inside;
        }));
      }
    });
  }
  for (std::thread& t : callers) {
    t.join();
  }
  stop = true;
  control.join();
  EXPECT_EQ(counter, kThreads * kPerThread);
  EXPECT_EQ(overlaps, 0);
}

TEST(ControlQueueTest, CloseFailsWaitersAndRefusesNewTasks) {
  ControlQueue queue;
  std::atomic<bool> ran{false};
  Status waiting;
  std::thread caller([&] { waiting = queue.run([&] { ran = true; }); });
  std::this_thread::sleep_for(milliseconds(20));
  queue.close();
  caller.join();
  EXPECT_FALSE(waiting);
  EXPECT_EQ(waiting.message(), "sluiced is shutting down");
  Status late = queue.run([&] { ran = true; });
  EXPECT_FALSE(late);
  EXPECT_EQ(queue.runPending(milliseconds(1)), 0u);
  EXPECT_FALSE(ran.load());
}

}  // namespace
}  // namespace sluice::cp
