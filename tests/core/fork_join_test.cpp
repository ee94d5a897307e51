// Fork-join scheduling (docs/architecture.md, "Fork-join"): a tree unfolds
// depth-first whatever the join order a user writes (gather, handles awaited
// oldest first, newest first, a TaskGroup), and the children a task spawns
// still start in spawn order. On one worker, so that every count is exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "weft/sync.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

// Tasks created and not yet finished, and the most there ever were: a tree
// unfolded breadth-first keeps a whole level alive (10^depth), depth-first
// keeps a path and its pending siblings (about 10 x depth).
struct Live {
  long now = 0;
  long peak = 0;
  void enter() { peak = std::max(peak, ++now); }
  void leave() { --now; }
};

enum class Form { gather, oldest_first, newest_first, task_group };

weft::Task<long> tree(Form form, long num, long size, Live* live) {
  live->enter();
  long total = 0;
  if (size == 1) {
    total = num;
  } else {
    const long sub = size / 10;
    if (form == Form::gather) {
      std::vector<weft::Task<long>> kids;
      for (long i = 0; i < 10; ++i)
        kids.push_back(tree(form, num + i * sub, sub, live));
      for (long v : co_await weft::gather(std::move(kids)))
        total += v;
    } else if (form == Form::task_group) {
      std::array<weft::JoinHandle<long>, 10> handles;
      {
        weft::TaskGroup group;
        for (long i = 0; i < 10; ++i)
          handles[static_cast<std::size_t>(i)] = group.spawn(tree(form, num + i * sub, sub, live));
        co_await group.join();
      }
      for (auto& h : handles)
        total += h.result();
    } else {
      std::array<weft::JoinHandle<long>, 10> handles;
      for (long i = 0; i < 10; ++i)
        handles[static_cast<std::size_t>(i)] = weft::spawn(tree(form, num + i * sub, sub, live));
      if (form == Form::oldest_first) {
        for (auto& h : handles)
          total += co_await h;
      } else {
        for (auto it = handles.rbegin(); it != handles.rend(); ++it)
          total += co_await *it;
      }
    }
  }
  live->leave();
  co_return total;
}

class ForkJoinDepthFirst : public ::testing::TestWithParam<Form> {};

TEST_P(ForkJoinDepthFirst, TreeKeepsAPathAliveNotALevel) {
  weft::test::Watchdog dog(60s);
  Live live;
  const long size = 10'000;  // 11,111 tasks, depth 4
  long sum = weft::run(tree(GetParam(), 0, size, &live), {.workers = 1});
  EXPECT_EQ(sum, size * (size - 1) / 2);
  EXPECT_EQ(live.now, 0);
  // Depth first: the path (5 nodes) and at most 9 pending siblings per level
  // (36), plus slack for the root. Breadth first would reach 10,000.
  EXPECT_LE(live.peak, 60) << "the tree unfolded breadth-first";
}

INSTANTIATE_TEST_SUITE_P(Forms, ForkJoinDepthFirst,
                         ::testing::Values(Form::gather, Form::oldest_first, Form::newest_first,
                                           Form::task_group));

// ---- spawn order ----

weft::Task<void> record(std::vector<std::string>* log, std::string name) {
  log->push_back(std::move(name));
  co_return;
}

// Python: spawn x, then gather(a, b): the loop starts x, a, b in that order.
// A gather's children do not overtake a task their parent spawned first.
TEST(ForkJoinOrder, GatherChildrenStartAfterAnEarlierSpawnOfTheirParent) {
  weft::test::Watchdog dog(60s);
  std::vector<std::string> log;
  auto main_task = [&]() -> weft::Task<void> {
    auto x = weft::spawn(record(&log, "x"));
    co_await weft::gather(record(&log, "a"), record(&log, "b"));
    co_await x;
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(log, (std::vector<std::string>{"x", "a", "b"}));
}

// Python: spawn c, spawn k, a task is woken after them, await k: the loop
// starts c before k. Awaiting k does not pull it ahead of its older sibling.
TEST(ForkJoinOrder, AwaitingAChildDoesNotOvertakeAnOlderSibling) {
  weft::test::Watchdog dog(60s);
  std::vector<std::string> log;
  auto main_task = [&]() -> weft::Task<void> {
    weft::Event woken;
    auto waiter = weft::spawn([](weft::Event* e, std::vector<std::string>* l) -> weft::Task<void> {
      co_await e->wait();
      l->push_back("woken");
    }(&woken, &log));
    co_await weft::sleep(0ms);  // the waiter waits on the event now
    auto c = weft::spawn(record(&log, "c"));
    auto k = weft::spawn(record(&log, "k"));
    woken.set();  // the waiter joins the run queue after c and k
    co_await k;
    co_await c;
    co_await waiter;
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(log, (std::vector<std::string>{"c", "k", "woken"}));
}

// Handles awaited oldest first start in spawn order, each run at its join.
TEST(ForkJoinOrder, OldestFirstJoinsStartChildrenInSpawnOrder) {
  weft::test::Watchdog dog(60s);
  std::vector<std::string> log;
  auto main_task = [&]() -> weft::Task<void> {
    std::vector<weft::JoinHandle<void>> hs;
    for (int i = 0; i < 5; ++i)
      hs.push_back(weft::spawn(record(&log, std::to_string(i))));
    for (auto& h : hs) {
      log.push_back("join");
      co_await h;
    }
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(log, (std::vector<std::string>{"join", "0", "join", "1", "join", "2", "join", "3",
                                           "join", "4"}));
}

// A gather's children run inline in argument order; the first failure is
// the first in that order (as asyncio's loop would start them).
TEST(ForkJoinOrder, GatherRunsChildrenInArgumentOrderAndThrowsTheFirstFailure) {
  weft::test::Watchdog dog(60s);
  std::vector<std::string> log;
  auto fail = [](std::vector<std::string>* l, std::string name) -> weft::Task<void> {
    l->push_back(name);
    throw std::runtime_error(name);
    co_return;
  };
  auto main_task = [&]() -> weft::Task<std::string> {
    try {
      co_await weft::gather(record(&log, "a"), fail(&log, "b"), fail(&log, "c"));
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "none";
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 1}), "b");
  // Every child got its first step before the gather threw, as on asyncio's loop.
  EXPECT_EQ(log, (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
