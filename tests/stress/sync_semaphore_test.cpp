// Stress: weft::Semaphore and BoundedSemaphore under many tasks on 4 workers
// and plain threads, with random cancellation and timeouts of waiting
// acquire() calls. Checks: never more holders than permits, permits in ==
// permits out (the value is back to its initial count), a BoundedSemaphore is
// never released past its bound by correct code.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "weft/runtime.hpp"
#include "weft/semaphore.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

constexpr int kPermits = 5;

struct Shared {
  explicit Shared(bool bounded)
      : sem(bounded ? new weft::BoundedSemaphore(kPermits) : new weft::Semaphore(kPermits)) {}
  std::unique_ptr<weft::Semaphore> sem;
  std::atomic<int> holders{0};
  std::atomic<int> max_holders{0};
  std::atomic<long> acquired{0};
  std::atomic<long> released{0};
  std::atomic<long> cancelled{0};
  std::atomic<long> timed_out{0};
};

using weft::test::next_rand;

void enter(Shared& sh) {
  sh.acquired++;
  int h = ++sh.holders;
  int m = sh.max_holders.load();
  while (h > m && !sh.max_holders.compare_exchange_weak(m, h)) {
  }
}

void leave(Shared& sh) {
  --sh.holders;
  sh.released++;
  sh.sem->release();  // throws ValueError if a BoundedSemaphore overflowed
}

weft::Task<void> worker(Shared& sh, int id, int iterations) {
  std::uint32_t rng = 0x85ebca6bu * static_cast<std::uint32_t>(id + 1);
  for (int i = 0; i < iterations; ++i) {
    const std::uint32_t r = next_rand(rng);
    bool got = false;
    try {
      switch (r % 4) {
        case 0:
          got = sh.sem->try_acquire();
          break;
        case 1:
          co_await weft::wait_for(sh.sem->acquire(), std::chrono::microseconds(100 + r % 900));
          got = true;
          break;
        default:
          co_await sh.sem->acquire();
          got = true;
      }
    } catch (const weft::CancelledError&) {
      sh.cancelled++;
    } catch (const weft::TimeoutError&) {
      sh.timed_out++;
    }
    if (!got) continue;
    enter(sh);
    try {
      if (r % 128 == 1)
        co_await weft::sleep(1ms);
      else if (r % 2)
        co_await weft::yield();
    } catch (const weft::CancelledError&) {
      sh.cancelled++;
    }
    leave(sh);
  }
}

void run_round(bool bounded, long round, long& iterations) {
  constexpr int kTasks = 64;
  constexpr int kIterations = 1000;
  Shared sh(bounded);
  weft::Runtime rt({.workers = 4});
  std::vector<weft::JoinHandle<void>> handles;
  for (int t = 0; t < kTasks; ++t)
    handles.push_back(rt.spawn(worker(sh, t + static_cast<int>(round) * kTasks, kIterations)));
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < 2; ++c) {
    threads.emplace_back([&, c] {  // cancellers
      std::uint32_t rng = 777u + static_cast<std::uint32_t>(c);
      while (!stop.load(std::memory_order_relaxed)) {
        handles[next_rand(rng) % kTasks].cancel();
        std::this_thread::sleep_for(std::chrono::microseconds(next_rand(rng) % 200));
      }
    });
  }
  threads.emplace_back([&] {  // a plain thread with the non-awaiting calls
    while (!stop.load(std::memory_order_relaxed)) {
      if (sh.sem->try_acquire()) {
        enter(sh);
        leave(sh);
      }
      std::this_thread::yield();
    }
  });
  auto join_all = [&]() -> weft::Task<void> {
    for (auto& h : handles) {
      try {
        co_await h;
      } catch (const weft::CancelledError&) {
      }
    }
  };
  rt.block_on(join_all());
  stop = true;
  for (auto& t : threads)
    t.join();
  EXPECT_LE(sh.max_holders.load(), kPermits);
  EXPECT_EQ(sh.acquired.load(), sh.released.load());
  EXPECT_EQ(sh.holders.load(), 0);
  EXPECT_EQ(sh.sem->value(), kPermits);  // permits in == permits out
  EXPECT_FALSE(sh.sem->locked());
  iterations += kTasks * kIterations;
  std::fprintf(stderr, "%s round %ld: acquired %ld, cancelled %ld, timed out %ld, max holders %d\n",
               bounded ? "bounded" : "plain", round, sh.acquired.load(), sh.cancelled.load(),
               sh.timed_out.load(), sh.max_holders.load());
}

TEST(SyncSemaphoreStress, CancellationTimeoutsAndPlainThreads) {
  weft::test::Watchdog dog(600s, "SyncSemaphoreStress");
  const long rounds = weft::test::stress_iterations(3);
  long iterations = 0;
  for (long round = 0; round < rounds; ++round) {
    run_round(/*bounded=*/false, round, iterations);
    run_round(/*bounded=*/true, round, iterations);
  }
  weft::test::report_iterations("SyncSemaphoreStress", iterations);
}

}  // namespace
