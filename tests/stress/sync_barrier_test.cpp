// Stress: weft::Barrier on four workers (tasks arrive while the barrier drains
// and wait to enter; later with more tasks than parties), random cancellation from
// a plain thread, timeouts, and abort()/reset() from another plain thread.
// Checks (exact counts):
//   - without cancellation, every index 0..parties-1 comes out exactly once
//     per cycle (the k-th waits of the parties form one cycle);
//   - with cancellation, every wait ends exactly once (the counts add up), no
//     index is out of range, a cancellation never breaks the barrier (the
//     only BrokenBarrierError each task sees is the final abort's), and the
//     barrier is consistent afterwards: reset, it runs a clean cycle (each
//     index once) -- a count leaked by a cancelled waiter would hang it there
//     (the watchdog turns that into a failure);
//   - with abort()/reset() racing the waits, the same.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "weft/barrier.hpp"
#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

using weft::test::next_rand;

constexpr int kWorkers = 4;

// ---- exact index counts, no cancellation ----

// Exactly `parties` tasks per barrier (with more, a slow task could be left
// without partners for its last waits): every cycle holds each task once, so
// the k-th waits of all tasks are one cycle and their indices a permutation.
// The tripping task waits again at once, while the others drain: it waits
// to enter, as do tasks resumed quickly on other workers.
weft::Task<void> exact_party(weft::Barrier& b, int waits, std::int64_t* my_indices) {
  for (int i = 0; i < waits; ++i) {
    my_indices[i] = co_await b.wait();
    if ((i & 7) == 0) co_await weft::yield();
  }
}

TEST(SyncBarrierStress, EveryIndexOncePerCycle) {
  weft::test::Watchdog dog(600s, "SyncBarrierStress.Exact");
  const long rounds = weft::test::stress_iterations(20);
  constexpr int kParties = 5;
  constexpr int kGroups = 6;  // barriers in use at once
  constexpr int kWaits = 2000;
  long iterations = 0;
  for (long round = 0; round < rounds; ++round) {
    std::vector<std::unique_ptr<weft::Barrier>> barriers;
    for (int g = 0; g < kGroups; ++g)
      barriers.push_back(std::make_unique<weft::Barrier>(kParties));
    // indices[(g * kParties + task) * kWaits + k]
    std::vector<std::int64_t> indices(static_cast<std::size_t>(kGroups) * kParties * kWaits, -1);
    weft::Runtime rt({.workers = kWorkers});
    std::vector<weft::JoinHandle<void>> hs;
    for (int g = 0; g < kGroups; ++g)
      for (int t = 0; t < kParties; ++t)
        hs.push_back(
            rt.spawn(exact_party(*barriers[static_cast<std::size_t>(g)], kWaits,
                                 &indices[(static_cast<std::size_t>(g) * kParties + t) * kWaits])));
    auto join_all = [&]() -> weft::Task<void> {
      for (auto& h : hs)
        co_await h;
    };
    rt.block_on(join_all());
    long bad_cycles = 0;
    for (int g = 0; g < kGroups; ++g) {
      for (int k = 0; k < kWaits; ++k) {
        std::vector<int> seen(kParties);
        for (int t = 0; t < kParties; ++t) {
          std::int64_t i = indices[(static_cast<std::size_t>(g) * kParties + t) * kWaits + k];
          if (i >= 0 && i < kParties) seen[static_cast<std::size_t>(i)]++;
        }
        for (int n : seen)
          if (n != 1) {
            bad_cycles++;
            break;
          }
      }
      EXPECT_EQ(barriers[static_cast<std::size_t>(g)]->n_waiting(), 0);
      EXPECT_FALSE(barriers[static_cast<std::size_t>(g)]->broken());
    }
    EXPECT_EQ(bad_cycles, 0);
    iterations += static_cast<long>(kGroups) * kParties * kWaits;
  }
  weft::test::report_iterations("SyncBarrierStress.Exact", iterations);
}

// ---- random cancellation, timeouts, abort/reset ----

struct Counts {
  std::atomic<long> waits{0};
  std::atomic<long> ok{0};
  std::atomic<long> tripped{0};  ///< ok with index parties-1
  std::atomic<long> cancelled{0};
  std::atomic<long> timed_out{0};
  std::atomic<long> broken{0};
  std::atomic<long> out_of_range{0};
  std::atomic<long> ran{0};  ///< tasks that started
};

/// Waits in a loop until `stop` (or, with exit_on_broken, until the first
/// BrokenBarrierError); a cancellation or timeout just leaves the wait.
weft::Task<void> churn_party(weft::Barrier& b, Counts& c, int id, bool exit_on_broken,
                             const std::atomic<bool>& stop) {
  c.ran++;
  std::uint32_t rng = 0x9e3779b9u * static_cast<std::uint32_t>(id + 1);
  while (exit_on_broken || !stop.load()) {
    const std::uint32_t r = next_rand(rng);
    bool was_broken = false;
    c.waits++;
    try {
      std::int64_t idx;
      if (r % 5 == 0)
        idx = co_await weft::wait_for(b.wait(), std::chrono::microseconds(50 + r % 500));
      else
        idx = co_await b.wait();
      c.ok++;
      if (idx < 0 || idx >= b.parties()) c.out_of_range++;
      if (idx == b.parties() - 1) c.tripped++;
    } catch (const weft::CancelledError&) {
      c.cancelled++;
    } catch (const weft::TimeoutError&) {
      c.timed_out++;
    } catch (const weft::BrokenBarrierError&) {
      c.broken++;
      if (exit_on_broken) co_return;
      was_broken = true;
    }
    if (was_broken) {
      // Broken: let the resetter in. A cancel() landing here is no wait's.
      try {
        co_await weft::yield();
      } catch (const weft::CancelledError&) {
      }
    }
  }
}

weft::Task<std::int64_t> clean_wait(weft::Barrier& b) {
  co_return co_await b.wait();
}

/// After everything: reset, then exactly `parties` fresh waits, each index once.
void expect_clean_cycle(weft::Runtime& rt, weft::Barrier& b) {
  b.reset();
  EXPECT_FALSE(b.broken());
  EXPECT_EQ(b.n_waiting(), 0);
  std::vector<weft::JoinHandle<std::int64_t>> hs;
  for (int i = 0; i < b.parties(); ++i)
    hs.push_back(rt.spawn(clean_wait(b)));
  auto join = [&]() -> weft::Task<std::vector<int>> {
    std::vector<int> seen(static_cast<std::size_t>(b.parties()));
    for (auto& h : hs)
      seen[static_cast<std::size_t>(co_await h)]++;
    co_return seen;
  };
  for (int n : rt.block_on(join()))
    EXPECT_EQ(n, 1);
}

void churn(bool with_resetter, const char* name) {
  weft::test::Watchdog dog(600s, name);
  const long rounds = weft::test::stress_iterations(3);
  constexpr int kParties = 4;
  constexpr int kTasks = 24;
  const long target = weft::test::stress_iterations(20000);  // successful waits per round
  const long min_cancelled = weft::test::stress_iterations(300);
  long iterations = 0;
  for (long round = 0; round < rounds; ++round) {
    weft::Barrier b(kParties);
    Counts c;
    std::atomic<bool> stop{false};
    weft::Runtime rt({.workers = kWorkers});
    std::vector<weft::JoinHandle<void>> hs;
    for (int t = 0; t < kTasks; ++t)
      hs.push_back(rt.spawn(churn_party(b, c, t + static_cast<int>(round) * kTasks,
                                        /*exit_on_broken=*/!with_resetter, stop)));
    std::atomic<bool> threads_stop{false};
    std::vector<std::thread> threads;
    threads.emplace_back([&] {  // canceller
      std::uint32_t rng = 4242 + static_cast<std::uint32_t>(round);
      while (!threads_stop.load(std::memory_order_relaxed)) {
        hs[next_rand(rng) % kTasks].cancel();
        std::this_thread::sleep_for(std::chrono::microseconds(next_rand(rng) % 200));
      }
    });
    if (with_resetter) {
      threads.emplace_back([&] {
        std::uint32_t rng = 777 + static_cast<std::uint32_t>(round);
        while (!threads_stop.load(std::memory_order_relaxed)) {
          if (next_rand(rng) % 4 == 0) {
            b.abort();
            std::this_thread::sleep_for(std::chrono::microseconds(next_rand(rng) % 50));
          }
          b.reset();
          std::this_thread::sleep_for(std::chrono::microseconds(200 + next_rand(rng) % 800));
        }
      });
    }
    // Until enough waits went through and enough were cancelled; then stop
    // the threads, and end the tasks with a final abort (waiting ones throw
    // BrokenBarrierError).
    while (c.ok.load() < target || c.cancelled.load() < min_cancelled)
      std::this_thread::sleep_for(1ms);
    threads_stop = true;
    for (auto& t : threads)
      t.join();
    stop = true;
    b.abort();
    long ended_cancelled = 0;
    auto join_all = [&]() -> weft::Task<void> {
      for (auto& h : hs) {
        try {
          co_await h;
        } catch (const weft::CancelledError&) {
          ended_cancelled++;  // before its first step, or a cancel() after its last wait
        }
      }
    };
    rt.block_on(join_all());
    EXPECT_EQ(c.waits.load(),
              c.ok.load() + c.cancelled.load() + c.timed_out.load() + c.broken.load());
    EXPECT_EQ(c.out_of_range.load(), 0);
    EXPECT_LE(c.ran.load(), kTasks);
    if (!with_resetter) {
      // Cancellations and timeouts never broke it: one error per task, the abort's.
      EXPECT_EQ(c.broken.load(), c.ran.load());
    }
    // Each trip released at most parties-1 others.
    EXPECT_LE(c.ok.load() - c.tripped.load(),
              (kParties - 1) * (c.tripped.load() + c.cancelled.load() + c.timed_out.load()));
    expect_clean_cycle(rt, b);
    std::fprintf(stderr,
                 "round %ld: waits %ld, ok %ld (tripped %ld), cancelled %ld, timed out %ld, broken "
                 "%ld, tasks ended cancelled %ld\n",
                 round, c.waits.load(), c.ok.load(), c.tripped.load(), c.cancelled.load(),
                 c.timed_out.load(), c.broken.load(), ended_cancelled);
    iterations += c.waits.load();
  }
  weft::test::report_iterations(name, iterations);
}

TEST(SyncBarrierStress, RandomCancellationAndTimeouts) {
  churn(/*with_resetter=*/false, "SyncBarrierStress.Cancel");
}

TEST(SyncBarrierStress, CancellationWithAbortAndReset) {
  churn(/*with_resetter=*/true, "SyncBarrierStress.AbortReset");
}

}  // namespace
