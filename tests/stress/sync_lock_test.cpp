// Stress: weft::Lock under many tasks on 4 workers and plain threads, with
// random cancellation (plain threads cancelling tasks at random) and random
// timeouts (weft::wait_for) of waiting lock() calls. Checks: mutual exclusion
// (a non-atomic counter that TSan watches, and an occupancy flag), exact
// balance (every successful lock() is matched by exactly one increment), and
// that the lock ends free with nobody left in its list.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "weft/lock.hpp"
#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

struct Shared {
  weft::Lock lock;
  long counter = 0;  // guarded by `lock` only: TSan reports any overlap
  std::atomic<bool> inside{false};
  std::atomic<long> overlaps{0};
  std::atomic<long> cancelled{0};
  std::atomic<long> timed_out{0};
  std::atomic<long> acquired{0};  // counted by the tasks themselves: see join_all
};

using weft::test::next_rand;

void critical_section(Shared& sh) {
  if (sh.inside.exchange(true, std::memory_order_acq_rel)) sh.overlaps++;
  ++sh.counter;
  sh.inside.store(false, std::memory_order_release);
}

weft::Task<long> locker(Shared& sh, int id, int iterations) {
  std::uint32_t rng = 0x9e3779b9u * static_cast<std::uint32_t>(id + 1);
  long mine = 0;
  for (int i = 0; i < iterations; ++i) {
    const std::uint32_t r = next_rand(rng);
    bool got = false;
    try {
      switch (r % 4) {
        case 0:
          got = sh.lock.try_lock();
          break;
        case 1:
          co_await weft::wait_for(sh.lock.lock(), std::chrono::microseconds(50 + r % 500));
          got = true;
          break;
        default:
          co_await sh.lock.lock();
          got = true;
      }
    } catch (const weft::CancelledError&) {
      sh.cancelled++;
    } catch (const weft::TimeoutError&) {
      sh.timed_out++;
    }
    if (!got) continue;
    critical_section(sh);
    if (r % 2 == 0) {
      // A suspension inside the critical section (now and then a long one, so
      // that waiters time out): cancellations may land here.
      try {
        if (r % 256 == 2)
          co_await weft::sleep(1ms);
        else
          co_await weft::yield();
      } catch (const weft::CancelledError&) {
        sh.cancelled++;
      }
      critical_section(sh);
      --sh.counter;
    }
    ++mine;
    sh.acquired.fetch_add(1, std::memory_order_relaxed);
    sh.lock.unlock();
  }
  co_return mine;
}

TEST(SyncLockStress, CancellationTimeoutsAndPlainThreads) {
  weft::test::Watchdog dog(600s, "SyncLockStress");
  const long rounds = weft::test::stress_iterations(4);
  constexpr int kTasks = 64;
  constexpr int kIterations = 1500;
  long total_iterations = 0;
  for (long round = 0; round < rounds; ++round) {
    Shared sh;
    weft::Runtime rt({.workers = 4});
    std::vector<weft::JoinHandle<long>> handles;
    for (int t = 0; t < kTasks; ++t)
      handles.push_back(rt.spawn(locker(sh, t + static_cast<int>(round) * kTasks, kIterations)));
    std::atomic<bool> stop{false};
    std::atomic<long> plain_acquired{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < 2; ++c) {
      // Cancellers.
      threads.emplace_back([&, c] {
        std::uint32_t rng = 12345u + static_cast<std::uint32_t>(c);
        while (!stop.load(std::memory_order_relaxed)) {
          handles[next_rand(rng) % kTasks].cancel();
          std::this_thread::sleep_for(std::chrono::microseconds(next_rand(rng) % 200));
        }
      });
    }
    // A plain thread using the non-awaiting calls.
    threads.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        if (sh.lock.try_lock()) {
          critical_section(sh);
          plain_acquired++;
          sh.lock.unlock();
        }
        std::this_thread::yield();
      }
    });
    // A task's returned count is a lower bound only: a cancel() that lands
    // after its last suspension ends it cancelled and drops its value (as
    // asyncio does), and one cancelled before its first step never ran. The
    // exact balance uses the count the tasks keep in `sh`.
    auto join_all = [&]() -> weft::Task<long> {
      long sum = 0;
      for (auto& h : handles) {
        try {
          sum += co_await h;
        } catch (const weft::CancelledError&) {
        }
      }
      co_return sum;
    };
    const long returned = rt.block_on(join_all());
    const long task_acquired = sh.acquired.load();
    EXPECT_LE(returned, task_acquired);
    stop = true;
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(sh.overlaps.load(), 0);
    EXPECT_EQ(sh.counter, task_acquired + plain_acquired.load());
    EXPECT_FALSE(sh.lock.locked());
    EXPECT_TRUE(sh.lock.try_lock());  // nobody left waiting: the fast path is open
    sh.lock.unlock();
    total_iterations += kTasks * kIterations;
    std::fprintf(
        stderr,
        "round %ld: acquired %ld (%ld returned, +%ld plain), cancelled %ld, timed out %ld\n", round,
        task_acquired, returned, plain_acquired.load(), sh.cancelled.load(), sh.timed_out.load());
  }
  weft::test::report_iterations("SyncLockStress", total_iterations);
}

}  // namespace
