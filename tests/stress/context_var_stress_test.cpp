// ContextVar stress: plain threads block_on trees of nested spawned tasks on
// one runtime; every task sets a variable to its own path (its parent's path
// plus its own step) and checks, across yields, to_thread calls and its
// children's lifetimes, that it sees exactly its own chain of values while
// its siblings and cousins do the same on the other workers. Parents cancel
// random children. Checks: no task ever sees another's value, and every
// value object created (copies included) is destroyed exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

std::atomic<long> paths_made{0};
std::atomic<long> paths_gone{0};
std::atomic<long> mismatches{0};
std::atomic<long> tasks_run{0};
std::atomic<long> tasks_cancelled{0};

/// A counted value: every construction and destruction is tallied.
struct Path {
  std::string s;
  explicit Path(std::string v) : s(std::move(v)) { paths_made.fetch_add(1); }
  Path(const Path& o) : s(o.s) { paths_made.fetch_add(1); }
  ~Path() { paths_gone.fetch_add(1); }
};

weft::ContextVar<Path> path_var("path");
weft::ContextVar<int> depth_var("depth", 0);

constexpr int kDepth = 3;
constexpr int kFanOut = 3;

void expect_path(const std::string& want) {
  if (path_var.get(Path("<unset>")).s != want) mismatches.fetch_add(1);
}

weft::Task<long> node(std::string parent, int depth, std::uint32_t seed) {
  tasks_run.fetch_add(1, std::memory_order_relaxed);
  expect_path(parent);  // the copy taken at spawn
  if (depth_var.get() != depth - 1) mismatches.fetch_add(1);
  std::string mine = parent + "/" + std::to_string(seed % 97);
  auto token = path_var.set(mine);
  auto depth_token = depth_var.set(depth);
  co_await weft::yield();
  expect_path(mine);
  long count = 1;
  if (depth < kDepth) {
    std::vector<weft::JoinHandle<long>> kids;
    for (int i = 0; i < kFanOut; ++i)
      kids.push_back(weft::spawn(node(mine, depth + 1, weft::test::next_rand(seed))));
    if (weft::test::next_rand(seed) % 4 == 0) kids[seed % kFanOut].cancel();
    expect_path(mine);
    if (weft::test::next_rand(seed) % 3 == 0) {
      std::string in_thread = co_await weft::to_thread([] {
        std::string seen = path_var.get().s;
        (void)path_var.set(Path("thread-only"));  // stays in the thread's copy
        return seen;
      });
      if (in_thread != mine) mismatches.fetch_add(1);
    }
    for (auto& k : kids) {
      try {
        count += co_await k;
      } catch (const weft::CancelledError&) {
        tasks_cancelled.fetch_add(1, std::memory_order_relaxed);
      }
      expect_path(mine);  // the children's sets never leak up
    }
  }
  co_await weft::yield();
  expect_path(mine);
  depth_var.reset(depth_token);
  path_var.reset(token);
  expect_path(parent);
  co_return count;
}

TEST(ContextVarStress, NestedTasksSeeOnlyTheirOwnChain) {
  weft::test::Watchdog dog(300s);
  const long rounds = weft::test::stress_iterations(1000);
  constexpr int kThreads = 4;
  {
    weft::Runtime rt({.workers = 2});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&rt, t, rounds] {
        const std::string root = "T" + std::to_string(t);
        auto token = path_var.set(root);  // the thread's own context: inherited by block_on
        std::uint32_t seed = 0x9e3779b9u * static_cast<std::uint32_t>(t + 1);
        for (long r = 0; r < rounds; ++r) {
          try {
            (void)rt.block_on(node(root, 1, weft::test::next_rand(seed)));
          } catch (const weft::CancelledError&) {
            ADD_FAILURE() << "a root task was cancelled";
          }
          expect_path(root);
        }
        path_var.reset(token);
      });
    for (auto& th : threads)
      th.join();
  }
  weft::test::report_iterations("context_var nested trees (rounds x threads)", rounds * kThreads);
  std::printf("[stress] tasks run %ld, cancelled %ld\n", tasks_run.load(), tasks_cancelled.load());
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GT(tasks_run.load(), rounds * kThreads);
  EXPECT_EQ(paths_made.load(), paths_gone.load());
}

}  // namespace
