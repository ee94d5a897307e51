// weft::Semaphore and BoundedSemaphore: the seed's Semaphore example, the
// asyncio API and its errors, FIFO hand-off, cancellation and timeouts of
// waiting acquire() calls, plain threads.
#include "weft/semaphore.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

// ---- the seed's Semaphore example: 10 tasks, at most 3 at a time (2 s -> 20 ms) ----

struct Concurrency {
  std::atomic<int> now{0};
  std::atomic<int> max{0};
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
};

weft::Task<void> limited_task(weft::Semaphore& semaphore, Concurrency& c) {
  auto permit = co_await semaphore.scoped();
  c.started++;  // print(f"{name} 開始")
  int n = ++c.now;
  int m = c.max.load();
  while (n > m && !c.max.compare_exchange_weak(m, n)) {
  }
  co_await weft::sleep(20ms);
  --c.now;
  c.finished++;  // print(f"{name} 完成")
}

weft::Task<void> seed_semaphore_main(weft::Semaphore& semaphore, Concurrency& c) {
  std::vector<weft::JoinHandle<void>> tasks;
  for (int i = 0; i < 10; ++i)
    tasks.push_back(weft::spawn(limited_task(semaphore, c)));
  for (auto& t : tasks)
    co_await t;
}

TEST(Semaphore, SeedExample) {
  weft::test::Watchdog dog(60s);
  weft::Semaphore semaphore(3);
  Concurrency c;
  weft::run(seed_semaphore_main(semaphore, c), {.workers = 2});
  EXPECT_EQ(c.started.load(), 10);
  EXPECT_EQ(c.finished.load(), 10);
  EXPECT_LE(c.max.load(), 3);
  EXPECT_GE(c.max.load(), 1);
  EXPECT_EQ(semaphore.value(), 3);  // every permit came back
}

// ---- API and errors ----

TEST(Semaphore, NegativeValueThrows) {
  EXPECT_THROW(weft::Semaphore(-1), weft::ValueError);
  EXPECT_THROW(weft::BoundedSemaphore(-5), weft::ValueError);
  try {
    weft::Semaphore s(-2);
    FAIL();
  } catch (const weft::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find(">= 0"), std::string::npos);
  }
}

TEST(Semaphore, TryAcquireReleaseLocked) {
  weft::Semaphore s(2);
  EXPECT_FALSE(s.locked());
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.locked());
  EXPECT_FALSE(s.try_acquire());
  EXPECT_EQ(s.value(), 0);
  s.release();
  EXPECT_EQ(s.value(), 1);
  s.release();
  s.release();  // a plain Semaphore may go above its initial value (asyncio)
  EXPECT_EQ(s.value(), 3);
  weft::Semaphore zero(0);
  EXPECT_TRUE(zero.locked());
  EXPECT_FALSE(zero.try_acquire());
}

TEST(BoundedSemaphore, ReleasingTooOftenThrowsAndChangesNothing) {
  weft::BoundedSemaphore s(2);
  EXPECT_THROW(s.release(), weft::ValueError);
  EXPECT_EQ(s.value(), 2);
  EXPECT_TRUE(s.try_acquire());
  s.release();
  EXPECT_THROW(s.release(), weft::ValueError);
  EXPECT_EQ(s.value(), 2);
  weft::Semaphore& base = s;  // the bound holds through the base class too
  EXPECT_THROW(base.release(), weft::ValueError);
}

weft::Task<void> guard_main(weft::BoundedSemaphore& s) {
  {
    auto g1 = co_await s.scoped();
    auto g2 = co_await s.scoped();
    EXPECT_EQ(s.value(), 0);
    EXPECT_TRUE(s.locked());
    g1.release();
    EXPECT_EQ(s.value(), 1);
  }
  EXPECT_EQ(s.value(), 2);
  co_await s.acquire();
  s.release();
}

TEST(BoundedSemaphore, GuardsReleaseOnce) {
  weft::test::Watchdog dog(60s);
  weft::BoundedSemaphore s(2);
  weft::run(guard_main(s), {.workers = 1});
  EXPECT_EQ(s.value(), 2);
}

// ---- FIFO hand-off ----

weft::Task<void> acquire_and_record(weft::Semaphore& s, std::vector<int>& order, int id) {
  co_await s.acquire();
  order.push_back(id);  // one worker: no data race
}

weft::Task<void> fifo_main(weft::Semaphore& s, std::vector<int>& order) {
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < 5; ++i) {
    hs.push_back(weft::spawn(acquire_and_record(s, order, i)));
    co_await weft::yield();  // each waits before the next starts
  }
  EXPECT_TRUE(s.locked());
  for (int i = 0; i < 5; ++i) {
    s.release();
    EXPECT_FALSE(s.try_acquire());  // handed to the first waiter, not up for grabs
    co_await weft::yield();         // one worker: the granted waiter runs now
    EXPECT_EQ(order.size(), static_cast<std::size_t>(i + 1));
  }
  for (auto& h : hs)
    co_await h;
  EXPECT_EQ(s.value(), 0);
}

TEST(Semaphore, WaitersAreServedInFifoOrder) {
  weft::test::Watchdog dog(60s);
  weft::Semaphore s(0);
  std::vector<int> order;
  weft::run(fifo_main(s, order), {.workers = 1});
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

// Released in one go, without a yield between: the waiters still resume in
// the order they waited (at every offset against the worker's 61-step
// maintenance turn, which once ran the run queue ahead of the LIFO slot).
weft::Task<void> batch_fifo_main(int n) {
  weft::Semaphore s(0);
  std::vector<int> order;
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < n; ++i)
    hs.push_back(weft::spawn(acquire_and_record(s, order, i)));
  co_await weft::yield();  // one worker: each has reached acquire() before we go on
  for (int i = 0; i < n; ++i)
    s.release();
  for (auto& h : hs)
    co_await h;
  EXPECT_EQ(order, weft::test::first_n(n));
}

TEST(Semaphore, WaitersReleasedTogetherResumeInFifoOrder) {
  weft::test::Watchdog dog(60s);
  for (int n = 1; n <= weft::test::kWakeOrderSweep; ++n)
    weft::run(batch_fifo_main(n), {.workers = 1});
}

// ---- cancellation and timeouts ----

weft::Task<void> waiting_acquire(weft::Semaphore& s, std::atomic<int>& state) {
  state = 1;
  co_await s.acquire();
  state = 3;
}

weft::Task<void> cancel_main(weft::Semaphore& s) {
  std::atomic<int> state{0};
  auto h = weft::spawn(waiting_acquire(s, state));
  while (state.load() != 1)
    co_await weft::yield();
  co_await weft::sleep(2ms);
  h.cancel();
  bool cancelled = co_await weft::test::ends_cancelled(h);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(state.load(), 1);
  // The permit released now is not lost on the withdrawn waiter.
  s.release();
  EXPECT_EQ(s.value(), 1);
  EXPECT_TRUE(s.try_acquire());
  // A timed-out acquire leaves no trace either.
  bool timed_out = false;
  try {
    co_await weft::wait_for(s.acquire(), 10ms);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  s.release();
  co_await weft::wait_for(s.acquire(), 10s);
  EXPECT_EQ(s.value(), 0);
}

TEST(Semaphore, CancelledAndTimedOutWaitersLeaveNoTrace) {
  weft::test::Watchdog dog(60s);
  for (unsigned w : {1u, 2u}) {
    weft::Semaphore s(0);
    weft::run(cancel_main(s), {.workers = w});
    EXPECT_EQ(s.value(), 0);
  }
}

// ---- plain threads ----

weft::Task<int> acquire_in_task(weft::Semaphore& s, int n) {
  for (int i = 0; i < n; ++i)
    co_await s.acquire();
  co_return n;
}

TEST(Semaphore, PlainThreadsReleaseToTasks) {
  weft::test::Watchdog dog(60s);
  weft::Semaphore s(0);
  weft::Runtime rt({.workers = 2});
  auto h = rt.spawn(acquire_in_task(s, 1000));
  std::thread t1([&] {
    for (int i = 0; i < 500; ++i)
      s.release();
  });
  std::thread t2([&] {
    for (int i = 0; i < 500; ++i)
      s.release();
  });
  t1.join();
  t2.join();
  auto join = [](weft::JoinHandle<int> h) -> weft::Task<int> { co_return co_await h; };
  EXPECT_EQ(rt.block_on(join(h)), 1000);
  EXPECT_EQ(s.value(), 0);
}

}  // namespace
