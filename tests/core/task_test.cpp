// weft::Task<T>: results, exceptions, laziness, misuse, deep await chains.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

weft::Task<int> answer() {
  co_return 42;
}

weft::Task<int> add(int a, int b) {
  int x = co_await answer();
  co_return x - 42 + a + b;
}

weft::Task<void> throws_runtime() {
  throw std::runtime_error("boom");
  co_return;
}

weft::Task<int> rethrows() {
  co_await throws_runtime();
  co_return 1;
}

weft::Task<std::unique_ptr<int>> move_only() {
  co_return std::make_unique<int>(7);
}

weft::Task<long> chain(long depth) {
  if (depth == 0) co_return 0;
  long below = co_await chain(depth - 1);
  co_return below + 1;
}

TEST(Task, ReturnsValue) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(answer(), {.workers = 2}), 42);
  EXPECT_EQ(weft::run(add(1, 2), {.workers = 2}), 3);
}

TEST(Task, MoveOnlyValue) {
  weft::test::Watchdog dog(60s);
  auto p = weft::run(move_only(), {.workers = 1});
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 7);
}

TEST(Task, ExceptionPropagatesThroughNestedTasks) {
  weft::test::Watchdog dog(60s);
  try {
    weft::run(rethrows(), {.workers = 2});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
}

TEST(Task, IsLazy) {
  weft::test::Watchdog dog(60s);
  bool ran = false;
  auto body = [&]() -> weft::Task<void> {
    ran = true;
    co_return;
  };
  {
    weft::Task<void> t = body();
    EXPECT_FALSE(ran);
  }  // destroyed without running
  EXPECT_FALSE(ran);
}

TEST(Task, AwaitingTwiceIsAnError) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<std::string> {
    weft::Task<int> t = answer();
    int first = co_await t;
    try {
      co_await t;
    } catch (const weft::InvalidStateError& e) {
      co_return std::to_string(first) + ":" + e.what();
    }
    co_return "no error";
  };
  std::string r = weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(r, "42:weft::Task: a Task can be awaited only once");
}

TEST(Task, AwaitingMovedFromTaskIsAnError) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<bool> {
    weft::Task<int> t = answer();
    weft::Task<int> u = std::move(t);
    bool threw = false;
    try {
      co_await t;
    } catch (const weft::InvalidStateError&) {
      threw = true;
    }
    int v = co_await u;
    co_return threw&& v == 42;
  };
  EXPECT_TRUE(weft::run(main_task(), {.workers = 1}));
}

TEST(Task, MillionDeepAwaitChainUsesConstantStack) {
  weft::test::Watchdog dog(300s);
  // Each level is a separate coroutine frame awaiting the next; without the
  // trampoline this needs ~100 MB of stack and crashes.
  EXPECT_EQ(weft::run(chain(1'000'000), {.workers = 1}), 1'000'000);
}

TEST(Task, OutsideARuntimeIsAClearError) {
  EXPECT_THROW(weft::Runtime::current(), weft::RuntimeError);
  EXPECT_EQ(weft::Runtime::try_current(), nullptr);
  EXPECT_THROW(weft::spawn(answer()), weft::RuntimeError);
}

}  // namespace
