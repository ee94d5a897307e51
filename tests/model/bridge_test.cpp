// The plain-thread bridge under the model: call_later's firing against
// cancel() from a plain thread or a worker (one CAS decides: exactly one of
// "the callback ran" and "cancel() returned true"); the blocking wait of
// ConcurrentFuture against the task's completion on a worker (no lost
// wake-up: every execution ends); call_soon_threadsafe's runner retiring while
// plain threads push (no callback stranded, each thread's order kept).
#include <gtest/gtest.h>

#include <chrono>

#include "model_test.hpp"
#include "sys/futex.hpp"
#include "sys/thread.hpp"
#include "weft/threadsafe.hpp"
#include "weft/weft.hpp"

namespace {

using namespace std::chrono_literals;
using weft::detail::Atomic;
using weft::detail::Thread;

/// Sets its flag (and wakes a waiter) when the callable holding it dies.
struct Gone {
  Atomic<std::uint32_t>* flag;
  explicit Gone(Atomic<std::uint32_t>* f) : flag(f) {}
  Gone(Gone&& o) noexcept : flag(std::exchange(o.flag, nullptr)) {}
  ~Gone() {
    if (!flag) return;
    flag->store(1);
    weft::detail::futex_wake(flag, 1);
  }
};

void wait_flag(Atomic<std::uint32_t>& f) {
  while (f.load() == 0)
    weft::detail::futex_wait(&f, 0, -1);
}

void cancel_against_fire(std::chrono::milliseconds delay, bool from_thread) {
  weft::Runtime rt(weft::RunOptions{.workers = 2});
  Atomic<std::uint32_t> ran{0};
  Atomic<std::uint32_t> gone{0};
  bool cancelled = false;
  {
    weft::TimerHandle h = rt.call_later(delay, [&ran, g = Gone(&gone)] { ran.fetch_add(1); });
    if (from_thread) {
      Thread canceller([&] { cancelled = h.cancel(); }, "canceller");
      canceller.join();
    } else {
      cancelled = h.cancel();
    }
    WEFT_MODEL_ASSERT(h.cancelled() == cancelled);
  }
  // The callable dies after it ran, or once the cancelled task and the last
  // handle let go of it.
  wait_flag(gone);
  WEFT_MODEL_ASSERT(ran.load() + (cancelled ? 1u : 0u) == 1);
}

TEST(ModelBridge, TimerCancelAgainstFireDueAtOnce) {
  weft_test::expect_model_ok("call_later(0) vs cancel", 20000,
                             [] { cancel_against_fire(0ms, false); });
}

TEST(ModelBridge, TimerCancelFromAnotherThreadAgainstFire) {
  weft_test::expect_model_ok("call_later(1ms) vs cancel on a thread", 20000,
                             [] { cancel_against_fire(1ms, true); });
}

// The cancel comes from a worker (a call_soon_threadsafe callback) while the
// timer's task fires on another one.
TEST(ModelBridge, TimerCancelFromAWorkerAgainstFire) {
  weft_test::expect_model_ok("call_later vs cancel on a worker", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    Atomic<std::uint32_t> ran{0};
    Atomic<std::uint32_t> gone{0};
    Atomic<std::uint32_t> decided{0};
    bool cancelled = false;
    {
      weft::TimerHandle h = rt.call_later(0ms, [&ran, g = Gone(&gone)] { ran.fetch_add(1); });
      rt.call_soon_threadsafe([&, h]() mutable {
        cancelled = h.cancel();
        decided.store(1);
        weft::detail::futex_wake(&decided, 1);
      });
      wait_flag(decided);
    }
    wait_flag(gone);
    WEFT_MODEL_ASSERT(ran.load() + (cancelled ? 1u : 0u) == 1);
  });
}

weft::Task<int> seven(bool yield_first) {
  if (yield_first) co_await weft::yield();
  co_return 7;
}

// A plain thread blocks in result() while the task completes on a worker: the
// completion's store + futex wake against the waiter's load + futex wait.
TEST(ModelBridge, BlockingResultAgainstCompletion) {
  weft_test::expect_model_ok("run_coroutine_threadsafe result vs completion", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    auto f = weft::run_coroutine_threadsafe(seven(true), rt);
    WEFT_MODEL_ASSERT(f.result() == 7);
    WEFT_MODEL_ASSERT(f.done());
  });
}

// Two plain threads wait on one future, one with a timeout (virtual time),
// while a third cancels the task: every waiter ends, and agrees on the outcome.
TEST(ModelBridge, TwoWaitersAndACancelAgainstCompletion) {
  weft_test::expect_model_ok("concurrent future: two waiters, cancel, completion", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    auto f = weft::run_coroutine_threadsafe(seven(true), rt);
    int other = 0;
    bool other_timed_out = false;
    Thread waiter(
        [&, f] {
          if (!f.wait_for(1ms)) {
            other_timed_out = true;
            f.wait();
          }
          other = f.cancelled() ? -1 : f.result();
        },
        "waiter");
    bool cancel_won = false;
    Thread canceller([&] { cancel_won = f.cancel(); }, "canceller");
    int mine;
    try {
      mine = f.result();
    } catch (const weft::CancelledError&) {
      mine = -1;
    }
    waiter.join();
    canceller.join();
    WEFT_MODEL_ASSERT(mine == other);
    WEFT_MODEL_ASSERT(mine == 7 || (mine == -1 && cancel_won));
    (void)other_timed_out;
  });
}

// Plain threads push while the runner retires (its CAS that clears kActive
// against a push's CAS): no callback is left without a runner, and each
// thread's callbacks run in its order.
TEST(ModelBridge, CallSoonPushesAgainstTheRunnerRetiring) {
  weft_test::expect_model_ok("call_soon pushes vs runner retiring", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    Atomic<std::uint32_t> count{0};
    int last[2] = {-1, -1};
    bool in_order = true;
    auto post = [&](int t) {
      for (int i = 0; i < 2; ++i)
        rt.call_soon_threadsafe([&, t, i] {
          if (last[t] != i - 1) in_order = false;
          last[t] = i;
          count.fetch_add(1);
          weft::detail::futex_wake(&count, 1);
        });
    };
    Thread other([&] { post(1); }, "poster");
    post(0);
    other.join();
    for (std::uint32_t c = count.load(); c < 4; c = count.load())
      weft::detail::futex_wait(&count, c, -1);
    WEFT_MODEL_ASSERT(in_order);
  });
}

}  // namespace
