// Behaviours where weft must do what asyncio (3.11-3.13) does, each found by
// a conformance run against real asyncio transcripts (issue 13, S1 and
// S3-S7, and R4/R8 in their deterministic form). One worker makes the order
// of events deterministic, as asyncio's single loop is.
#include <gtest/gtest.h>

#include <pthread.h>

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
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

// ---- issue 16, item 8: results and messages a port from asyncio recognises ----

/// The message of what `fn` throws as E (empty if it throws nothing).
template <class E, class F>
std::string message_of(F&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  return {};
}

bool contains(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

TEST(AsyncioConformance, EventWaitReturnsTrue) {
  weft::test::Watchdog dog(60s);
  static_assert(
      std::is_same_v<decltype(std::declval<weft::Event::WaitAwaiter&>().await_resume()), bool>);
  auto main_task = []() -> weft::Task<void> {
    weft::Event e;
    auto setter = [](weft::Event* ev) -> weft::Task<void> {
      ev->set();
      co_return;
    };
    auto h = weft::spawn(setter(&e));
    EXPECT_TRUE(co_await e.wait());  // waited for the set()
    co_await h;
    EXPECT_TRUE(co_await e.wait());  // already set
    EXPECT_TRUE(co_await weft::wait_for(e.wait(), 1s));
  };
  weft::run(main_task(), kOneWorker);
}

TEST(AsyncioConformance, SyncErrorMessagesCarryAsyncioWording) {
  weft::test::Watchdog dog(60s);
  weft::BoundedSemaphore bs(1);
  EXPECT_TRUE(contains(message_of<weft::ValueError>([&] { bs.release(); }),
                       "BoundedSemaphore released too many times"));
  weft::Lock lock;
  EXPECT_TRUE(
      contains(message_of<weft::RuntimeError>([&] { lock.unlock(); }), "Lock is not acquired."));
  weft::Queue<int> q;
  EXPECT_TRUE(contains(message_of<weft::ValueError>([&] { q.task_done(); }),
                       "task_done() called too many times"));
  auto main_task = []() -> weft::Task<void> {
    weft::Condition cond;
    EXPECT_TRUE(contains(message_of<weft::RuntimeError>([&] { cond.notify(); }),
                         "cannot notify on un-acquired lock"));
    std::string wait_msg;
    try {
      co_await cond.wait();
    } catch (const weft::RuntimeError& e) {
      wait_msg = e.what();
    }
    EXPECT_TRUE(contains(wait_msg, "cannot wait on un-acquired lock")) << wait_msg;
    std::string empty_msg;
    try {
      (void)co_await weft::wait(std::vector<weft::JoinHandle<int>>{});
    } catch (const std::invalid_argument& e) {
      empty_msg = e.what();
    }
    EXPECT_TRUE(contains(empty_msg, "Set of Tasks/Futures is empty.")) << empty_msg;
  };
  weft::run(main_task(), kOneWorker);
}

TEST(AsyncioConformance, TimeoutRescheduleErrorsCarryAsyncioWording) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::Timeout created = weft::Timeout::after(1s);
    EXPECT_TRUE(contains(message_of<weft::InvalidStateError>([&] { created.reschedule({}); }),
                         "Cannot change state of created Timeout"));
    weft::Timeout cm = weft::Timeout::after(1ms);
    auto body = []() -> weft::Task<void> { co_await weft::sleep(10s); };
    try {
      co_await cm(body);
    } catch (const weft::TimeoutError&) {
    }
    EXPECT_TRUE(cm.expired());
    EXPECT_TRUE(contains(message_of<weft::InvalidStateError>([&] { cm.reschedule({}); }),
                         "Cannot change state of expired Timeout"));
    weft::Timeout done = weft::Timeout::after(10s);
    co_await done(weft::yield());
    EXPECT_TRUE(contains(message_of<weft::InvalidStateError>([&] { done.reschedule({}); }),
                         "Cannot change state of finished Timeout"));
  };
  weft::run(main_task(), kOneWorker);
}

TEST(AsyncioConformance, TimeoutAtAndWhen) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    const weft::Clock::time_point deadline = weft::Clock::now() + 10s;
    EXPECT_EQ(weft::Timeout::at(deadline).when(), deadline);
    EXPECT_FALSE(weft::Timeout().when().has_value());
    int r = co_await weft::timeout_at(deadline, []() -> weft::Task<int> { co_return 5; });
    EXPECT_EQ(r, 5);
  };
  weft::run(main_task(), kOneWorker);
}

std::string thread_name() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

TEST(AsyncioConformance, ThreadPoolNamesItsThreadsWithThePrefix) {
  weft::test::Watchdog dog(60s);
  weft::ThreadPool named(2, "fetch");
  weft::ThreadPool plain(1);
  auto main_task = [&]() -> weft::Task<void> {
    std::string n = co_await weft::run_in_executor(named, thread_name);
    EXPECT_TRUE(n == "fetch_0" || n == "fetch_1") << n;
    std::string p = co_await weft::run_in_executor(plain, thread_name);
    EXPECT_EQ(p, "weft-pool0");
  };
  weft::run(main_task(), kOneWorker);
  EXPECT_EQ(named.size(), 2u);
  EXPECT_THROW(weft::ThreadPool(0, "x"), std::invalid_argument);
}

}  // namespace
