// Stress: weft::Future<int> handed over between threads. Per round, one future;
// plain threads race set_result / set_exception / cancel and add/remove done
// callbacks; tasks on four workers await it (some through wait_for with a
// short timeout, which cancels the future, asyncio's rule) and some are
// cancelled by a plain thread; a plain thread waits with wait_blocking.
// Checks, exactly: one completion wins per future; every other set_* throws
// InvalidStateError and every losing cancel() returns false; every waiter saw
// the winning outcome (or was cancelled itself); every callback added ran or
// was removed, exactly once, and saw the future done.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "weft/future.hpp"
#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

using weft::test::next_rand;

/// Outcome codes: the value set, kFailed (set_exception), kCancelled.
constexpr int kFailed = -1;
constexpr int kCancelled = -2;
constexpr int kTimedOut = -3;

int outcome_of(const weft::Future<int>& f) {
  if (f.cancelled()) return kCancelled;
  if (f.exception()) return kFailed;
  return f.result();
}

weft::Task<int> waiter(weft::Future<int> f, std::uint32_t r) {
  try {
    if (r % 4 == 0) co_return co_await weft::wait_for(f.wait(), std::chrono::microseconds(r % 200));
    co_return co_await f;
  } catch (const weft::CancelledError&) {
    co_return kCancelled;
  } catch (const weft::TimeoutError&) {
    co_return kTimedOut;
  } catch (const std::runtime_error&) {
    co_return kFailed;
  }
}

TEST(SyncFutureStress, RacingSettersWaitersCallbacks) {
  weft::test::Watchdog dog(600s, "SyncFutureStress");
  const long rounds = weft::test::stress_iterations(3000);
  constexpr int kWaiters = 16;
  constexpr int kSetters = 4;
  constexpr int kCallbacksPerSetter = 4;
  weft::Runtime rt({.workers = 4});
  long mismatches = 0, wins = 0, losses = 0, callback_errors = 0;
  long timed_out = 0, cancelled_waiters = 0;
  for (long round = 0; round < rounds; ++round) {
    weft::Future<int> f;
    std::vector<weft::JoinHandle<int>> hs;
    std::uint32_t rng = 0x9e3779b9u ^ static_cast<std::uint32_t>(round);
    for (int i = 0; i < kWaiters; ++i)
      hs.push_back(rt.spawn(waiter(f, next_rand(rng))));
    std::atomic<int> won{0}, lost{0}, ran{0}, removed{0}, bad_callback{0};
    std::atomic<int> winner{0};
    std::vector<std::thread> threads;
    for (int s = 0; s < kSetters; ++s) {
      threads.emplace_back([&, s] {
        std::uint32_t r = rng + static_cast<std::uint32_t>(s) * 7919u;
        for (int c = 0; c < kCallbacksPerSetter; ++c) {
          auto h = f.add_done_callback([&](const weft::Future<int>& g) {
            if (!g.done()) bad_callback++;
            ran++;
          });
          if (next_rand(r) % 2 && f.remove_done_callback(h)) removed++;
        }
        const int value = static_cast<int>(round % 1000) * 10 + s;  // >= 0
        try {
          switch (next_rand(r) % 3) {
            case 0:
              f.set_result(value);
              winner = value;
              won++;
              break;
            case 1:
              f.set_exception(std::runtime_error("x"));
              winner = kFailed;
              won++;
              break;
            default:
              if (f.cancel()) {
                winner = kCancelled;
                won++;
              } else {
                lost++;
              }
          }
        } catch (const weft::InvalidStateError&) {
          lost++;
        }
      });
    }
    threads.emplace_back([&] {  // a plain-thread waiter
      if (!f.wait_blocking(60s)) mismatches++;
    });
    threads.emplace_back([&] {  // a canceller of waiting tasks
      std::uint32_t r = rng * 31u;
      hs[next_rand(r) % kWaiters].cancel();
    });
    for (auto& t : threads)
      t.join();
    // A cancelled or timed-out waiter may have cancelled the future first.
    const int final_outcome = outcome_of(f);
    if (won.load() == 0 && final_outcome != kCancelled) mismatches++;
    if (won.load() == 1 && final_outcome != winner.load()) mismatches++;
    if (won.load() > 1) mismatches++;
    wins += won.load();
    losses += lost.load();
    if (won.load() + lost.load() != kSetters) mismatches++;
    auto join_all = [&]() -> weft::Task<void> {
      for (auto& h : hs) {
        int got;
        try {
          got = co_await h;
        } catch (const weft::CancelledError&) {
          got = kCancelled;  // cancelled before it started waiting
        }
        if (got == kTimedOut) {
          ++timed_out;
        } else if (got != final_outcome) {
          if (got == kCancelled)
            ++cancelled_waiters;  // its own cancellation, after the future completed
          else
            ++mismatches;
        }
      }
    };
    rt.block_on(join_all());
    if (ran.load() + removed.load() != kSetters * kCallbacksPerSetter) mismatches++;
    callback_errors += bad_callback.load();
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(callback_errors, 0);
  std::fprintf(stderr, "wins %ld, losses %ld, timed out %ld, cancelled waiters %ld\n", wins, losses,
               timed_out, cancelled_waiters);
  weft::test::report_iterations("SyncFutureStress", rounds);
}

}  // namespace
