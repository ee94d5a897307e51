// weft::Future under the model: set_result from a plain thread against a
// task awaiting the future and a plain thread cancelling that task (which
// cancels the future, asyncio's rule); set vs cancel vs remove_done_callback
// from plain threads. Exactly one completion wins, the waiter sees it (or its
// own cancellation), every callback runs exactly once or is removed.
#include <gtest/gtest.h>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/future.hpp"
#include "weft/runtime.hpp"

namespace {

using weft::detail::Thread;
using weft_test::wait_done;

constexpr int kCancelled = -2;

weft::Task<int> await_future(weft::Future<int> f) {
  try {
    co_return co_await f;
  } catch (const weft::CancelledError&) {
    co_return kCancelled;
  }
}

TEST(ModelFuture, SetAgainstAwaitAgainstCancellingTheWaiter) {
  weft_test::expect_model_ok("future set vs await vs cancel", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Future<int> f;
    int callbacks = 0;  // runs on whichever thread completes the future, once
    f.add_done_callback([&](const weft::Future<int>&) { ++callbacks; });
    auto a = rt.spawn(await_future(f));
    bool set_won = false;
    Thread setter(
        [&] {
          try {
            f.set_result(1);
            set_won = true;
          } catch (const weft::InvalidStateError&) {
          }
        },
        "setter");
    a.cancel();
    setter.join();
    wait_done(a);
    WEFT_MODEL_ASSERT(f.done());
    WEFT_MODEL_ASSERT(callbacks == 1);
    // One completion: the set, or the cancellation of the waiter cancelled it.
    WEFT_MODEL_ASSERT(set_won != f.cancelled());
    if (!set_won) WEFT_MODEL_ASSERT(a.cancelled() || a.result() == kCancelled);
    if (set_won && !a.cancelled()) {
      // Either it got the value, or its own cancellation came after the set.
      WEFT_MODEL_ASSERT(a.result() == 1 || a.result() == kCancelled);
    }
  });
}

TEST(ModelFuture, SetAgainstCancelAgainstRemoveCallback) {
  weft_test::expect_model_ok("future set vs cancel vs remove callback", 20000, [] {
    weft::Future<int> f;
    weft::Runtime rt(weft::RunOptions{.workers = 1});
    auto waiter = rt.spawn(await_future(f));
    int runs = 0;
    auto h = f.add_done_callback([&](const weft::Future<int>&) { ++runs; });
    bool set_won = false, cancel_won = false, removed = false;
    Thread setter(
        [&] {
          try {
            f.set_result(7);
            set_won = true;
          } catch (const weft::InvalidStateError&) {
          }
        },
        "setter");
    Thread canceller([&] { cancel_won = f.cancel(); }, "canceller");
    removed = f.remove_done_callback(h);
    setter.join();
    canceller.join();
    wait_done(waiter);
    WEFT_MODEL_ASSERT(set_won != cancel_won);
    WEFT_MODEL_ASSERT(runs + (removed ? 1 : 0) == 1);
    WEFT_MODEL_ASSERT(waiter.result() == (set_won ? 7 : kCancelled));
    WEFT_MODEL_ASSERT(f.cancelled() == cancel_won);
  });
}

}  // namespace
