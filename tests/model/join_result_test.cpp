// Join and result retrieval under the model: a task's result awaited by copy
// and by move from two workers at once, and joins racing the completion.
#include <gtest/gtest.h>

#include <string>

#include "model_test.hpp"
#include "weft/weft.hpp"

namespace {

// Longer than the small-string buffer: a move leaves the source empty.
const std::string kValue(100, 'x');

weft::Task<std::string> produce() {
  co_return kValue;
}

weft::Task<int> copy_out(weft::JoinHandle<std::string> h) {
  try {
    std::string v = co_await h;  // lvalue: a copy
    WEFT_MODEL_ASSERT(v == kValue);
    co_return 1;
  } catch (const weft::InvalidStateError&) {
    co_return 0;  // the move won: "the result was already moved out"
  }
}

weft::Task<int> move_out(weft::JoinHandle<std::string> h) {
  try {
    std::string v = co_await std::move(h);
    WEFT_MODEL_ASSERT(v == kValue);
    co_return 1;
  } catch (const weft::InvalidStateError&) {
    co_return 0;
  }
}

weft::Task<int> copy_against_move() {
  auto target = weft::spawn(produce());
  auto a = weft::spawn(copy_out(target));
  auto b = weft::spawn(move_out(target));
  int copied = co_await a;
  int moved = co_await b;
  // The move always gets the value: only a second move can be refused.
  WEFT_MODEL_ASSERT(moved == 1);
  co_return copied + moved;
}

// R1: the copy checked "not moved out", then copied while the move took the
// value away (TSan race, ASan use-after-free, corrupted strings in release).
TEST(ModelJoinResult, CopyAgainstMove) {
  weft_test::expect_model_ok("join result copy vs move", 3000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    int n = rt.block_on(copy_against_move());
    WEFT_MODEL_ASSERT(n >= 1);
  });
}

weft::Task<int> value_after_yield() {
  co_await weft::yield();
  co_return 7;
}

weft::Task<int> join_twice(weft::JoinHandle<int> h) {
  int a = co_await h;
  int b = co_await h;
  co_return a + b;
}

// Joins that race the completion from another worker: each join sees the
// value exactly once per await, none hangs (a lost wake-up would deadlock the
// model), and the listener is never run twice.
TEST(ModelJoinResult, JoinsAgainstCompletion) {
  weft_test::expect_model_ok("join vs complete", 3000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    auto body = []() -> weft::Task<int> {
      auto target = weft::spawn(value_after_yield());
      auto j1 = weft::spawn(join_twice(target));
      int direct = co_await target;
      int twice = co_await j1;
      co_return direct + twice;
    };
    int v = rt.block_on(body());
    WEFT_MODEL_ASSERT(v == 21);
  });
}

}  // namespace
