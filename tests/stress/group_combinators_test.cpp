// gather / wait / as_completed under load: many rounds on 4 workers of tasks
// that randomly succeed, fail or get cancelled, with the awaiting task itself
// cancelled at random moments (from a plain thread). Checked exactly:
//  - gather(return_exceptions): every slot matches what its task did;
//  - gather: the value tuple, or one of the exceptions actually thrown, or
//    CancelledError only if the gatherer was cancelled — and then every child
//    had finished before it returned, unless a child had already failed (the
//    cancellation then comes at the resumption and the others keep running);
//  - wait: done/pending partition is consistent with the condition;
//  - as_completed: every task handed out exactly once, in an order consistent
//    with completion, even when the consumer is cancelled in between.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

struct TaskError : std::runtime_error {
  explicit TaskError(int task) : std::runtime_error("task " + std::to_string(task)), id(task) {}
  int id;
};

std::uint32_t mix(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

constexpr int kTasks = 200;

enum Did : std::uint8_t { running = 0, returned = 1, threw = 2, cancelled = 3 };

struct Round {
  explicit Round(std::uint32_t s) : seed(s), did(kTasks) {}
  std::uint32_t seed;
  std::vector<std::atomic<std::uint8_t>> did;
  std::atomic<int> alive{0};  ///< task bodies running
};

/// Rounds stay alive until the runtime is gone: tasks a round leaves running
/// (gather's first-exception rule, a cancelled waiter) may start and finish
/// late, and a frame of a task that finished on another worker is freed at
/// that worker's next look at its registry.
struct Rounds {
  std::vector<std::unique_ptr<Round>> all;
  Round* next(std::uint32_t seed) {
    all.push_back(std::make_unique<Round>(seed));
    return all.back().get();
  }
};

weft::Task<int> work(Round* r, int id) {
  r->alive.fetch_add(1);
  struct Guard {
    Round* r;
    ~Guard() { r->alive.fetch_sub(1, std::memory_order_acq_rel); }
  } guard{r};
  std::uint32_t x = mix(r->seed ^ static_cast<std::uint32_t>(id) * 40503u);
  try {
    for (std::uint32_t i = 0; i < x % 3; ++i)
      co_await weft::sleep(std::chrono::microseconds((x >> 3) % 700));
    if ((x >> 10) % 20 == 0) {
      r->did[static_cast<std::size_t>(id)] = threw;
      throw TaskError(id);
    }
  } catch (const weft::CancelledError&) {
    r->did[static_cast<std::size_t>(id)] = cancelled;
    throw;
  }
  r->did[static_cast<std::size_t>(id)] = returned;
  co_return id;
}

std::vector<weft::JoinHandle<int>> start(Round* r, std::vector<weft::JoinHandle<int>>* keep) {
  std::vector<weft::JoinHandle<int>> hs;
  for (int i = 0; i < kTasks; ++i)
    hs.push_back(weft::spawn(work(r, i)));
  *keep = hs;
  return hs;
}

void cancel_some(Round* r, std::vector<weft::JoinHandle<int>>& hs) {
  for (int i = 0; i < kTasks; ++i)
    if (mix(r->seed + static_cast<std::uint32_t>(i)) % 25 == 0)
      hs[static_cast<std::size_t>(i)].cancel();
}

int thrown_id(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const TaskError& t) {
    return t.id;
  } catch (...) {
  }
  return -1;
}

// ---- gather ----

weft::Task<int> gather_round(Round* r, bool return_exceptions) {
  std::vector<weft::Task<int>> tasks;
  for (int i = 0; i < kTasks; ++i)
    tasks.push_back(work(r, i));
  if (return_exceptions) {
    auto outcomes = co_await weft::gather(weft::return_exceptions, std::move(tasks));
    EXPECT_EQ(r->alive.load(), 0);
    for (int i = 0; i < kTasks; ++i) {
      auto& o = outcomes[static_cast<std::size_t>(i)];
      switch (r->did[static_cast<std::size_t>(i)].load()) {
        case returned:
          EXPECT_TRUE(o.has_value() && o.value() == i);
          break;
        case threw:
          EXPECT_EQ(thrown_id(o.error()), i);
          break;
        default:  // cancelled before or after it started
          EXPECT_TRUE(o.cancelled());
      }
    }
    co_return 1;
  }
  try {
    std::vector<int> values = co_await weft::gather(std::move(tasks));
    for (int i = 0; i < kTasks; ++i) {
      EXPECT_EQ(values[static_cast<std::size_t>(i)], i);
      EXPECT_EQ(r->did[static_cast<std::size_t>(i)].load(), returned);
    }
    co_return 0;
  } catch (const TaskError& e) {
    EXPECT_EQ(r->did[static_cast<std::size_t>(e.id)].load(), threw);  // one that really threw
    co_return 2;
  }
}

weft::Task<int> guarded_gather(Round* r, bool rx) {
  try {
    co_return co_await gather_round(r, rx);
  } catch (const weft::CancelledError&) {
    // Cancelling a gather cancels its children and waits for all of them --
    // unless the gather had already ended (a child failed, without
    // return_exceptions) and the cancellation came at the resumption
    // (asyncio: the children keep running, the awaiting task is cancelled).
    if (r->alive.load(std::memory_order_acquire) != 0) {
      EXPECT_FALSE(rx);
      bool failed = false;
      for (auto& d : r->did)
        failed |= d.load() == threw;  // nothing else ends such a gather early
      EXPECT_TRUE(failed) << "children still running after a gather was cancelled";
    }
    throw;
  }
}

// ---- wait ----

weft::Task<int> wait_round(Round* r, weft::ReturnWhen when, bool with_timeout) {
  std::vector<weft::JoinHandle<int>> keep;
  auto hs = start(r, &keep);
  cancel_some(r, hs);
  std::optional<weft::Clock::duration> timeout;
  if (with_timeout) timeout = std::chrono::microseconds(mix(r->seed) % 1500);
  auto [done, pending] = co_await weft::wait(std::move(hs), when, timeout);
  EXPECT_EQ(done.size() + pending.size(), static_cast<std::size_t>(kTasks));
  for (auto& h : done)
    EXPECT_TRUE(h.done());
  if (!with_timeout) {
    if (when == weft::ReturnWhen::AllCompleted) {
      EXPECT_TRUE(pending.empty());
    }
    if (when == weft::ReturnWhen::FirstCompleted) {
      EXPECT_FALSE(done.empty());
    }
    if (when == weft::ReturnWhen::FirstException && !pending.empty()) {
      bool failure = false;
      for (auto& h : done)
        failure |= !h.cancelled() && h.exception() != nullptr;
      EXPECT_TRUE(failure);
    }
  }
  for (auto& h : keep)
    h.cancel();  // nothing may outlive the round
  co_await weft::wait(keep);
  co_return 0;
}

// ---- as_completed ----

weft::Task<int> as_completed_round(Round* r, std::atomic<int>* handed_out,
                                   std::vector<std::uint8_t>* seen) {
  std::vector<weft::JoinHandle<int>> keep;
  auto hs = start(r, &keep);
  cancel_some(r, hs);
  weft::AsCompleted<int> ac(std::move(hs));
  std::size_t before = ac.remaining();
  while (ac) {
    weft::JoinHandle<int> h = co_await ac.next_handle();
    EXPECT_TRUE(h.done());
    std::size_t idx = 0;
    for (; idx < keep.size(); ++idx)
      if (keep[idx].header() == h.header()) break;
    (*seen)[idx]++;
    handed_out->fetch_add(1);
  }
  EXPECT_EQ(before, static_cast<std::size_t>(kTasks));
  co_return 0;
}

template <class F>
void cancel_at_random(weft::Runtime& rt, Round& r, bool cancel, F make) {
  auto h = rt.spawn(make());
  if (cancel) {
    std::this_thread::sleep_for(std::chrono::microseconds(mix(r.seed * 31u) % 3000));
    h.cancel();
  }
  auto wait = [](weft::JoinHandle<int> h) -> weft::Task<int> {
    try {
      co_return co_await h;
    } catch (const weft::CancelledError&) {
      co_return -1;
    }
  };
  int e = rt.block_on(wait(h));
  if (!cancel) {
    EXPECT_NE(e, -1);
  }
}

TEST(CombinatorStress, GatherWithRandomFailuresAndCancellations) {
  weft::test::Watchdog dog(1200s);
  Rounds kept;  // outlives the runtime
  weft::Runtime rt({.workers = 4});
  long rounds = weft::test::stress_iterations(300);
  for (long i = 0; i < rounds; ++i) {
    Round* r = kept.next(mix(static_cast<std::uint32_t>(i) + 17));
    bool rx = i % 2 == 0;
    cancel_at_random(rt, *r, i % 3 == 0, [&] { return guarded_gather(r, rx); });
  }
  weft::test::report_iterations("CombinatorStress.Gather (rounds of 200 tasks)", rounds);
}

TEST(CombinatorStress, WaitWithEveryConditionAndTimeouts) {
  weft::test::Watchdog dog(1200s);
  Rounds kept;  // outlives the runtime
  weft::Runtime rt({.workers = 4});
  long rounds = weft::test::stress_iterations(300);
  const weft::ReturnWhen whens[] = {weft::ReturnWhen::FirstCompleted,
                                    weft::ReturnWhen::FirstException,
                                    weft::ReturnWhen::AllCompleted};
  for (long i = 0; i < rounds; ++i) {
    Round* r = kept.next(mix(static_cast<std::uint32_t>(i) + 99));
    weft::ReturnWhen when = whens[i % 3];
    bool timeout = (i / 3) % 2 == 0;
    cancel_at_random(rt, *r, i % 5 == 0, [&] { return wait_round(r, when, timeout); });
  }
  weft::test::report_iterations("CombinatorStress.Wait (rounds of 200 tasks)", rounds);
}

TEST(CombinatorStress, AsCompletedHandsOutEachTaskOnce) {
  weft::test::Watchdog dog(1200s);
  Rounds kept;  // outlives the runtime
  weft::Runtime rt({.workers = 4});
  long rounds = weft::test::stress_iterations(300);
  for (long i = 0; i < rounds; ++i) {
    Round* r = kept.next(mix(static_cast<std::uint32_t>(i) + 5));
    std::atomic<int> handed_out{0};
    std::vector<std::uint8_t> seen(kTasks, 0);
    bool cancel = i % 4 == 0;
    cancel_at_random(rt, *r, cancel, [&] { return as_completed_round(r, &handed_out, &seen); });
    for (int k = 0; k < kTasks; ++k)
      EXPECT_LE(seen[static_cast<std::size_t>(k)], 1);
    if (!cancel) {
      EXPECT_EQ(handed_out.load(), kTasks);
    }
  }
  weft::test::report_iterations("CombinatorStress.AsCompleted (rounds of 200 tasks)", rounds);
}

}  // namespace
