// weft::Condition: the seed's Condition example, the lock rule, notify counts,
// wait_for(predicate), re-acquiring the lock on cancellation and timeouts,
// passing a notification on.
#include "weft/condition.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <vector>

#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

// ---- the seed's Condition example (0.5 s scaled to 5 ms) ----

struct Shared {
  std::deque<int> queue;      // guarded by the condition's lock
  std::vector<int> consumed;  // guarded by the condition's lock
};

weft::Task<void> producer(weft::Condition& condition, Shared& s) {
  for (int i = 0; i < 5; ++i) {
    {
      auto guard = co_await condition.scoped();  // async with condition:
      s.queue.push_back(i);                      // print(f"生產: {i}")
      condition.notify();
    }
    co_await weft::sleep(5ms);
  }
}

weft::Task<void> consumer(weft::Condition& condition, Shared& s) {
  for (;;) {
    auto guard = co_await condition.scoped();
    while (s.queue.empty())
      co_await condition.wait();
    EXPECT_TRUE(condition.underlying_lock().held_by_current());
    int item = s.queue.front();  // print(f"{name} 消費: {item}")
    s.queue.pop_front();
    s.consumed.push_back(item);
  }
}

weft::Task<void> seed_condition_main(weft::Condition& condition, Shared& s) {
  std::vector<weft::JoinHandle<void>> consumers;
  for (int i = 0; i < 2; ++i)
    consumers.push_back(weft::spawn(consumer(condition, s)));
  co_await producer(condition, s);
  // The seed's last sleep(0.5) lets the consumers finish; wait for it explicitly
  // so that a slow machine cannot make the test depend on timing.
  for (;;) {
    std::size_t n;
    {
      auto guard = co_await condition.scoped();
      n = s.consumed.size();
    }
    if (n == 5) break;
    co_await weft::sleep(1ms);
  }
  for (auto& c : consumers)
    c.cancel();  // 取消消費者
  for (auto& c : consumers) {
    bool cancelled = co_await weft::test::ends_cancelled(c);
    EXPECT_TRUE(cancelled);
  }
  EXPECT_FALSE(condition.locked());  // the cancelled waiters re-acquired and released it
}

TEST(Condition, SeedExample) {
  weft::test::Watchdog dog(60s);
  weft::Condition condition;
  Shared s;
  weft::run(seed_condition_main(condition, s), {.workers = 2});
  std::vector<int> sorted = s.consumed;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(s.consumed, sorted);  // one queue, taken in order
}

// ---- the lock rule ----

weft::Task<void> lock_rule_main(weft::Condition& c) {
  bool threw = false;
  try {
    co_await c.wait();
  } catch (const weft::RuntimeError&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
  EXPECT_THROW(c.notify(), weft::RuntimeError);
  EXPECT_THROW(c.notify_all(), weft::RuntimeError);
  // Held by someone else: still an error.
  auto other = [](weft::Condition& c) -> weft::Task<void> {
    co_await c.lock();
    co_return;  // keeps it
  };
  auto holder = weft::spawn(other(c));
  co_await holder;
  EXPECT_TRUE(c.locked());
  EXPECT_THROW(c.notify(), weft::RuntimeError);
  threw = false;
  try {
    co_await c.wait();
  } catch (const weft::RuntimeError&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
  c.unlock();  // asyncio: anyone may release
  co_await c.lock();
  c.notify();  // fine now: no waiters, a no-op
  c.unlock();
}

TEST(Condition, WaitAndNotifyRequireTheLock) {
  weft::test::Watchdog dog(60s);
  weft::Condition c;
  weft::run(lock_rule_main(c), {.workers = 2});
}

// ---- notify counts ----

weft::Task<void> wait_once(weft::Condition& c, std::atomic<int>& woken) {
  auto g = co_await c.scoped();
  co_await c.wait();
  EXPECT_TRUE(c.underlying_lock().held_by_current());
  woken++;
}

weft::Task<void> notify_counts_main() {
  weft::Condition c;
  std::atomic<int> woken{0};
  // A notify with nobody waiting is a no-op: later waiters do not see it.
  co_await c.lock();
  c.notify(3);
  c.unlock();
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < 5; ++i) {
    hs.push_back(weft::spawn(wait_once(c, woken)));
    co_await weft::yield();  // one worker: each is waiting before the next starts
  }
  co_await weft::sleep(2ms);
  EXPECT_EQ(woken.load(), 0);
  co_await c.lock();
  c.notify(1);
  c.unlock();
  co_await weft::sleep(2ms);
  EXPECT_EQ(woken.load(), 1);
  co_await c.lock();
  c.notify(2);
  c.unlock();
  co_await weft::sleep(2ms);
  EXPECT_EQ(woken.load(), 3);
  co_await c.lock();
  c.notify_all();
  c.unlock();
  for (auto& h : hs)
    co_await h;
  EXPECT_EQ(woken.load(), 5);
}

TEST(Condition, NotifyWakesExactlyN) {
  weft::test::Watchdog dog(60s);
  weft::run(notify_counts_main(), {.workers = 1});
}

weft::Task<void> wait_in_order(weft::Condition& c, std::vector<int>& order, int id) {
  auto g = co_await c.scoped();
  co_await c.wait();
  order.push_back(id);
}

weft::Task<void> fifo_main(std::vector<int>& order) {
  weft::Condition c;
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < 4; ++i) {
    hs.push_back(weft::spawn(wait_in_order(c, order, i)));
    co_await weft::yield();
  }
  for (int i = 0; i < 4; ++i) {
    co_await c.lock();
    c.notify(1);
    c.unlock();
    co_await hs[static_cast<std::size_t>(i)];  // the oldest waiter got it
  }
}

TEST(Condition, NotifyWakesTheOldestWaiterFirst) {
  weft::test::Watchdog dog(60s);
  std::vector<int> order;
  weft::run(fifo_main(order), {.workers = 1});
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

// notify_all() with every waiter queued: they wake and take the lock back in
// the order they waited, at every offset against the worker's 61-step
// maintenance turn (asyncio: FIFO wake-up, then the lock's FIFO).
weft::Task<void> notify_all_order_main(int n) {
  weft::Condition c;
  std::vector<int> order;
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < n; ++i)
    hs.push_back(weft::spawn(wait_in_order(c, order, i)));
  co_await weft::yield();  // one worker: each has reached wait() before we go on
  co_await c.lock();
  c.notify_all();
  c.unlock();
  for (auto& h : hs)
    co_await h;
  EXPECT_EQ(order, weft::test::first_n(n));
}

TEST(Condition, NotifyAllResumesWaitersInTheOrderTheyWaited) {
  weft::test::Watchdog dog(60s);
  for (int n = 1; n <= weft::test::kWakeOrderSweep; ++n)
    weft::run(notify_all_order_main(n), {.workers = 1});
}

// ---- wait_for(predicate) ----

weft::Task<int> wait_for_value(weft::Condition& c, int& value) {
  auto g = co_await c.scoped();
  int v = co_await c.wait_for([&] { return value >= 3 ? value : 0; });
  EXPECT_TRUE(c.underlying_lock().held_by_current());
  co_return v;
}

weft::Task<void> predicate_main() {
  weft::Condition c;
  int value = 0;
  auto h = weft::spawn(wait_for_value(c, value));
  for (int i = 1; i <= 4; ++i) {
    co_await weft::sleep(1ms);
    auto g = co_await c.scoped();
    value = i;
    c.notify_all();
  }
  int got = co_await h;
  EXPECT_GE(got, 3);
}

TEST(Condition, WaitForPredicateReturnsItsValue) {
  weft::test::Watchdog dog(60s);
  weft::run(predicate_main(), {.workers = 2});
}

// ---- cancellation: the lock is re-acquired before CancelledError comes out ----

weft::Task<void> cancelled_waiter(weft::Condition& c, std::atomic<int>& state) {
  auto g = co_await c.scoped();
  state = 1;
  bool cancelled = false;
  try {
    co_await c.wait();
  } catch (const weft::CancelledError&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(c.underlying_lock().held_by_current());  // asyncio's rule
  state = 2;
  throw weft::CancelledError();
}

weft::Task<void> cancel_main() {
  weft::Condition c;
  std::atomic<int> state{0};
  auto h = weft::spawn(cancelled_waiter(c, state));
  while (state.load() != 1)
    co_await weft::yield();
  co_await c.lock();  // the waiter released it inside wait()
  h.cancel();
  co_await weft::sleep(5ms);
  EXPECT_EQ(state.load(), 1);  // it cannot come out before we unlock
  c.unlock();
  bool cancelled = co_await weft::test::ends_cancelled(h);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(state.load(), 2);
  EXPECT_FALSE(c.locked());
}

TEST(Condition, CancelledWaitReacquiresTheLockFirst) {
  weft::test::Watchdog dog(60s);
  for (unsigned w : {1u, 2u})
    weft::run(cancel_main(), {.workers = w});
}

weft::Task<void> timeout_main() {
  weft::Condition c;
  auto g = co_await c.scoped();
  bool timed_out = false;
  try {
    co_await weft::wait_for(c.wait(), 5ms);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  EXPECT_TRUE(c.underlying_lock().held_by_current());
}

TEST(Condition, TimedOutWaitHoldsTheLock) {
  weft::test::Watchdog dog(60s);
  weft::run(timeout_main(), {.workers = 2});
}

// A waiter notified and then cancelled while it re-acquires the lock passes the
// notification on, so notify(1) still wakes somebody who returns normally.
weft::Task<void> notified_then_cancelled(weft::Condition& c, std::atomic<int>& state) {
  auto g = co_await c.scoped();
  state = 1;
  co_await c.wait();
  state = 3;  // unreachable: cancelled while re-acquiring
}

weft::Task<void> pass_on_main() {
  // One worker and yields make the interleaving deterministic.
  weft::Condition c;
  std::atomic<int> a_state{0};
  std::atomic<int> b_woken{0};
  auto a = weft::spawn(notified_then_cancelled(c, a_state));
  while (a_state.load() != 1)
    co_await weft::yield();
  auto b = weft::spawn(wait_once(c, b_woken));
  co_await weft::yield();  // b runs until it waits on the condition
  co_await c.lock();
  c.notify(1);             // goes to a, the oldest waiter
  co_await weft::yield();  // a wakes and queues for the lock we hold
  a.cancel();              // cancelled while re-acquiring
  c.unlock();
  bool cancelled = co_await weft::test::ends_cancelled(a);
  EXPECT_TRUE(cancelled);
  co_await b;  // b got the notification a passed on
  EXPECT_EQ(b_woken.load(), 1);
  EXPECT_EQ(a_state.load(), 1);
}

TEST(Condition, NotifiedThenCancelledPassesTheNotificationOn) {
  weft::test::Watchdog dog(60s);
  weft::run(pass_on_main(), {.workers = 1});
}

// ---- sharing a Lock ----

weft::Task<void> shared_lock_main() {
  weft::Lock lock;
  weft::Condition a(lock), b(lock);
  co_await lock.lock();
  a.notify();  // both see the same lock
  b.notify();
  EXPECT_TRUE(a.locked());
  EXPECT_TRUE(b.locked());
  lock.unlock();
  EXPECT_FALSE(a.locked());
}

TEST(Condition, ConditionsCanShareALock) {
  weft::test::Watchdog dog(60s);
  weft::run(shared_lock_main(), {.workers = 1});
}

}  // namespace
