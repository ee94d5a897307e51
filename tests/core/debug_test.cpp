// Debug mode: slow-task warnings, never-retrieved exceptions, never-awaited
// Tasks, all_tasks()/dump(), WEFT_DEBUG=1; and runtime metrics.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "weft/sync.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

weft::Task<void> hog_worker(std::chrono::milliseconds d) {
  std::this_thread::sleep_for(d);  // blocks the worker: exactly what debug mode flags
  co_return;
}

weft::Task<int> fails() {
  throw std::logic_error("nobody looked at me");
  co_return 0;
}

weft::Task<void> sleeper(std::chrono::milliseconds d) {
  co_await weft::sleep(d);
}

TEST(Debug, SlowTaskIsReportedWithNameAndDuration) {
  weft::test::Watchdog dog(60s);
  testing::internal::CaptureStderr();
  {
    weft::Runtime rt({.workers = 1, .debug = true, .slow_task_threshold = 20ms});
    auto h = rt.spawn(hog_worker(60ms), "the-hog");
    auto wait = [](weft::JoinHandle<void> h) -> weft::Task<void> { co_await h; };
    rt.block_on(wait(h));
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("slow task: 'the-hog'"), std::string::npos) << err;
  EXPECT_NE(err.find("ms without suspending"), std::string::npos) << err;
}

TEST(Debug, NoSlowTaskReportWhenOff) {
  weft::test::Watchdog dog(60s);
  testing::internal::CaptureStderr();
  {
    weft::Runtime rt({.workers = 1, .slow_task_threshold = 1ms});
    rt.block_on(hog_worker(10ms));
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr().find("slow task"), std::string::npos);
}

TEST(Debug, NeverRetrievedExceptionIsReported) {
  weft::test::Watchdog dog(60s);
  testing::internal::CaptureStderr();
  {
    weft::Runtime rt({.workers = 1, .debug = true});
    auto main_task = []() -> weft::Task<void> {
      weft::spawn(fails(), "forgotten").detach();
      auto seen = weft::spawn(fails(), "looked-at");
      try {
        co_await seen;
      } catch (const std::logic_error&) {
      }
      co_await weft::sleep(5ms);
    };
    rt.block_on(main_task());
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("exception was never retrieved: task 'forgotten': nobody looked at me"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("'looked-at'"), std::string::npos) << err;
}

TEST(Debug, NeverAwaitedTaskIsReported) {
  weft::test::Watchdog dog(60s);
  testing::internal::CaptureStderr();
  {
    weft::Runtime rt({.workers = 1, .debug = true});
    auto main_task = []() -> weft::Task<void> {
      weft::Task<int> forgotten = fails();  // created, never awaited
      co_return;
    };
    rt.block_on(main_task());
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("was destroyed without being awaited"), std::string::npos) << err;
}

TEST(Debug, AllTasksAndDumpListNamedSuspendedTasks) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 2, .debug = true});
  auto main_task = [&]() -> weft::Task<std::string> {
    auto a = weft::spawn(sleeper(10s), "napper");
    // Until the napper has reached its sleep (not a fixed wait: a loaded
    // machine may not have run it yet); the watchdog bounds the loop.
    auto napping = [] {
      for (const weft::TaskSnapshot& t : weft::all_tasks())
        if (t.name == "napper" && t.state == "suspended") return true;
      return false;
    };
    while (!napping())
      co_await weft::sleep(1ms);
    auto tasks = weft::all_tasks();
    bool found = false;
    for (auto& t : tasks)
      if (t.name == "napper") {
        found = true;
        EXPECT_EQ(t.state, "suspended");
        EXPECT_EQ(t.waiting_on, "sleep");
        EXPECT_EQ(t.id, a.id());
      }
    EXPECT_TRUE(found);
    std::ostringstream out;
    rt.dump(out);
    a.cancel();
    co_return out.str();
  };
  std::string dump = rt.block_on(main_task());
  EXPECT_NE(dump.find("napper"), std::string::npos) << dump;
  EXPECT_NE(dump.find("sleep"), std::string::npos) << dump;
}

weft::Task<void> lock_and_hold(weft::Lock* lock, weft::Event* release) {
  auto guard = co_await lock->scoped();
  co_await release->wait();
}

weft::Task<void> lock_once(weft::Lock* lock) {
  auto guard = co_await lock->scoped();
}

TEST(Debug, DumpListsANamedTaskWaitingOnALock) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 2, .debug = true});
  weft::Lock lock;
  weft::Event release;
  auto main_task = [&]() -> weft::Task<std::string> {
    auto holder = weft::spawn(lock_and_hold(&lock, &release), "holder");
    while (!lock.locked())
      co_await weft::sleep(1ms);
    auto blocked = weft::spawn(lock_once(&lock), "waits-for-the-lock");
    auto waiting = [] {
      for (const weft::TaskSnapshot& t : weft::all_tasks())
        if (t.name == "waits-for-the-lock" && t.state == "suspended") return true;
      return false;
    };
    while (!waiting())  // the watchdog bounds it
      co_await weft::sleep(1ms);
    std::ostringstream out;
    rt.dump(out);
    release.set();
    co_await holder;
    co_await blocked;
    co_return out.str();
  };
  std::string dump = rt.block_on(main_task());
  std::istringstream lines(dump);
  bool found = false;
  for (std::string line; std::getline(lines, line);)
    if (line.find("waits-for-the-lock") != std::string::npos) {
      found = true;
      EXPECT_NE(line.find("suspended"), std::string::npos) << line;
      EXPECT_NE(line.find("Lock.lock"), std::string::npos) << line;
    }
  EXPECT_TRUE(found) << dump;
}

TEST(Debug, AllTasksNeedsDebugMode) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 1});
  auto main_task = []() -> weft::Task<bool> {
    try {
      (void)weft::all_tasks();
    } catch (const weft::InvalidStateError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(rt.block_on(main_task()));
  EXPECT_THROW(weft::all_tasks(), weft::RuntimeError);  // not inside a runtime
}

TEST(Debug, EnvironmentVariableTurnsItOn) {
  weft::test::Watchdog dog(60s);
  setenv("WEFT_DEBUG", "1", 1);
  {
    weft::Runtime rt({.workers = 1});
    EXPECT_TRUE(rt.options().debug);
  }
  unsetenv("WEFT_DEBUG");
  weft::Runtime rt({.workers = 1});
  EXPECT_FALSE(rt.options().debug);
}

TEST(Debug, Sigusr1DumpsTasks) {
  weft::test::Watchdog dog(60s);
  testing::internal::CaptureStderr();
  {
    weft::Runtime rt({.workers = 1, .debug = true});
    auto h = rt.spawn(sleeper(10s), "signalled-sleeper");
    std::this_thread::sleep_for(5ms);
    raise(SIGUSR1);
    std::this_thread::sleep_for(50ms);  // the dump thread prints asynchronously
    h.cancel();
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("signalled-sleeper"), std::string::npos) << err;
}

TEST(Metrics, CountersMove) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  auto fib = [](auto& self, int n) -> weft::Task<int> {
    if (n < 2) co_return n;
    auto child = weft::spawn(self(self, n - 1));
    int b = co_await self(self, n - 2);
    co_return co_await child + b;
  };
  auto root = [&]() -> weft::Task<int> { co_return co_await fib(fib, 18); };
  EXPECT_EQ(rt.block_on(root()), 2584);
  weft::RuntimeMetrics m = rt.metrics();
  ASSERT_EQ(m.workers.size(), 2u);
  std::uint64_t polls = 0;
  for (auto& w : m.workers)
    polls += w.polls;
  EXPECT_GT(polls, 100u);
  EXPECT_EQ(m.live_tasks, 0u);
}

}  // namespace
