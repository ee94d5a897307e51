// gather, wait and as_completed under the model: completions on other
// workers against the waiter's suspension, its cancellation and its leaving
// early (the shared block is freed by whichever side is last).
#include <gtest/gtest.h>

#include <vector>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"

namespace {

using weft::detail::Thread;
using weft_test::wait_done;

weft::Task<int> value_after_yield(int v) {
  co_await weft::yield();
  co_return v;
}

weft::Task<int> gather_three() {
  std::vector<weft::Task<int>> ts;
  for (int i = 1; i <= 3; ++i)
    ts.push_back(value_after_yield(i));
  auto r = co_await weft::gather(std::move(ts));
  co_return r[0] + r[1] + r[2];
}

// gather's children finish on both workers while a plain thread cancels the
// gathering task: it either returns the sum, or ends cancelled after every
// child finished (none is left running, none is lost).
TEST(ModelJoinSet, GatherAgainstCompletionsAndCancel) {
  weft_test::expect_model_ok("gather vs completions vs cancel", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    auto g = rt.spawn(gather_three());
    Thread canceller([&] { g.cancel(); }, "canceller");
    canceller.join();
    wait_done(g);
    WEFT_MODEL_ASSERT(g.cancelled() || g.result() == 6);
  });
}

weft::Task<int> wait_first(std::vector<weft::JoinHandle<int>> hs) {
  auto r = co_await weft::wait(std::move(hs), weft::ReturnWhen::FirstCompleted);
  co_return static_cast<int>(r.done.size());
}

// wait(FirstCompleted) returns at the first completion and leaves; the other
// completions arrive after it left and must not touch freed memory (ASan).
TEST(ModelJoinSet, WaitLeavesBeforeTheLastCompletion) {
  weft_test::expect_model_ok("wait first completed leaves early", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    std::vector<weft::JoinHandle<int>> hs;
    for (int i = 0; i < 3; ++i)
      hs.push_back(rt.spawn(value_after_yield(i)));
    auto w = rt.spawn(wait_first(hs));
    wait_done(w);
    for (auto& h : hs)
      wait_done(h);
    WEFT_MODEL_ASSERT(w.result() >= 1);
  });
}

weft::Task<int> first_two_of(std::vector<weft::JoinHandle<int>> hs) {
  weft::AsCompleted<int> ac(std::move(hs));
  int a = co_await ac.next();
  int b = co_await ac.next();
  co_return a + b;  // the third completion arrives after we left
}

TEST(ModelJoinSet, AsCompletedLeavesEarly) {
  weft_test::expect_model_ok("as_completed leaves early", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    std::vector<weft::JoinHandle<int>> hs;
    for (int i = 1; i <= 3; ++i)
      hs.push_back(rt.spawn(value_after_yield(i)));
    auto c = rt.spawn(first_two_of(hs));
    wait_done(c);
    for (auto& h : hs)
      wait_done(h);
    int r = c.result();
    WEFT_MODEL_ASSERT(r >= 3 && r <= 5);
  });
}

}  // namespace
