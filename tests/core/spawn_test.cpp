// weft::spawn and JoinHandle: results, exceptions, done(), names, ids, detach,
// spawning and waking from plain threads, block_on, shutdown with queued work.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

weft::Task<int> value(int v) {
  co_return v;
}
weft::Task<void> fail(const char* msg) {
  throw std::invalid_argument(msg);
  co_return;
}

// A free coroutine: its frame owns copies of its arguments. (A capturing lambda
// coroutine would keep a pointer to the lambda object, which must then outlive
// the task: not the case for a lambda declared in a loop body.)
weft::Task<int> add_to(std::atomic<int>* sum, int v) {
  sum->fetch_add(v);
  co_return v;
}

weft::Task<int> fib(int n) {
  if (n < 2) co_return n;
  weft::JoinHandle<int> child = weft::spawn(fib(n - 1));
  int b = co_await fib(n - 2);
  int a = co_await child;
  co_return a + b;
}

TEST(Spawn, JoinReturnsValue) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<int> {
    auto h = weft::spawn(value(5));
    int v = co_await h;
    EXPECT_TRUE(h.done());
    EXPECT_FALSE(h.cancelled());
    int again = co_await h;  // lvalue: copies, may be awaited again
    co_return v + again;
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 2}), 10);
}

TEST(Spawn, JoinRethrows) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<std::string> {
    auto h = weft::spawn(fail("bad"));
    try {
      co_await h;
    } catch (const std::invalid_argument& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 2}), "bad");
}

TEST(Spawn, ForkJoinFib) {
  weft::test::Watchdog dog(120s);
  EXPECT_EQ(weft::run(fib(20), {.workers = 2}), 6765);
  EXPECT_EQ(weft::run(fib(20), {.workers = 4}), 6765);
  EXPECT_EQ(weft::run(fib(15), {.workers = 1}), 610);
}

TEST(Spawn, NamesAndIds) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    auto named = weft::spawn(value(1), "worker-A");
    auto anon = weft::spawn(value(2));
    EXPECT_EQ(named.name(), "worker-A");
    EXPECT_EQ(anon.name(), "Task-" + std::to_string(anon.id()));
    EXPECT_NE(named.id(), anon.id());
    co_await named;
    co_await anon;
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(Spawn, ResultBeforeDoneIsInvalidState) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 1});
  std::atomic<bool> release{false};
  auto slow = [&]() -> weft::Task<int> {
    while (!release.load())
      co_await weft::yield();
    co_return 3;
  };
  auto h = rt.spawn(slow());
  EXPECT_THROW(h.result(), weft::InvalidStateError);
  release = true;
  auto wait = [](weft::JoinHandle<int> h) -> weft::Task<int> { co_return co_await h; };
  EXPECT_EQ(rt.block_on(wait(h)), 3);
  EXPECT_EQ(h.result(), 3);
}

TEST(Spawn, MoveOnlyResultMovedOutOnce) {
  weft::test::Watchdog dog(60s);
  auto make = []() -> weft::Task<std::unique_ptr<int>> { co_return std::make_unique<int>(9); };
  auto main_task = [&]() -> weft::Task<bool> {
    auto h = weft::spawn(make());
    std::unique_ptr<int> p = co_await h;
    bool second_threw = false;
    try {
      (void)co_await h;
    } catch (const weft::InvalidStateError&) {
      second_threw = true;
    }
    co_return p&&* p == 9 && second_threw;
  };
  EXPECT_TRUE(weft::run(main_task(), {.workers = 2}));
}

TEST(Spawn, CopyAfterAnotherHandleMovedTheResultOutIsAnError) {
  weft::test::Watchdog dog(60s);
  auto make = []() -> weft::Task<std::string> { co_return std::string(100, 'x'); };
  auto main_task = [&]() -> weft::Task<bool> {
    auto a = weft::spawn(make());
    weft::JoinHandle<std::string> b = a;  // a second handle on the same task
    std::string moved = co_await std::move(a);
    bool threw = false;
    try {
      (void)co_await b;  // would silently copy a moved-from string
    } catch (const weft::InvalidStateError&) {
      threw = true;
    }
    co_return moved.size() == 100 && threw;
  };
  EXPECT_TRUE(weft::run(main_task(), {.workers = 2}));
}

TEST(Spawn, SpawnAndBlockOnFromPlainThreads) {
  weft::test::Watchdog dog(120s);
  weft::Runtime rt({.workers = 2});
  std::atomic<int> sum{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (i % 2) {
          EXPECT_EQ(rt.block_on(add_to(&sum, 1)), 1);
        } else {
          rt.spawn(add_to(&sum, 1)).detach();
        }
      }
      (void)t;
    });
  }
  for (auto& t : threads)
    t.join();
  // The detached tasks may still be queued: shutdown() would cancel those
  // before their first step (asyncio.run's rule), so wait for them first.
  while (sum.load() < 4 * 200)
    std::this_thread::yield();
  rt.shutdown();
  EXPECT_EQ(sum.load(), 4 * 200);
}

TEST(Spawn, BlockOnFromWorkerIsAnError) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 1});
  auto inner = [&]() -> weft::Task<bool> {
    try {
      rt.block_on(value(1));
    } catch (const weft::InvalidStateError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(rt.block_on(inner()));
}

TEST(Spawn, EmptyOrUsedTaskIsAnError) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 1});
  weft::Task<int> t = value(1);
  weft::Task<int> moved = std::move(t);
  EXPECT_THROW(rt.spawn(std::move(t)), weft::InvalidStateError);
  EXPECT_EQ(rt.block_on(std::move(moved)), 1);
}

TEST(Spawn, ShutdownWithQueuedTasksFreesThem) {
  weft::test::Watchdog dog(60s);
  std::atomic<int> ran{0};
  {
    weft::Runtime rt({.workers = 1});
    auto blocker = [&]() -> weft::Task<void> {
      for (int i = 0; i < 1000; ++i)
        co_await weft::yield();
      ran++;
    };
    for (int i = 0; i < 1000; ++i)
      rt.spawn(blocker()).detach();
  }  // destructor: cancels, unwinds, frees (ASan/LSan checks the frees)
  EXPECT_LE(ran.load(), 1000);
}

TEST(Spawn, SpawnAfterShutdownThrows) {
  weft::Runtime rt({.workers = 1});
  rt.shutdown();
  EXPECT_THROW(rt.spawn(value(1)), weft::RuntimeError);
}

}  // namespace
