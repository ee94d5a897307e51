// weft::Future<T>: asyncio.Future's behaviour case by case (the messages and
// return values are CPython 3.11's), plus the claims of weft/future.hpp:
// copies share a state, co_await from tasks, cancellation of a waiting task
// cancels the future (asyncio's rule), callbacks (order, inline, removal),
// plain-thread setters and waiters, Future<void>.
#include "weft/future.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const weft::CancelledError& e) {
    return std::string("cancelled:") + e.what();
  } catch (const weft::InvalidStateError& e) {
    return std::string("invalid:") + e.what();
  } catch (const std::exception& e) {
    return std::string("error:") + e.what();
  }
  return "none";
}

// ---- the state machine, without any task ----

TEST(Future, PendingResultAndExceptionThrowAsyncioMessages) {
  weft::Future<int> f;
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(error_of([&] { (void)f.result(); }), "invalid:Result is not set.");
  EXPECT_EQ(error_of([&] { (void)f.exception(); }), "invalid:Exception is not set.");
}

TEST(Future, SetResultOnceThenInvalidState) {
  weft::Future<int> f;
  f.set_result(7);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.result(), 7);
  EXPECT_EQ(f.exception(), nullptr);
  EXPECT_EQ(error_of([&] { f.set_result(8); }), "invalid:invalid state");
  EXPECT_EQ(error_of([&] { f.set_exception(std::runtime_error("x")); }), "invalid:invalid state");
  EXPECT_FALSE(f.cancel());  // asyncio: cancel() of a done future returns False
  EXPECT_EQ(f.result(), 7);
}

TEST(Future, SetExceptionIsRethrownByResult) {
  weft::Future<std::string> f;
  f.set_exception(std::runtime_error("boom"));
  EXPECT_TRUE(f.done());
  EXPECT_EQ(error_of([&] { (void)f.result(); }), "error:boom");
  EXPECT_NE(f.exception(), nullptr);
  EXPECT_EQ(error_of([&] { std::rethrow_exception(f.exception()); }), "error:boom");
  EXPECT_EQ(error_of([&] { f.set_result("x"); }), "invalid:invalid state");
  EXPECT_THROW(f.set_exception(std::exception_ptr()), weft::InvalidStateError);
}

TEST(Future, CancelWithAndWithoutMessage) {
  weft::Future<int> f;
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.done());
  EXPECT_TRUE(f.cancelled());
  EXPECT_FALSE(f.cancel());
  EXPECT_EQ(error_of([&] { (void)f.result(); }), "cancelled:task was cancelled");
  EXPECT_EQ(error_of([&] { (void)f.exception(); }), "cancelled:task was cancelled");
  EXPECT_EQ(error_of([&] { f.set_result(1); }), "invalid:invalid state");

  weft::Future<int> g;
  EXPECT_TRUE(g.cancel("shutting down"));
  EXPECT_EQ(error_of([&] { (void)g.result(); }), "cancelled:shutting down");
}

TEST(Future, CopiesShareOneState) {
  weft::Future<int> a;
  weft::Future<int> b = a;
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == weft::Future<int>());
  b.set_result(3);
  EXPECT_TRUE(a.done());
  EXPECT_EQ(a.result(), 3);
}

TEST(Future, VoidFuture) {
  weft::Future<> f;
  EXPECT_EQ(error_of([&] { f.result(); }), "invalid:Result is not set.");
  f.set_result();
  f.result();
  EXPECT_TRUE(f.done());
  EXPECT_EQ(error_of([&] { f.set_result(); }), "invalid:invalid state");
}

// ---- callbacks ----

TEST(Future, CallbacksRunInlineInAddedOrderOnCompletion) {
  weft::Future<int> f;
  std::vector<int> order;
  f.add_done_callback([&](const weft::Future<int>& g) { order.push_back(g.result() * 10 + 1); });
  f.add_done_callback([&](const weft::Future<int>& g) { order.push_back(g.result() * 10 + 2); });
  auto h3 = f.add_done_callback([&](const weft::Future<int>&) { order.push_back(3); });
  EXPECT_TRUE(static_cast<bool>(h3));
  EXPECT_TRUE(f.remove_done_callback(h3));
  EXPECT_FALSE(f.remove_done_callback(h3));  // removed already
  f.add_done_callback([&](const weft::Future<int>& g) {
    EXPECT_TRUE(g.done());
    order.push_back(4);
  });
  EXPECT_TRUE(order.empty());
  f.set_result(5);  // runs them here, in this thread, before set_result returns
  EXPECT_EQ(order, (std::vector<int>{51, 52, 4}));
}

TEST(Future, CallbackAddedWhenDoneRunsAtOnce) {
  weft::Future<int> f;
  f.cancel();
  bool ran = false;
  auto h = f.add_done_callback([&](const weft::Future<int>& g) { ran = g.cancelled(); });
  EXPECT_TRUE(ran);
  EXPECT_FALSE(static_cast<bool>(h));
  EXPECT_FALSE(f.remove_done_callback(h));
}

TEST(Future, RemovingAFiredCallbackReturnsFalse) {
  weft::Future<int> f;
  int runs = 0;
  auto h = f.add_done_callback([&](const weft::Future<int>&) { ++runs; });
  f.set_result(1);
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(f.remove_done_callback(h));
}

TEST(Future, PendingCallbacksAreFreedWithTheState) {
  // ASan's leak check: a future that never completes frees its callback nodes.
  weft::Future<int> f;
  auto big = std::make_shared<std::vector<int>>(1000);
  f.add_done_callback([big](const weft::Future<int>&) {});
  auto h = f.add_done_callback([big](const weft::Future<int>&) {});
  f.remove_done_callback(h);
}

// ---- co_await from tasks ----

weft::Task<int> await_future(weft::Future<int> f) {
  co_return co_await f;
}

weft::Task<std::string> await_outcome(weft::Future<int> f) {
  try {
    co_return std::to_string(co_await f.wait());
  } catch (const weft::CancelledError& e) {
    co_return std::string("cancelled:") + e.what();
  } catch (const std::exception& e) {
    co_return std::string("error:") + e.what();
  }
}

weft::Task<void> await_done_main() {
  weft::Future<int> f;
  f.set_result(9);
  EXPECT_EQ(co_await f, 9);  // done already: no wait
  EXPECT_EQ(co_await f, 9);  // and again: result() may be read any number of times
}

TEST(Future, AwaitingADoneFutureReturnsItsResult) {
  weft::test::Watchdog dog(60s);
  weft::run(await_done_main(), {.workers = 1});
}

weft::Task<void> many_waiters_main() {
  weft::Future<int> f;
  std::vector<weft::JoinHandle<int>> hs;
  for (int i = 0; i < 8; ++i)
    hs.push_back(weft::spawn(await_future(f)));
  for (int i = 0; i < 5; ++i)
    co_await weft::yield();
  EXPECT_FALSE(f.done());
  f.set_result(42);
  for (auto& h : hs)
    EXPECT_EQ(co_await h, 42);
}

TEST(Future, EveryWaitingTaskGetsTheResult) {
  weft::test::Watchdog dog(60s);
  weft::run(many_waiters_main(), {.workers = 1});
}

weft::Task<void> exception_to_waiters_main() {
  weft::Future<int> f;
  auto a = weft::spawn(await_outcome(f));
  auto b = weft::spawn(await_outcome(f));
  co_await weft::yield();
  f.set_exception(std::runtime_error("bad"));
  EXPECT_EQ(co_await a, "error:bad");
  EXPECT_EQ(co_await b, "error:bad");

  weft::Future<int> g;
  auto c = weft::spawn(await_outcome(g));
  co_await weft::yield();
  g.cancel("stop");
  EXPECT_EQ(co_await c, "cancelled:stop");
}

TEST(Future, WaitersSeeTheExceptionOrTheCancellation) {
  weft::test::Watchdog dog(60s);
  weft::run(exception_to_waiters_main(), {.workers = 1});
}

// asyncio: fut = loop.create_future(); t = create_task(waiter(fut)); await
// sleep(0); t.cancel() -> fut.cancelled() is True, and another waiter of
// fut gets CancelledError too.
weft::Task<void> cancel_waiter_cancels_future_main() {
  weft::Future<int> f;
  auto a = weft::spawn(await_outcome(f));
  auto b = weft::spawn(await_outcome(f));
  for (int i = 0; i < 3; ++i)
    co_await weft::yield();
  a.cancel();
  EXPECT_EQ(co_await a, "cancelled:task was cancelled");
  EXPECT_TRUE(f.cancelled());
  EXPECT_EQ(error_of([&] { (void)f.result(); }), "cancelled:task was cancelled");
  EXPECT_EQ(co_await b, "cancelled:task was cancelled");
}

TEST(Future, CancellingTheAwaitingTaskCancelsTheFuture) {
  weft::test::Watchdog dog(60s);
  weft::run(cancel_waiter_cancels_future_main(), {.workers = 1});
}

// asyncio.wait_for(fut, t) cancels fut on timeout.
weft::Task<void> wait_for_main() {
  weft::Future<int> f;
  bool timed_out = false;
  try {
    (void)co_await weft::wait_for(f.wait(), 1ms);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  EXPECT_TRUE(f.cancelled());
}

TEST(Future, WaitForTimeoutCancelsTheFuture) {
  weft::test::Watchdog dog(60s);
  weft::run(wait_for_main(), {.workers = 1});
}

// A future completed before the cancellation keeps its result.
weft::Task<void> done_first_main() {
  weft::Future<int> f;
  auto a = weft::spawn(await_outcome(f));
  co_await weft::yield();
  f.set_result(1);
  a.cancel();  // granted, not resumed yet: the task throws, the future keeps 1
  std::string got = co_await a;
  EXPECT_TRUE(got == "cancelled:task was cancelled" || got == "1") << got;
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.result(), 1);
}

TEST(Future, ACompletedFutureIsNotCancelledByItsWaiter) {
  weft::test::Watchdog dog(60s);
  weft::run(done_first_main(), {.workers = 1});
}

weft::Task<void> void_await_main() {
  weft::Future<> f;
  auto t = weft::spawn([](weft::Future<> g) -> weft::Task<int> {
    co_await g;
    co_return 1;
  }(f));
  co_await weft::yield();
  f.set_result();
  EXPECT_EQ(co_await t, 1);
}

TEST(Future, VoidFutureIsAwaitable) {
  weft::test::Watchdog dog(60s);
  weft::run(void_await_main(), {.workers = 2});
}

// ---- plain threads ----

TEST(Future, PlainThreadSetsWhileTasksWaitOnManyWorkers) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt(weft::RunOptions{.workers = 4});
  weft::Future<int> f;
  std::vector<weft::JoinHandle<int>> hs;
  for (int i = 0; i < 32; ++i)
    hs.push_back(rt.spawn(await_future(f)));
  std::thread setter([f]() mutable { f.set_result(11); });
  setter.join();
  auto collect = [](std::vector<weft::JoinHandle<int>>& hs) -> weft::Task<int> {
    int sum = 0;
    for (auto& h : hs)
      sum += co_await h;
    co_return sum;
  };
  EXPECT_EQ(rt.block_on(collect(hs)), 32 * 11);
}

TEST(Future, WaitBlockingTimesOutThenSeesTheResult) {
  weft::test::Watchdog dog(60s);
  weft::Future<int> f;
  EXPECT_FALSE(f.wait_blocking(1ms));
  EXPECT_FALSE(f.done());  // a blocking timeout does not cancel the future
  std::thread setter([f]() mutable { f.set_result(5); });
  EXPECT_TRUE(f.wait_blocking());
  EXPECT_EQ(f.result(), 5);
  setter.join();
  EXPECT_TRUE(f.wait_blocking(0ns));
}

weft::Task<std::string> blocking_on_worker(weft::Future<int> f) {
  co_return error_of([&] { (void)f.wait_blocking(1ms); });
}

TEST(Future, WaitBlockingOnAWorkerThrows) {
  weft::test::Watchdog dog(60s);
  std::string got = weft::run(blocking_on_worker(weft::Future<int>()), {.workers = 1});
  EXPECT_EQ(got.rfind("invalid:", 0), 0u) << got;
}

}  // namespace
