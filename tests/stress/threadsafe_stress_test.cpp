// Stress: the plain-thread bridge under load. Plain threads call, at random,
// call_soon_threadsafe, run_coroutine_threadsafe (waiting with and without a
// timeout, cancelling some), and call_later with a random short delay that
// they cancel at random moments -- from the plain thread itself or from a
// worker (a call_soon callback). Checks, exactly: every call_soon callback
// runs once, in its thread's order; every timer either ran once or had a
// cancel() that returned true, never both; every coroutine's future gives its
// value, or CancelledError only when a cancel() returned true; every callable
// is destroyed exactly once (and nothing leaks: ASan).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "weft/threadsafe.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

using weft::test::next_rand;

struct Counters {
  std::atomic<long> made{0};
  std::atomic<long> gone{0};
  std::atomic<long> soon_ran{0};
  std::atomic<long> timers_ran{0};
  std::atomic<long> timers_cancelled{0};
  std::atomic<long> order_errors{0};
};

/// Counts the destruction of each callable exactly once.
struct Probe {
  Counters* c;
  explicit Probe(Counters* counters) : c(counters) { c->made.fetch_add(1); }
  Probe(Probe&& o) noexcept : c(std::exchange(o.c, nullptr)) {}
  Probe(const Probe&) = delete;
  ~Probe() {
    if (c) c->gone.fetch_add(1);
  }
};

/// One timer's fate: +1 per run of its callback, +100 per cancel() that
/// returned true. Exactly 1 or 100 at the end.
using Fate = std::shared_ptr<std::atomic<int>>;

weft::Task<long> compute(long v, std::uint32_t r) {
  switch (r % 4) {
    case 0:
      co_await weft::yield();
      break;
    case 1:
      co_await weft::sleep(std::chrono::microseconds(r % 300));
      break;
    default:
      break;
  }
  co_return v;
}

TEST(StressThreadsafe, BridgeCallsBalanceExactly) {
  weft::test::Watchdog dog(300s, "threadsafe bridge stress");
  const long iterations = weft::test::stress_iterations(20000);
  constexpr int kThreads = 4;
  Counters c;
  std::atomic<long> soon_posted{0}, timers_made{0};
  std::atomic<long> futures_ok{0}, futures_cancelled{0}, futures_bad{0}, timeouts{0};
  std::vector<std::vector<Fate>> fates(kThreads);
  // Per thread: the sequence number of its last call_soon callback that ran
  // (callbacks run one at a time, so only the order is checked here).
  std::vector<long> last_seq(kThreads, -1);
  {
    weft::Runtime rt({.workers = 4});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        std::uint32_t r = 0x9e3779b9u ^ static_cast<std::uint32_t>(t * 7919 + 1);
        long seq = 0;
        for (long i = 0; i < iterations; ++i) {
          switch (next_rand(r) % 4) {
            case 0: {
              const long s = seq++;
              soon_posted.fetch_add(1);
              rt.call_soon_threadsafe([&, t, s, p = Probe(&c)] {
                if (last_seq[t] != s - 1) c.order_errors.fetch_add(1);
                last_seq[t] = s;
                c.soon_ran.fetch_add(1);
              });
              break;
            }
            case 1: {
              auto f = weft::run_coroutine_threadsafe(compute(i, next_rand(r)), rt);
              bool cancel_won = false;
              const std::uint32_t how = next_rand(r);
              if (how % 4 == 0) cancel_won = f.cancel();
              try {
                long v;
                if (how % 3 == 0) {
                  try {
                    v = f.result(std::chrono::microseconds(how % 100));
                  } catch (const weft::TimeoutError&) {
                    timeouts.fetch_add(1);
                    v = f.result();
                  }
                } else {
                  v = f.result();
                }
                if (v == i)
                  futures_ok.fetch_add(1);
                else
                  futures_bad.fetch_add(1);
              } catch (const weft::CancelledError&) {
                if (cancel_won)
                  futures_cancelled.fetch_add(1);
                else
                  futures_bad.fetch_add(1);
              }
              break;
            }
            default: {
              Fate fate = std::make_shared<std::atomic<int>>(0);
              fates[t].push_back(fate);
              timers_made.fetch_add(1);
              weft::TimerHandle h = rt.call_later(std::chrono::microseconds(next_rand(r) % 1500),
                                                  [&c, fate, p = Probe(&c)] {
                                                    fate->fetch_add(1);
                                                    c.timers_ran.fetch_add(1);
                                                  });
              const std::uint32_t how = next_rand(r) % 4;
              if (how == 0) {
                for (std::uint32_t k = next_rand(r) % 2000; k > 0; --k)
                  std::atomic_signal_fence(std::memory_order_seq_cst);  // a random moment
                if (h.cancel()) {
                  fate->fetch_add(100);
                  c.timers_cancelled.fetch_add(1);
                }
              } else if (how == 1) {
                // Cancelled from a worker instead.
                rt.call_soon_threadsafe([&c, h, fate]() mutable {
                  if (h.cancel()) {
                    fate->fetch_add(100);
                    c.timers_cancelled.fetch_add(1);
                  }
                });
              }
              break;
            }
          }
        }
      });
    for (auto& th : threads)
      th.join();
    // Wait for the state: every callback ran, every timer was decided.
    while (c.soon_ran.load() + 0 < soon_posted.load() ||
           c.timers_ran.load() + c.timers_cancelled.load() < timers_made.load())
      std::this_thread::yield();
  }
  const long futures = futures_ok.load() + futures_cancelled.load() + futures_bad.load();
  weft::test::report_iterations("threadsafe bridge", iterations * kThreads);
  std::printf(
      "[stress] soon %ld, timers %ld (ran %ld, cancelled %ld), futures %ld (cancelled %ld, "
      "timed out first %ld)\n",
      soon_posted.load(), timers_made.load(), c.timers_ran.load(), c.timers_cancelled.load(),
      futures, futures_cancelled.load(), timeouts.load());
  EXPECT_EQ(c.soon_ran.load(), soon_posted.load());
  EXPECT_EQ(c.order_errors.load(), 0);
  EXPECT_EQ(c.timers_ran.load() + c.timers_cancelled.load(), timers_made.load());
  EXPECT_EQ(futures_bad.load(), 0);
  long bad_fates = 0;
  for (auto& v : fates)
    for (auto& f : v)
      if (f->load() != 1 && f->load() != 100) ++bad_fates;
  EXPECT_EQ(bad_fates, 0);
  EXPECT_EQ(c.made.load(), c.gone.load());  // every callable destroyed exactly once
}

}  // namespace
