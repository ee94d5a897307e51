// weft::LifoQueue: newest-first order, bounds, move-only items, waiting
// getters and putters, shutdown.
#include "weft/lifo_queue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

TEST(LifoQueue, NewestFirst) {
  weft::LifoQueue<int> q;
  for (int i = 0; i < 5; ++i)
    q.put_nowait(i);
  std::vector<int> got;
  while (auto v = q.try_get())
    got.push_back(*v);
  EXPECT_EQ(got, (std::vector<int>{4, 3, 2, 1, 0}));
  EXPECT_EQ(q.unfinished_tasks(), 5u);
}

TEST(LifoQueue, BoundAndMoveOnly) {
  weft::LifoQueue<std::unique_ptr<int>> q(2);
  q.put_nowait(std::make_unique<int>(1));
  q.put_nowait(std::make_unique<int>(2));
  EXPECT_THROW(q.put_nowait(std::make_unique<int>(3)), weft::QueueFull);
  EXPECT_EQ(*q.get_nowait(), 2);
  EXPECT_EQ(*q.get_nowait(), 1);
  EXPECT_THROW(q.get_nowait(), weft::QueueEmpty);
}

weft::Task<void> putter(weft::LifoQueue<int>& q, int v) {
  co_await q.put(v);
}

weft::Task<void> waiting_main() {
  weft::LifoQueue<int> q(1);
  q.put_nowait(0);
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 1; i <= 3; ++i) {
    hs.push_back(weft::spawn(putter(q, i)));
    co_await weft::yield();  // one worker: each putter waits before the next
  }
  // Each get frees the room for the oldest waiting putter, whose item is then
  // the newest one in the queue.
  std::vector<int> got;
  for (int i = 0; i < 4; ++i) {
    int v = co_await q.get();
    got.push_back(v);
  }
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
  for (auto& h : hs)
    co_await h;
  q.shutdown();
  bool refused = false;
  try {
    (void)co_await q.get();
  } catch (const weft::QueueShutDown&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
}

TEST(LifoQueue, WaitingPuttersInFifoOrder) {
  weft::test::Watchdog dog(60s);
  weft::run(waiting_main(), {.workers = 1});
}

}  // namespace
