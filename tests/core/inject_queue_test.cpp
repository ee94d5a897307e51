// The runtime's inject queue: a task that cannot be queued (out of memory)
// must not be lost silently (R10: the failed enqueue was counted, so the task
// was lost and workers saw a phantom item forever). weft terminates with a
// message instead; the fault is injected through the queue's allocator hook.
#include <gtest/gtest.h>

#include <cstdint>

#include "scheduler/inject_queue.hpp"

namespace {

using weft::detail::InjectQueue;
using weft::detail::TaskHeader;

TEST(InjectQueue, PushThenPopInOrder) {
  InjectQueue q;
  auto* a = reinterpret_cast<TaskHeader*>(0x1000);
  auto* b = reinterpret_cast<TaskHeader*>(0x2000);
  q.push(a);
  q.push(b);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.pop(), a);
  EXPECT_EQ(q.pop(), b);
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_TRUE(q.empty());
}

TEST(InjectQueueDeathTest, OutOfMemoryTerminatesWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        InjectQueue q;
        weft::detail::inject_queue_failing_allocations.store(1'000'000);
        q.push(reinterpret_cast<TaskHeader*>(0x1000));  // a new producer needs memory
      },
      "out of memory queuing a task");
}

TEST(InjectQueue, PushFromWorkerKeepsEachWorkersOrder) {
  InjectQueue q;
  q.add_worker_producers(2);
  auto item = [](std::uintptr_t worker, std::uintptr_t i) {
    return reinterpret_cast<TaskHeader*>((worker << 20) | ((i + 1) << 4));
  };
  constexpr std::uintptr_t kEach = 3000;  // past the initial block pool: new blocks
  for (std::uintptr_t i = 0; i < kEach; ++i) {
    q.push_from_worker(0, item(0, i));
    q.push_from_worker(1, item(1, i));
    if (i % 7 == 0) q.push(item(2, i / 7));  // a plain thread's push, in between
  }
  std::uintptr_t next[3] = {0, 0, 0};
  std::size_t popped = 0;
  while (TaskHeader* t = q.pop()) {
    auto v = reinterpret_cast<std::uintptr_t>(t);
    std::uintptr_t w = v >> 20, i = ((v & 0xfffff) >> 4) - 1;
    ASSERT_LT(w, 3u);
    EXPECT_EQ(i, next[w]) << "worker " << w;  // FIFO per producer
    next[w] = i + 1;
    ++popped;
  }
  EXPECT_EQ(next[0], kEach);
  EXPECT_EQ(next[1], kEach);
  EXPECT_EQ(next[2], (kEach + 6) / 7);
  EXPECT_EQ(popped, 2 * kEach + (kEach + 6) / 7);
  EXPECT_TRUE(q.empty());
}

TEST(InjectQueue, AWorkerTokenThatCouldNotBeAllocatedFallsBackToPlainPushes) {
  InjectQueue q;
  weft::detail::inject_queue_failing_allocations.store(1'000'000);
  q.add_worker_producers(1);  // the token's producer cannot be allocated
  weft::detail::inject_queue_failing_allocations.store(0);
  auto* a = reinterpret_cast<TaskHeader*>(0x1000);
  q.push_from_worker(0, a);
  EXPECT_EQ(q.pop(), a);
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(InjectQueueDeathTest, OutOfMemoryOnAWorkersPushTerminatesWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        InjectQueue q;
        q.add_worker_producers(1);
        weft::detail::inject_queue_failing_allocations.store(1'000'000);
        for (std::uintptr_t i = 1; i < 100'000; ++i)  // past the initial block pool
          q.push_from_worker(0, reinterpret_cast<TaskHeader*>(i << 4));
      },
      "out of memory queuing a task");
}

}  // namespace
