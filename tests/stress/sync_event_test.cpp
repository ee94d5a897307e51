// Stress: weft::Event with many waiting tasks and plain threads, setters and
// clearers on tasks and plain threads, random cancellation and timeouts.
// Checks: every wait ends exactly once (woken, cancelled or timed out: the
// counts add up), a woken wait saw a set() that began after the waiter
// started (or had not finished before it started, or the event was set), and a final set() wakes
// everybody still waiting (no lost wake-up, no waiter left in the list).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "weft/event.hpp"
#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

struct Shared {
  weft::Event event;
  std::atomic<long> sets_begun{0};  ///< incremented before each set()
  std::atomic<long> sets_done{0};   ///< incremented after each set()
  std::atomic<long> waits{0};
  std::atomic<long> woken{0};
  std::atomic<long> cancelled{0};
  std::atomic<long> timed_out{0};
  std::atomic<long> unexplained{0};  ///< woken with no set() since the wait began
  std::atomic<int> waiters_done{0};
  std::atomic<long> saw_set{0};
  // One per waiter task: set by whoever counts it in waiters_done first (the
  // task at its end, or the join for a task that ended cancelled -- before
  // its first step, or by a cancel() after its last wait, which ends it
  // cancelled after it counted itself).
  std::vector<std::atomic<bool>> counted = std::vector<std::atomic<bool>>(kMaxWaiters);
  static constexpr int kMaxWaiters = 128;
};

using weft::test::next_rand;

void count_waiter_done(Shared& sh, int slot) {
  if (!sh.counted[static_cast<std::size_t>(slot)].exchange(true)) sh.waiters_done++;
}

weft::Task<void> waiter(Shared& sh, int slot, int id, int iterations) {
  std::uint32_t rng = 0xc2b2ae35u * static_cast<std::uint32_t>(id + 1);
  for (int i = 0; i < iterations; ++i) {
    const std::uint32_t r = next_rand(rng);
    // Waiters clear it too, or a set lasting a while would let them all
    // through without waiting.
    if (r % 4 == 0) sh.event.clear();
    const long done_before = sh.sets_done.load();
    const bool was_set = sh.event.is_set();
    if (was_set) sh.saw_set++;
    sh.waits++;
    try {
      if (r % 3 == 0)
        co_await weft::wait_for(sh.event.wait(), std::chrono::microseconds(100 + r % 2000));
      else
        co_await sh.event.wait();
      sh.woken++;
      // A wake needs a set event when we looked, or a set() that had not
      // finished before we looked.
      if (!was_set && sh.sets_begun.load() == done_before) sh.unexplained++;
    } catch (const weft::CancelledError&) {
      sh.cancelled++;
    } catch (const weft::TimeoutError&) {
      sh.timed_out++;
    }
  }
  count_waiter_done(sh, slot);
}

void set_event(Shared& sh) {
  sh.sets_begun++;
  sh.event.set();
  sh.sets_done++;
}

weft::Task<void> toggler(Shared& sh, int waiter_tasks) {
  std::uint32_t rng = 99;
  while (sh.waiters_done.load() < waiter_tasks) {
    const std::uint32_t r = next_rand(rng);
    set_event(sh);  // wakes the current waiters, even though we clear at once
    if (r % 8 == 0) co_await weft::yield();
    sh.event.clear();
    co_await weft::sleep(std::chrono::microseconds(50 + r % 300));
  }
  set_event(sh);
}

TEST(SyncEventStress, SetClearCancelTimeout) {
  weft::test::Watchdog dog(600s, "SyncEventStress");
  const long rounds = weft::test::stress_iterations(3);
  constexpr int kTasks = 128;
  static_assert(kTasks <= Shared::kMaxWaiters);
  constexpr int kIterations = 1000;
  long iterations = 0;
  for (long round = 0; round < rounds; ++round) {
    Shared sh;
    weft::Runtime rt({.workers = 4});
    std::vector<weft::JoinHandle<void>> handles;
    for (int t = 0; t < kTasks; ++t)
      handles.push_back(rt.spawn(waiter(sh, t, t + static_cast<int>(round) * kTasks, kIterations)));
    auto tog = rt.spawn(toggler(sh, kTasks));
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    threads.emplace_back([&] {  // canceller
      std::uint32_t rng = 4242;
      while (!stop.load(std::memory_order_relaxed)) {
        handles[next_rand(rng) % kTasks].cancel();
        std::this_thread::sleep_for(std::chrono::microseconds(next_rand(rng) % 300));
      }
    });
    threads.emplace_back([&] {  // a plain-thread setter/clearer
      std::uint32_t rng = 31337;
      while (!stop.load(std::memory_order_relaxed)) {
        // Set and clear at once: the set must still wake every current waiter.
        set_event(sh);
        if (next_rand(rng) % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
        sh.event.clear();
        std::this_thread::sleep_for(std::chrono::microseconds(next_rand(rng) % 300));
      }
    });
    std::atomic<long> blocking_woken{0};
    threads.emplace_back([&] {  // a plain-thread waiter
      while (!stop.load(std::memory_order_relaxed))
        if (sh.event.wait_blocking(1ms)) blocking_woken++;
    });
    auto join_all = [&]() -> weft::Task<void> {
      for (int t = 0; t < kTasks; ++t) {
        try {
          co_await handles[static_cast<std::size_t>(t)];
        } catch (const weft::CancelledError&) {
          count_waiter_done(sh, t);  // a no-op if it counted itself
        }
      }
      co_await tog;
    };
    rt.block_on(join_all());
    stop = true;
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(sh.waits.load(), sh.woken.load() + sh.cancelled.load() + sh.timed_out.load());
    EXPECT_EQ(sh.unexplained.load(), 0);
    iterations += kTasks * kIterations;
    std::fprintf(
        stderr,
        "round %ld: waits %ld (set at start %ld), woken %ld, cancelled %ld, timed out %ld, "
        "blocking %ld\n",
        round, sh.waits.load(), sh.saw_set.load(), sh.woken.load(), sh.cancelled.load(),
        sh.timed_out.load(), blocking_woken.load());
  }
  weft::test::report_iterations("SyncEventStress", iterations);
}

// Many waiters, one set: each is woken exactly once and none is lost, also
// when they arrive while the set happens.
weft::Task<void> wait_once(weft::Event& e, std::atomic<long>& woken) {
  co_await e.wait();
  woken++;
}

TEST(SyncEventStress, OneSetWakesEveryWaiterOnce) {
  weft::test::Watchdog dog(600s, "SyncEventStress.OneSet");
  const long rounds = weft::test::stress_iterations(20);
  constexpr int kWaiters = 2000;
  for (long round = 0; round < rounds; ++round) {
    weft::Event e;
    std::atomic<long> woken{0};
    weft::Runtime rt({.workers = 4});
    std::vector<weft::JoinHandle<void>> hs;
    for (int i = 0; i < kWaiters; ++i) {
      hs.push_back(rt.spawn(wait_once(e, woken)));
      if (i == kWaiters / 2) e.set();  // half arrive before, half after (or during)
    }
    auto join_all = [&]() -> weft::Task<void> {
      for (auto& h : hs)
        co_await h;
    };
    rt.block_on(join_all());
    EXPECT_EQ(woken.load(), kWaiters);
  }
  weft::test::report_iterations("SyncEventStress.OneSet", rounds * kWaiters);
}

// A "done" Event on the heap, set by one task and destroyed by its waiter as
// soon as the wait returns, while set() may still be running (under ASan and
// TSan: no access of set() after the wake-up it caused).
weft::Task<void> set_later(weft::Event* e) {
  co_await weft::yield();
  e->set();
}

weft::Task<void> wait_and_destroy(std::atomic<long>* done) {
  auto* e = new weft::Event;
  weft::spawn(set_later(e));
  co_await e->wait();
  delete e;
  done->fetch_add(1, std::memory_order_relaxed);
}

TEST(SyncEventStress, WaiterDestroysTheEventItWasWokenFrom) {
  weft::test::Watchdog dog(600s, "SyncEventStress.Destroy");
  const long rounds = weft::test::stress_iterations(20000);
  std::atomic<long> done{0};
  {
    weft::Runtime rt({.workers = 4});
    std::vector<weft::JoinHandle<void>> hs;
    for (long i = 0; i < rounds; ++i)
      hs.push_back(rt.spawn(wait_and_destroy(&done)));
    auto join_all = [&]() -> weft::Task<void> {
      for (auto& h : hs)
        co_await h;
    };
    rt.block_on(join_all());
  }
  EXPECT_EQ(done.load(), rounds);
  weft::test::report_iterations("SyncEventStress.Destroy", rounds);
}

}  // namespace
