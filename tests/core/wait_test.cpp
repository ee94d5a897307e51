// weft::wait and weft::AsCompleted: the seed's wait 的錯誤處理 example, every
// ReturnWhen, timeouts (nothing cancelled), cancellation of the waiter,
// completion order, exceptions through as_completed, and bad input.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
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

// ---- the seed's wait 的錯誤處理 example (1/2/3 s scaled down) ----
//
// To keep the outcome independent of timing, B starts its delay only after A
// finished, and C sleeps far longer than B (it is cancelled at the end anyway).
weft::Task<std::string> seed_task(std::string name, std::chrono::milliseconds delay,
                                  bool should_fail = false,
                                  weft::JoinHandle<std::string> after = {}) {
  if (after) {
    std::vector<weft::JoinHandle<std::string>> first{after};
    co_await weft::wait(first);  // A finished (its result left alone)
  }
  co_await weft::sleep(delay);
  if (should_fail) throw ValueError(name + " 失敗");
  co_return name + " 成功";
}

weft::Task<void> seed_main(std::vector<std::string>* out) {
  std::vector<weft::JoinHandle<std::string>> tasks;
  tasks.push_back(weft::spawn(seed_task("A", 10ms)));
  tasks.push_back(weft::spawn(seed_task("B", 10ms, /*should_fail=*/true, tasks[0])));
  tasks.push_back(weft::spawn(seed_task("C", 10s)));

  auto [done, pending] = co_await weft::wait(tasks, weft::ReturnWhen::FirstException);

  out->push_back("完成: " + std::to_string(done.size()) +
                 ", 待處理: " + std::to_string(pending.size()));
  std::cout << out->back() << "\n";

  for (auto& task : done) {
    try {
      out->push_back("結果: " + task.result());
    } catch (const std::exception& e) {
      out->push_back(std::string("異常: ") + e.what());
    }
    std::cout << out->back() << "\n";
  }

  // cancel the pending tasks
  for (auto& task : pending)
    task.cancel();
}

TEST(Wait, SeedExample) {
  weft::test::Watchdog dog(60s);
  std::vector<std::string> out;
  weft::run(seed_main(&out), {.workers = 2});
  // Python's `done` is a set (order left open); weft keeps input order.
  EXPECT_EQ(out, (std::vector<std::string>{"完成: 2, 待處理: 1", "結果: A 成功", "異常: B 失敗"}));
}

// ---- ReturnWhen ----

weft::Task<int> gated(std::atomic<bool>* gate, int v) {
  while (!gate->load())
    co_await weft::sleep(1ms);
  co_return v;
}
weft::Task<int> now(int v) {
  co_await weft::yield();
  co_return v;
}
weft::Task<int> fail_now(std::string msg) {
  co_await weft::yield();
  throw ValueError(msg);
}
weft::Task<int> sleep_long() {
  co_await weft::sleep(10s);
  co_return 0;
}

std::vector<int> values_of(std::vector<weft::JoinHandle<int>>& hs) {
  std::vector<int> out;
  for (auto& h : hs)
    out.push_back(h.result());
  return out;
}

TEST(Wait, FirstCompleted) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<bool> gate{false};
    std::vector<weft::JoinHandle<int>> hs{weft::spawn(gated(&gate, 1)), weft::spawn(now(2)),
                                          weft::spawn(gated(&gate, 3))};
    auto [done, pending] = co_await weft::wait(hs, weft::ReturnWhen::FirstCompleted);
    EXPECT_EQ(values_of(done), std::vector<int>{2});
    EXPECT_EQ(pending.size(), 2u);
    for (auto& h : pending)
      EXPECT_FALSE(h.cancelled());  // wait() cancels nothing
    gate = true;
    auto [all, rest] = co_await weft::wait(hs);              // AllCompleted by default
    EXPECT_EQ(values_of(all), (std::vector<int>{1, 2, 3}));  // input order
    EXPECT_TRUE(rest.empty());
  };
  weft::run(main_task(), {.workers = 3});
}

TEST(Wait, FirstExceptionAndAllCompleted) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<bool> gate{false};
    std::vector<weft::JoinHandle<int>> hs{weft::spawn(gated(&gate, 1)), weft::spawn(fail_now("x")),
                                          weft::spawn(now(3))};
    auto [done, pending] = co_await weft::wait(hs, weft::ReturnWhen::FirstException);
    EXPECT_GE(done.size(), 1u);  // the failure, maybe the quick one too
    EXPECT_EQ(pending.size() + done.size(), 3u);
    EXPECT_TRUE(hs[1].done());
    EXPECT_FALSE(hs[0].done());  // gated: cannot be done
    gate = true;
    // AllCompleted never raises: failures stay in the handles.
    auto [all, none] = co_await weft::wait(hs, weft::ReturnWhen::AllCompleted);
    EXPECT_EQ(all.size(), 3u);
    EXPECT_TRUE(none.empty());
    EXPECT_THROW(hs[1].result(), ValueError);

    // FirstException with no failure (a cancellation is not one): waits for all.
    std::atomic<bool> gate2{false};
    std::vector<weft::JoinHandle<int>> more{weft::spawn(sleep_long()), weft::spawn(now(1)),
                                            weft::spawn(gated(&gate2, 2))};
    auto opener = [](std::atomic<bool>* g, weft::JoinHandle<int> victim) -> weft::Task<void> {
      co_await weft::sleep(2ms);
      victim.cancel();
      co_await weft::sleep(2ms);
      g->store(true);
    };
    auto o = weft::spawn(opener(&gate2, more[0]));
    auto [d2, p2] = co_await weft::wait(more, weft::ReturnWhen::FirstException);
    EXPECT_EQ(d2.size(), 3u);
    EXPECT_TRUE(p2.empty());
    EXPECT_TRUE(more[0].cancelled());
    co_await o;
  };
  weft::run(main_task(), {.workers = 3});
}

TEST(Wait, TimeoutReturnsPendingWithoutCancelling) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<bool> gate{false};
    std::vector<weft::JoinHandle<int>> hs{weft::spawn(gated(&gate, 1)), weft::spawn(now(2))};
    co_await hs[1];
    auto [done, pending] = co_await weft::wait(hs, weft::ReturnWhen::AllCompleted, 20ms);
    EXPECT_EQ(values_of(done), std::vector<int>{2});
    EXPECT_EQ(pending.size(), 1u);
    EXPECT_FALSE(hs[0].done());
    EXPECT_EQ(weft::this_task::cancelling(), 0u);  // the timeout's request was withdrawn
    auto [d0, p0] = co_await weft::wait(hs, 0ms);  // zero: just look
    EXPECT_EQ(d0.size(), 1u);
    EXPECT_EQ(p0.size(), 1u);
    gate = true;
    int v0 = co_await hs[0];
    EXPECT_EQ(v0, 1);  // still running after both timeouts: not cancelled
    auto [d1, p1] = co_await weft::wait(hs, weft::ReturnWhen::FirstCompleted, 10s);
    EXPECT_EQ(d1.size(), 2u);  // already done: no wait
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(Wait, CancellingTheWaiterLeavesTheTasksAlone) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<bool> gate{false};
    std::vector<weft::JoinHandle<int>> hs{weft::spawn(gated(&gate, 1)),
                                          weft::spawn(gated(&gate, 2))};
    std::atomic<bool> waiting{false};
    auto waiter = [&]() -> weft::Task<bool> {
      waiting = true;
      try {
        co_await weft::wait(hs);
      } catch (const weft::CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    auto w = weft::spawn(waiter());
    while (!waiting.load())
      co_await weft::sleep(1ms);
    co_await weft::sleep(2ms);
    w.cancel();
    bool waiter_cancelled = co_await w;
    EXPECT_TRUE(waiter_cancelled);
    EXPECT_FALSE(hs[0].done());
    EXPECT_FALSE(hs[1].done());
    gate = true;
    int a = co_await hs[0];
    int b = co_await hs[1];
    EXPECT_EQ(a + b, 3);
  };
  weft::run(main_task(), {.workers = 3});
}

TEST(Wait, BadInputIsAClearError) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::vector<weft::JoinHandle<int>> none;
    bool threw = false;
    try {
      co_await weft::wait(none);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    std::vector<weft::JoinHandle<int>> with_empty(1);
    threw = false;
    try {
      co_await weft::wait(with_empty);
    } catch (const weft::InvalidStateError&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    std::vector<weft::JoinHandle<int>> one{weft::spawn(now(1))};
    threw = false;
    try {
      co_await weft::wait(one, static_cast<weft::ReturnWhen>(7));
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    co_await one[0];
  };
  weft::run(main_task(), {.workers = 2});
}

// ---- as_completed ----

weft::Task<int> after_handle(weft::JoinHandle<int> before, int v) {
  if (before) {
    try {
      co_await weft::shield(before);
    } catch (...) {
    }
  }
  co_return v;
}
weft::Task<int> fail_after_handle(weft::JoinHandle<int> before, std::string msg) {
  co_await weft::shield(before);
  throw ValueError(msg);
}

TEST(AsCompleted, YieldsInCompletionOrder) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    // Completion order is forced: 30 after 10 after 20, all after the gate
    // opens (tasks already finished at construction come first, in the order
    // given: their completion order is not known). One worker: a completion
    // is announced to every listener before anything else runs, so the
    // order is exact (see as_completed.hpp for several workers).
    std::atomic<bool> gate{false};
    auto h20 = weft::spawn(gated(&gate, 20));
    auto h10 = weft::spawn(after_handle(h20, 10));
    auto h30 = weft::spawn(after_handle(h10, 30));
    weft::AsCompleted<int> ac({h30, h10, h20});
    gate = true;
    std::vector<int> got;
    while (ac) {
      int v = co_await ac.next();
      got.push_back(v);
    }
    EXPECT_EQ(got, (std::vector<int>{20, 10, 30}));
    EXPECT_EQ(ac.remaining(), 0u);
    bool threw = false;
    try {
      co_await ac.next();
    } catch (const weft::InvalidStateError&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
  };
  weft::run(main_task(), {.workers = 1});
}

TEST(AsCompleted, ExceptionsComeOutInTheirTurn) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<bool> gate{false};
    auto first = weft::spawn(gated(&gate, 1));
    auto bad = weft::spawn(fail_after_handle(first, "bad"));
    auto last = weft::spawn(after_handle(bad, 3));
    auto ac = weft::as_completed(std::vector<weft::JoinHandle<int>>{last, bad, first});
    gate = true;
    std::vector<std::string> got;
    while (ac) {
      try {
        int v = co_await ac.next();
        got.push_back(std::to_string(v));
      } catch (const ValueError& e) {
        got.push_back(e.what());
      }
    }
    EXPECT_EQ(got, (std::vector<std::string>{"1", "bad", "3"}));
  };
  weft::run(main_task(), {.workers = 1});
}

TEST(AsCompleted, TasksVoidsAndHandles) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::vector<weft::Task<int>> tasks;
    for (int i = 0; i < 100; ++i)
      tasks.push_back(now(i));
    weft::AsCompleted<int> ac(std::move(tasks));
    int sum = 0;
    while (ac)
      sum += co_await ac.next();
    EXPECT_EQ(sum, 4950);

    std::atomic<int> ran{0};
    auto v = [](std::atomic<int>* r) -> weft::Task<void> {
      co_await weft::yield();
      r->fetch_add(1);
    };
    std::vector<weft::Task<void>> voids;
    for (int i = 0; i < 3; ++i)
      voids.push_back(v(&ran));
    auto vc = weft::as_completed(std::move(voids));
    while (vc) {
      weft::JoinHandle<void> h = co_await vc.next_handle();
      EXPECT_TRUE(h.done());
    }
    EXPECT_EQ(ran.load(), 3);
  };
  weft::run(main_task(), {.workers = 3});
}

TEST(AsCompleted, ManyReadyResultsRespectTheBudget) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::vector<weft::JoinHandle<int>> hs;
    for (int i = 0; i < 2000; ++i)
      hs.push_back(weft::spawn(now(1)));
    co_await weft::gather(hs);  // all finished before the loop
    weft::AsCompleted<int> ac(hs);
    int n = 0;
    while (ac)
      n += co_await ac.next();
    EXPECT_EQ(n, 2000);
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(AsCompleted, TimeoutThrowsAndCancelsNothing) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<bool> gate{false};
    std::vector<weft::JoinHandle<int>> hs{weft::spawn(now(1)), weft::spawn(gated(&gate, 2))};
    // The first task is done before the 20 ms start, so that the timeout can
    // only ever be the gated one's (a loaded machine may delay any task).
    co_await hs[0];
    weft::AsCompleted<int> ac(hs, 20ms);
    int first = co_await ac.next();
    EXPECT_EQ(first, 1);
    bool timed_out = false;
    try {
      co_await ac.next();
    } catch (const weft::TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(ac.remaining(), 1u);
    EXPECT_FALSE(hs[1].done());
    EXPECT_EQ(weft::this_task::cancelling(), 0u);
    gate = true;
    int second = co_await hs[1];
    EXPECT_EQ(second, 2);  // not cancelled
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(AsCompleted, CancelledConsumerLosesNothing) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<bool> gate{false};
    std::vector<weft::JoinHandle<int>> hs{weft::spawn(gated(&gate, 7))};
    weft::AsCompleted<int> ac(hs);
    std::atomic<bool> waiting{false};
    auto consumer = [&]() -> weft::Task<bool> {
      waiting = true;
      try {
        co_await ac.next();
      } catch (const weft::CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    auto c = weft::spawn(consumer());
    while (!waiting.load())
      co_await weft::sleep(1ms);
    co_await weft::sleep(2ms);
    c.cancel();
    bool consumer_cancelled = co_await c;
    EXPECT_TRUE(consumer_cancelled);
    EXPECT_FALSE(hs[0].cancelled());
    gate = true;
    int again = co_await ac.next();
    EXPECT_EQ(again, 7);  // the same result comes out of the next call
    EXPECT_FALSE(ac);
  };
  weft::run(main_task(), {.workers = 3});
}

TEST(AsCompleted, BadInputIsAClearError) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    EXPECT_THROW(weft::AsCompleted<int>(std::vector<weft::JoinHandle<int>>{}),
                 std::invalid_argument);
    EXPECT_THROW(weft::AsCompleted<int>(std::vector<weft::Task<int>>{}), std::invalid_argument);
    EXPECT_THROW(weft::AsCompleted<int>(std::vector<weft::JoinHandle<int>>(1)),
                 weft::InvalidStateError);
    co_return;
  };
  weft::run(main_task(), {.workers = 1});
}

}  // namespace
