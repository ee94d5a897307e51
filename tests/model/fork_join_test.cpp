// Fork-join on the real scheduler under the model: joins that claim their
// children from anywhere in the run queue (oldest first, gather, a TaskGroup,
// eager starts) while the other worker steals them. Every child runs exactly
// once and every join sees its child's value, whoever ran it.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "model_test.hpp"
#include "weft/weft.hpp"

namespace {

weft::Task<int> leaf(int v, weft::detail::Atomic<int>* runs) {
  runs->fetch_add(1);
  co_return v;
}

// Three children joined oldest first: the first is claimed from the middle
// of the run queue while a thief may take any of them.
weft::Task<int> oldest_first(weft::detail::Atomic<int>* runs) {
  std::array<weft::JoinHandle<int>, 3> hs;
  for (int i = 0; i < 3; ++i)
    hs[static_cast<std::size_t>(i)] = weft::spawn(leaf(i + 1, runs));
  int sum = 0;
  for (auto& h : hs)
    sum += co_await h;
  co_return sum;
}

weft::Task<int> gathered(weft::detail::Atomic<int>* runs) {
  std::vector<weft::Task<int>> kids;
  for (int i = 0; i < 3; ++i)
    kids.push_back(leaf(i + 1, runs));
  int sum = 0;
  for (int v : co_await weft::gather(std::move(kids)))
    sum += v;
  co_return sum;
}

weft::Task<int> grouped(weft::detail::Atomic<int>* runs) {
  std::array<weft::JoinHandle<int>, 3> hs;
  {
    weft::TaskGroup g;
    for (int i = 0; i < 3; ++i)
      hs[static_cast<std::size_t>(i)] = g.spawn(leaf(i + 1, runs));
    co_await g.join();
  }
  int sum = 0;
  for (auto& h : hs)
    sum += h.result();
  co_return sum;
}

template <weft::Task<int> (*Form)(weft::detail::Atomic<int>*)>
void run_form(bool eager) {
  weft::detail::Atomic<int> runs{0};
  weft::Runtime rt(weft::RunOptions{.workers = 2, .eager_tasks = eager});
  int v = rt.block_on(Form(&runs));
  WEFT_MODEL_ASSERT(v == 6);
  WEFT_MODEL_ASSERT(runs.load() == 3);
}

TEST(ModelForkJoin, OldestFirstJoinsAgainstAThief) {
  weft_test::expect_model_ok("fork-join oldest first", 3000, [] { run_form<oldest_first>(false); });
}

TEST(ModelForkJoin, GatherAgainstAThief) {
  weft_test::expect_model_ok("fork-join gather", 3000, [] { run_form<gathered>(false); });
}

TEST(ModelForkJoin, TaskGroupJoinAgainstAThief) {
  weft_test::expect_model_ok("fork-join task group", 3000, [] { run_form<grouped>(false); });
}

TEST(ModelForkJoin, EagerStartsAgainstAThief) {
  weft_test::expect_model_ok("fork-join eager", 3000, [] { run_form<gathered>(true); });
}

}  // namespace
