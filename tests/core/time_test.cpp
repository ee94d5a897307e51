// sleep, wait_for, timeout scopes and with_timeout: the seed's examples (time
// scaled down), accuracy (never early), asyncio's edge rules, idle CPU use.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

TEST(Sleep, NeverWakesEarly) {
  weft::test::Watchdog dog(120s);
  std::atomic<int> early{0};
  auto one = [&](int i) -> weft::Task<void> {
    auto d = std::chrono::microseconds(100 + (i * 7919) % 20000);
    auto start = weft::Clock::now();
    co_await weft::sleep(d);
    if (weft::Clock::now() - start < d) early++;
  };
  auto main_task = [&]() -> weft::Task<void> {
    std::vector<weft::JoinHandle<void>> hs;
    for (int i = 0; i < 2000; ++i)
      hs.push_back(weft::spawn(one(i)));
    for (auto& h : hs)
      co_await h;
  };
  weft::run(main_task(), {.workers = 2});
  EXPECT_EQ(early.load(), 0);
}

TEST(Sleep, SleepUntilAndZero) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    auto t = weft::Clock::now() + 5ms;
    co_await weft::sleep_until(t);
    EXPECT_GE(weft::Clock::now(), t);
    co_await weft::sleep(0s);                             // yields
    co_await weft::sleep(-5s);                            // yields
    co_await weft::sleep_until(weft::Clock::now() - 1h);  // yields
  };
  weft::run(main_task(), {.workers = 1});
}

// Seed: wait_for — slow_operation() sleeps 10 s, timeout 3 s (scaled to 1 s / 30 ms).
TEST(WaitFor, SeedTimesOut) {
  weft::test::Watchdog dog(60s);
  auto slow_operation = []() -> weft::Task<std::string> {
    co_await weft::sleep(1s);
    co_return "done";
  };
  auto main_task = [&]() -> weft::Task<std::string> {
    try {
      std::string r = co_await weft::wait_for(slow_operation(), 30ms);
      co_return r;
    } catch (const weft::TimeoutError&) {
      co_return "timed out";
    }
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 2}), "timed out");
}

TEST(WaitFor, CompletesInTime) {
  weft::test::Watchdog dog(60s);
  auto quick = []() -> weft::Task<int> {
    co_await weft::sleep(1ms);
    co_return 5;
  };
  auto main_task = [&]() -> weft::Task<int> { co_return co_await weft::wait_for(quick(), 10s); };
  EXPECT_EQ(weft::run(main_task(), {.workers = 2}), 5);
}

TEST(WaitFor, CancelsASpawnedTaskAndWaitsForItsCleanup) {
  weft::test::Watchdog dog(60s);
  std::atomic<bool> cleaned{false}, started{false};
  auto inner = [&]() -> weft::Task<int> {
    started = true;
    try {
      co_await weft::sleep(10s);
    } catch (const weft::CancelledError&) {
      cleaned = true;
      throw;
    }
    co_return 1;
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(inner());
    // Begun before the 10 ms start (cancelled before its first step, its
    // body and so its cleanup would never run).
    while (!started.load())
      co_await weft::sleep(1ms);
    bool timed_out = false;
    try {
      co_await weft::wait_for(h, 10ms);
    } catch (const weft::TimeoutError&) {
      timed_out = true;
      EXPECT_TRUE(cleaned.load()) << "wait_for must wait for the inner task to unwind";
    }
    EXPECT_TRUE(timed_out);
    EXPECT_TRUE(h.cancelled());
  };
  weft::run(main_task(), {.workers = 2});
}

// Seed: timeout — `async with asyncio.timeout(3.0): await asyncio.sleep(10)`.
TEST(Timeout, SeedBlockRaisesTimeoutError) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<bool> {
    auto body = []() -> weft::Task<void> { co_await weft::sleep(1s); };
    try {
      co_await weft::timeout(20ms, body);
    } catch (const weft::TimeoutError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(main_task(), {.workers = 2}));
}

TEST(Timeout, InnerCleanupRunsBeforeTimeoutError) {
  weft::test::Watchdog dog(60s);
  std::vector<std::string> log;
  auto main_task = [&]() -> weft::Task<void> {
    auto body = [&]() -> weft::Task<void> {
      try {
        co_await weft::sleep(1s);
      } catch (const weft::CancelledError&) {
        log.push_back("inner saw CancelledError");
        throw;
      }
    };
    try {
      co_await weft::timeout(10ms, body);
    } catch (const weft::TimeoutError&) {
      log.push_back("TimeoutError");
    }
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(log, (std::vector<std::string>{"inner saw CancelledError", "TimeoutError"}));
}

TEST(Timeout, RescheduleAndExpired) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::Timeout cm = weft::Timeout::after(5ms);
    auto body = [&]() -> weft::Task<void> {
      cm.reschedule(weft::Clock::now() + 10s);  // push the deadline out
      co_await weft::sleep(20ms);
    };
    co_await cm(body);
    EXPECT_FALSE(cm.expired());

    weft::Timeout never;  // no deadline
    auto body2 = [&]() -> weft::Task<void> {
      never.reschedule(weft::Clock::now() + 5ms);
      co_await weft::sleep(1s);
    };
    bool timed_out = false;
    try {
      co_await never(body2);
    } catch (const weft::TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_TRUE(never.expired());
    EXPECT_THROW(never.reschedule(std::nullopt), weft::InvalidStateError);
  };
  weft::run(main_task(), {.workers = 1});
}

TEST(Timeout, OuterCancellationWinsOverTimeout) {
  weft::test::Watchdog dog(60s);
  std::atomic<bool> entered{false};
  auto victim = [&]() -> weft::Task<std::string> {
    auto body = [&]() -> weft::Task<void> {
      entered = true;
      co_await weft::sleep(10s);
    };
    try {
      co_await weft::timeout(10s, body);
    } catch (const weft::TimeoutError&) {
      co_return "timeout";
    }
    co_return "completed";
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(victim());
    while (!entered.load())
      co_await weft::sleep(1ms);
    h.cancel();
    bool cancelled = co_await weft::test::ends_cancelled(h);
    EXPECT_TRUE(cancelled);
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(Timeout, NestedScopesTheInnerFires) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<std::string> {
    std::string which;
    auto inner = [&]() -> weft::Task<void> {
      auto body = []() -> weft::Task<void> { co_await weft::sleep(1s); };
      try {
        co_await weft::timeout(10ms, body);
      } catch (const weft::TimeoutError&) {
        which = "inner";
      }
      co_await weft::sleep(1ms);  // the outer scope is still fine
    };
    try {
      co_await weft::timeout(10s, inner);
    } catch (const weft::TimeoutError&) {
      which = "outer";
    }
    co_return which;
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 2}), "inner");
}

TEST(Timeout, ReadyOperationNeverArmsATimerAndStaysUncancelled) {
  weft::test::Watchdog dog(60s);
  auto ready = []() -> weft::Task<int> { co_return 4; };
  auto main_task = [&]() -> weft::Task<void> {
    for (int i = 0; i < 10000; ++i) {
      int v = co_await weft::timeout(10s, ready());
      EXPECT_EQ(v, 4);
    }
    // An already-passed deadline with no suspension: the result stands.
    int v = co_await weft::timeout(-1s, ready());
    EXPECT_EQ(v, 4);
    EXPECT_EQ(weft::this_task::cancelling(), 0u);
    co_await weft::sleep(1ms);  // no stray cancellation left behind
  };
  weft::run(main_task(), {.workers = 1});
}

// Seed: 自訂超時處理 — with_timeout(sleep(10), timeout=1, default="超時預設值").
TEST(WithTimeout, SeedReturnsTheDefault) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<std::string> {
    std::optional<std::string> r =
        co_await weft::with_timeout(weft::sleep(1s), 10ms, std::string("default on timeout"));
    co_return r.value_or("completed");
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 1}), "default on timeout");
  auto valued = []() -> weft::Task<int> {
    auto op = []() -> weft::Task<int> { co_return 3; };
    co_return co_await weft::with_timeout(op(), 1s, -1);
  };
  EXPECT_EQ(weft::run(valued(), {.workers = 1}), 3);
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

TEST(Sleep, IdleRuntimeUsesAlmostNoCpu) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  auto sleeper = []() -> weft::Task<void> { co_await weft::sleep(300ms); };
  double before = cpu_seconds();
  rt.block_on(sleeper());
  double used = cpu_seconds() - before;
  // A ticking or spinning runtime would burn most of 0.6 CPU-seconds here.
  EXPECT_LT(used, 0.05) << "idle runtime used " << used << " s of CPU in 0.3 s";
}

}  // namespace
