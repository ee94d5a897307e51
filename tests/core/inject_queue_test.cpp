// The runtime's inject queue: a task that cannot be queued (out of memory)
// must not be lost silently (R10: the failed enqueue was counted, so the task
// was lost and workers saw a phantom item forever). weft terminates with a
// message instead; the fault is injected through the queue's allocator hook.
#include <gtest/gtest.h>

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

}  // namespace
