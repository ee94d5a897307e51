// weft::gather: the seed's gather 的錯誤處理 example, mixed result types and
// voids, ranges, the first-exception rule (others keep running),
// return_exceptions, cancelling the gather (children cancelled and awaited),
// ready results under a pending cancellation, and bad input.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

struct ValueError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- the seed's gather 的錯誤處理 example (1 s scaled to 10 ms) ----

weft::Task<std::string> seed_task(std::string name, bool should_fail = false) {
  co_await weft::sleep(10ms);
  if (should_fail) throw ValueError(name + " 失敗");
  co_return name + " 成功";
}

weft::Task<void> seed_main(std::vector<std::string>* out) {
  // return_exceptions=True: exceptions are returned, not raised
  auto [a, b, c] = co_await weft::gather(weft::return_exceptions, seed_task("A"),
                                         seed_task("B", /*should_fail=*/true), seed_task("C"));
  for (auto* result : {&a, &b, &c}) {
    if (result->has_error())
      out->push_back("錯誤: " + weft::exception_message(result->error()));
    else
      out->push_back("結果: " + result->value());
    std::cout << out->back() << "\n";
  }
}

TEST(Gather, SeedExample) {
  weft::test::Watchdog dog(60s);
  std::vector<std::string> out;
  weft::run(seed_main(&out), {.workers = 2});
  EXPECT_EQ(out, (std::vector<std::string>{"結果: A 成功", "錯誤: B 失敗", "結果: C 成功"}));
}

// ---- values ----

weft::Task<int> int_after(int v, std::chrono::milliseconds d) {
  co_await weft::sleep(d);
  co_return v;
}
weft::Task<void> void_after(std::atomic<int>* ran, std::chrono::milliseconds d) {
  co_await weft::sleep(d);
  ran->fetch_add(1);
}
weft::Task<std::string> text(std::string s) {
  co_await weft::yield();
  co_return s;
}
weft::Task<double> half(double x) {
  co_return x / 2;
}
weft::Task<std::unique_ptr<int>> boxed(int v) {
  co_await weft::yield();
  co_return std::make_unique<int>(v);
}

TEST(Gather, MixedTypesVoidsAndHandles) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<int> ran{0};
    weft::JoinHandle<double> h = weft::spawn(half(5.0));
    auto [i, v, s, d, p] =
        co_await weft::gather(int_after(7, 2ms), void_after(&ran, 1ms), text("x"), h, boxed(9));
    static_assert(std::is_same_v<decltype(v), weft::Void>);
    EXPECT_EQ(i, 7);
    EXPECT_EQ(v, weft::Void{});
    EXPECT_EQ(s, "x");
    EXPECT_DOUBLE_EQ(d, 2.5);
    EXPECT_EQ(*p, 9);  // move-only values are moved out
    EXPECT_EQ(ran.load(), 1);
    EXPECT_DOUBLE_EQ(h.result(), 2.5);  // a passed handle keeps its value (copied)
    auto empty = co_await weft::gather();
    static_assert(std::tuple_size_v<decltype(empty)> == 0);
  };
  weft::run(main_task(), {.workers = 3});
}

TEST(Gather, Ranges) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::vector<weft::Task<int>> tasks;
    for (int i = 0; i < 1000; ++i)
      tasks.push_back(int_after(i, std::chrono::milliseconds(i % 3)));
    std::vector<int> values = co_await weft::gather(std::move(tasks));
    EXPECT_EQ(values.size(), 1000u);
    for (int i = 0; i < 1000; ++i)
      EXPECT_EQ(values[static_cast<std::size_t>(i)], i);  // argument order, not completion order

    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < 10; ++i)
      handles.push_back(weft::spawn(int_after(10 - i, std::chrono::milliseconds(10 - i))));
    std::vector<int> from_handles = co_await weft::gather(handles);
    EXPECT_EQ(from_handles, (std::vector<int>{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}));

    std::atomic<int> ran{0};
    std::vector<weft::Task<void>> voids;
    for (int i = 0; i < 5; ++i)
      voids.push_back(void_after(&ran, 1ms));
    std::vector<weft::Void> vs = co_await weft::gather(std::move(voids));
    EXPECT_EQ(vs.size(), 5u);
    EXPECT_EQ(ran.load(), 5);

    std::vector<weft::Task<int>> none;
    std::vector<int> nothing = co_await weft::gather(std::move(none));
    EXPECT_TRUE(nothing.empty());
  };
  weft::run(main_task(), {.workers = 3});
}

// ---- the first exception propagates; the others keep running ----

weft::Task<int> fail_now(std::string msg) {
  co_await weft::yield();
  throw ValueError(msg);
}
weft::Task<int> gated(std::atomic<bool>* gate, std::atomic<int>* finished, int v) {
  while (!gate->load())
    co_await weft::sleep(1ms);
  finished->fetch_add(1);
  co_return v;
}

TEST(Gather, FirstExceptionPropagatesAndOthersKeepRunning) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<bool> gate{false};
    std::atomic<int> finished{0};
    weft::JoinHandle<int> other = weft::spawn(gated(&gate, &finished, 5));
    bool caught = false;
    try {
      co_await weft::gather(other, fail_now("first"), gated(&gate, &finished, 6));
    } catch (const ValueError& e) {
      caught = std::string(e.what()) == "first";
    }
    EXPECT_TRUE(caught);
    EXPECT_EQ(finished.load(), 0);  // they cannot have finished: the gate is closed
    gate = true;
    int other_value = co_await other;
    EXPECT_EQ(other_value, 5);  // not cancelled
    while (finished.load() < 2)
      co_await weft::sleep(1ms);  // the spawned one finishes too, on its own
  };
  weft::run(main_task(), {.workers = 3});
}

weft::Task<int> sleep_long() {
  co_await weft::sleep(10s);
  co_return 1;
}

TEST(Gather, ChildCancelledElsewhere) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    auto victim = weft::spawn(sleep_long());
    auto canceller = [](weft::JoinHandle<int> h) -> weft::Task<void> {
      co_await weft::sleep(2ms);
      h.cancel();
    };
    auto c = weft::spawn(canceller(victim));
    // return_exceptions: the slot holds the CancelledError.
    auto [a, b] = co_await weft::gather(weft::return_exceptions, victim, int_after(3, 0ms));
    EXPECT_TRUE(a.cancelled());
    EXPECT_EQ(b.value(), 3);
    co_await c;
    // Without it: the gather raises CancelledError at once (asyncio).
    auto victim2 = weft::spawn(sleep_long());
    auto c2 = weft::spawn(canceller(victim2));
    std::atomic<bool> gate{false};
    std::atomic<int> finished{0};
    bool cancelled = false;
    try {
      co_await weft::gather(victim2, gated(&gate, &finished, 1));
    } catch (const weft::CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(weft::this_task::cancelling(), 0u);  // nobody cancelled us
    gate = true;
    co_await c2;
    while (finished.load() < 1)
      co_await weft::sleep(1ms);  // the other task kept running; it uses our locals
  };
  weft::run(main_task(), {.workers = 3});
}

TEST(Gather, ReturnExceptionsCollectsEverything) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::vector<weft::Task<int>> tasks;
    for (int i = 0; i < 6; ++i)
      tasks.push_back(i % 2 ? fail_now("odd " + std::to_string(i)) : int_after(i, 1ms));
    auto outcomes = co_await weft::gather(weft::return_exceptions, std::move(tasks));
    EXPECT_EQ(outcomes.size(), 6u);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      if (i % 2) {
        EXPECT_TRUE(outcomes[i].has_error());
        EXPECT_EQ(weft::exception_message(outcomes[i].error()), "odd " + std::to_string(i));
        EXPECT_THROW(outcomes[i].value(), ValueError);
      } else {
        EXPECT_EQ(outcomes[i].value(), static_cast<int>(i));
      }
    }
  };
  weft::run(main_task(), {.workers = 2});
}

// ---- cancelling the gather ----

struct Cleanup {
  std::atomic<int> started{0};
  std::atomic<int> cleaned{0};
};

weft::Task<int> slow_cleanup(Cleanup* c, bool swallow) {
  c->started.fetch_add(1);
  try {
    co_await weft::sleep(10s);
  } catch (const weft::CancelledError&) {
  }
  co_await weft::sleep(5ms);  // cleanup that takes a while
  c->cleaned.fetch_add(1);
  if (!swallow) throw weft::CancelledError();
  co_return 1;  // swallowed: the gather still ends with CancelledError
}

weft::Task<void> gathering(Cleanup* c, std::atomic<bool>* saw_all_cleaned) {
  try {
    co_await weft::gather(slow_cleanup(c, false), slow_cleanup(c, true), slow_cleanup(c, false));
  } catch (const weft::CancelledError&) {
    saw_all_cleaned->store(c->cleaned.load() == 3);
    throw;
  }
}

TEST(Gather, CancellingTheGatherCancelsAndAwaitsChildren) {
  weft::test::Watchdog dog(60s);
  Cleanup c;
  std::atomic<bool> saw_all_cleaned{false};
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(gathering(&c, &saw_all_cleaned));
    while (c.started.load() < 3)
      co_await weft::sleep(1ms);
    co_await weft::sleep(1ms);
    h.cancel();
    bool cancelled = co_await weft::test::ends_cancelled(h);
    EXPECT_TRUE(cancelled);
  };
  weft::run(main_task(), {.workers = 3});
  EXPECT_TRUE(saw_all_cleaned.load());
}

TEST(Gather, ReadyResultSurvivesAPendingCancellation) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    auto a = weft::spawn(int_after(1, 0ms));
    auto b = weft::spawn(int_after(2, 0ms));
    co_await a;
    co_await b;
    weft::this_task::cancel();                  // pending: delivered at the next suspension
    auto [x, y] = co_await weft::gather(a, b);  // nothing to wait for: no suspension
    EXPECT_EQ(x + y, 3);
    bool cancelled = false;
    try {
      co_await weft::sleep(1ms);
    } catch (const weft::CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    weft::this_task::uncancel();
  };
  weft::run(main_task(), {.workers = 2});
}

// ---- bad input ----

struct Alive {
  std::atomic<int> n{0};
};
weft::Task<int> counted_sleeper(Alive* a) {
  a->n.fetch_add(1);
  struct Guard {
    Alive* a;
    ~Guard() { a->n.fetch_sub(1); }
  } g{a};
  co_await weft::sleep(1000s);
  co_return 0;
}

TEST(Gather, BadInputIsAClearError) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::JoinHandle<int> empty;
    bool threw = false;
    try {
      co_await weft::gather(empty);
    } catch (const weft::InvalidStateError&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    // A bad argument after a good one: the started child is cancelled.
    Alive alive;
    threw = false;
    try {
      co_await weft::gather(counted_sleeper(&alive), weft::Task<int>());
    } catch (const weft::InvalidStateError&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    co_await weft::sleep(1ms);
    while (alive.n.load() != 0)
      co_await weft::sleep(1ms);  // would hang (watchdog) if it had not been cancelled
    std::vector<weft::JoinHandle<int>> with_empty(2);
    threw = false;
    try {
      co_await weft::gather(with_empty);
    } catch (const weft::InvalidStateError&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
  };
  weft::run(main_task(), {.workers = 2});
}

// ---- gather is an awaitable: moved, awaited once, timed out, spawned ----

TEST(Gather, AnAwaitableMovedAwaitedOnceTimedOutOrSpawned) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    auto tasks_of = [](int n) {
      std::vector<weft::Task<int>> tasks;
      for (int i = 0; i < n; ++i)
        tasks.push_back(int_after(i, std::chrono::milliseconds(i % 2)));
      return tasks;
    };
    // Around the inline buffer's size (16 handles): no allocation below, the heap above.
    const std::array<int, 3> sizes{15, 16, 17};  // not a braced list: g++ 12 coroutine bug
    for (int n : sizes) {
      std::vector<int> want(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i)
        want[static_cast<std::size_t>(i)] = i;
      std::vector<int> got = co_await weft::gather(tasks_of(n));
      EXPECT_EQ(got, want);
    }

    // Moved before it is awaited; the moved-from one and a second await are errors.
    auto g = weft::gather(tasks_of(3));
    auto moved = std::move(g);
    std::vector<int> got = co_await moved;
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
    std::string second, from_moved;
    try {
      co_await moved;
    } catch (const weft::InvalidStateError& e) {
      second = e.what();
    }
    try {
      co_await std::move(g);
    } catch (const weft::InvalidStateError& e) {
      from_moved = e.what();
    }
    EXPECT_EQ(second, "weft::gather: awaited twice");
    EXPECT_EQ(from_moved, "weft::gather: awaiting a moved-from gather");
    auto t = weft::gather(int_after(1, 0ms), text("a"));
    auto t2 = std::move(t);
    from_moved.clear();
    try {
      co_await std::move(t);
    } catch (const weft::InvalidStateError& e) {
      from_moved = e.what();
    }
    EXPECT_EQ(from_moved, "weft::gather: awaiting a moved-from gather");
    auto one_a = co_await std::move(t2);
    EXPECT_EQ(std::get<0>(one_a), 1);
    EXPECT_EQ(std::get<1>(one_a), "a");

    // A gather that is never awaited never starts its tasks.
    Alive alive;
    {
      std::vector<weft::Task<int>> sleepers;
      sleepers.push_back(counted_sleeper(&alive));
      auto unawaited = weft::gather(std::move(sleepers));
      auto unawaited_tuple = weft::gather(counted_sleeper(&alive));
    }
    co_await weft::sleep(1ms);
    EXPECT_EQ(alive.n.load(), 0);

    // wait_for(gather(...)): the value, or TimeoutError with every child cancelled.
    std::vector<int> in_time = co_await weft::wait_for(weft::gather(tasks_of(4)), 60s);
    EXPECT_EQ(in_time, (std::vector<int>{0, 1, 2, 3}));
    std::vector<weft::Task<int>> sleepers;
    for (int i = 0; i < 3; ++i)
      sleepers.push_back(counted_sleeper(&alive));
    bool timed_out = false;
    try {
      co_await weft::wait_for(weft::gather(std::move(sleepers)), 1ms);
    } catch (const weft::TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(alive.n.load(), 0);  // the gather waited for its cancelled children

    // As a Task of its own: spawned (and so run concurrently), or shielded.
    weft::JoinHandle<std::vector<int>> h = weft::spawn(weft::gather(tasks_of(5)).as_task());
    std::vector<int> spawned = co_await h;
    EXPECT_EQ(spawned, (std::vector<int>{0, 1, 2, 3, 4}));
    auto shielded = co_await weft::shield(weft::gather(int_after(7, 1ms), half(3.0)).as_task());
    EXPECT_EQ(std::get<0>(shielded), 7);
    EXPECT_EQ(std::get<1>(shielded), 1.5);
  };
  weft::run(main_task(), {.workers = 2});
}

}  // namespace
