// asyncio cancellation semantics: delivery point, cleanup, swallowing, counts,
// cancel before start / while running / during cleanup / from plain threads,
// cancellation through joins, shield, and shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

// The seed's 任務取消 example, with 1 s scaled to 10 ms.
TEST(Cancel, SeedCancellableTask) {
  weft::test::Watchdog dog(60s);
  std::vector<std::string> log;
  std::atomic<int> ticks{0};
  auto cancellable_task = [&]() -> weft::Task<void> {
    try {
      for (;;) {
        ticks++;
        co_await weft::sleep(10ms);
      }
    } catch (const weft::CancelledError&) {
      log.push_back("received");
      log.push_back("cleaned");
      throw;
    }
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto task = weft::spawn(cancellable_task());
    // Until its body has begun (a task cancelled before its first step never
    // runs it, and "received" would be missing), not a fixed 30 ms.
    while (ticks.load() < 1)
      co_await weft::sleep(1ms);
    EXPECT_TRUE(task.cancel());
    try {
      co_await task;
    } catch (const weft::CancelledError&) {
      log.push_back("task cancelled");
    }
    EXPECT_TRUE(task.cancelled());
    EXPECT_TRUE(task.done());
  };
  weft::run(main_task(), {.workers = 2});
  EXPECT_EQ(log, (std::vector<std::string>{"received", "cleaned", "task cancelled"}));
  EXPECT_GE(ticks.load(), 1);
}

TEST(Cancel, SwallowedCancellationReturnsValue) {
  weft::test::Watchdog dog(60s);
  std::atomic<bool> started{false};
  auto stubborn = [&]() -> weft::Task<int> {
    started = true;
    try {
      co_await weft::sleep(10s);
    } catch (const weft::CancelledError&) {
    }
    co_await weft::sleep(1ms);  // more awaits during cleanup are fine
    co_return 7;
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(stubborn());
    while (!started.load())  // begun: cancelled before, it would never run
      co_await weft::sleep(1ms);
    h.cancel();
    int v = co_await h;
    EXPECT_EQ(v, 7);
    EXPECT_FALSE(h.cancelled());
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(Cancel, BeforeFirstStepNeverRunsTheBody) {
  weft::test::Watchdog dog(60s);
  std::atomic<bool> ran{false};
  auto body = [&]() -> weft::Task<void> {
    ran = true;
    co_return;
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(body());
    EXPECT_TRUE(h.cancel());  // still queued behind us on this worker
    bool threw = co_await weft::test::ends_cancelled(h);
    EXPECT_TRUE(threw);
    EXPECT_TRUE(h.cancelled());
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_FALSE(ran.load());
}

TEST(Cancel, WhileRunningIsDeliveredAtTheNextSuspension) {
  weft::test::Watchdog dog(60s);
  std::atomic<bool> started{false};
  std::atomic<bool> go{false};
  std::atomic<int> after_loop{0};
  auto busy = [&]() -> weft::Task<void> {
    started = true;
    while (!go.load()) {
    }  // no suspension: the request must wait
    after_loop = 1;
    co_await weft::yield();  // delivered here
    after_loop = 2;
  };
  weft::Runtime rt({.workers = 2});
  auto h = rt.spawn(busy());
  while (!started.load())
    std::this_thread::yield();
  EXPECT_TRUE(h.cancel());  // from a plain thread, while it runs
  go = true;
  auto wait = [](weft::JoinHandle<void> h) -> weft::Task<bool> {
    try {
      co_await h;
    } catch (const weft::CancelledError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(rt.block_on(wait(h)));
  EXPECT_EQ(after_loop.load(), 1);
}

TEST(Cancel, DuringCleanupAgain) {
  weft::test::Watchdog dog(60s);
  std::atomic<int> stage{0};
  std::atomic<bool> started{false};
  auto task = [&]() -> weft::Task<void> {
    started = true;
    try {
      co_await weft::sleep(10s);
    } catch (const weft::CancelledError&) {
      stage = 1;
    }
    co_await weft::sleep(10s);  // cleanup that is itself cancelled
    stage = 99;
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(task());
    while (!started.load())  // begun: cancelled before, it would never run
      co_await weft::sleep(1ms);
    h.cancel();
    while (stage.load() != 1)
      co_await weft::sleep(1ms);
    co_await weft::sleep(2ms);
    h.cancel();
    bool threw = co_await weft::test::ends_cancelled(h);
    EXPECT_TRUE(threw);
  };
  weft::run(main_task(), {.workers = 2});
  EXPECT_EQ(stage.load(), 1);
}

TEST(Cancel, DoubleCancelDeliversOnceAndCounts) {
  weft::test::Watchdog dog(60s);
  std::atomic<int> caught{0};
  std::atomic<std::uint32_t> seen_cancelling{0};
  auto task = [&]() -> weft::Task<int> {
    try {
      co_await weft::sleep(10s);
    } catch (const weft::CancelledError&) {
      caught++;
      seen_cancelling = weft::this_task::cancelling();
    }
    co_await weft::sleep(2ms);  // would throw if a second delivery were pending
    co_return 1;
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(task());
    co_await weft::sleep(2ms);
    h.cancel();
    h.cancel();
    int v = co_await h;
    EXPECT_EQ(v, 1);
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(caught.load(), 1);
  EXPECT_EQ(seen_cancelling.load(), 2u);
}

TEST(Cancel, FinishedTaskIsANoOp) {
  weft::test::Watchdog dog(60s);
  auto quick = []() -> weft::Task<int> { co_return 3; };
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(quick());
    co_await h;
    EXPECT_FALSE(h.cancel());
    EXPECT_FALSE(h.cancelled());
    EXPECT_EQ(h.cancelling(), 0u);
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(Cancel, FromAPlainThreadWhileSuspended) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  std::atomic<bool> cleaned{false}, started{false};
  auto sleeper = [&]() -> weft::Task<void> {
    started = true;
    try {
      co_await weft::sleep(100s);
    } catch (const weft::CancelledError&) {
      cleaned = true;
      throw;
    }
  };
  auto h = rt.spawn(sleeper());
  // The body must have begun (a task cancelled before its first step never
  // runs it); the cancel may then land before or after the sleep suspends.
  while (!started.load())
    std::this_thread::yield();
  std::thread canceller([&] { EXPECT_TRUE(h.cancel()); });
  canceller.join();
  auto wait = [](weft::JoinHandle<void> h) -> weft::Task<bool> {
    try {
      co_await h;
    } catch (const weft::CancelledError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(rt.block_on(wait(h)));
  EXPECT_TRUE(cleaned.load());
}

TEST(Cancel, PropagatesThroughJoinAndInnerMaySwallow) {
  weft::test::Watchdog dog(60s);
  std::atomic<bool> inner_saw{false};
  std::atomic<int> started{0};
  auto inner = [&]() -> weft::Task<int> {
    started++;
    try {
      co_await weft::sleep(10s);
    } catch (const weft::CancelledError&) {
      inner_saw = true;
    }
    co_return 11;
  };
  auto outer = [&](weft::JoinHandle<int> h) -> weft::Task<int> {
    started++;
    co_return co_await h;
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto ih = weft::spawn(inner());
    auto oh = weft::spawn(outer(ih));
    while (started.load() != 2)  // both begun (cancelled before, a body never runs)
      co_await weft::sleep(1ms);
    oh.cancel();
    int v = co_await oh;  // inner swallowed: the outer gets its value
    EXPECT_EQ(v, 11);
    EXPECT_TRUE(inner_saw.load());
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(Cancel, ShieldProtectsTheInnerTask) {
  weft::test::Watchdog dog(60s);
  std::atomic<bool> inner_done{false}, outer_started{false};
  std::atomic<bool> finish{false};  // set only after the outer task was cancelled
  auto inner = [&]() -> weft::Task<int> {
    while (!finish.load())
      co_await weft::sleep(1ms);
    inner_done = true;
    co_return 5;
  };
  auto outer = [&](weft::JoinHandle<int> h) -> weft::Task<int> {
    outer_started = true;
    co_return co_await weft::shield(h);
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto ih = weft::spawn(inner());
    auto oh = weft::spawn(outer(ih));
    while (!outer_started.load())  // begun: cancelled before, it would never run
      co_await weft::sleep(1ms);
    oh.cancel();
    bool outer_cancelled = co_await weft::test::ends_cancelled(oh);
    finish = true;
    EXPECT_TRUE(outer_cancelled);
    EXPECT_FALSE(ih.cancelled());
    EXPECT_EQ(co_await ih, 5);
    EXPECT_TRUE(inner_done.load());
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(Cancel, UncancelCounts) {
  weft::test::Watchdog dog(60s);
  auto task = [&]() -> weft::Task<std::uint32_t> {
    try {
      co_await weft::sleep(10s);
    } catch (const weft::CancelledError&) {
    }
    EXPECT_EQ(weft::this_task::cancelling(), 1u);
    EXPECT_EQ(weft::this_task::uncancel(), 0u);
    EXPECT_EQ(weft::this_task::uncancel(), 0u);  // never below zero
    co_await weft::sleep(1ms);
    co_return weft::this_task::cancelling();
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(task());
    co_await weft::sleep(2ms);
    h.cancel();
    EXPECT_EQ(co_await h, 0u);
  };
  weft::run(main_task(), {.workers = 1});
}

TEST(Cancel, RunCancelsLeftoverTasksAndLetsThemClean) {
  weft::test::Watchdog dog(60s);
  std::atomic<int> cleaned{0}, started{0};
  auto forever = [&]() -> weft::Task<void> {
    started++;
    bool cancelled = false;
    try {
      co_await weft::sleep(1000s);
    } catch (const weft::CancelledError&) {
      cancelled = true;
    }
    if (cancelled) {
      co_await weft::sleep(1ms);  // cleanup may await
      cleaned++;
      throw weft::CancelledError();
    }
  };
  auto main_task = [&]() -> weft::Task<int> {
    for (int i = 0; i < 50; ++i)
      weft::spawn(forever()).detach();
    while (started.load() != 50)  // all begun (cancelled before, a body never runs)
      co_await weft::sleep(1ms);
    co_return 1;
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 2}), 1);
  EXPECT_EQ(cleaned.load(), 50);
}

TEST(Cancel, ShutdownReportsTasksThatRefuseToFinish) {
  weft::test::Watchdog dog(60s);
  testing::internal::CaptureStderr();
  {
    weft::Runtime rt({.workers = 1, .shutdown_timeout = 50ms});
    std::atomic<bool> started{false};
    auto stubborn = [&started]() -> weft::Task<void> {
      started = true;
      for (;;) {
        try {
          co_await weft::sleep(10ms);
        } catch (const weft::CancelledError&) {
        }
      }
    };
    rt.spawn(stubborn(), "stubborn-one").detach();
    while (!started.load())  // begun: a task cancelled before that never runs
      std::this_thread::yield();
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("stubborn-one"), std::string::npos) << err;
}

}  // namespace
