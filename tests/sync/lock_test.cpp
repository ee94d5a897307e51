// weft::Lock: the seed's Lock example, the asyncio API, FIFO hand-off,
// cancellation and timeouts of waiting lock() calls, plain threads.
#include "weft/lock.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

// ---- the seed's 同步原語 / Lock example (0.1 s scaled to 10 ms) ----

struct SeedLog {
  std::vector<std::string> lines;  // written only under the lock
  std::vector<int> shared_resource;
};

weft::Task<void> safe_append(weft::Lock& lock, SeedLog& log, int value) {
  auto guard = co_await lock.scoped();
  log.lines.push_back("acquired " + std::to_string(value));
  log.shared_resource.push_back(value);
  co_await weft::sleep(10ms);
  log.lines.push_back("released " + std::to_string(value));
}

weft::Task<void> seed_lock_main(weft::Lock& lock, SeedLog& log, bool start_in_order) {
  // asyncio.gather(safe_append(1), safe_append(2), safe_append(3))
  std::vector<weft::JoinHandle<void>> tasks;
  for (int v = 1; v <= 3; ++v) {
    tasks.push_back(weft::spawn(safe_append(lock, log, v)));
    // asyncio starts gathered tasks in order; weft's owner pops its deque LIFO,
    // so let each one start before spawning the next.
    if (start_in_order) co_await weft::yield();
  }
  for (auto& t : tasks)
    co_await t;
}

TEST(Lock, SeedExample) {
  weft::test::Watchdog dog(60s);
  weft::Lock lock;
  SeedLog log;
  weft::run(seed_lock_main(lock, log, false), {.workers = 2});
  // Each append is bracketed by its own acquire/release: no interleaving.
  ASSERT_EQ(log.lines.size(), 6u);
  std::vector<int> seen;
  for (std::size_t i = 0; i < 6; i += 2) {
    std::string a = log.lines[i], r = log.lines[i + 1];
    ASSERT_EQ(a.substr(0, 9), "acquired ");
    ASSERT_EQ(r, "released " + a.substr(9));
    seen.push_back(std::stoi(a.substr(9)));
  }
  EXPECT_EQ(seen, log.shared_resource);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(lock.locked());
}

// With one worker the order is deterministic, as in asyncio: first come, first served.
TEST(Lock, SeedExampleOneWorkerIsFifo) {
  weft::test::Watchdog dog(60s);
  weft::Lock lock;
  SeedLog log;
  weft::run(seed_lock_main(lock, log, true), {.workers = 1});
  EXPECT_EQ(log.lines, (std::vector<std::string>{"acquired 1", "released 1", "acquired 2",
                                                 "released 2", "acquired 3", "released 3"}));
}

// ---- API ----

TEST(Lock, IsThreeWords) {
  // lock.hpp's memory claim: the state word, the holder and the holder's queue.
  EXPECT_EQ(sizeof(weft::Lock), 3 * sizeof(void*));
  // A waiting lock(): a 3-word node and a 7-word awaiter in the frame.
  EXPECT_EQ(sizeof(weft::detail::LockWaiter), 3 * sizeof(void*));
  EXPECT_EQ(sizeof(weft::Lock::LockAwaiter), 7 * sizeof(void*));
}

TEST(Lock, TryLockUnlockLocked) {
  weft::Lock lock;
  EXPECT_FALSE(lock.locked());
  EXPECT_TRUE(lock.try_lock());
  EXPECT_TRUE(lock.locked());
  EXPECT_TRUE(lock.held_by_current());
  EXPECT_FALSE(lock.try_lock());
  lock.unlock();
  EXPECT_FALSE(lock.locked());
  EXPECT_FALSE(lock.held_by_current());
}

TEST(Lock, UnlockingAnUnlockedLockThrows) {
  weft::Lock lock;
  EXPECT_THROW(lock.unlock(), weft::RuntimeError);
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
  try {
    lock.unlock();
    FAIL() << "expected RuntimeError";
  } catch (const weft::RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("not acquired"), std::string::npos);
  }
  EXPECT_FALSE(lock.locked());
}

weft::Task<void> lock_twice_with_guard(weft::Lock& lock, bool& ok) {
  {
    auto g = co_await lock.scoped();
    EXPECT_TRUE(lock.locked());
    EXPECT_TRUE(lock.held_by_current());
    EXPECT_TRUE(g.owns_lock());
  }
  EXPECT_FALSE(lock.locked());
  co_await lock.lock();
  EXPECT_TRUE(lock.held_by_current());
  lock.unlock();
  auto g = co_await lock.scoped();
  g.unlock();
  EXPECT_FALSE(g.owns_lock());
  EXPECT_FALSE(lock.locked());
  ok = true;
}

TEST(Lock, GuardReleases) {
  weft::test::Watchdog dog(60s);
  weft::Lock lock;
  bool ok = false;
  weft::run(lock_twice_with_guard(lock, ok), {.workers = 1});
  EXPECT_TRUE(ok);
}

TEST(Lock, LockOutsideATaskThrows) {
  weft::Lock lock;
  EXPECT_TRUE(lock.try_lock());  // held: lock() would have to wait
  auto aw = lock.lock();
  EXPECT_FALSE(aw.await_ready());
  EXPECT_THROW(aw.await_suspend(std::noop_coroutine()), weft::RuntimeError);
  lock.unlock();
  EXPECT_FALSE(lock.locked());
}

// ---- FIFO hand-off ----

weft::Task<void> lock_and_record(weft::Lock& lock, std::vector<int>& order, int id) {
  co_await lock.lock();
  order.push_back(id);  // under the lock
  lock.unlock();
}

weft::Task<void> fifo_main(weft::Lock& lock, std::vector<int>& order) {
  co_await lock.lock();
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < 5; ++i) {
    hs.push_back(weft::spawn(lock_and_record(lock, order, i)));
    co_await weft::yield();  // one worker: the new task runs until it waits
  }
  EXPECT_FALSE(lock.try_lock());
  lock.unlock();
  // Handed over, not freed: a newcomer cannot barge in.
  EXPECT_FALSE(lock.try_lock());
  for (auto& h : hs)
    co_await h;
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, WaitersAreServedInFifoOrder) {
  weft::test::Watchdog dog(60s);
  weft::Lock lock;
  std::vector<int> order;
  weft::run(fifo_main(lock, order), {.workers = 1});
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

// ---- cancellation and timeouts ----

weft::Task<int> lock_expect_cancel(weft::Lock& lock, std::atomic<int>& state) {
  state = 1;
  try {
    co_await lock.lock();
  } catch (const weft::CancelledError&) {
    state = 2;
    throw;
  }
  state = 3;
  lock.unlock();
  co_return 0;
}

weft::Task<void> cancel_main(weft::Lock& lock) {
  co_await lock.lock();
  std::atomic<int> state{0};
  auto h = weft::spawn(lock_expect_cancel(lock, state));
  while (state.load() != 1)
    co_await weft::yield();
  co_await weft::sleep(2ms);  // let it reach the wait list (not needed for correctness)
  EXPECT_TRUE(h.cancel());
  bool cancelled = co_await weft::test::ends_cancelled(h);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(state.load(), 2);
  EXPECT_TRUE(lock.locked());  // still ours
  lock.unlock();
  // The withdrawn waiter left nothing behind: the lock is simply free.
  EXPECT_FALSE(lock.locked());
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

TEST(Lock, CancelledWaiterLeavesNoTrace) {
  weft::test::Watchdog dog(60s);
  weft::Lock lock;
  for (unsigned workers : {1u, 2u})
    weft::run(cancel_main(lock), {.workers = workers});
}

weft::Task<void> timeout_then_guard(weft::Lock& lock) {
  co_await lock.lock();
  bool timed_out = false;
  try {
    co_await weft::wait_for(lock.lock(), 20ms);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  lock.unlock();
  {
    auto guard = co_await weft::timeout(10s, lock.scoped());
    EXPECT_TRUE(lock.held_by_current());
  }
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, WaitForTimesOutAndLeavesNoTrace) {
  weft::test::Watchdog dog(60s);
  weft::Lock lock;
  weft::run(timeout_then_guard(lock), {.workers = 2});
  EXPECT_FALSE(lock.locked());
}

// ---- plain threads ----

weft::Task<int> lock_in_task(weft::Lock& lock, std::atomic<bool>& waiting) {
  waiting = true;
  co_await lock.lock();
  EXPECT_TRUE(lock.held_by_current());
  lock.unlock();
  co_return 7;
}

TEST(Lock, PlainThreadHandsOverToATask) {
  weft::test::Watchdog dog(60s);
  weft::Lock lock;
  ASSERT_TRUE(lock.try_lock());  // held by this plain thread
  EXPECT_TRUE(lock.held_by_current());
  weft::Runtime rt({.workers = 2});
  std::atomic<bool> waiting{false};
  auto h = rt.spawn(lock_in_task(lock, waiting));
  while (!waiting.load())
    std::this_thread::yield();
  std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(h.done());
  lock.unlock();  // hands the lock to the task (or frees it if it was not yet queued)
  auto join = [](weft::JoinHandle<int> h) -> weft::Task<int> { co_return co_await h; };
  EXPECT_EQ(rt.block_on(join(h)), 7);
  EXPECT_FALSE(lock.locked());
}

// ---- the cooperative budget ----

weft::Task<void> try_lock_once(weft::Lock& lock, const int& laps, int& took_at) {
  if (lock.try_lock()) {
    took_at = laps;  // how many lock()s the other task had completed
    lock.unlock();
  }
  co_return;
}

weft::Task<void> spend_budget_on_lock(weft::Lock& lock, int& laps, int& took_at) {
  co_await weft::yield();  // a new step: the whole budget
  // Queued now; it runs when this task first yields (one worker).
  auto other = weft::spawn(try_lock_once(lock, laps, took_at));
  for (int i = 0; i < 2 * weft::detail::kTaskBudget; ++i) {
    co_await lock.lock();  // uncontended: suspends only to yield a spent budget
    EXPECT_TRUE(lock.held_by_current());
    ++laps;
    lock.unlock();
  }
  co_await other;
}

// A task that spends its budget on lock()/unlock() yields *before* it takes
// the lock: the task that runs during that yield finds the lock free (were
// the lock taken first, every acquisition during a yield would fail or wait).
TEST(Lock, SpentBudgetYieldsBeforeTakingTheLock) {
  weft::test::Watchdog dog(60s);
  weft::Lock lock;
  int laps = 0, took_at = -1;
  weft::run(spend_budget_on_lock(lock, laps, took_at), {.workers = 1});
  EXPECT_EQ(laps, 2 * weft::detail::kTaskBudget);
  EXPECT_EQ(took_at, weft::detail::kTaskBudget);  // at the first yield, lock free
  EXPECT_FALSE(lock.locked());
}

// ---- cancellation while the lock stays held ----

// A waiter withdrawn by a plain thread's cancel() is resumed at once: its
// CancelledError arrives while the lock is still held (by this plain thread,
// which unlocks only after the task has finished).
TEST(Lock, WithdrawnWaiterEndsWhileTheLockIsHeld) {
  weft::test::Watchdog dog(60s);
  weft::Lock lock;
  ASSERT_TRUE(lock.try_lock());
  {
    weft::Runtime rt({.workers = 2});
    std::atomic<int> state{0};
    auto h = rt.spawn(lock_expect_cancel(lock, state));
    while (state.load() != 1)  // it has begun (a cancel before that ends it unstarted)
      std::this_thread::yield();
    EXPECT_TRUE(h.cancel());  // while it waits, or before: delivered at the wait
    EXPECT_TRUE(rt.block_on(weft::test::ends_cancelled(h)));
    EXPECT_EQ(state.load(), 2);
    EXPECT_TRUE(lock.locked());  // still ours
  }
  lock.unlock();
  EXPECT_FALSE(lock.locked());
}

// ---- withdrawn nodes at the Lock's end ----

weft::Task<void> lock_and_keep(weft::Lock& lock) {
  co_await lock.lock();  // returns holding it: the Lock is destroyed held
}

// Withdrawn waiters leave their nodes to the lock: in the word's stack (no
// unlock since) and in the holder's FIFO list (an unlock took the stack and
// granted the first one). A Lock destroyed held frees them all (ASan/LSan
// would report a leak).
TEST(Lock, DestroyedHeldWithWithdrawnNodesLeaksNothing) {
  weft::test::Watchdog dog(60s);
  // One worker: the tasks run in spawn order, each until it waits, so `first`
  // waits ahead of the three others.
  weft::Runtime rt({.workers = 1});
  for (bool unlock_once : {false, true}) {
    auto lock = std::make_unique<weft::Lock>();
    ASSERT_TRUE(lock->try_lock());
    std::vector<std::atomic<int>> states(3);
    std::vector<weft::JoinHandle<int>> withdrawn;
    weft::JoinHandle<void> first;
    if (unlock_once) first = rt.spawn(lock_and_keep(*lock));
    for (auto& s : states)
      withdrawn.push_back(rt.spawn(lock_expect_cancel(*lock, s)));
    for (auto& s : states)
      while (s.load() != 1)
        std::this_thread::yield();
    for (auto& h : withdrawn) {
      EXPECT_TRUE(h.cancel());
      EXPECT_TRUE(rt.block_on(weft::test::ends_cancelled(h)));
    }
    if (unlock_once) {
      lock->unlock();  // to `first`: the three withdrawn nodes stay in the FIFO list
      rt.block_on([](weft::JoinHandle<void> h) -> weft::Task<void> { co_await h; }(first));
    }
    EXPECT_TRUE(lock->locked());
    lock.reset();
  }
}

// ---- a waiting task destroyed at shutdown ----

weft::Task<void> wait_for_lock_through_cancels(weft::Lock& lock, std::atomic<int>& tries) {
  for (;;) {
    try {
      ++tries;
      co_await lock.lock();
      break;
    } catch (const weft::CancelledError&) {
      // refuses to give up: waits again
    }
  }
  lock.unlock();
}

// A task that refuses to finish is destroyed by the runtime's shutdown while
// it waits for a Lock that outlives the runtime: its node must not stay in
// the lock as a live waiter (the next unlock() would hand the lock to the
// destroyed task and wake it: a use after free under ASan, a lock that is
// never freed otherwise).
TEST(Lock, WaiterDestroyedAtShutdownIsNotGrantedLater) {
  weft::test::Watchdog dog(60s);
  weft::Lock lock;
  ASSERT_TRUE(lock.try_lock());
  testing::internal::CaptureStderr();
  {
    weft::Runtime rt({.workers = 1, .shutdown_timeout = 50ms});
    std::atomic<int> tries{0};
    rt.spawn(wait_for_lock_through_cancels(lock, tries), "stubborn-waiter").detach();
    while (tries.load() == 0)
      std::this_thread::yield();
  }  // cancelled once (it waits again), then destroyed
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("stubborn-waiter"), std::string::npos) << err;
  lock.unlock();  // nobody left to hand it to
  EXPECT_FALSE(lock.locked());
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

}  // namespace
