// Behaviours where weft must do what asyncio (3.11-3.13) does, each found by
// a conformance run against real asyncio transcripts (issue 13, S1 and
// S3-S7, and R4/R8 in their deterministic form). One worker makes the order
// of events deterministic, as asyncio's single loop is.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "weft/sync.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

constexpr weft::RunOptions kOneWorker{.workers = 1};

// ---- S1: a cancellation pending when the task finishes ends it cancelled ----

weft::Task<int> take_lock_and_return(weft::Lock* lock) {
  co_await lock->lock();  // woken with the lock; cancelled before it runs
  lock->unlock();
  co_return 7;  // no later suspension point
}

TEST(AsyncioConformance, CancelPendingAtTheEndFinishesTheTaskCancelled) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::Lock lock;
    co_await lock.lock();
    auto h = weft::spawn(take_lock_and_return(&lock));
    co_await weft::yield();   // h waits for the lock now
    lock.unlock();            // handed to h: h is woken...
    EXPECT_TRUE(h.cancel());  // ...and cancelled before it runs
    bool cancelled = co_await weft::test::ends_cancelled(h);
    EXPECT_TRUE(cancelled) << "asyncio ends such a task cancelled";
    EXPECT_TRUE(h.cancelled());
    EXPECT_EQ(h.cancelling(), 1u);
    EXPECT_FALSE(lock.locked());  // the task's own unlock ran; the lock is not lost
  };
  weft::run(main_task(), kOneWorker);
}

weft::Task<int> finish_without_suspending(weft::Event* started, weft::Event* go) {
  started->set();
  co_await go->wait();
  co_return 3;
}

TEST(AsyncioConformance, CancelAfterTheLastSuspensionEndsTheTaskCancelled) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::Event started, go;
    auto h = weft::spawn(finish_without_suspending(&started, &go));
    co_await started.wait();
    go.set();    // h is woken with the event...
    h.cancel();  // ...and a cancel arrives before it runs its last step
    EXPECT_TRUE(co_await weft::test::ends_cancelled(h));
  };
  weft::run(main_task(), kOneWorker);
}

// ---- S3: JoinHandle queries on an empty handle are a clear error ----

TEST(AsyncioConformance, EmptyJoinHandleQueriesThrowInsteadOfTerminating) {
  weft::JoinHandle<int> empty;
  EXPECT_THROW((void)empty.done(), weft::InvalidStateError);
  EXPECT_THROW((void)empty.cancelled(), weft::InvalidStateError);
  EXPECT_THROW((void)empty.cancel(), weft::InvalidStateError);
  EXPECT_THROW((void)empty.cancelling(), weft::InvalidStateError);
}

// ---- S4: wait_for(aw, 0) does not start aw ----

weft::Task<int> mark(bool* ran) {
  *ran = true;
  co_return 1;
}

weft::Task<int> slow_value() {
  co_await weft::sleep(10s);
  co_return 2;
}

TEST(AsyncioConformance, WaitForZeroTimesOutWithoutStartingTheCoroutine) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    bool ran = false;
    EXPECT_THROW(co_await weft::wait_for(mark(&ran), 0ms), weft::TimeoutError);
    EXPECT_FALSE(ran) << "asyncio never starts the coroutine";
    EXPECT_THROW(co_await weft::wait_for(mark(&ran), -5ms), weft::TimeoutError);
    EXPECT_FALSE(ran);
    weft::Event ev;
    ev.set();
    EXPECT_THROW(co_await weft::wait_for(ev.wait(), 0ms), weft::TimeoutError);
    // A task that has finished: its result.
    auto done = weft::spawn(mark(&ran));
    co_await weft::sleep(0ms);
    EXPECT_EQ(co_await weft::wait_for(done, 0ms), 1);
    // A task still running: cancelled, awaited, TimeoutError.
    auto running = weft::spawn(slow_value());
    co_await weft::yield();
    EXPECT_THROW(co_await weft::wait_for(running, 0ms), weft::TimeoutError);
    EXPECT_TRUE(running.cancelled());
  };
  weft::run(main_task(), kOneWorker);
}

// ---- S5: timeout(0) fires at the first suspension, every time ----

TEST(AsyncioConformance, TimeoutZeroFiresAtTheNextSuspensionEveryTime) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    int timeouts = 0;
    const int rounds = 200;
    for (int i = 0; i < rounds; ++i) {
      auto body = []() -> weft::Task<void> { co_await weft::yield(); };
      try {
        co_await weft::timeout(0ms, body);
      } catch (const weft::TimeoutError&) {
        ++timeouts;
      }
    }
    EXPECT_EQ(timeouts, rounds);
    // A deadline in the past, given as a time point, too.
    auto past = weft::Clock::now() - 1s;
    auto body = []() -> weft::Task<void> { co_await weft::yield(); };
    EXPECT_THROW(co_await weft::timeout_at(past, body), weft::TimeoutError);
  };
  weft::run(main_task(), kOneWorker);
}

// ---- S6: as_completed (and wait) over the same task several times ----

TEST(AsyncioConformance, AsCompletedCountsATaskOnce) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    bool ran = false;
    auto t = weft::spawn(mark(&ran));
    std::vector<weft::JoinHandle<int>> three{t, t, t};
    weft::AsCompleted<int> ac(std::move(three));
    EXPECT_EQ(ac.remaining(), 1u);
    int n = 0;
    while (ac) {
      EXPECT_EQ(co_await ac.next(), 1);
      ++n;
    }
    EXPECT_EQ(n, 1);
    std::vector<weft::JoinHandle<int>> two{t, t};
    auto result = co_await weft::wait(std::move(two));
    auto& [done, pending] = result;
    EXPECT_EQ(done.size(), 1u);
    EXPECT_TRUE(pending.empty());
  };
  weft::run(main_task(), kOneWorker);
}

// ---- S7: tasks awaiting one task resume in the order they started waiting ----

weft::Task<void> await_and_log(weft::JoinHandle<void> target, std::vector<int>* order, int me) {
  co_await target;
  order->push_back(me);
}

weft::Task<void> wait_for_event(weft::Event* e) {
  co_await e->wait();
}

TEST(AsyncioConformance, AwaitersOfOneTaskResumeInTheOrderTheyStartedWaiting) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::Event go;
    auto target = weft::spawn(wait_for_event(&go));
    std::vector<int> order;
    std::vector<weft::JoinHandle<void>> waiters;
    for (int i = 0; i < 4; ++i)
      waiters.push_back(weft::spawn(await_and_log(target, &order, i)));
    co_await weft::yield();  // each waiter starts waiting, in spawn order
    go.set();
    for (auto& w : waiters)
      co_await w;
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  };
  weft::run(main_task(), kOneWorker);
}

// ---- R8: a second cancel while the first is on its way is folded into it ----

weft::Task<void> child_sleeps() {
  co_await weft::sleep(10s);
}

weft::Task<int> parent_with_cleanup(weft::JoinHandle<void>* child_out) {
  auto child = weft::spawn(child_sleeps());
  *child_out = child;
  int cancellations = 0;
  try {
    co_await child;  // the first cancel is handed to the child
  } catch (const weft::CancelledError&) {
    ++cancellations;
  }
  try {
    co_await weft::sleep(1ms);  // cleanup that awaits: must not be interrupted
  } catch (const weft::CancelledError&) {
    ++cancellations;
  }
  co_return cancellations;
}

TEST(AsyncioConformance, ASecondCancelDuringTheHandOffIsFoldedIntoTheFirst) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::JoinHandle<void> child;
    auto parent = weft::spawn(parent_with_cleanup(&child));
    co_await weft::yield();  // the parent awaits its child now
    parent.cancel();         // handed off: the child is cancelled
    co_await weft::yield();  // the child ends cancelled and wakes the parent
    parent.cancel();         // the parent is woken, not yet resumed: folds
    EXPECT_EQ(co_await parent, 1) << "asyncio delivers one CancelledError";
    EXPECT_EQ(parent.cancelling(), 2u);
  };
  weft::run(main_task(), kOneWorker);
}

// ---- R4: cancelling a long chain of tasks that await each other ----

weft::Task<void> chain(int depth, weft::Event* bottom_reached) {
  if (depth == 0) {
    bottom_reached->set();
    co_await weft::sleep(100s);
    co_return;
  }
  auto next = weft::spawn(chain(depth - 1, bottom_reached));
  co_await next;
}

TEST(AsyncioConformance, CancellingAChainOfAHundredThousandJoinsUsesConstantStack) {
  weft::test::Watchdog dog(300s);
  auto main_task = []() -> weft::Task<void> {
    weft::Event bottom;
    auto head = weft::spawn(chain(100'000, &bottom));
    co_await bottom.wait();
    head.cancel();  // forwarded down 100,000 joins
    EXPECT_TRUE(co_await weft::test::ends_cancelled(head));
  };
  weft::run(main_task(), {.workers = 2});
}

}  // namespace
