// Eager tasks (asyncio 3.12's eager_task_factory, 3.14's eager_start=True):
// spawn_eager() and RunOptions::eager_tasks run the new task's first step
// inside the spawn, schedule it only if it suspends, and fall back to a lazy
// start from plain threads.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "weft/sync.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

weft::Task<int> record_then_wait(std::vector<std::string>* log, weft::Event* go) {
  log->push_back("child: first step");
  co_await go->wait();
  log->push_back("child: resumed");
  co_return 7;
}

TEST(Eager, FirstStepRunsInsideTheSpawnAndTheRestIsScheduled) {
  weft::test::Watchdog dog(60s);
  std::vector<std::string> log;
  auto main_task = [&]() -> weft::Task<int> {
    weft::Event go;
    auto h = weft::spawn_eager(record_then_wait(&log, &go));
    log.push_back("parent: spawn returned");
    EXPECT_FALSE(h.done());
    go.set();
    int v = co_await h;
    co_return v;
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 1}), 7);
  EXPECT_EQ(log, (std::vector<std::string>{"child: first step", "parent: spawn returned",
                                           "child: resumed"}));
}

weft::Task<int> immediate(int v) {
  co_return v;
}
weft::Task<int> throws_at_once() {
  throw std::runtime_error("eager failure");
  co_return 0;
}

TEST(Eager, ATaskThatDoesNotSuspendIsDoneWhenTheHandleComesBack) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<bool> {
    auto a = weft::spawn_eager(immediate(3));
    bool ok = a.done() && a.result() == 3;
    // Its exception stays in the task: spawn_eager does not throw it.
    auto b = weft::spawn_eager(throws_at_once());
    ok = ok && b.done();
    try {
      co_await b;
      ok = false;
    } catch (const std::runtime_error& e) {
      ok = ok && std::string(e.what()) == "eager failure";
    }
    co_return ok;
  };
  EXPECT_TRUE(weft::run(main_task(), {.workers = 2}));
}

// With other workers looking for work, an eager task is never published to
// them before its first step (a push then a claim back would lose some to a
// thief: the task would then not be done when the handle comes back).
TEST(Eager, NoOtherWorkerTakesTheTaskBeforeItsFirstStep) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<long> {
    long not_done = 0;
    for (int i = 0; i < 20'000; ++i) {
      auto h = weft::spawn_eager(immediate(i));
      if (!h.done()) ++not_done;
      co_await h;
    }
    co_return not_done;
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 2}), 0);
}

TEST(Eager, RuntimeWideFactoryMakesSpawnGatherAndTaskGroupEager) {
  weft::test::Watchdog dog(60s);
  std::vector<std::string> log;
  auto note = [](std::vector<std::string>* l, std::string s) -> weft::Task<void> {
    l->push_back(std::move(s));
    co_return;
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(note(&log, "spawn"));
    log.push_back("after spawn");
    co_await weft::task_group([&](weft::TaskGroup& g) -> weft::Task<void> {
      g.spawn(note(&log, "group child"));
      log.push_back("after group spawn");
      co_return;
    });
    co_await h;
  };
  weft::run(main_task(), {.workers = 1, .eager_tasks = true});
  EXPECT_EQ(log,
            (std::vector<std::string>{"spawn", "after spawn", "group child", "after group spawn"}));
}

TEST(Eager, FromAPlainThreadTheStartIsLazy) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 1, .eager_tasks = true});
  weft::Event go;
  std::vector<std::string> log;
  auto h = rt.spawn_eager(record_then_wait(&log, &go));
  // It runs on a worker whenever it gets there; no step ran on this thread.
  go.set();
  weft::detail::block_until_complete(h.header());
  EXPECT_EQ(h.result(), 7);
  EXPECT_EQ(log.size(), 2u);
}

// An eager chain deeper than the inline nesting bound starts lazily past it:
// no unbounded recursion on the worker's stack.
weft::Task<long> eager_chain(long n) {
  if (n == 0) co_return 0;
  auto h = weft::spawn_eager(eager_chain(n - 1));
  co_return 1 + co_await h;
}

TEST(Eager, DeepEagerChainsStayWithinTheNestingBound) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(eager_chain(100'000), {.workers = 2}), 100'000);
}

TEST(Eager, BadInputIsTheSameErrorAsSpawn) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<bool> {
    weft::Task<int> empty;
    try {
      weft::spawn_eager(std::move(empty));
    } catch (const weft::InvalidStateError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(main_task(), {.workers = 1}));
}

}  // namespace
